import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.db import BigId, Timestamps
from crm.extensions import db
from crm.tenancy import TenantScoped
from crm.workspaces.models import Membership

BODY_MAX = 2000


class Note(TenantScoped, Timestamps, db.Model):
    """A note pinned on the workspace home for the whole team."""

    __tablename__ = "notes"
    __scoped_table_args__ = (
        sa.ForeignKeyConstraint(["workspace_id", "author_id"], ["memberships.workspace_id", "memberships.id"]),
        sa.Index("ix_notes_workspace_id_created_at", "workspace_id", "created_at", "id"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    author_id: so.Mapped[int] = so.mapped_column(BigId)
    body: so.Mapped[str] = so.mapped_column(sa.Text)

    # Only author_id is "foreign" here: workspace_id is stamped by the tenancy wall, never
    # copied from a related row.
    author: so.Mapped[Membership] = so.relationship(
        primaryjoin="and_(Membership.workspace_id == Note.workspace_id, Membership.id == foreign(Note.author_id))",
    )
