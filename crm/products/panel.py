"""The deal page's "Products" section: its lines, their totals and, for a member who may change
an open deal, the forms. Shared by the deal page and the line routes, which answer the section."""

from dataclasses import dataclass
from decimal import Decimal

from flask import g

from crm.deals.models import OPEN, Deal
from crm.i18n import money
from crm.products import service
from crm.products.forms import ItemForm, LineForm
from crm.products.models import DealItem, Product

SECTION = "deal-items"


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    tax: Decimal

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax

    @classmethod
    def of(cls, items: list[DealItem]) -> "Totals":
        zero = Decimal("0")
        return cls(sum((i.net_amount for i in items), zero), sum((i.tax_amount for i in items), zero))


def product_choices(products: list[Product]) -> list[tuple[int, str]]:
    return [(p.id, f"{p.name}{f' ({p.sku})' if p.sku else ''} · {money(p.unit_price, p.currency)}") for p in products]


def item_form(deal: Deal, submitted: bool = False) -> ItemForm:
    """The new-line form: empty, or read from the request when ``submitted``."""
    unsent = {} if submitted else {"formdata": None}
    return ItemForm(prefix="item", products=product_choices(service.offered_products(deal.currency)), **unsent)


def line_form(item: DealItem, submitted: bool = False) -> LineForm:
    """A line's own form (its prefix keeps the ids of several lines on one page apart)."""
    if submitted:
        return LineForm(prefix=f"line-{item.id}")
    return LineForm(formdata=None, obj=item, prefix=f"line-{item.id}")


def deal_items_context(deal: Deal, new_form: ItemForm | None = None, failed: LineForm | None = None,
                       failed_id: int | None = None) -> dict:  # fmt: skip
    """``new_form``/``failed`` carry a refused form back with its errors (``failed`` for line ``failed_id``)."""
    items = service.items_of(deal)
    editable = deal.status == OPEN and g.membership.can("deals.write")
    context = {"deal": deal, "deal_items": items, "deal_totals": Totals.of(items), "items_editable": editable}
    if editable:
        context["item_form"] = new_form or item_form(deal)
        context["line_forms"] = {item.id: failed if item.id == failed_id else line_form(item) for item in items}
    return context
