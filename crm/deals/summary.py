"""The deals of a contact or a company, for the head of its page: how many are open, won and lost,
their value per currency, and the first few open ones by expected close date (one query, whatever
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
    member's record scope, in one query: a row per status and currency carrying its count and total
    (window sums), and the first open deals."""
    group = (Deal.status, Deal.currency)
    next_to_close = (Deal.expected_close_on.is_(None), Deal.expected_close_on, Deal.id)
    deals = sa.select(
        Deal.id, Deal.title, Deal.value, Deal.currency, Deal.status,
        sa.func.count().over(partition_by=group).label("count"),
        sa.func.sum(Deal.value).over(partition_by=group).label("total"),
        sa.func.row_number().over(partition_by=group, order_by=Deal.id).label("in_group"),
        sa.func.row_number().over(partition_by=Deal.status, order_by=next_to_close).label("place"),
    ).where(column == record_id, Deal.deleted_at.is_(None))  # fmt: skip
    deals = visible_to_member(deals, Deal.owner_id, member).subquery()
    shown = sa.and_(deals.c.status == OPEN, deals.c.place <= SHOWN)
    rows = db.session.execute(sa.select(deals).where(sa.or_(deals.c.in_group == 1, shown)).order_by(deals.c.place))
    summary = OpenDeals()
    for row in rows:
        if row.status == OPEN and row.place <= SHOWN:
            summary.first.append(row)
        if row.in_group == 1:
            _add_group(summary, row.status, row.currency, row.count, row.total)
    return summary


def _add_group(summary: OpenDeals, status: str, currency: str, count: int, total) -> None:
    if status == LOST:
        summary.lost += count
        return
    totals = summary.totals if status == OPEN else summary.won_totals
    totals[currency] = Decimal(str(total or 0))
    if status == OPEN:
        summary.count += count
    elif status == WON:
        summary.won += count
