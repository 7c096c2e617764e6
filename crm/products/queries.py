"""Read queries of the catalogue: its list, a page at a time by name (keyset on name and id, the
``(workspace_id, name)`` index), searched by words of the name or the SKU (their search text, accents
folded as contacts' are: crm.search)."""

import sqlalchemy as sa

from crm.extensions import db
from crm.pagination import Page, keyset
from crm.products.models import Product
from crm.search import matching

PER_PAGE = 50


def products_page(q: str, status: str, after: str | None) -> Page:
    """``status``: "active", "inactive" or "all"."""
    statement = matching(sa.select(Product), Product, " ".join(q.split()[:5]), db.engine.dialect.name,
                         phone_digits=False)  # fmt: skip
    if status in ("active", "inactive"):
        statement = statement.where(Product.active.is_(status == "active"))
    return keyset(db.session, statement, [Product.name, Product.id], after, PER_PAGE, descending=False)
