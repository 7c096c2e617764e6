"""Permissions, the built-in roles, and the guard every workspace route declares.

Each view under ``/w/<slug>`` states what it needs: ``@require("contacts.write")``,
``@require_any(...)`` for one of several, or ``@every_member`` for pages all members may open. The
route walker test fails on a view that declares none, so nothing ships unguarded. Enforcement is
here and in services; templates only hide what the member cannot do.
"""

from collections.abc import Callable
from functools import wraps

from flask import abort, g

from crm.i18n import lazy_gettext as _l

PERMISSIONS = {
    "contacts.read": _l("See contacts and companies"),
    "contacts.write": _l("Add and edit contacts and companies"),
    "contacts.delete": _l("Delete contacts and companies"),
    "contacts.export": _l("Export contacts"),
    "contacts.import": _l("Import contacts"),
    "contacts.sensitive": _l("See sensitive details (birthday, address, phone numbers)"),
    "deals.read": _l("See deals and pipelines"),
    "deals.write": _l("Add, edit and move deals"),
    "deals.delete": _l("Delete deals"),
    "tickets.read": _l("See tickets"),
    "tickets.write": _l("Answer and update tickets"),
    "tickets.delete": _l("Delete tickets"),
    "tickets.escalated": _l("Work the escalation queue (VIP and potential customers)"),
    "notes.write": _l("Post team notes, and log calls, meetings and tasks on customers"),
    "reports.view": _l("See reports"),
    "members.manage": _l("Invite members, change their roles, disable or remove them"),
    "settings.manage": _l("Change workspace settings and roles"),
    "audit.view": _l("Read the audit log"),
    "billing.manage": _l("Manage the plan and payment"),
}

PERMISSION_GROUPS = {
    "contacts": _l("Contacts"),
    "deals": _l("Deals"),
    "tickets": _l("Tickets"),
    "notes": _l("Team notes"),
    "reports": _l("Reports"),
    "members": _l("Administration"),
    "settings": _l("Administration"),
    "audit": _l("Administration"),
    "billing": _l("Administration"),
}

RECORD_SCOPES = {
    "all": _l("All records"),
    "own": _l("Only records they own or are assigned to"),
}

OWNER = "owner"


def N_(text: str) -> str:
    """Marks a string for the catalogue where it must stay plain text (translated where shown)."""
    return text


_EVERYTHING = tuple(PERMISSIONS)
_READ = ("contacts.read", "deals.read", "tickets.read")

# key -> (English name, permissions). Created with every workspace; the names are translated on
# display until the workspace renames them.
BUILTIN_ROLES = {
    OWNER: (N_("Owner"), _EVERYTHING),
    "admin": (N_("Admin"), tuple(p for p in _EVERYTHING if p != "billing.manage")),
    "manager": (
        N_("Manager"),
        tuple(p for p in _EVERYTHING if p.split(".")[0] in {"contacts", "deals", "tickets", "notes", "reports"}),
    ),
    "sales": (N_("Sales"), ("contacts.read", "contacts.write", "deals.read", "deals.write", "notes.write")),
    "support": (N_("Support"), ("contacts.read", "tickets.read", "tickets.write", "notes.write")),
    "viewer": (N_("Viewer"), (*_READ, "reports.view")),
}


def grouped_permissions() -> list[tuple[str, list[tuple[str, str]]]]:
    """[(group label, [(permission, description), ...]), ...] in display order, for the matrix."""
    groups: dict[str, list] = {}
    for name, description in PERMISSIONS.items():
        groups.setdefault(str(PERMISSION_GROUPS[name.split(".")[0]]), []).append((name, description))
    return list(groups.items())


def require(permission: str, *also: str) -> Callable:
    """Refuse (403) a member whose role lacks ``permission`` or any of ``also`` (e.g. logging a
    call on a deal: ``notes.write`` and ``deals.read``); the parent blueprint already answered
    404 to non-members."""
    for name in (permission, *also):
        if name not in PERMISSIONS:
            raise ValueError(f"unknown permission {name!r}")

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            if not all(g.membership.can(name) for name in (permission, *also)):
                abort(403)
            return view(*args, **kwargs)

        guarded.required_permission = permission
        guarded.also_required = also
        return guarded

    return decorate


def require_any(*permissions: str) -> Callable:
    """Refuse (403) a member whose role has none of ``permissions`` (the header's search, where each
    kind of record shows only to those who may read it)."""
    for name in permissions:
        if name not in PERMISSIONS:
            raise ValueError(f"unknown permission {name!r}")

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            if not any(g.membership.can(name) for name in permissions):
                abort(403)
            return view(*args, **kwargs)

        guarded.required_permission = permissions[0]
        guarded.any_of = permissions
        return guarded

    return decorate


def every_member(view: Callable) -> Callable:
    """Declares a workspace page open to every active member."""
    view.required_permission = None
    return view


def own_records_only(member=None) -> bool:
    """Whether the member's role sees only the records they own or are assigned to."""
    return (member or g.membership).role.record_scope == "own"


def visible_to_member(statement, owner_column, member=None):
    """Applies the member's record scope to a query: with "own", only rows whose ``owner_column``
    (owner or assignee membership id) is theirs. Every list, search, count, export, detail page
    and report of a scoped record goes through here."""
    member = member or g.membership
    if own_records_only(member):
        return statement.where(owner_column == member.id)
    return statement


def scope_allows(owner_id: int | None, member=None) -> bool:
    """``visible_to_member`` for one record already loaded: whether the member's record scope lets
    them at a record owned by (or assigned to) ``owner_id``."""
    member = member or g.membership
    return not own_records_only(member) or owner_id == member.id


def may_open(deleted_at, owner_id: int | None, member=None) -> bool:
    """Whether the page of a contact or company (in the trash since ``deleted_at``, owned by
    ``owner_id``) opens for the member, so another page may link to it: one in the trash or beyond
    their record scope is a 404, and without ``contacts.read`` a 403."""
    member = member or g.membership
    return deleted_at is None and member.can("contacts.read") and scope_allows(owner_id, member)


def holds_everything_of(actor, role) -> bool:
    """Whether ``actor`` holds every permission of ``role`` and at least its record scope: the
    test for giving that role to someone, or managing someone who has it."""
    if actor.is_owner:
        return True
    if role.builtin == OWNER:
        return False
    wider_scope = role.record_scope == "all" and actor.role.record_scope != "all"
    return not wider_scope and all(actor.can(permission) for permission in role.permissions)
