"""Roles: custom sets of permissions and a record scope. The Owner role is fixed (it always has
everything), and nobody grants a permission they do not hold themselves."""

import sqlalchemy as sa
from flask_babel import gettext as _

from crm.audit import service as audit
from crm.extensions import db
from crm.members.models import Invitation
from crm.permissions import OWNER, PERMISSIONS, RECORD_SCOPES
from crm.search import any_case
from crm.workspaces.models import REMOVED, Membership, Role

NAME_MAX = 60


class RoleError(ValueError):
    """A refused change, with a message for the person who asked."""


def roles_with_member_counts() -> list[tuple[Role, int]]:
    counts = (
        sa.select(Membership.role_id, sa.func.count().label("members"))
        .where(Membership.status != REMOVED)
        .group_by(Membership.role_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(Role, sa.func.coalesce(counts.c.members, 0))
        .outerjoin(counts, counts.c.role_id == Role.id)
        .order_by(Role.builtin.is_(None), Role.id)
    )
    return [(role, count) for role, count in rows]


def role_or_none(role_id: int) -> Role | None:
    return db.session.get(Role, role_id)


def create(actor: Membership, name: str, copy_from: Role | None = None) -> Role:
    """A new role, empty or a copy of another: the copy keeps only what the actor holds."""
    name = _valid_name(name)
    permissions = [p for p in copy_from.permissions if actor.can(p)] if copy_from else []
    scope = copy_from.record_scope if copy_from else "all"
    if actor.role.record_scope != "all" and not actor.is_owner:
        scope = "own"
    role = Role(name=name, permissions=permissions, record_scope=scope)
    db.session.add(role)
    db.session.flush()
    audit.record("role.created", "role", role.id, {"name": [None, name], "permissions": [None, permissions]})
    return role


def copy_name(role: Role) -> str:
    base = _("Copy of %(name)s", name=role.display_name)[: NAME_MAX - 4]
    candidate, n = base, 1
    while _name_taken(candidate):
        n += 1
        candidate = f"{base} {n}"
    return candidate


def update(actor: Membership, role: Role, name: str, record_scope: str) -> None:
    _check_editable(role)
    if record_scope not in RECORD_SCOPES:
        raise RoleError(_("Choose one of the record scopes listed."))
    widening = record_scope == "all" and role.record_scope != "all"
    if widening and not actor.is_owner and actor.role.record_scope != "all":
        raise RoleError(_("Only someone who sees all records can let a role see all records."))
    role.name = _valid_name(name, role)
    role.record_scope = record_scope
    changes = audit.changes_of(role, ("name", "record_scope"))
    if changes:
        audit.record("role.updated", "role", role.id, changes)


def set_permissions(actor: Membership, role: Role, wanted: set[str]) -> None:
    """Saves the role's whole permission set; only permissions the actor holds may change."""
    _check_editable(role)
    unknown = wanted - set(PERMISSIONS)
    if unknown:
        raise RoleError(_("Unknown permission: %(names)s", names=", ".join(sorted(unknown))))
    current = set(role.permissions)
    changed = current ^ wanted
    beyond_actor = {p for p in changed if not actor.can(p)}
    if beyond_actor:
        raise RoleError(_("You can only grant or take away permissions you have yourself."))
    if not changed:
        return
    ordered = [p for p in PERMISSIONS if p in wanted]
    role.permissions = ordered
    audit.record("role.updated", "role", role.id, {"permissions": [sorted(current), ordered]})


def delete(role: Role) -> None:
    if role.builtin == OWNER:
        raise RoleError(_("The Owner role cannot be deleted."))
    if role.builtin == "admin":
        raise RoleError(_("The Admin role cannot be deleted: an Owner who hands over ownership becomes an Admin."))
    in_use = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Membership)
        .where(Membership.role_id == role.id, Membership.status != REMOVED)
    )
    if in_use:
        raise RoleError(_("%(count)d member(s) have this role. Give them another role first.", count=in_use))
    open_invitations = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Invitation)
        .where(Invitation.role_id == role.id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
    )
    if open_invitations:
        raise RoleError(_("Open invitations offer this role. Revoke them first."))
    _detach_past_memberships(role)
    audit.record("role.deleted", "role", role.id, {"name": [role.name, None], "permissions": [role.permissions, None]})
    db.session.delete(role)


def _detach_past_memberships(role: Role) -> None:
    """Removed members and used invitations still point at the role: move them to Viewer."""
    viewer = db.session.scalar(sa.select(Role.id).where(Role.builtin == "viewer", Role.id != role.id))
    fallback = viewer or db.session.scalar(sa.select(Role.id).where(Role.builtin == OWNER))
    db.session.execute(sa.update(Membership).where(Membership.role_id == role.id).values(role_id=fallback))
    db.session.execute(sa.update(Invitation).where(Invitation.role_id == role.id).values(role_id=fallback))


def _check_editable(role: Role) -> None:
    if role.builtin == OWNER:
        raise RoleError(_("The Owner role always has every permission and cannot be changed."))


def _valid_name(name: str, role: Role | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise RoleError(_("Name the role."))
    if len(name) > NAME_MAX:
        raise RoleError(_("Use at most %(max)d characters.", max=NAME_MAX))
    if _name_taken(name, role):
        raise RoleError(_("Another role already has this name."))
    return name


def _name_taken(name: str, role: Role | None = None) -> bool:
    query = sa.select(Role.id).where(any_case(Role.name) == any_case(name))
    if role is not None:
        query = query.where(Role.id != role.id)
    return db.session.scalar(query) is not None
