"""The open deals of a contact or a company, for the head of its page: how many, their value per
currency and the first few by expected close date (two queries, whatever the number of deals)."""

from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa

from crm.deals.models import OPEN, Deal
from crm.extensions import db
from crm.permissions import visible_to_member
from crm.workspaces.models import Membership

SHOWN = 5


@dataclass
class OpenDeals:
    count: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)  # currency -> total value
    first: list = field(default_factory=list)  # rows with id, title, value, currency

    @property
    def more(self) -> int:
        return self.count - len(self.first)


def open_deals(member: Membership, column, record_id: int) -> OpenDeals:
    """Open, live deals whose ``column`` (Deal.contact_id or Deal.company_id) is ``record_id``,
    within the member's record scope."""

    def scoped(statement: sa.Select) -> sa.Select:
        statement = statement.where(column == record_id, Deal.status == OPEN, Deal.deleted_at.is_(None))
        return visible_to_member(statement, Deal.owner_id, member)

    totals = db.session.execute(
        scoped(sa.select(Deal.currency, sa.func.count(Deal.id), sa.func.sum(Deal.value))).group_by(Deal.currency)
    ).all()
    summary = OpenDeals(
        count=sum(count for _currency, count, _total in totals),
        totals={currency: Decimal(str(total or 0)) for currency, _count, total in totals},
    )
    if summary.count:
        first = scoped(sa.select(Deal.id, Deal.title, Deal.value, Deal.currency))
        ordered = first.order_by(Deal.expected_close_on.is_(None), Deal.expected_close_on, Deal.id).limit(SHOWN)
        summary.first = db.session.execute(ordered).all()
    return summary
