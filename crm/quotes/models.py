"""Quotes generated from deals: the quote, its lines (a copy of the deal's lines when it was made)
and the per-workspace, per-year counter that numbers them."""

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.db import BigId, Timestamps, UTCDateTime
from crm.deals.models import Deal
from crm.extensions import db
from crm.i18n import lazy_gettext as _l
from crm.tenancy import TenantScoped

DRAFT, SENT, ACCEPTED, DECLINED = "draft", "sent", "accepted", "declined"
STATUS_LABELS = {DRAFT: _l("Draft"), SENT: _l("Sent"), ACCEPTED: _l("Accepted"), DECLINED: _l("Declined")}
# Where each status may go next; accepted and declined are final.
TRANSITIONS = {DRAFT: (SENT,), SENT: (ACCEPTED, DECLINED), ACCEPTED: (), DECLINED: ()}


class QuoteCounter(TenantScoped, db.Model):
    """The last quote number given in a workspace for a year. Taken with one atomic upsert in the
    transaction that creates the quote (crm.quotes.service.next_number): concurrent generations
    queue on this row, and a rolled-back one gives its number back, so numbers have no gaps."""

    __tablename__ = "quote_counters"
    __scoped_table_args__ = (sa.UniqueConstraint("workspace_id", "year"),)

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    year: so.Mapped[int] = so.mapped_column(sa.Integer)
    last_number: so.Mapped[int] = so.mapped_column(sa.Integer)


class Quote(TenantScoped, Timestamps, db.Model):
    """A quote for a deal. What it shows is copied when it is made (the lines, the customer's and the
    workspace's names and details), so a sent quote stays as sent whatever happens to the deal."""

    __tablename__ = "quotes"
    __scoped_table_args__ = (
        sa.ForeignKeyConstraint(["workspace_id", "deal_id"], ["deals.workspace_id", "deals.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id", "created_by_id"], ["memberships.workspace_id", "memberships.id"]),
        sa.UniqueConstraint("workspace_id", "number"),
        sa.Index("ix_quotes_workspace_id_deal_id", "workspace_id", "deal_id"),
        sa.CheckConstraint("valid_until >= issued_on", name="valid_after_issue"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    deal_id: so.Mapped[int] = so.mapped_column(BigId)
    number: so.Mapped[str] = so.mapped_column(sa.String(20))  # Q-2026-0001
    status: so.Mapped[str] = so.mapped_column(sa.String(8), default=DRAFT)
    issued_on: so.Mapped[date] = so.mapped_column(sa.Date)
    valid_until: so.Mapped[date] = so.mapped_column(sa.Date)
    currency: so.Mapped[str] = so.mapped_column(sa.String(3))
    seller_name: so.Mapped[str] = so.mapped_column(sa.String(120))
    seller_details: so.Mapped[str | None] = so.mapped_column(sa.Text)
    company_name: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    contact_name: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    title: so.Mapped[str] = so.mapped_column(sa.String(200))  # the deal's, as it was
    notes: so.Mapped[str | None] = so.mapped_column(sa.Text)  # notes and terms
    subtotal: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(12, 2))  # after discounts, before tax
    tax_total: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(12, 2))
    total: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(12, 2))
    created_by_id: so.Mapped[int | None] = so.mapped_column(BigId)
    status_changed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    deal: so.Mapped[Deal] = so.relationship(
        primaryjoin="and_(Deal.workspace_id == Quote.workspace_id, Deal.id == foreign(Quote.deal_id))",
        viewonly=True,
    )
    items: so.Mapped[list["QuoteItem"]] = so.relationship(
        primaryjoin="and_(QuoteItem.workspace_id == Quote.workspace_id, foreign(QuoteItem.quote_id) == Quote.id)",
        order_by="QuoteItem.position",
        viewonly=True,
    )


class QuoteItem(TenantScoped, db.Model):
    """A line of a quote, amounts computed once when the quote was made."""

    __tablename__ = "quote_items"
    __scoped_table_args__ = (
        sa.ForeignKeyConstraint(["workspace_id", "quote_id"], ["quotes.workspace_id", "quotes.id"], ondelete="CASCADE"),
        sa.Index("ix_quote_items_workspace_id_quote_id", "workspace_id", "quote_id", "position"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    quote_id: so.Mapped[int] = so.mapped_column(BigId)
    position: so.Mapped[int] = so.mapped_column(sa.Integer)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    quantity: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(12, 3))
    unit_price: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(12, 2))
    discount_percent: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(5, 2))
    tax_rate: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(5, 2))
    net_amount: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(12, 2))
    tax_amount: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(12, 2))
