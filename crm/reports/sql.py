"""The date arithmetic reports need, written once for each database the app runs on."""

import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class days_between(FunctionElement):
    """Days, with their fraction, from one timestamp to a later one."""

    type = sa.Float()
    inherit_cache = True
    name = "days_between"


@compiles(days_between, "postgresql")
def _days_between_pg(element, compiler, **kw) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 86400.0)"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(julianday({end}) - julianday({start}))"


class local_day(FunctionElement):
    """The calendar day of a UTC timestamp in a time zone. SQLite knows no zones: it shifts by the
    zone's offset of today (a day boundary may be an hour off across a daylight-saving change)."""

    type = sa.Date()
    inherit_cache = True
    name = "local_day"

    def __init__(self, timestamp, zone: str):
        offset = datetime.now(ZoneInfo(zone)).utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset else 0
        super().__init__(timestamp, sa.literal(zone), sa.literal(f"{minutes:+d} minutes"))


@compiles(local_day, "postgresql")
def _local_day_pg(element, compiler, **kw) -> str:
    timestamp, zone, _shift = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(timezone({zone}, {timestamp}) AS DATE)"


@compiles(local_day, "sqlite")
def _local_day_sqlite(element, compiler, **kw) -> str:
    timestamp, _zone, shift = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"date({timestamp}, {shift})"


class days_from(FunctionElement):
    """Whole days from one date to another."""

    type = sa.Integer()
    inherit_cache = True
    name = "days_from"


@compiles(days_from, "postgresql")
def _days_from_pg(element, compiler, **kw) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"({end} - {start})"


@compiles(days_from, "sqlite")
def _days_from_sqlite(element, compiler, **kw) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(julianday({end}) - julianday({start}) AS INTEGER)"


class month_of(FunctionElement):
    """A date's month as text, "2026-03"."""

    type = sa.String()
    inherit_cache = True
    name = "month_of"


@compiles(month_of, "postgresql")
def _month_of_pg(element, compiler, **kw) -> str:
    (day,) = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"to_char({day}, 'YYYY-MM')"


@compiles(month_of, "sqlite")
def _month_of_sqlite(element, compiler, **kw) -> str:
    (day,) = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"strftime('%Y-%m', {day})"


class percentile(FunctionElement):
    """The continuous percentile (0.5: the median) of a column over a group, interpolated like
    PostgreSQL's ``percentile_cont``. PostgreSQL sorts in the database; SQLite has no such aggregate,
    so each SQLite connection gets one written in Python (``_Percentile``): it holds the values of
    one group while the query runs, which the embedded database's sizes allow."""

    type = sa.Float()
    inherit_cache = True
    name = "percentile"

    def __init__(self, fraction: float, value):
        if not 0 <= fraction <= 1:
            raise ValueError("a percentile is a fraction from 0 to 1")
        super().__init__(sa.literal_column(repr(float(fraction))), value)


@compiles(percentile, "postgresql")
def _percentile_pg(element, compiler, **kw) -> str:
    fraction, value = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"percentile_cont({fraction}) WITHIN GROUP (ORDER BY {value})"


@compiles(percentile, "sqlite")
def _percentile_sqlite(element, compiler, **kw) -> str:
    fraction, value = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"kehu_percentile({value}, {fraction})"


def interpolated_percentile(values: list[float], fraction: float) -> float | None:
    """``percentile_cont``: the value at ``fraction`` of the sorted values, between two neighbours
    in proportion; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


class _Percentile:
    """SQLite's ``kehu_percentile(value, fraction)`` aggregate; NULL values are skipped, as in SQL."""

    def __init__(self):
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value, fraction) -> None:
        self.fraction = fraction
        if value is not None:
            self.values.append(float(value))

    def finalize(self) -> float | None:
        return interpolated_percentile(self.values, self.fraction)


@sa.event.listens_for(sa.engine.Engine, "connect")
def _add_sqlite_functions(dbapi_connection, _record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_aggregate("kehu_percentile", 2, _Percentile)
