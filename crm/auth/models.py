from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_login import UserMixin

from crm.db import BigId, Timestamps, UTCDateTime, utcnow
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
    # Two-factor authentication: the TOTP secret, encrypted at rest (crm.secrets); set up once
    # confirmed with a first code.
    totp_secret: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    totp_enabled_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # Lock-out after repeated wrong passwords for this account, whatever the IP.
    failed_logins: so.Mapped[int] = so.mapped_column(default=0)
    locked_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_enabled_at is not None

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class RecoveryCode(db.Model):
    """A one-time code that stands in for a lost authenticator; only its SHA-256 is kept."""

    __tablename__ = "recovery_codes"

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(BigId, sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    used_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)


class SignIn(db.Model):
    """A sign-in attempt on an account, for the user's own "recent sign-ins" list."""

    __tablename__ = "sign_ins"
    __table_args__ = (sa.Index("ix_sign_ins_user_id_created_at", "user_id", "created_at"),)

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(BigId, sa.ForeignKey("users.id", ondelete="CASCADE"))
    succeeded: so.Mapped[bool] = so.mapped_column()
    ip: so.Mapped[str | None] = so.mapped_column(sa.String(45))
    user_agent: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
