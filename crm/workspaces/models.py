from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.db import BigId, Timestamps, UTCDateTime, utcnow
from crm.extensions import db
from crm.tenancy import TenantScoped


class Workspace(Timestamps, db.Model):
    """The tenant: a business. Global table; everything of the business carries its id."""

    __tablename__ = "workspaces"

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    slug: so.Mapped[str] = so.mapped_column(sa.String(50), unique=True)
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64), default="UTC")

    # Loaded through the tenancy wall like any query: only rows of the bound workspace come back.
    memberships: so.Mapped[list["Membership"]] = so.relationship(
        back_populates="workspace", viewonly=True, order_by="Membership.joined_at"
    )

    def __repr__(self) -> str:
        return f"<Workspace {self.id} {self.slug}>"


class Membership(TenantScoped, db.Model):
    """A user's seat in a workspace. Scoped; its RLS policy also lets a user see their own rows
    in every workspace, which the workspace switcher needs."""

    __tablename__ = "memberships"
    __scoped_table_args__ = (
        sa.UniqueConstraint("workspace_id", "user_id"),
        sa.Index("ix_memberships_user_id", "user_id"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(BigId, sa.ForeignKey("users.id", ondelete="CASCADE"))
    role: so.Mapped[str] = so.mapped_column(sa.String(20), default="owner")
    joined_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    user: so.Mapped["User"] = so.relationship(lazy="joined", innerjoin=True)  # noqa: F821
    workspace: so.Mapped[Workspace] = so.relationship(lazy="joined", innerjoin=True, back_populates="memberships")
