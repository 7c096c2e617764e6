"""Read queries of the catalogue: its list, a page at a time by name as people read it (keyset on
name and id in the ``human`` collation, crm/sorting.py: the index of migration 0057), searched by
words of the name or the SKU (their search text, accents folded as contacts' are: crm.search)."""

import sqlalchemy as sa

from crm.extensions import db
from crm.pagination import Page, keyset
from crm.products.models import Product
from crm.search import matching
from crm.sorting import by_name

PER_PAGE = 50


def products_page(q: str, status: str, after: str | None) -> Page:
    """``status``: "active", "inactive" or "all"."""
    statement = matching(sa.select(Product), Product, " ".join(q.split()[:5]), db.engine.dialect.name,
                         phone_digits=False)  # fmt: skip
    if status in ("active", "inactive"):
        statement = statement.where(Product.active.is_(status == "active"))
    return keyset(db.session, statement, [by_name(Product.name), Product.id], after, PER_PAGE, descending=False)
