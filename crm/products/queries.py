"""Read queries of the catalogue: its list, a page at a time by name (keyset on name and id, the
``(workspace_id, name)`` index), searched by words of the name or the SKU."""

import sqlalchemy as sa

from crm.extensions import db
from crm.pagination import Page, keyset
from crm.products.models import Product
from crm.search import like_pattern

PER_PAGE = 50


def products_page(q: str, status: str, after: str | None) -> Page:
    """``status``: "active", "inactive" or "all"."""
    statement = sa.select(Product)
    for word in q.split()[:5]:
        pattern = like_pattern(word)
        statement = statement.where(
            sa.or_(Product.name.ilike(pattern, escape="\\"), Product.sku.ilike(pattern, escape="\\"))
        )
    if status in ("active", "inactive"):
        statement = statement.where(Product.active.is_(status == "active"))
    return keyset(db.session, statement, [Product.name, Product.id], after, PER_PAGE, descending=False)
