"""Billing records: the Stripe events already handled (global: an event arrives before its
workspace is known) and the workspace's invoices as Stripe reported them. The plan and the
subscription's state are columns of ``workspaces`` (crm/workspaces/models.py)."""

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.db import BigId, UTCDateTime, utcnow
from crm.extensions import db
from crm.tenancy import TenantScoped


class StripeEvent(db.Model):
    """One delivered Stripe event, stored once: a second delivery of the same id is a no-op."""

    __tablename__ = "stripe_events"

    id: so.Mapped[str] = so.mapped_column(sa.String(255), primary_key=True)  # evt_...
    type: so.Mapped[str] = so.mapped_column(sa.String(100))
    created: so.Mapped[datetime] = so.mapped_column(UTCDateTime)  # when Stripe made it
    received_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    # The workspace it changed, if any (not "workspace_id": this table is global, outside the RLS walls).
    applied_to_workspace_id: so.Mapped[int | None] = so.mapped_column(
        BigId, sa.ForeignKey("workspaces.id", ondelete="SET NULL")
    )


class Invoice(TenantScoped, db.Model):
    """An invoice of the workspace's subscription; amounts in the currency's minor unit, as Stripe."""

    __tablename__ = "invoices"
    __scoped_table_args__ = (
        sa.UniqueConstraint("workspace_id", "stripe_invoice_id"),
        sa.Index("ix_invoices_workspace_id_issued_at", "workspace_id", "issued_at"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    stripe_invoice_id: so.Mapped[str] = so.mapped_column(sa.String(255))
    number: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    status: so.Mapped[str] = so.mapped_column(sa.String(20))  # draft, open, paid, uncollectible, void
    amount_due: so.Mapped[int] = so.mapped_column(sa.Integer)
    amount_paid: so.Mapped[int] = so.mapped_column(sa.Integer)
    currency: so.Mapped[str] = so.mapped_column(sa.String(3))
    issued_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    hosted_invoice_url: so.Mapped[str | None] = so.mapped_column(sa.Text)
    invoice_pdf: so.Mapped[str | None] = so.mapped_column(sa.Text)
