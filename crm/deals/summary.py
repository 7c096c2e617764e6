"""The deals of a contact or a company, for the head of its page: how many are open, won and lost,
their value per currency, and the first few open ones by expected close date (two queries, whatever
the number of deals)."""

from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa

from crm.deals.models import LOST, OPEN, WON, Deal
from crm.extensions import db
from crm.permissions import visible_to_member
from crm.workspaces.models import Membership

SHOWN = 5


@dataclass
class OpenDeals:
    count: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)  # currency -> total value
    first: list = field(default_factory=list)  # rows with id, title, value, currency
    won: int = 0
    won_totals: dict[str, Decimal] = field(default_factory=dict)
    lost: int = 0

    @property
    def more(self) -> int:
        return self.count - len(self.first)

    def __bool__(self) -> bool:
        return bool(self.count or self.won or self.lost)


def open_deals(member: Membership, column, record_id: int) -> OpenDeals:
    """Live deals whose ``column`` (Deal.contact_id or Deal.company_id) is ``record_id``, within the
    member's record scope."""

    def scoped(statement: sa.Select) -> sa.Select:
        statement = statement.where(column == record_id, Deal.deleted_at.is_(None))
        return visible_to_member(statement, Deal.owner_id, member)

    columns = (Deal.status, Deal.currency, sa.func.count(Deal.id), sa.func.sum(Deal.value))
    groups = db.session.execute(scoped(sa.select(*columns)).group_by(Deal.status, Deal.currency)).all()
    summary = OpenDeals()
    for status, currency, count, total in groups:
        if status == LOST:
            summary.lost += count
            continue
        totals = summary.totals if status == OPEN else summary.won_totals
        totals[currency] = Decimal(str(total or 0))
        if status == OPEN:
            summary.count += count
        elif status == WON:
            summary.won += count
    if summary.count:
        first = scoped(sa.select(Deal.id, Deal.title, Deal.value, Deal.currency)).where(Deal.status == OPEN)
        ordered = first.order_by(Deal.expected_close_on.is_(None), Deal.expected_close_on, Deal.id).limit(SHOWN)
        summary.first = db.session.execute(ordered).all()
    return summary
