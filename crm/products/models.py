"""The product catalogue and the line items of deals (what a deal sells: quotes and won purchases
are made from them)."""

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

import sqlalchemy as sa
import sqlalchemy.orm as so
from babel.numbers import get_currency_precision

from crm.db import BigId, Timestamps
from crm.extensions import db
from crm.search import searchable
from crm.tenancy import TenantScoped

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def to_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@lru_cache(maxsize=256)
def minor_unit(currency: str | None) -> Decimal:
    """The smallest amount of ``currency`` as amounts are shown (0.01; 1 for the yen or the won)."""
    return Decimal(1).scaleb(-min(get_currency_precision(currency), 2)) if currency else CENT


def to_minor_unit(amount: Decimal, currency: str | None) -> Decimal:
    """``amount`` rounded (half up) to what the currency shows: a line of a yen deal is whole yen,
    so its lines add up to the subtotal and total the quote shows."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP).quantize(CENT)


class Product(TenantScoped, Timestamps, db.Model):
    """A catalogue entry. Never deleted once used on a deal: deactivated (no longer offered)."""

    __tablename__ = "products"
    __scoped_table_args__ = (
        # NULLs are distinct on both databases: products without a SKU do not collide.
        sa.UniqueConstraint("workspace_id", "sku"),
        # The name order's index, (workspace_id, name COLLATE human, id), is made by migration 0057.
        sa.CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        sa.CheckConstraint("tax_rate BETWEEN 0 AND 100", name="tax_rate_range"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    sku: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    unit_price: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(12, 2))
    currency: so.Mapped[str] = so.mapped_column(sa.String(3))
    tax_rate: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(5, 2), default=Decimal("0"))  # percent
    active: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=True)
    # Name and SKU as search compares them (crm.search.searchable), set with them; indexed per dialect
    # (pg_trgm GIN, an FTS5 trigram table: migration 0047).
    search_text: so.Mapped[str] = so.mapped_column(sa.Text, default="", server_default="")

    @so.validates("name", "sku")
    def _searched(self, key: str, value: str | None) -> str | None:
        # Set wherever the name or SKU is, so the search text never drifts from them.
        name, sku = (value, self.sku) if key == "name" else (self.name, value)
        self.search_text = searchable(" ".join(part for part in (name, sku) if part))
        return value


class DealItem(TenantScoped, db.Model):
    """A line of a deal: a product (or free text) with its own copy of name, price and tax rate, so
    later catalogue changes leave the deal as agreed."""

    __tablename__ = "deal_items"
    __scoped_table_args__ = (
        sa.ForeignKeyConstraint(["workspace_id", "deal_id"], ["deals.workspace_id", "deals.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id", "product_id"], ["products.workspace_id", "products.id"]),
        sa.Index("ix_deal_items_workspace_id_deal_id", "workspace_id", "deal_id", "position"),
        # "Is this product used on a deal?" (deactivate instead of delete).
        sa.Index("ix_deal_items_workspace_id_product_id", "workspace_id", "product_id"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        sa.CheckConstraint("discount_percent BETWEEN 0 AND 100", name="discount_range"),
        sa.CheckConstraint("tax_rate BETWEEN 0 AND 100", name="tax_rate_range"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    deal_id: so.Mapped[int] = so.mapped_column(BigId)
    product_id: so.Mapped[int | None] = so.mapped_column(BigId)  # None: a free-text line
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    quantity: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(12, 3))
    unit_price: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(12, 2))
    discount_percent: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(5, 2), default=Decimal("0"))
    tax_rate: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(5, 2), default=Decimal("0"))  # percent
    position: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)

    # The deal's currency (not stored: a line is in its deal's), set where lines are read
    # (crm.products.service.items_of); the amounts are rounded to its smallest unit.
    currency = None  # type: str | None

    @property
    def net_unit_price(self) -> Decimal:
        """The unit price after the discount, rounded as the currency is shown (what a won deal's
        purchase records)."""
        return to_minor_unit(self.unit_price * (1 - (self.discount_percent or 0) / HUNDRED), self.currency)

    @property
    def net_amount(self) -> Decimal:
        """quantity * unit price * (1 - discount %), rounded as the currency is shown (to the cent)."""
        return to_minor_unit(self.quantity * self.unit_price * (1 - (self.discount_percent or 0) / HUNDRED),
                             self.currency)  # fmt: skip

    @property
    def tax_amount(self) -> Decimal:
        return to_minor_unit(self.net_amount * (self.tax_rate or 0) / HUNDRED, self.currency)

    @property
    def gross_amount(self) -> Decimal:
        return self.net_amount + self.tax_amount
