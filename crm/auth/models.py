from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_login import UserMixin

from crm.db import BigId, Timestamps, UTCDateTime
from crm.extensions import db


class User(UserMixin, Timestamps, db.Model):
    """A person who can sign in; global, since one login may belong to several workspaces."""

    __tablename__ = "users"

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(255))
    # None follows the browser's Accept-Language.
    locale: so.Mapped[str | None] = so.mapped_column(sa.String(10))
    # Bumped on password change and "sign out everywhere": every older session cookie stops working.
    session_version: so.Mapped[int] = so.mapped_column(default=1)
    last_login_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_workspace_id: so.Mapped[int | None] = so.mapped_column(
        BigId, sa.ForeignKey("workspaces.id", ondelete="SET NULL")
    )

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"
