"""Plain factory functions. Each opens its own app context and returns plain values (ids,
slugs), never live ORM objects, so no session or workspace binding leaks into a test."""

from types import SimpleNamespace

import sqlalchemy as sa

from crm.auth.models import User
from crm.auth.service import create_user
from crm.extensions import db
from crm.notes.models import Note
from crm.tenancy import workspace_scope
from crm.workspaces.models import Membership
from crm.workspaces.service import create_workspace, sign_up

PASSWORD = "correct horse battery staple"


def make_workspace(app, name: str, owner_email: str, password: str = PASSWORD) -> SimpleNamespace:
    """A workspace with its owner (a new user, or an existing one with that email)."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == owner_email))
        if user is None:
            user, workspace = sign_up(owner_email.split("@")[0].title(), owner_email, password, name, "UTC")
        else:
            workspace = create_workspace(user, name)
        membership = db.session.scalar(sa.select(Membership).where(Membership.user_id == user.id))
        db.session.commit()
        return SimpleNamespace(
            id=workspace.id,
            slug=workspace.slug,
            name=workspace.name,
            user_id=user.id,
            email=user.email,
            password=password,
            membership_id=membership.id,
        )


def make_user(app, email: str, password: str = PASSWORD, name: str = "Test User") -> SimpleNamespace:
    with app.app_context():
        user = create_user(name, email, password)
        db.session.commit()
        return SimpleNamespace(id=user.id, email=user.email, password=password)


def make_member(app, workspace, email: str, role: str = "member") -> SimpleNamespace:
    """Adds a user (new) to a workspace with a role other than owner."""
    user = make_user(app, email)
    with app.app_context(), workspace_scope(workspace.id):
        membership = Membership(user_id=user.id, role=role)
        db.session.add(membership)
        db.session.commit()
        return SimpleNamespace(user_id=user.id, email=email, password=PASSWORD, membership_id=membership.id)


def make_note(app, workspace, body: str = "Remember the milk", author_id: int | None = None) -> int:
    with app.app_context(), workspace_scope(workspace.id):
        note = Note(author_id=author_id or workspace.membership_id, body=body)
        db.session.add(note)
        db.session.commit()
        return note.id
