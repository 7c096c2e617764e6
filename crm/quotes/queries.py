"""Read queries for quotes. A quote is seen through its deal: a deleted deal, or one the member's
record scope hides, hides its quotes too."""

import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.deals.models import Deal
from crm.extensions import db
from crm.permissions import visible_to_member
from crm.quotes.models import Quote
from crm.workspaces.models import Membership

DEAL_QUOTES_LIMIT = 50


def quote_or_none(quote_id: int, member: Membership) -> Quote | None:
    """The quote with its deal (one query) and its lines (a second one)."""
    statement = (
        sa.select(Quote)
        .join(Quote.deal)
        .where(Quote.id == quote_id, Deal.deleted_at.is_(None))
        .options(so.contains_eager(Quote.deal), so.selectinload(Quote.items))
    )
    return db.session.scalar(visible_to_member(statement, Deal.owner_id, member))


def quotes_of_deal(deal_id: int) -> list[Quote]:
    """The deal's latest quotes, newest first (the caller has checked the deal is visible)."""
    statement = sa.select(Quote).where(Quote.deal_id == deal_id).order_by(Quote.id.desc()).limit(DEAL_QUOTES_LIMIT)
    return list(db.session.scalars(statement))
