"""Members and invitations: who is in a workspace, with which role, and the rules that keep a
workspace from locking itself out (the last Owner stays an active Owner)."""

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import render_template
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from crm.activities import service as activities
from crm.audit import service as audit
from crm.auth.models import User
from crm.auth.service import create_user, normalize_email, user_by_email
from crm.billing import limits, plans
from crm.billing.service import seats_changed
from crm.db import utcnow
from crm.extensions import db
from crm.mail import send_mail
from crm.members.models import Invitation
from crm.permissions import OWNER, holds_everything_of
from crm.workspaces.models import ACTIVE, DISABLED, REMOVED, Membership, Role, Workspace

INVITATION_LIFETIME = timedelta(days=7)


class MemberError(ValueError):
    """A refused change, with a message for the person who asked."""


# --- reading -------------------------------------------------------------------------------


def members() -> list[Membership]:
    """Everyone in the bound workspace except removed members, with user and role (one query)."""
    return list(
        db.session.scalars(
            sa.select(Membership)
            .options(so.joinedload(Membership.role))
            .join(Membership.user)
            .where(Membership.status != REMOVED)
            .order_by(User.name, Membership.id)
        )
    )


def pending_invitations() -> list[Invitation]:
    return list(
        db.session.scalars(
            sa.select(Invitation)
            .where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
            .order_by(Invitation.created_at.desc())
        )
    )


def roles() -> list[Role]:
    return list(db.session.scalars(sa.select(Role).order_by(Role.builtin.is_(None), Role.id)))


def grantable_roles(actor: Membership) -> list[Role]:
    """Roles whose permissions and scope the actor holds (only an Owner makes Owners)."""
    return [role for role in roles() if holds_everything_of(actor, role)]


def member_or_none(member_id: int) -> Membership | None:
    return db.session.scalar(
        sa.select(Membership)
        .options(so.joinedload(Membership.role))
        .where(Membership.id == member_id, Membership.status != REMOVED)
    )


def seats_used() -> int:
    active = sa.select(sa.func.count()).select_from(Membership).where(Membership.status == ACTIVE)
    pending = (
        sa.select(sa.func.count())
        .select_from(Invitation)
        .where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None), Invitation.expires_at > utcnow())
    )
    return db.session.scalar(active) + db.session.scalar(pending)


def _check_seat_free(workspace: Workspace) -> None:
    """One more seat (a new invitation, a renewed one, an enabled member) must fit the member
    limit, which counts active members and open invitations: the plan's ``max_members`` while
    billing is on, or the workspace's own ``seat_limit`` where one is set (crm.billing.limits).
    Raises ``LimitError``, which the routes show with the way to upgrade."""
    limits.check_members(workspace)


def _check_seat_free_for_joining(workspace: Workspace) -> None:
    """On accepting, only active members count (the invitation's own seat becomes theirs); the
    plan may have shrunk since it was sent. A read-only workspace (invoice unpaid past the grace
    period) takes nobody new until it is paid."""
    if plans.read_only(workspace):
        raise MemberError(_("This workspace cannot take new members right now. Ask the person who invited you."))
    try:
        limits.check_members(workspace, count=limits.active_members)
    except limits.LimitError as error:
        raise MemberError(_("This workspace has no free seat left. Ask the person who invited you.")) from error


# --- invitations ---------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(workspace: Workspace, actor: Membership, email: str, role: Role, link_for) -> Invitation:
    try:
        email = normalize_email(email)
    except ValueError as error:
        raise MemberError(_("Enter a valid email address.")) from error
    _check_role_grantable(actor, role)
    if _member_with_email(email) is not None:
        raise MemberError(_("%(email)s is already a member of this workspace.", email=email))
    if any(inv.email == email and inv.is_pending for inv in pending_invitations()):
        raise MemberError(_("%(email)s is already invited. Resend the invitation instead.", email=email))
    _check_seat_free(workspace)
    invitation = Invitation(email=email, role=role, invited_by_id=actor.id, token_hash="", expires_at=utcnow())
    db.session.add(invitation)
    token = _renew(invitation)
    db.session.flush()
    audit.record("invitation.sent", "invitation", invitation.id, {"email": [None, email], "role": [None, role.name]})
    _send(workspace, actor, invitation, link_for(token))
    return invitation


def resend(workspace: Workspace, actor: Membership, invitation: Invitation, link_for) -> None:
    if invitation.accepted_at or invitation.revoked_at:
        raise MemberError(_("This invitation was already used or revoked."))
    # Renewing gives the role for another week: only someone who may give it.
    _check_role_grantable(actor, invitation.role)
    if not invitation.is_pending:  # expired: it holds no seat until it is renewed
        _check_seat_free(workspace)
    token = _renew(invitation)
    audit.record("invitation.resent", "invitation", invitation.id, {"email": [invitation.email, invitation.email]})
    _send(workspace, actor, invitation, link_for(token))


def revoke(invitation: Invitation) -> None:
    if invitation.accepted_at or invitation.revoked_at:
        raise MemberError(_("This invitation was already used or revoked."))
    invitation.revoked_at = utcnow()
    audit.record("invitation.revoked", "invitation", invitation.id, {"email": [invitation.email, None]})


def _renew(invitation: Invitation) -> str:
    """A fresh token and a fresh week; an older link stops working."""
    token = secrets.token_urlsafe(32)
    invitation.token_hash = _hash(token)
    invitation.expires_at = utcnow() + INVITATION_LIFETIME
    return token


def _send(workspace: Workspace, actor: Membership, invitation: Invitation, link: str) -> None:
    with force_locale(str(get_locale())):
        subject = _("%(name)s invited you to %(workspace)s on Kehu", name=actor.user.name, workspace=workspace.name)
        text = render_template(
            "members/email/invitation.txt",
            inviter=actor.user,
            workspace=workspace,
            role=invitation.role,
            link=link,
            expires_at=invitation.expires_at,
        )
    send_mail(invitation.email, subject, text)


def invitation_for_token(token: str) -> Invitation | None:
    """The open invitation of the bound workspace with this token; None if unknown, used,
    revoked or expired."""
    invitation = db.session.scalar(sa.select(Invitation).where(Invitation.token_hash == _hash(token)))
    return invitation if invitation is not None and invitation.is_pending else None


def accept(invitation: Invitation, user: User) -> Membership:
    """Adds the user (whose email must be the invited one) to the workspace with the role."""
    if user.email != invitation.email:
        raise MemberError(_("This invitation was sent to another email address."))
    _check_seat_free_for_joining(db.session.get(Workspace, invitation.workspace_id))
    membership = db.session.scalar(sa.select(Membership).where(Membership.user_id == user.id))
    if membership is None:
        membership = Membership(user_id=user.id, role=invitation.role)
        db.session.add(membership)
    elif membership.status == REMOVED:
        membership.status, membership.role, membership.joined_at = ACTIVE, invitation.role, utcnow()
    invitation.accepted_at = utcnow()
    db.session.flush()
    audit.record("invitation.accepted", "membership", membership.id, {"role": [None, invitation.role.name]}, actor=user)
    seats_changed(membership.workspace)  # a per-seat subscription follows, once this is committed
    return membership


def accept_as_new_user(invitation: Invitation, name: str, password: str, locale: str | None) -> User:
    user = create_user(name, invitation.email, password, locale=locale)
    accept(invitation, user)
    return user


def account_exists(email: str) -> bool:
    return user_by_email(email) is not None


def _member_with_email(email: str) -> Membership | None:
    return db.session.scalar(
        sa.select(Membership).join(Membership.user).where(User.email == email, Membership.status != REMOVED)
    )


# --- changing members ----------------------------------------------------------------------


def change_role(actor: Membership, member: Membership, role: Role) -> None:
    if not actor.is_owner:
        _check_not_self(actor, member)
    _check_may_manage(actor, member)
    _check_role_grantable(actor, role)
    if member.is_owner and role.builtin != OWNER:
        _check_not_last_owner(member)
    before = member.role.name
    member.role = role
    audit.record("member.role_changed", "membership", member.id, {"role": [before, role.name]})
    _revoke_invitations_sent_by(member, beyond_their_role=True)


def disable(actor: Membership, member: Membership) -> None:
    """A disabled member keeps their records and open tasks (it may be for a while: leave, a dispute);
    their reminders wait for them, and the care lists show their open tasks to whoever sees every
    record (``crm.activities.tasks.stranded_tasks``), to be handed on if they cannot wait."""
    _check_may_manage(actor, member)
    _check_not_self(actor, member)
    _check_not_last_owner(member)
    member.status = DISABLED
    audit.record("member.disabled", "membership", member.id, {"status": [ACTIVE, DISABLED]})
    _revoke_invitations_sent_by(member)
    seats_changed(member.workspace)


def enable(workspace: Workspace, actor: Membership, member: Membership) -> None:
    _check_may_manage(actor, member)
    if member.status != DISABLED:
        raise MemberError(_("This member is not disabled."))
    _check_seat_free(workspace)
    member.status = ACTIVE
    audit.record("member.enabled", "membership", member.id, {"status": [DISABLED, ACTIVE]})
    seats_changed(workspace)


def remove(actor: Membership, member: Membership) -> int:
    """The membership stays (their notes and history keep an author) but grants nothing. Their open
    tasks go to ``actor``, the admin removing them, who sees them in My tasks and gets their
    reminders: left with someone who will never sign in again, they were on nobody's list and their
    reminders never went. Returns how many tasks were handed over."""
    _check_may_manage(actor, member)
    _check_not_self(actor, member)
    _check_not_last_owner(member)
    before = member.status
    member.status = REMOVED
    audit.record("member.removed", "membership", member.id, {"status": [before, REMOVED]})
    _revoke_invitations_sent_by(member)
    handed = activities.hand_over_open_tasks(member.id, actor.id)
    seats_changed(member.workspace)
    return handed


def _revoke_invitations_sent_by(member: Membership, beyond_their_role: bool = False) -> None:
    """A member who is disabled or removed loses the invitations they sent and nobody has used yet:
    one sent to an address of their own, before they went, would let them back in. A member given
    another role (``beyond_their_role``) loses those offering a role they may no longer give."""
    for invitation in pending_invitations():
        if invitation.invited_by_id != member.id:
            continue
        if not beyond_their_role or not holds_everything_of(member, invitation.role):
            revoke(invitation)


def transfer_ownership(actor: Membership, member: Membership) -> None:
    """The member becomes an Owner; the current Owner steps down to Admin."""
    if not actor.is_owner:
        raise MemberError(_("Only an Owner can transfer ownership."))
    _check_not_self(actor, member)
    if member.status != ACTIVE:
        raise MemberError(_("Ownership can only go to an active member."))
    owner_role, admin_role = _builtin(OWNER), _builtin("admin")
    if admin_role is None:  # deleted before the roles service kept it
        raise MemberError(
            _("The Admin role you would step down to was deleted. Give the member the Owner role instead, "
              "then change your own role.")
        )  # fmt: skip
    changes = {"from": [actor.user.email, None], "to": [None, member.user.email]}
    member.role, actor.role = owner_role, admin_role
    audit.record("member.ownership_transferred", "membership", member.id, changes)


def _builtin(key: str) -> Role:
    return db.session.scalar(sa.select(Role).where(Role.builtin == key))


def _check_may_manage(actor: Membership, member: Membership) -> None:
    if member.is_owner and not actor.is_owner:
        raise MemberError(_("Only an Owner can change another Owner."))
    if not holds_everything_of(actor, member.role):
        raise MemberError(_("This member has permissions you do not have; ask an Owner."))


def _check_role_grantable(actor: Membership, role: Role) -> None:
    if role.builtin == OWNER and not actor.is_owner:
        raise MemberError(_("Only an Owner can make someone an Owner."))
    if not holds_everything_of(actor, role):
        raise MemberError(_("You can only give a role whose permissions and record scope you have yourself."))


def _check_not_self(actor: Membership, member: Membership) -> None:
    if actor.id == member.id:
        raise MemberError(_("You cannot do this to yourself. Ask another admin."))


def _check_not_last_owner(member: Membership) -> None:
    """The Owners' memberships stay locked until the change is saved (PostgreSQL): two Owners
    demoting or removing each other at once both counted two Owners and left none. The second
    waits for the first, then counts again without the one it changed."""
    if not member.is_owner:
        return
    owners = db.session.scalars(
        sa.select(Membership.id)
        .join(Membership.role)
        .where(Role.builtin == OWNER, Membership.status == ACTIVE)
        .order_by(Membership.id)  # locked in one order by every request: no deadlock
        .with_for_update(of=Membership)
    ).all()
    if len(owners) <= 1:
        raise MemberError(_("A workspace needs an active Owner. Transfer ownership first."))
