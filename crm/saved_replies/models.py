"""Saved replies: a workspace's canned answers for tickets, with placeholders filled per ticket."""

import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.db import BigId, Timestamps
from crm.extensions import db
from crm.tenancy import TenantScoped


class SavedReply(TenantScoped, Timestamps, db.Model):
    __tablename__ = "saved_replies"
    __scoped_table_args__ = (sa.Index("ix_saved_replies_workspace_id_title", "workspace_id", "title"),)

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(120))
    body: so.Mapped[str] = so.mapped_column(sa.Text)
