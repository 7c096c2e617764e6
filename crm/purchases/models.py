"""What a customer bought: the figures that tiers, levels and lifecycle are computed from."""

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.db import BigId, Timestamps
from crm.extensions import db
from crm.tenancy import TenantScoped


class Purchase(TenantScoped, Timestamps, db.Model):
    __tablename__ = "purchases"
    __scoped_table_args__ = (
        sa.ForeignKeyConstraint(
            ["workspace_id", "contact_id"], ["contacts.workspace_id", "contacts.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["workspace_id", "company_id"], ["companies.workspace_id", "companies.id"]),
        sa.Index("ix_purchases_workspace_id_contact_id_purchased_on", "workspace_id", "contact_id", "purchased_on"),
        sa.Index("ix_purchases_workspace_id_company_id_purchased_on", "workspace_id", "company_id", "purchased_on"),
        sa.Index("ix_purchases_workspace_id_import_id", "workspace_id", "import_id"),
        sa.Index("ix_purchases_workspace_id_deal_id", "workspace_id", "deal_id"),
        sa.CheckConstraint("contact_id IS NOT NULL OR company_id IS NOT NULL", name="contact_or_company"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    contact_id: so.Mapped[int | None] = so.mapped_column(BigId)  # None: bought by the company as a whole
    company_id: so.Mapped[int | None] = so.mapped_column(BigId)  # the contact's company when bought
    purchased_on: so.Mapped[date] = so.mapped_column(sa.Date)
    product: so.Mapped[str] = so.mapped_column(sa.String(200))
    quantity: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(12, 3))
    unit_price: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(14, 2))
    amount: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(14, 2))
    currency: so.Mapped[str] = so.mapped_column(sa.String(3))
    # What it is worth in the workspace's currency (its amount, when in that currency): what tiers,
    # levels and totals add up.
    base_amount: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(14, 2))
    import_id: so.Mapped[int | None] = so.mapped_column(BigId)  # the import that added it (undo)
    deal_id: so.Mapped[int | None] = so.mapped_column(BigId)  # the deal whose win recorded it (won again: replaced)

    contact: so.Mapped["Contact | None"] = so.relationship(  # noqa: F821
        primaryjoin="and_(Contact.workspace_id == Purchase.workspace_id, Contact.id == foreign(Purchase.contact_id))",
        viewonly=True,
    )
