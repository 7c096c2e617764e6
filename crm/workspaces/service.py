"""Workspaces: creation (with sign-up), membership look-ups, settings, demo data."""

import re
import zoneinfo
from functools import cache

import sqlalchemy as sa
from flask import url_for
from slugify import slugify

from crm.auth.models import User
from crm.auth.service import create_user, user_by_email
from crm.extensions import db
from crm.tenancy import ALL_WORKSPACES, bind_workspace
from crm.workspaces.models import Membership, Workspace

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$")


class SlugTaken(ValueError):
    pass


@cache
def time_zones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones() - {"localtime", "Factory"}))


def valid_timezone(name: str | None) -> str:
    return name if name in time_zones() else "UTC"


def sign_up(name, email, password, business_name, timezone, locale=None) -> tuple[User, Workspace]:
    """A new account and its first workspace, with the user as Owner (caller commits)."""
    user = create_user(name, email, password, locale=locale)
    return user, create_workspace(user, business_name, timezone)


def create_workspace(user: User, name: str, timezone: str | None = None) -> Workspace:
    """Creates the workspace, binds the session to it and makes ``user`` its Owner."""
    workspace = Workspace(name=name.strip(), slug=unique_slug(name), timezone=valid_timezone(timezone))
    db.session.add(workspace)
    db.session.flush()
    bind_workspace(workspace.id)
    db.session.add(Membership(user_id=user.id, role="owner"))
    user.last_workspace_id = workspace.id
    db.session.flush()
    return workspace


def unique_slug(name: str, taken_by: int | None = None) -> str:
    base = slugify(name, max_length=40, word_boundary=True) or "workspace"
    candidate, n = base, 1
    while slug_taken(candidate, taken_by):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def slug_taken(slug: str, except_workspace_id: int | None = None) -> bool:
    query = sa.select(Workspace.id).where(Workspace.slug == slug)
    if except_workspace_id is not None:
        query = query.where(Workspace.id != except_workspace_id)
    return db.session.scalar(query) is not None


def membership_in(user: User, slug: str) -> Membership | None:
    """The user's membership of the workspace with this slug (one query, before binding)."""
    return db.session.scalar(
        sa.select(Membership)
        .join(Membership.workspace)
        .where(Workspace.slug == slug, Membership.user_id == user.id)
        .execution_options(**ALL_WORKSPACES)
    )


def memberships_of(user: User) -> list[Membership]:
    """Every workspace the user belongs to, for the switcher (reads across workspaces on purpose)."""
    return list(
        db.session.scalars(
            sa.select(Membership)
            .where(Membership.user_id == user.id)
            .order_by(Membership.joined_at)
            .execution_options(**ALL_WORKSPACES)
        )
    )


def home_url_for(user: User) -> str:
    memberships = memberships_of(user)
    if not memberships:
        return url_for("workspaces.new")
    preferred = next((m for m in memberships if m.workspace_id == user.last_workspace_id), memberships[0])
    return url_for("ws.home", workspace_slug=preferred.workspace.slug)


def update_settings(workspace: Workspace, name: str, slug: str, timezone: str) -> None:
    if slug_taken(slug, workspace.id):
        raise SlugTaken(slug)
    workspace.name = name.strip()
    workspace.slug = slug
    workspace.timezone = valid_timezone(timezone)


def load_demo(email: str, password: str) -> bool:
    """The "Demo Co" workspace and its owner; False if already there."""
    from crm.notes.service import create_note

    if user_by_email(email) is not None:
        return False
    user, _workspace = sign_up("Demo Owner", email, password, "Demo Co", "Asia/Shanghai")
    membership = db.session.scalar(sa.select(Membership).where(Membership.user_id == user.id))
    for body in (
        "Welcome to the Demo Co workspace. Notes here are seen by the whole team.",
        "欢迎使用客户管理系统：这里的便签全体同事可见。",
    ):
        create_note(membership, body)
    db.session.commit()
    return True
