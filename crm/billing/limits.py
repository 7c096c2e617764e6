"""What a workspace uses against its plan's limits, and the checks the services run before they
add members or contacts.

Limited: members (active members plus open invitations, as ``crm.members.service.seats_used``
counts them: inviting, renewing an expired invitation, enabling a member, accepting) and live
contacts (not in the trash: adding one by hand, restoring one from the trash, importing). An
import is refused whole, before anything is written, when its new contacts do not fit; the dry
run says how many would.

Never limited: reading, searching, exporting, backups, restoring a backup (the data comes back as
it was, like after a downgrade), editing what exists, undoing a merge, and the contacts a
customer creates through the complaint portal or a privacy request (a customer's complaint is
never lost because the business is over its limit). A plan that shrinks (trial ended, canceled:
back to Free) deletes nothing; only new additions are refused. While billing is off (no
``STRIPE_SECRET_KEY``) nothing is limited and these checks send no query.

The workspace's ``seat_limit`` column is an explicit override an operator may set by hand (a
negotiated contract, a self-hosted cap): it replaces the plan's members and applies even while
billing is off (``member_limit``).

Storage is measured (ticket attachments and the workspace logo) for the billing page; no upload is
refused on it yet. Import files are not counted: they live on disk only until their import has run.
"""

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import g, has_request_context, url_for
from flask_babel import gettext as _
from flask_babel.speaklater import LazyString
from werkzeug.routing import BuildError

from crm.billing.plans import Plan, billing_enabled, current_plan
from crm.contacts.models import Contact
from crm.extensions import db
from crm.i18n import lazy_ngettext as _nl
from crm.i18n import lazy_number
from crm.tickets.models import TicketAttachment
from crm.workspaces.models import ACTIVE, Membership, Workspace

MEMBERS, CONTACTS = "members", "contacts"


@dataclass(frozen=True, slots=True)
class Usage:
    members: int
    contacts: int
    storage_bytes: int


def usage(workspace: Workspace) -> Usage:
    """What the bound workspace uses now: four small aggregates over workspace_id-leading indexes."""
    return Usage(members=members_used(), contacts=contacts_used(), storage_bytes=storage_used(workspace))


def members_used() -> int:
    from crm.members.service import seats_used  # members' service checks its seats here

    return seats_used()


def active_members() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Membership).where(Membership.status == ACTIVE))


def contacts_used() -> int:
    """Live contacts of the bound workspace; the trash does not count (restoring is checked)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Contact).where(Contact.deleted_at.is_(None)))


def storage_used(workspace: Workspace) -> int:
    attachments = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(TicketAttachment.size), 0)))
    logo = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.length(Workspace.logo), 0)).where(Workspace.id == workspace.id)
    )
    return int(attachments or 0) + int(logo or 0)


class LimitError(ValueError):
    """A plan limit refused an addition (``plan`` None: the workspace's own seat limit).
    ``str(error)`` is the whole message for the person who asked; ``reason`` the limit alone;
    ``may_upgrade`` whether they may change the plan (``billing.manage``), and then ``upgrade_url``
    is the billing page. Routes show it like their other validation errors (422)."""

    def __init__(self, resource: str, plan: Plan | None, limit: int, used: int, adding: int) -> None:
        self.resource, self.plan, self.limit, self.used, self.adding = resource, plan, limit, used, adding
        self.room = max(0, limit - used)
        self.may_upgrade = _actor_may_upgrade()
        self.upgrade_url = billing_url() if self.may_upgrade and billing_enabled() else None
        super().__init__(self._message())

    @property
    def reason(self) -> str:
        """The limit alone, without the advice (for a form field's error, say)."""
        return str(self.reason_text)

    @property
    def reason_text(self) -> LazyString:
        """``reason`` as a lazy text, which an import keeps for each reader's language."""
        count = lazy_number(self.limit)
        if self.resource == MEMBERS and self.plan is None:  # the workspace's own seat_limit
            return _nl(
                "This workspace has %(count)s seat and it is taken.",
                "This workspace has %(count)s seats and all are taken.",
                self.limit,
                count=count,
            )
        if self.resource == MEMBERS:
            return _nl(
                "The %(plan)s plan allows %(count)s member (counting open invitations) and it is taken.",
                "The %(plan)s plan allows %(count)s members (counting open invitations) and all are taken.",
                self.limit,
                plan=self.plan.name,
                count=count,
            )
        if self.adding > 1:
            return _nl(
                "The %(plan)s plan allows %(count)s contact and this workspace has %(used)s: "
                "%(room)s more fit, not %(adding)s.",
                "The %(plan)s plan allows %(count)s contacts and this workspace has %(used)s: "
                "%(room)s more fit, not %(adding)s.",
                self.limit,
                plan=self.plan.name,
                count=count,
                used=lazy_number(self.used),
                room=lazy_number(self.room),
                adding=lazy_number(self.adding),
            )
        return _nl(
            "The %(plan)s plan allows %(count)s contact and it is used.",
            "The %(plan)s plan allows %(count)s contacts and all are used.",
            self.limit,
            plan=self.plan.name,
            count=count,
        )

    @property
    def advice(self) -> str:
        if self.may_upgrade and self.resource == MEMBERS:
            return _("Upgrade the plan or remove someone first.")
        if self.may_upgrade:
            return _("Upgrade the plan to add more.")
        return _("Ask the workspace owner to upgrade the plan.")

    def _message(self) -> str:
        return f"{self.reason} {self.advice}"


def _actor_may_upgrade() -> bool:
    member = g.get("membership") if has_request_context() else None
    return bool(member is not None and member.can("billing.manage"))


BILLING_ENDPOINTS = ("ws.billing.page", "billing.page")  # nested under /w/<slug>, or on its own


def billing_url(workspace: Workspace | None = None) -> str | None:
    """The Settings → Billing page of the workspace (of the request's one by default)."""
    workspace = workspace or (g.get("workspace") if has_request_context() else None)
    if workspace is None:
        return None
    for endpoint in BILLING_ENDPOINTS:
        try:
            return url_for(endpoint, workspace_slug=workspace.slug)
        except BuildError:
            continue
    return f"/w/{workspace.slug}/settings/billing"


def member_limit(workspace: Workspace) -> tuple[int | None, Plan | None]:
    """(the member limit, the plan it comes from). The workspace's ``seat_limit`` is an explicit
    override an operator may set by hand (a negotiated contract, a self-hosted cap): it wins over
    the plan and applies even while billing is off. Without it, the plan's ``max_members``; None
    is unlimited (billing off, or a plan without a cap)."""
    plan = current_plan(workspace)
    if workspace.seat_limit is not None:
        return workspace.seat_limit, plan
    return (plan.max_members if plan else None), plan


def check_members(workspace: Workspace, adding: int = 1, *, count: Callable[[], int] | None = None) -> None:
    """Raises ``LimitError`` unless ``adding`` more seats fit the member limit. ``count`` replaces
    the default count (active members plus open invitations); it runs only when a limit applies."""
    limit, plan = member_limit(workspace)
    if limit is None:
        return
    used = (count or members_used)()
    if used + adding > limit:
        raise LimitError(MEMBERS, plan if workspace.seat_limit is None else None, limit, used, adding)


def check_contacts(workspace: Workspace, adding: int = 1) -> None:
    """Raises ``LimitError`` unless ``adding`` more live contacts fit the plan's ``max_contacts``."""
    if adding <= 0:
        return
    plan = current_plan(workspace)
    if plan is None or plan.max_contacts is None:
        return
    used = contacts_used()
    if used + adding > plan.max_contacts:
        raise LimitError(CONTACTS, plan, plan.max_contacts, used, adding)


def contacts_room(workspace: Workspace) -> int | None:
    """How many more contacts fit; None when unlimited (billing off, or a plan without a cap)."""
    plan = current_plan(workspace)
    if plan is None or plan.max_contacts is None:
        return None
    return max(0, plan.max_contacts - contacts_used())
