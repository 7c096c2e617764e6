"""The date arithmetic reports need, written once for each database the app runs on."""

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
