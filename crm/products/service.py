"""The catalogue (add, change, deactivate: a product is never deleted, so the deals that used it
keep their link) and the line items of deals.

While a deal has lines, its value is their net total (before tax): every change of a line sets it
again, in the same transaction and audit entry. Only an open deal's lines change. The caller commits.
"""

from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from crm.audit import service as audit
from crm.contacts import classification
from crm.deals.models import OPEN, Deal
from crm.extensions import db
from crm.products.models import DealItem, Product
from crm.sorting import by_name

PRODUCT_FIELDS = ("name", "sku", "unit_price", "currency", "tax_rate")
ITEM_FIELDS = ("name", "quantity", "unit_price", "discount_percent", "tax_rate")
MAX_TOTAL = Decimal("9999999999.99")  # deals.value is Numeric(12, 2)


class ProductError(ValueError):
    """A refused change, with a message for the person who asked and the form field it is about."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _check_sku(sku: str | None, product_id: int | None = None) -> None:
    if not sku:
        return
    taken = sa.select(Product.id).where(Product.sku == sku)
    if product_id is not None:
        taken = taken.where(Product.id != product_id)
    if db.session.scalar(taken.limit(1)) is not None:
        raise ProductError(_("Another product has the SKU %(sku)s.", sku=sku), "sku")


def create_product(data: dict) -> Product:
    _check_sku(data.get("sku"))
    product = Product(active=True, **{name: data[name] for name in PRODUCT_FIELDS})
    changes = {name: values for name, values in audit.changes_of(product, PRODUCT_FIELDS).items() if values[1]}
    db.session.add(product)
    db.session.flush()
    audit.record("product.created", "product", product.id, changes)
    return product


def update_product(product: Product, data: dict) -> dict:
    """Changes the catalogue entry; lines already on deals keep the name and price they were given."""
    _check_sku(data.get("sku"), product.id)
    for name in PRODUCT_FIELDS:
        setattr(product, name, data[name])
    changes = audit.changes_of(product, PRODUCT_FIELDS)
    if changes:
        audit.record("product.updated", "product", product.id, changes)
    return changes


def set_active(product: Product, active: bool) -> None:
    """An inactive product is no longer offered for new lines; the lines that have it stay."""
    if product.active == active:
        return
    product.active = active
    audit.record("product.activated" if active else "product.deactivated", "product", product.id,
                 {"active": [not active, active]})  # fmt: skip


def items_of(deal: Deal) -> list[DealItem]:
    """The deal's lines in order, their amounts in the deal's currency."""
    statement = sa.select(DealItem).where(DealItem.deal_id == deal.id)
    items = list(db.session.scalars(statement.order_by(DealItem.position, DealItem.id)))
    for item in items:
        item.currency = deal.currency
    return items


def has_items(deal_id: int) -> bool:
    return db.session.scalar(sa.select(DealItem.id).where(DealItem.deal_id == deal_id).limit(1)) is not None


def _editable(deal: Deal) -> None:
    if deal.status != OPEN:
        raise ProductError(_("Only an open deal's products can change. Reopen the deal first."))


def _sync_value(deal: Deal, items: list[DealItem]) -> dict:
    """The deal's value becomes its lines' net total (unchanged when the last line goes)."""
    if not items:
        return {}
    total = sum((item.net_amount for item in items), Decimal("0"))
    if total > MAX_TOTAL:
        raise ProductError(_("The deal's total would be too large: lower the quantity or the price."), "quantity")
    before = deal.value
    deal.value = total
    if before == deal.value:
        return {}
    classification.deals_changed(deal.contact_id)
    return {"value": [str(before), str(deal.value)]}


def add_item(deal: Deal, product: Product | None, data: dict) -> DealItem:
    """A line from an active product of the deal's currency (name, price and tax rate default to the
    product's) or, without a product, a free-text line."""
    _editable(deal)
    if product is not None:
        _offerable(product, deal)
        data = {"name": product.name, "unit_price": product.unit_price, "tax_rate": product.tax_rate,
                **{name: value for name, value in data.items() if value not in (None, "")}}  # fmt: skip
    elif not data.get("name"):
        raise ProductError(_("Choose a product or name the line."), "name")
    if data.get("unit_price") is None:
        raise ProductError(_("Enter the unit price."), "unit_price")
    items = items_of(deal)
    item = DealItem(deal_id=deal.id, product_id=product.id if product else None,
                    position=1 + max((i.position for i in items), default=-1),
                    discount_percent=Decimal("0"), tax_rate=Decimal("0"))  # fmt: skip
    item.currency = deal.currency
    for name in ITEM_FIELDS:
        if data.get(name) is not None:
            setattr(item, name, data[name])
    db.session.add(item)
    db.session.flush()
    changes = {"deal_item": [None, item.id], "product_id": [None, item.product_id],
               **{name: [None, audit_value] for name, audit_value in _plain_fields(item).items()}}  # fmt: skip
    changes.update(_sync_value(deal, [*items, item]))
    audit.record("deal.item_added", "deal", deal.id, changes)
    return item


def _plain_fields(item: DealItem) -> dict:
    return {name: str(getattr(item, name)) for name in ITEM_FIELDS}


def _offerable(product: Product, deal: Deal) -> None:
    if not product.active:
        raise ProductError(_("%(product)s is no longer offered.", product=product.name), "product_id")
    if product.currency != deal.currency:
        raise ProductError(
            _("%(product)s is priced in %(currency)s and this deal is in %(deal_currency)s: choose a product in "
              "%(deal_currency)s, or add a free-text line.",
              product=product.name, currency=product.currency, deal_currency=deal.currency),
            "product_id",
        )  # fmt: skip


def update_item(deal: Deal, item: DealItem, data: dict) -> dict:
    _editable(deal)
    for name in ITEM_FIELDS:
        if name in data:
            setattr(item, name, data[name])
    changes = audit.changes_of(item, ITEM_FIELDS)
    if not changes:
        return {}
    db.session.flush()
    changes = {"deal_item": [item.id, item.id], **changes, **_sync_value(deal, items_of(deal))}
    audit.record("deal.item_updated", "deal", deal.id, changes)
    return changes


def remove_item(deal: Deal, item: DealItem) -> None:
    _editable(deal)
    changes = {"deal_item": [item.id, None], "name": [item.name, None]}
    db.session.delete(item)
    db.session.flush()
    changes.update(_sync_value(deal, items_of(deal)))
    audit.record("deal.item_removed", "deal", deal.id, changes)


def purchase_rows(deal: Deal, purchased_on) -> list[dict]:
    """What a won deal's lines become: one purchase each, at the unit price after the discount,
    for the line's net amount (tax is not part of a customer's figures)."""
    return [
        {"purchased_on": purchased_on, "product": item.name, "quantity": item.quantity,
         "unit_price": item.net_unit_price, "amount": item.net_amount}
        for item in items_of(deal)
    ]  # fmt: skip


def offered_products(currency: str | None = None, limit: int = 500) -> list[Product]:
    """Active products by name, for the line form (those of ``currency`` first when given)."""
    statement = sa.select(Product).where(Product.active.is_(True))
    order = [by_name(Product.name), Product.id]
    if currency:
        order.insert(0, sa.case((Product.currency == currency, 0), else_=1))
    return list(db.session.scalars(statement.order_by(*order).limit(limit)))
