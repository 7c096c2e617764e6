"""The Service report as tables (crm/reports/tables.py): volume by category, channel, customer level
and week or month; first response and resolution times against their due times; satisfaction;
repeat complainers; the open backlog by age. The page, the charts and the CSV downloads are all
drawn from these. Which tickets each covers: crm/reports/service_queries.py."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

from babel.dates import format_skeleton
from flask import url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from crm.contacts.forms import LEVEL_LABELS
from crm.i18n import lazy_gettext as _l
from crm.permissions import may_open
from crm.reports import service_queries as queries
from crm.reports.service_queries import AGE_BUCKETS, ServiceScope
from crm.reports.tables import COUNT, DECIMAL, HOURS, PERCENT, TEXT, Column, Table, ratio
from crm.tickets.models import CHANNEL_LABELS, PRIORITIES, PRIORITY_LABELS, TicketCategory

WEEKLY_UP_TO_DAYS = 120  # longer periods are shown by month
LEVEL_ORDER = ("vip", "potential", "ordinary")
EMPTY = _l("No tickets for these filters.")


@dataclass
class Facts:
    """What the tables are made from, each query run once for the tables and figures using it."""

    scope: ServiceScope
    categories: list[TicketCategory]

    @cached_property
    def volume(self) -> queries.Volume:
        return queries.volume(self.scope)

    @cached_property
    def times(self) -> dict[str | None, queries.TimeFacts]:
        return queries.times(self.scope)

    @cached_property
    def business_times(self) -> dict[str | None, queries.BusinessTimes]:
        return queries.business_times(self.scope)

    @cached_property
    def ratings(self) -> dict[int, int]:
        return queries.ratings(self.scope)

    @cached_property
    def backlog(self) -> list[tuple[int, int]]:
        return queries.backlog(self.scope)

    @property
    def weekly(self) -> bool:
        return (self.scope.until - self.scope.start).days < WEEKLY_UP_TO_DAYS


def _volume_columns(first: str) -> tuple[Column, ...]:
    return Column(first, TEXT), Column(_l("Tickets"), COUNT), Column(_l("Share"), PERCENT)


def _shares(rows: list[tuple[str, int]], total: int) -> list[tuple]:
    return [(label, count, ratio(count, total)) for label, count in rows]


def category_table(facts: Facts) -> Table:
    counts, total = facts.volume.by_category, facts.volume.total
    names = {category.id: category.display_name for category in facts.categories}
    named = sorted(((names.get(key, "?"), count) for key, count in counts.items() if key is not None and count),
                   key=lambda row: (-row[1], row[0]))  # fmt: skip
    if counts.get(None):
        named.append((_("No category"), counts[None]))
    return Table(
        "categories", _("Tickets by category"), _("Tickets opened in the period, by complaint category."),
        _volume_columns(_l("Category")), _shares(named, total), (1,), horizontal=True, empty=EMPTY,
    )  # fmt: skip


def channel_table(facts: Facts) -> Table:
    counts, total = facts.volume.by_channel, facts.volume.total
    rows = [(str(label), counts.get(key, 0)) for key, label in CHANNEL_LABELS.items()] if total else []
    return Table(
        "channels", _("Tickets by channel"), _("Tickets opened in the period, by how they came in."),
        _volume_columns(_l("Channel")), _shares(rows, total), (1,), empty=EMPTY,
    )  # fmt: skip


def level_table(facts: Facts) -> Table:
    counts, total = facts.volume.by_level, facts.volume.total
    rows = [(str(LEVEL_LABELS[key]), counts.get(key, 0)) for key in LEVEL_ORDER] if total else []
    return Table(
        "levels", _("Tickets by customer level"),
        _("Tickets opened in the period, by the level their customer has now."),
        _volume_columns(_l("Customer level")), _shares(rows, total), (1,), empty=EMPTY,
    )  # fmt: skip


def period_table(facts: Facts) -> Table:
    scope = facts.scope
    if facts.weekly:
        days = queries.by_day(scope)
        monday = scope.start - timedelta(days=scope.start.weekday())
        rows = []
        while monday <= scope.until:
            count = sum(days.get(monday + timedelta(days=offset), 0) for offset in range(7))
            rows.append((_("Week of %(day)s", day=_day_label(max(monday, scope.start))), count))
            monday += timedelta(days=7)
        title, note, first = _("Tickets by week"), _("Tickets opened in each week of the period."), _l("Week")
    else:
        months = queries.by_month(scope)
        rows, month = [], scope.start.replace(day=1)
        while month <= scope.until:
            rows.append((_month_label(month), months.get(month.strftime("%Y-%m"), 0)))
            month = (month + timedelta(days=32)).replace(day=1)
        title, note, first = _("Tickets by month"), _("Tickets opened in each month of the period."), _l("Month")
    return Table("period", title, note, (Column(first, TEXT), Column(_l("Tickets"), COUNT)), rows, (1,), empty=EMPTY)


def _day_label(day: date) -> str:
    return format_skeleton("MMMd", day, locale=str(get_locale()))


def _month_label(month: date) -> str:
    return format_skeleton("yMMM", month, locale=str(get_locale()))


NO_BUSINESS_TIMES = queries.BusinessTimes(None, None, None, None)


def _time_rows(facts: Facts, pick: Callable[[queries.TimeFacts, queries.BusinessTimes], tuple]) -> list[tuple]:
    if facts.times.get(None) is None or not facts.times[None].tickets:
        return []
    labels = [(None, _("All priorities"))] + [(key, str(PRIORITY_LABELS[key])) for key in reversed(PRIORITIES)]
    rows = []
    for key, label in labels:
        found = facts.times.get(key)
        business = facts.business_times.get(key, NO_BUSINESS_TIMES)
        rows.append((label, *pick(found, business)) if found else (label, 0, None, None, None, None, 0, None))
    return rows


def _time_columns(done: str) -> tuple[Column, ...]:
    return (Column(_l("Priority"), TEXT), Column(done, COUNT), Column(_l("Median hours"), HOURS),
            Column(_l("90th percentile hours"), HOURS), Column(_l("Median in business hours"), HOURS),
            Column(_l("90th percentile in business hours"), HOURS), Column(_l("Due time missed"), COUNT),
            Column(_l("Due time met"), PERCENT))  # fmt: skip


def response_table(facts: Facts) -> Table:
    def pick(row: queries.TimeFacts, business: queries.BusinessTimes) -> tuple:
        met, missed = row.response_met, row.response_breached
        return (row.answered, row.response_median, row.response_p90, business.response_median,
                business.response_p90, missed, ratio(met, met + missed))  # fmt: skip

    return Table(
        "first-response", _("First response time"),
        _("Tickets opened in the period: hours from opening to the first public reply, and how many answers "
          "came by their due time (an unanswered ticket past it counts as missed)."),
        _time_columns(_l("Answered")), _time_rows(facts, pick), (2, 3), empty=EMPTY,
    )  # fmt: skip


def resolution_table(facts: Facts) -> Table:
    def pick(row: queries.TimeFacts, business: queries.BusinessTimes) -> tuple:
        met, missed = row.resolution_met, row.resolution_breached
        return (row.resolved, row.resolution_median, row.resolution_p90, business.resolution_median,
                business.resolution_p90, missed, ratio(met, met + missed))  # fmt: skip

    return Table(
        "resolution", _("Resolution time"),
        _("Tickets opened in the period: hours from opening to resolved, and how many were resolved by their "
          "due time (an unresolved ticket past it counts as missed)."),
        _time_columns(_l("Resolved")), _time_rows(facts, pick), (2, 3), empty=EMPTY,
    )  # fmt: skip


def satisfaction_table(facts: Facts) -> Table:
    total = sum(facts.ratings.values())
    rows = [(str(score), facts.ratings.get(score, 0), ratio(facts.ratings.get(score, 0), total))
            for score in range(5, 0, -1)] if total else []  # fmt: skip
    return Table(
        "satisfaction", _("Satisfaction"),
        _("Ratings the customers gave the tickets opened in the period, from 5 (best) to 1."),
        (Column(_l("Rating"), TEXT), Column(_l("Tickets"), COUNT), Column(_l("Share"), PERCENT)),
        rows, (1,), empty=_l("No ratings for these filters."),
    )  # fmt: skip


def complainers_table(facts: Facts) -> Table:
    found = queries.repeat_complainers(facts.scope)
    in_the_trash, member = _("in the trash"), facts.scope.member
    names = [f"{row.name} ({in_the_trash})" if row.deleted_at else row.name for row in found]
    rows = [(name, str(LEVEL_LABELS.get(row.level, row.level)), row.tickets, row.still_open)
            for name, row in zip(names, found, strict=True)]  # fmt: skip
    # A name links the contact's page only where it opens for the reader (crm.permissions.may_open).
    contact_url = url_for("ws.contacts.show", contact_id=0)[:-1]
    links = [f"{contact_url}{row.contact_id}" if may_open(row.deleted_at, row.owner_id, member) else None
             for row in found]  # fmt: skip
    return Table(
        "repeat", _("Repeat complainers"),
        _("Customers with %(count)d or more tickets opened in the period, the most first (at most %(shown)d).",
          count=queries.REPEAT_AT_LEAST, shown=queries.REPEAT_SHOWN),
        (Column(_l("Customer"), TEXT), Column(_l("Level"), TEXT), Column(_l("Tickets"), COUNT),
         Column(_l("Still open"), COUNT)),
        rows, (2,), horizontal=True, links=links, empty=_l("No customer complained more than once."),
    )  # fmt: skip


def backlog_table(facts: Facts) -> Table:
    labels = [_("%(low)d to %(high)d days", low=low, high=high) if high else _("%(low)d days or more", low=low)
              for low, high in AGE_BUCKETS]  # fmt: skip
    rows = [(label, count, late) for label, (count, late) in zip(labels, facts.backlog, strict=True)]
    return Table(
        "backlog", _("Open backlog by age"),
        _("Tickets not resolved or closed now, whatever the period, by the days since they were opened, and "
          "how many of them are past a due time."),
        (Column(_l("Age"), TEXT), Column(_l("Open tickets"), COUNT), Column(_l("Past a due time"), COUNT)),
        rows if any(count for count, _late in facts.backlog) else [], (1, 2), empty=_l("No open tickets."),
    )  # fmt: skip


# key -> how to build it; the page's order.
TABLES: dict[str, Callable[[Facts], Table]] = {
    "categories": category_table,
    "channels": channel_table,
    "levels": level_table,
    "period": period_table,
    "first-response": response_table,
    "resolution": resolution_table,
    "satisfaction": satisfaction_table,
    "repeat": complainers_table,
    "backlog": backlog_table,
}


@dataclass(frozen=True)
class Summary:
    facts: Facts

    @property
    def figures(self) -> list[tuple[str, object, str]]:
        """(label, value, kind) of the headline figures."""
        facts = self.facts
        whole = facts.times.get(None)
        rated = sum(facts.ratings.values())
        average = sum(score * count for score, count in facts.ratings.items()) / rated if rated else None
        response_met = response_missed = resolution_met = resolution_missed = 0
        if whole is not None:
            response_met, response_missed = whole.response_met, whole.response_breached
            resolution_met, resolution_missed = whole.resolution_met, whole.resolution_breached
        return [
            (_("Tickets opened"), facts.volume.total, COUNT),
            (_("Resolved"), facts.volume.resolved, COUNT),
            (_("Median first response (hours)"), whole.response_median if whole else None, HOURS),
            (_("Median first response (in business hours)"),
             facts.business_times.get(None, NO_BUSINESS_TIMES).response_median, HOURS),
            (_("First responses on time"), ratio(response_met, response_met + response_missed), PERCENT),
            (_("Resolutions on time"), ratio(resolution_met, resolution_met + resolution_missed), PERCENT),
            (_("Average rating (of 5)"), average, DECIMAL),
            (_("Ratings given"), rated, COUNT),
            (_("Open now"), sum(count for count, _late in facts.backlog), COUNT),
        ]  # fmt: skip


def build(facts: Facts) -> tuple[Summary, list[Table]]:
    return Summary(facts), [make(facts) for make in TABLES.values()]
