"""The Service report's aggregate queries: a fixed handful per page, whatever the number of
tickets, on SQLite and PostgreSQL alike (percentiles through crm.reports.sql.percentile).

Which tickets each figure covers (the page says the same):
- volume, response and resolution times, due times met, satisfaction and repeat complainers: the
  tickets *opened* in the period, followed up to now;
- the open backlog: the tickets not resolved or closed now, whatever the period.
Every query goes through ``ServiceScope.tickets``: the category, channel and customer-level
filters, and the rule of the ticket queue (crm.tickets.queries.visible): live tickets only, the
escalated queue only for members with ``tickets.escalated``, and a role limited to its own
records sees the tickets assigned to its member.

Times are calendar hours from opening; the due times they are judged against were set in
business hours (crm.tickets.sla), so a ticket can take 30 hours and still be on time. The same
times in business hours (``business_times``) are counted by crm.tickets.sla itself, as the due
times are.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from crm.contacts.models import Contact
from crm.db import UTCDateTime
from crm.extensions import db
from crm.reports.sql import days_between, interpolated_percentile, local_day, month_of, percentile
from crm.tickets import sla
from crm.tickets.models import FINISHED, Ticket
from crm.tickets.queries import visible
from crm.tickets.sla_jobs import breaching
from crm.workspaces.models import Membership, Workspace

REPEAT_AT_LEAST = 2  # tickets in the period that make a customer a repeat complainer
REPEAT_SHOWN = 20
# Backlog ages: (lower bound in days, upper bound or None); the page's row order.
AGE_BUCKETS = ((0, 1), (1, 3), (3, 7), (7, 30), (30, None))


@dataclass(frozen=True)
class ServiceScope:
    start: date
    until: date
    member: Membership
    now: datetime
    zone: str = "UTC"
    category_id: int | None = None
    channel: str = ""
    level: str = ""

    def tickets(self, statement: sa.Select) -> sa.Select:
        """``statement`` narrowed to the tickets the member sees under the filters (not the period)."""
        if self.category_id is not None:
            statement = statement.where(Ticket.category_id == self.category_id)
        if self.channel:
            statement = statement.where(Ticket.channel == self.channel)
        if self.level:
            # A semi-join, so statements that join the contact themselves are left alone.
            statement = statement.where(Ticket.contact_id.in_(sa.select(Contact.id).where(Contact.level == self.level)))
        return visible(statement, self.member)

    def opened(self, statement: sa.Select) -> sa.Select:
        """The tickets opened in the period, as ``tickets`` narrows them."""
        return self.tickets(statement).where(
            Ticket.created_at >= self._day_start(self.start),
            Ticket.created_at < self._day_start(self.until + timedelta(days=1)),
        )

    def _day_start(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=ZoneInfo(self.zone))

    @property
    def _now(self) -> sa.ColumnElement:
        return sa.literal(self.now, UTCDateTime())

    def hours(self, start, end) -> sa.ColumnElement[float]:
        return days_between(start, end) * 24


# --- volume ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Volume:
    """Tickets opened in the period, counted along each dimension from one grouped query."""

    by_category: Counter
    by_channel: Counter
    by_level: Counter
    resolved: int

    @property
    def total(self) -> int:
        return sum(self.by_channel.values())


def volume(scope: ServiceScope) -> Volume:
    """Counts per (category, channel, customer level): a few dozen groups at most, folded into one
    counter per dimension here."""
    statement = scope.opened(
        sa.select(Ticket.category_id, Ticket.channel, Contact.level, sa.func.count(Ticket.id),
                  sa.func.count(Ticket.resolved_at))
        .join(Contact, sa.and_(Contact.workspace_id == Ticket.workspace_id, Contact.id == Ticket.contact_id))
        .group_by(Ticket.category_id, Ticket.channel, Contact.level)
    )  # fmt: skip
    by_category, by_channel, by_level, resolved = Counter(), Counter(), Counter(), 0
    for category_id, channel, level, count, resolved_count in db.session.execute(statement):
        by_category[category_id] += count
        by_channel[channel] += count
        by_level[level] += count
        resolved += resolved_count
    return Volume(by_category, by_channel, by_level, resolved)


def by_day(scope: ServiceScope) -> dict[date, int]:
    """{local day: tickets opened}, for a period short enough to show by week (a row per day)."""
    # Grouped by the label: the zone is a bound parameter, which PostgreSQL would not match between
    # two copies of the expression.
    day = local_day(Ticket.created_at, scope.zone).label("day")
    statement = scope.opened(sa.select(day, sa.func.count(Ticket.id)).group_by("day"))
    return {_as_date(value): count for value, count in db.session.execute(statement)}


def by_month(scope: ServiceScope) -> dict[str, int]:
    """{"YYYY-MM": tickets opened}, local months."""
    month = month_of(local_day(Ticket.created_at, scope.zone)).label("month")
    statement = scope.opened(sa.select(month, sa.func.count(Ticket.id)).group_by("month"))
    return dict(db.session.execute(statement).all())


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)  # SQLite gives text


# --- response and resolution times against the due times -------------------------------------------


@dataclass(frozen=True)
class TimeFacts:
    """One row of the times tables: ``priority`` None is every priority together."""

    priority: str | None
    tickets: int
    answered: int
    response_median: float | None
    response_p90: float | None
    response_met: int
    response_breached: int
    resolved: int
    resolution_median: float | None
    resolution_p90: float | None
    resolution_met: int
    resolution_breached: int


def times(scope: ServiceScope) -> dict[str | None, TimeFacts]:
    """{priority or None for all: TimeFacts} of the tickets opened in the period, in one statement
    (per priority, and the whole, by UNION ALL: a percentile cannot be added up from groups).

    A due time is met when the answer (or the resolution) came by it, and breached when it came
    later, or has not come and the due time has passed. The clock of a ticket that is not answered
    stops when it is resolved or set waiting on the customer (its due times move when it resumes);
    tickets still within their time, and those without a due time, are in neither count."""
    answered_at, resolved_at = Ticket.first_responded_at, Ticket.resolved_at
    response_end = sa.func.coalesce(answered_at, resolved_at, Ticket.sla_paused_at, scope._now)
    resolution_end = sa.func.coalesce(resolved_at, Ticket.sla_paused_at, scope._now)
    response_hours = scope.hours(Ticket.created_at, answered_at)
    resolution_hours = scope.hours(Ticket.created_at, resolved_at)

    def counted(condition) -> sa.ColumnElement[int]:
        return sa.func.count(sa.case((condition, Ticket.id)))

    figures = (
        sa.func.count(Ticket.id), sa.func.count(answered_at),
        percentile(0.5, response_hours), percentile(0.9, response_hours),
        counted(answered_at <= Ticket.first_response_due_at), counted(response_end > Ticket.first_response_due_at),
        sa.func.count(resolved_at), percentile(0.5, resolution_hours), percentile(0.9, resolution_hours),
        counted(resolved_at <= Ticket.resolution_due_at), counted(resolution_end > Ticket.resolution_due_at),
    )  # fmt: skip
    grouped = scope.opened(sa.select(Ticket.priority, *figures).group_by(Ticket.priority))
    whole = scope.opened(sa.select(sa.null().label("priority"), *figures))
    statement = sa.union_all(grouped, whole)
    result = {}
    for row in db.session.execute(statement):
        facts = TimeFacts(*row[:3], *_floats(row[3:5]), *row[5:8], *_floats(row[8:10]), *row[10:12])
        result[facts.priority] = facts
    return result


def _floats(values) -> list[float | None]:
    return [None if value is None else float(value) for value in values]


@dataclass(frozen=True)
class BusinessTimes:
    """The median and 90th percentile of one row of the times tables, in business hours."""

    response_median: float | None
    response_p90: float | None
    resolution_median: float | None
    resolution_p90: float | None


def business_times(scope: ServiceScope) -> dict[str | None, BusinessTimes]:
    """{priority or None for all: BusinessTimes} of the tickets opened in the period: the open time
    of the workspace's calendar (its service hours and holidays) from opening to the first public
    reply and to resolved, counted by crm.tickets.sla as the due times are. Such hours cannot be
    summed up in SQL, so one statement reads the three times of each answered or resolved ticket
    and they are counted here. Like the calendar hours, they include time spent waiting on the
    customer (the due times moved later for it)."""
    workspace = db.session.get(Workspace, scope.member.workspace_id)  # the request's: no query
    calendar = sla.calendar_of(workspace.sla_settings, scope.zone)
    statement = scope.opened(
        sa.select(Ticket.priority, Ticket.created_at, Ticket.first_responded_at, Ticket.resolved_at)
        .where(sa.or_(Ticket.first_responded_at.is_not(None), Ticket.resolved_at.is_not(None)))
    )  # fmt: skip
    found: dict[str | None, tuple[list[float], list[float]]] = {}
    for priority, opened_at, answered_at, resolved_at in db.session.execute(statement):
        lists = [found.setdefault(key, ([], [])) for key in (priority, None)]
        for end, index in ((answered_at, 0), (resolved_at, 1)):
            if end is not None:
                hours = sla.business_time_between(opened_at, end, calendar).total_seconds() / 3600
                for pair in lists:
                    pair[index].append(hours)
    return {
        key: BusinessTimes(interpolated_percentile(responses, 0.5), interpolated_percentile(responses, 0.9),
                           interpolated_percentile(resolutions, 0.5), interpolated_percentile(resolutions, 0.9))
        for key, (responses, resolutions) in found.items()
    }  # fmt: skip


# --- satisfaction, repeat complainers, backlog -----------------------------------------------------


def ratings(scope: ServiceScope) -> dict[int, int]:
    """{score 1-5: tickets opened in the period and rated so}."""
    statement = scope.opened(
        sa.select(Ticket.rating, sa.func.count(Ticket.id)).where(Ticket.rating.is_not(None)).group_by(Ticket.rating)
    )
    return {int(score): count for score, count in db.session.execute(statement)}


@dataclass(frozen=True)
class Complainer:
    contact_id: int
    name: str
    level: str
    tickets: int
    still_open: int
    deleted_at: datetime | None  # with the owner: whether the report may link the contact's page
    owner_id: int | None


def repeat_complainers(scope: ServiceScope) -> list[Complainer]:
    """Customers with ``REPEAT_AT_LEAST`` tickets or more opened in the period, the most first, at
    most ``REPEAT_SHOWN``; tickets are counted per contact first, then the few contacts named."""
    still_open = sa.func.count(sa.case((Ticket.status.not_in(FINISHED), Ticket.id)))
    counts = scope.opened(
        sa.select(Ticket.workspace_id, Ticket.contact_id, sa.func.count(Ticket.id).label("tickets"),
                  still_open.label("still_open"))
        .group_by(Ticket.workspace_id, Ticket.contact_id)
        .having(sa.func.count(Ticket.id) >= REPEAT_AT_LEAST)
        .order_by(sa.desc("tickets"), Ticket.contact_id)
        .limit(REPEAT_SHOWN)
    ).subquery()  # fmt: skip
    statement = (
        sa.select(
            counts.c.contact_id,
            Contact.name,
            Contact.level,
            counts.c.tickets,
            counts.c.still_open,
            Contact.deleted_at,
            Contact.owner_id,
        )
        .join(Contact, sa.and_(Contact.workspace_id == counts.c.workspace_id, Contact.id == counts.c.contact_id))
        .order_by(counts.c.tickets.desc(), Contact.name, counts.c.contact_id)
    )
    return [Complainer(*row) for row in db.session.execute(statement)]


def backlog(scope: ServiceScope) -> list[tuple[int, int]]:
    """(open tickets, of which past a due time) per ``AGE_BUCKETS`` age since opening, of the
    tickets not resolved or closed now, whatever the period. "Past a due time" is the Breaching
    queue's rule (crm.tickets.sla_jobs.breaching)."""
    bucket = sa.case(
        *[(Ticket.created_at > scope.now - timedelta(days=upper), index)
          for index, (_lower, upper) in enumerate(AGE_BUCKETS) if upper is not None],
        else_=len(AGE_BUCKETS) - 1,
    ).label("bucket")  # fmt: skip
    statement = scope.tickets(
        sa.select(bucket, sa.func.count(Ticket.id), sa.func.count(sa.case((breaching(scope.now), Ticket.id))))
        .where(Ticket.status.not_in(FINISHED))
        .group_by("bucket")  # by the label, as in by_day
    )
    counts = {int(index): (count, late) for index, count, late in db.session.execute(statement)}
    return [counts.get(index, (0, 0)) for index in range(len(AGE_BUCKETS))]
