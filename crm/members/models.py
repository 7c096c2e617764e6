from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.db import BigId, Timestamps, UTCDateTime, utcnow
from crm.extensions import db
from crm.tenancy import TenantScoped
from crm.workspaces.models import Membership, Role, Workspace


class Invitation(TenantScoped, Timestamps, db.Model):
    """An emailed, single-use link to join a workspace with a role. Only a hash of the token is
    stored, so a leaked database does not hand out seats."""

    __tablename__ = "invitations"
    __scoped_table_args__ = (
        sa.ForeignKeyConstraint(["workspace_id", "role_id"], ["roles.workspace_id", "roles.id"]),
        sa.ForeignKeyConstraint(["workspace_id", "invited_by_id"], ["memberships.workspace_id", "memberships.id"]),
        sa.Index("ix_invitations_workspace_id_created_at", "workspace_id", "created_at"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254))
    role_id: so.Mapped[int] = so.mapped_column(BigId)
    invited_by_id: so.Mapped[int] = so.mapped_column(BigId)
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    accepted_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    revoked_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    workspace: so.Mapped[Workspace] = so.relationship()
    role: so.Mapped[Role] = so.relationship(
        primaryjoin="and_(Role.workspace_id == Invitation.workspace_id, Role.id == foreign(Invitation.role_id))",
        lazy="joined",
        innerjoin=True,
    )
    invited_by: so.Mapped[Membership] = so.relationship(
        primaryjoin="and_(Membership.workspace_id == Invitation.workspace_id,"
        " Membership.id == foreign(Invitation.invited_by_id))",
    )

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > utcnow()
