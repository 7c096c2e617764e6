"""The Sales report as tables (crm/reports/tables.py): the page, the charts and the CSV downloads
are all drawn from these, so they cannot disagree."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from babel.dates import format_skeleton
from flask_babel import get_locale
from flask_babel import gettext as _

from crm.deals.models import OPEN, WON, Stage, display_name
from crm.i18n import lazy_gettext as _l
from crm.reports import queries
from crm.reports.queries import ReportScope
from crm.reports.tables import COUNT, DAYS, MONEY, PERCENT, TEXT, Column, Table
from crm.reports.tables import ratio as _ratio


@dataclass
class Facts:
    """What the tables are made from; the stage history is read once for the two tables using it."""

    scope: ReportScope
    stages: list[Stage]

    @cached_property
    def history(self) -> dict[int, queries.StageFacts]:
        return queries.stage_history(self.scope, self.stages)


def conversion_table(facts: Facts) -> Table:
    rows = []
    for stage in facts.stages:
        counts = facts.history.get(stage.id)
        entered, moved_on = (counts.entered, counts.moved_on) if counts else (0, 0)
        if stage.kind == OPEN:
            rows.append((stage.display_name, entered, moved_on, _ratio(moved_on, entered)))
        elif stage.kind == WON:
            rows.append((stage.display_name, entered, None, None))
    return Table(
        "conversion", _("Stage conversion"),
        _("Deals created in the period: how many entered each stage, and how many of those reached a later "
          "stage or Won so far."),
        (Column(_l("Stage"), TEXT), Column(_l("Entered"), COUNT), Column(_l("Moved on"), COUNT),
         Column(_l("Conversion"), PERCENT)),
        rows, (1, 2),
    )  # fmt: skip


def stage_time_table(facts: Facts) -> Table:
    rows = []
    for stage in facts.stages:
        if stage.kind == OPEN:
            counts = facts.history.get(stage.id)
            rows.append((stage.display_name, counts.stays if counts else 0, counts.average_days if counts else None))
    return Table(
        "stage-time", _("Average time in each stage"),
        _("Deals created in the period: the days they spent in each stage before moving on. A deal still in "
          "a stage counts once it leaves it."),
        (Column(_l("Stage"), TEXT), Column(_l("Stays"), COUNT), Column(_l("Average days"), DAYS)),
        rows, (2,),
    )  # fmt: skip


def lost_table(facts: Facts) -> Table:
    rows = [(display_name(name) if name else _("Not given"), count, value)
            for name, count, value in queries.lost_reasons(facts.scope)]  # fmt: skip
    return Table(
        "lost", _("Lost reasons"), _("Deals lost in the period, by reason."),
        (Column(_l("Reason"), TEXT), Column(_l("Deals"), COUNT), Column(_l("Value"), MONEY)),
        rows, (1,), horizontal=True,
    )  # fmt: skip


def forecast_table(facts: Facts) -> Table:
    rows = [(_month_label(month), count, value, weighted)
            for month, count, value, weighted in queries.forecast(facts.scope)]  # fmt: skip
    return Table(
        "forecast", _("Forecast"),
        _("Deals open now, whatever the period, by expected close month: their value, and their value "
          "weighted by the win probability of their stage."),
        (Column(_l("Expected close"), TEXT), Column(_l("Open deals"), COUNT), Column(_l("Value"), MONEY),
         Column(_l("Weighted value"), MONEY)),
        rows, (3,),
    )  # fmt: skip


def owners_table(facts: Facts) -> Table:
    rows = [(row.name or _("Nobody"), row.won, row.value_won, row.win_rate, row.open_deals, row.open_value)
            for row in queries.by_owner(facts.scope)]  # fmt: skip
    return Table(
        "owners", _("By owner"),
        _("Deals won and win rate among the deals closed in the period; open pipeline: the deals open now."),
        (Column(_l("Owner"), TEXT), Column(_l("Deals won"), COUNT), Column(_l("Value won"), MONEY),
         Column(_l("Win rate"), PERCENT), Column(_l("Open deals"), COUNT), Column(_l("Open pipeline"), MONEY)),
        rows, (2, 5), horizontal=True,
    )  # fmt: skip


def _month_label(month: str | None) -> str:
    if month is None:
        return _("No close date")
    year, number = month.split("-")
    return format_skeleton("yMMM", date(int(year), int(number), 1), locale=str(get_locale()))


# key -> how to build it; the page's order.
TABLES: dict[str, Callable[[Facts], Table]] = {
    "conversion": conversion_table,
    "stage-time": stage_time_table,
    "lost": lost_table,
    "forecast": forecast_table,
    "owners": owners_table,
}


@dataclass(frozen=True)
class Summary:
    outcomes: queries.Outcomes

    @property
    def figures(self) -> list[tuple[str, object, str]]:
        """(label, value, kind) of the headline figures."""
        result = self.outcomes
        return [
            (_("Deals won"), result.won, COUNT),
            (_("Deals lost"), result.lost, COUNT),
            (_("Win rate"), result.win_rate, PERCENT),
            (_("Value won"), result.value_won, MONEY),
            (_("Average deal size"), result.average_won, MONEY),
            (_("Average sales cycle (days)"), result.cycle_days, DAYS),
        ]


def build(scope: ReportScope, stages: list[Stage]) -> tuple[Summary, list[Table]]:
    facts = Facts(scope, stages)
    return Summary(queries.outcomes(scope)), [make(facts) for make in TABLES.values()]
