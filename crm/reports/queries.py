"""The Sales report's aggregate queries: one per table (conversion and time in stage share one),
whatever the number of deals, on SQLite and PostgreSQL alike.

Which deals each figure covers (the page says the same):
- conversion and time in stage: the deals *created* in the period, followed through their stage
  history (deal_stage_changes) up to now;
- win rate, deal size, sales cycle, lost reasons and the per-owner results: the deals *closed*
  (won or lost) in the period;
- the forecast and the owners' open pipeline: the deals open now, whatever the period.
Every query goes through ``ReportScope.deals``: the pipeline, the currency (amounts in different
currencies never add up), the owner filter, live deals only, and the member's record scope.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.auth.models import User
from crm.contacts.queries import owner_filter
from crm.deals.models import LOST, OPEN, WON, Deal, DealStageChange, LostReason, Stage
from crm.extensions import db
from crm.permissions import visible_to_member
from crm.reports.sql import days_between, days_from, local_day, month_of
from crm.workspaces.models import Membership

# Won ranks above every open stage when judging how far a deal got, wherever admins put it.
WON_RANK = 1_000_000


OWNER_USER = so.aliased(User)  # made once: SQLAlchemy analyses a fresh alias again on every statement


@dataclass(frozen=True)
class ReportScope:
    pipeline_id: int
    start: date
    until: date
    currency: str
    member: Membership
    zone: str = "UTC"
    owner: str = ""

    def deals(self, statement: sa.Select) -> sa.Select:
        statement = statement.where(
            Deal.pipeline_id == self.pipeline_id, Deal.currency == self.currency, Deal.deleted_at.is_(None)
        )
        return visible_to_member(owner_filter(statement, Deal.owner_id, self.owner, self.member), Deal.owner_id,
                                 self.member)  # fmt: skip

    def _day_start(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=ZoneInfo(self.zone))

    @property
    def created_in_period(self) -> sa.ColumnElement[bool]:
        return sa.and_(Deal.created_at >= self._day_start(self.start),
                       Deal.created_at < self._day_start(self.until + timedelta(days=1)))  # fmt: skip

    @property
    def closed_in_period(self) -> sa.ColumnElement[bool]:
        return sa.and_(Deal.status.in_((WON, LOST)), Deal.closed_on.between(self.start, self.until))

    def cohort_changes(self, *columns) -> sa.Select:
        """``columns`` of the stage changes of the deals created in the period. A join, where
        ``deal_id IN (...)`` had PostgreSQL walk the deals once per stage."""
        joined = sa.and_(Deal.workspace_id == DealStageChange.workspace_id, Deal.id == DealStageChange.deal_id)
        return self.deals(sa.select(*columns).join(Deal, joined).where(self.created_in_period))


@dataclass(frozen=True)
class StageFacts:
    entered: int  # deals of the cohort that entered the stage
    moved_on: int  # of which reached a later open stage or Won
    stays: int  # stays in the stage that ended (the deal moved on, or was won or lost)
    average_days: float | None  # their average length


def stage_history(scope: ReportScope, stages: list[Stage]) -> dict[int, StageFacts]:
    """{stage id: StageFacts} of the deals created in the period, in one pass over their stage
    changes: each change carries the furthest rank its deal reached (Lost is no progress; a deal
    may skip stages) and when the deal left the stage (its next change, in any pipeline). A deal
    still in a stage counts in its time once it leaves."""
    ranks = {stage.id: WON_RANK if stage.kind == WON else stage.position for stage in stages if stage.kind != LOST}
    rank = sa.case(ranks, value=DealStageChange.to_stage_id)  # NULL for any other stage
    by_deal = {"partition_by": DealStageChange.deal_id}
    changes = scope.cohort_changes(
        DealStageChange.deal_id, DealStageChange.to_stage_id, DealStageChange.at, rank.label("rank"),
        sa.func.max(rank).over(**by_deal).label("furthest"),
        sa.func.lead(DealStageChange.at).over(**by_deal, order_by=(DealStageChange.at, DealStageChange.id))
        .label("left_at"),
    ).subquery()  # fmt: skip
    c = changes.c
    statement = (
        sa.select(
            c.to_stage_id, sa.func.count(sa.distinct(c.deal_id)),
            sa.func.count(sa.distinct(sa.case((c.furthest > c.rank, c.deal_id)))),
            sa.func.count(c.left_at), sa.func.avg(days_between(c.at, c.left_at)),
        )
        .where(c.to_stage_id.in_(ranks))
        .group_by(c.to_stage_id)
    )  # fmt: skip
    return {
        stage_id: StageFacts(entered, moved_on, stays, float(days) if days is not None else None)
        for stage_id, entered, moved_on, stays, days in db.session.execute(statement)
    }


@dataclass(frozen=True)
class Outcomes:
    won: int
    lost: int
    value_won: Decimal
    average_won: Decimal | None
    cycle_days: float | None  # created -> won, whole days in the workspace's time zone

    @property
    def win_rate(self) -> float | None:
        closed = self.won + self.lost
        return self.won / closed if closed else None


def outcomes(scope: ReportScope) -> Outcomes:
    """Deals won and lost in the period, the value and average size of the won ones, and how many
    days they took from creation to won."""
    won = Deal.status == WON
    cycle = days_from(local_day(Deal.created_at, scope.zone), Deal.closed_on)
    statement = scope.deals(
        sa.select(
            sa.func.count(sa.case((won, Deal.id))),
            sa.func.count(sa.case((Deal.status == LOST, Deal.id))),
            sa.func.sum(sa.case((won, Deal.value))),
            sa.func.avg(sa.case((won, Deal.value))),
            sa.func.avg(sa.case((won, cycle))),
        ).where(scope.closed_in_period)
    )
    won_count, lost_count, value_won, average_won, cycle_days = db.session.execute(statement).one()
    return Outcomes(won_count, lost_count, _money(value_won), _money(average_won) if won_count else None,
                    float(cycle_days) if cycle_days is not None else None)  # fmt: skip


def lost_reasons(scope: ReportScope) -> list[tuple[str | None, int, Decimal]]:
    """(reason from the workspace's list, deals, value) of the deals lost in the period, the most
    frequent first; None for deals lost without one."""
    statement = scope.deals(
        sa.select(LostReason.name, sa.func.count(Deal.id).label("deals"), sa.func.sum(Deal.value))
        .select_from(Deal)
        .outerjoin(LostReason, _lost_reason_join())
        .where(Deal.status == LOST, scope.closed_in_period)
        .group_by(LostReason.id, LostReason.name)
        .order_by(sa.desc("deals"), LostReason.name)
    )
    return [(name, count, _money(value)) for name, count, value in db.session.execute(statement)]


def _lost_reason_join() -> sa.ColumnElement[bool]:
    return sa.and_(LostReason.workspace_id == Deal.workspace_id, LostReason.id == Deal.lost_reason_id)


def forecast(scope: ReportScope) -> list[tuple[str | None, int, Decimal, Decimal]]:
    """(expected close month "YYYY-MM" or None, open deals, value, weighted value) over the deals
    open now, weighted by the win probability of their stage; months in order, no date last."""
    month = month_of(Deal.expected_close_on)
    statement = scope.deals(
        sa.select(month, sa.func.count(Deal.id), sa.func.sum(Deal.value), sa.func.sum(Deal.value * Stage.probability))
        .join(Stage, sa.and_(Stage.workspace_id == Deal.workspace_id, Stage.id == Deal.stage_id))
        .where(Deal.status == OPEN)
        .group_by(month)
    )
    rows = [(month, count, _money(value), _money(Decimal(str(weighted or 0)) / 100))
            for month, count, value, weighted in db.session.execute(statement)]  # fmt: skip
    return sorted(rows, key=lambda row: (row[0] is None, row[0] or ""))


@dataclass(frozen=True)
class OwnerRow:
    owner_id: int | None
    name: str | None
    won: int
    value_won: Decimal
    closed: int
    open_deals: int
    open_value: Decimal

    @property
    def win_rate(self) -> float | None:
        return self.won / self.closed if self.closed else None


def by_owner(scope: ReportScope) -> list[OwnerRow]:
    """Per owner: deals won and their value and the win rate in the period, and the deals open
    now; the best seller first. Deals are summed per owner first, then the few owners named (a
    join per deal made PostgreSQL check each deal's membership row under RLS)."""
    closed, still_open = scope.closed_in_period, Deal.status == OPEN
    won = sa.and_(closed, Deal.status == WON)
    totals = scope.deals(
        sa.select(
            Deal.workspace_id, Deal.owner_id, sa.func.count(sa.case((won, Deal.id))).label("won"),
            sa.func.coalesce(sa.func.sum(sa.case((won, Deal.value))), 0).label("value_won"),
            sa.func.count(sa.case((closed, Deal.id))).label("closed"),
            sa.func.count(sa.case((still_open, Deal.id))).label("open_deals"),
            sa.func.sum(sa.case((still_open, Deal.value))).label("open_value"),
        )
        .where(sa.or_(closed, still_open))
        .group_by(Deal.workspace_id, Deal.owner_id)
    ).subquery()  # fmt: skip
    owner_user = OWNER_USER
    statement = (
        sa.select(totals.c.owner_id, owner_user.name, totals.c.won, totals.c.value_won, totals.c.closed,
                  totals.c.open_deals, totals.c.open_value)
        .select_from(totals)
        .outerjoin(Membership, sa.and_(Membership.workspace_id == totals.c.workspace_id,
                                       Membership.id == totals.c.owner_id))
        .outerjoin(owner_user, owner_user.id == Membership.user_id)
        .order_by(totals.c.value_won.desc(), owner_user.name)
    )  # fmt: skip
    return [OwnerRow(owner_id, name, won_count, _money(value), closed_count, open_count, _money(open_value))
            for owner_id, name, won_count, value, closed_count, open_count, open_value
            in db.session.execute(statement)]  # fmt: skip


def currencies(member: Membership) -> list[str]:
    """The currencies of the deals the member sees, in any pipeline."""
    statement = sa.select(Deal.currency).where(Deal.deleted_at.is_(None)).distinct()
    return sorted(db.session.scalars(visible_to_member(statement, Deal.owner_id, member)))


def _money(value) -> Decimal:
    """SQLite hands sums of Numeric columns back as floats: back to cents."""
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))
