"""Duplicate contacts: the candidate pairs a scan found (with score and reason, or dismissed as
"not the same person"), and the merges made from them, with what undo needs."""

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.contacts.models import Contact
from crm.db import BigId, UTCDateTime, utcnow
from crm.extensions import db
from crm.tenancy import TenantScoped

REASONS = ("email", "phone", "name")


def _contact_fk(column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id", column], ["contacts.workspace_id", "contacts.id"], ondelete="CASCADE"
    )


def _contact(model: str, column: str) -> so.Mapped[Contact]:
    return so.relationship(
        primaryjoin=f"and_(Contact.workspace_id == {model}.workspace_id, Contact.id == foreign({model}.{column}))",
        viewonly=True,
    )


class DuplicatePair(TenantScoped, db.Model):
    """Two contacts that may be one person; ``contact_id`` is the lower id of the two. ``group_id``
    is the lowest contact id of all the pairs linked to these two, so groups list together."""

    __tablename__ = "duplicate_pairs"
    __scoped_table_args__ = (
        _contact_fk("contact_id"),
        _contact_fk("other_id"),
        sa.UniqueConstraint("workspace_id", "contact_id", "other_id"),
        sa.Index("ix_duplicate_pairs_workspace_id_score", "workspace_id", "score", "group_id", "id"),
        sa.Index("ix_duplicate_pairs_workspace_id_other_id", "workspace_id", "other_id"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    contact_id: so.Mapped[int] = so.mapped_column(BigId)
    other_id: so.Mapped[int] = so.mapped_column(BigId)
    group_id: so.Mapped[int] = so.mapped_column(BigId)
    score: so.Mapped[int] = so.mapped_column(sa.SmallInteger)  # 0-100; 100 is the same email
    reason: so.Mapped[str] = so.mapped_column(sa.String(5))  # one of REASONS
    detail: so.Mapped[str] = so.mapped_column(sa.String(320))  # the shared email, phone or company name
    dismissed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    contact: so.Mapped[Contact] = _contact("DuplicatePair", "contact_id")
    other: so.Mapped[Contact] = _contact("DuplicatePair", "other_id")


class ContactMerge(TenantScoped, db.Model):
    """``merged_id`` was folded into ``survivor_id`` (and trashed). ``before`` holds the survivor's
    values the merge replaced; ``moved`` the ids of the rows that moved over, per table."""

    __tablename__ = "contact_merges"
    __scoped_table_args__ = (
        _contact_fk("survivor_id"),
        _contact_fk("merged_id"),
        sa.ForeignKeyConstraint(["workspace_id", "merged_by"], ["memberships.workspace_id", "memberships.id"]),
        sa.Index("ix_contact_merges_workspace_id_created_at", "workspace_id", "created_at"),
        sa.Index("ix_contact_merges_workspace_id_survivor_id", "workspace_id", "survivor_id"),
        sa.Index("ix_contact_merges_workspace_id_merged_id", "workspace_id", "merged_id"),  # the trash leaves them out
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    survivor_id: so.Mapped[int] = so.mapped_column(BigId)
    merged_id: so.Mapped[int] = so.mapped_column(BigId)
    merged_by: so.Mapped[int | None] = so.mapped_column(BigId)
    before: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    moved: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    undone_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    survivor: so.Mapped[Contact] = _contact("ContactMerge", "survivor_id")
    merged: so.Mapped[Contact] = _contact("ContactMerge", "merged_id")
