"""Keyset ("load more") pagination over a sort key that ends with the row id.

Deep pages cost the same as the first: the cursor is the last row's sort key, never an OFFSET,
and no COUNT(*) is run.
"""

import base64
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.sql import operators
from werkzeug.exceptions import BadRequest

from crm.i18n import lazy_gettext as _l


@dataclass
class Page:
    items: list
    next_cursor: str | None


def _to_text(value) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


# What a "Load more" link whose cursor cannot be read answers (400): one changed by hand, or cut short.
DAMAGED_CURSOR = _l("This link to a further page is damaged or out of date: open the page again.")
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
MAX_DECIMAL = Decimal(10) ** 18  # far beyond any Numeric column of ours


def cursor_time(text) -> datetime:
    """A time in a cursor, in UTC: it must say its time zone (the columns hold UTC; a naive time is no
    instant) and be an instant a datetime holds in UTC (year 1 at +14:00 is not). Year 1 itself is
    fine: the contacts sorted by last touch put those never in touch there (crm/contacts/queries.py)."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("a time without its zone")
    try:
        return value.astimezone(UTC)
    except OverflowError as error:
        raise ValueError("no instant in UTC") from error


def cursor_int(text) -> int:
    """A whole number in a cursor, as a BIGINT column holds it."""
    value = int(text)
    if not BIGINT_MIN <= value <= BIGINT_MAX:
        raise ValueError("out of range")
    return value


def _from_text(column, text: str):
    sql_type = column.type.impl if isinstance(column.type, sa.types.TypeDecorator) else column.type
    python_type = sql_type.python_type
    if python_type is datetime:
        return cursor_time(text)
    if python_type is date:
        return date.fromisoformat(text)
    if python_type is Decimal:
        value = Decimal(text)
        if not (value.is_finite() and abs(value) < MAX_DECIMAL):
            raise ValueError("out of range")
        return value
    if python_type is int:
        return cursor_int(text)
    if python_type is str and (not isinstance(text, str) or "\x00" in text):
        raise ValueError("no text a column holds")  # PostgreSQL refuses NUL in a query
    return python_type(text)


def encode_cursor(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps([_to_text(v) for v in values]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, columns: list) -> list:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(columns):
            raise ValueError("cursor of another sort")
        return [_from_text(column, text) for column, text in zip(columns, raw, strict=True)]
    except (ValueError, TypeError, UnicodeDecodeError, ArithmeticError) as error:
        raise BadRequest(DAMAGED_CURSOR) from error


def collation(column) -> str | None:
    """The collation a sort column is compared in (``by_name``: ``name COLLATE human``), or None."""
    if isinstance(column, sa.BinaryExpression) and column.operator is operators.collate:
        return column.right.collation
    return None


def row_column(column):
    """The column whose value a row holds for a sort column: a collated name's own column."""
    return column.left if collation(column) else column


def after_key(columns: list, after: list, descending: bool):
    """The rows past the cursor's values ``after`` in the order of ``columns``. A collated column is
    compared as itself, with the collation put on the cursor's value (``(name, id) > (:name COLLATE
    human, :id)``): the same comparison, which SQLite (unlike PostgreSQL) reads as a range of the
    index on ``name COLLATE human`` only when the column stands bare."""
    values = (
        sa.literal(value, column.type).collate(name) if (name := collation(column)) else sa.literal(value, column.type)
        for column, value in zip(columns, after, strict=True)
    )
    key, values = sa.tuple_(*(row_column(column) for column in columns)), sa.tuple_(*values)
    return key < values if descending else key > values


def keyset(
    session,
    statement: sa.Select,
    columns: list,
    cursor: str | None,
    per_page: int,
    descending=True,
    scalars=True,
    order: list | None = None,
) -> Page:
    """One page of ``statement`` ordered by ``columns`` (non-null, the last one unique), all in one
    direction, after the row the cursor names; its items are entities, or rows if not ``scalars``.
    ``order`` replaces the ORDER BY with the same sort written another way (a planner hint)."""
    if cursor:
        statement = statement.where(after_key(columns, decode_cursor(cursor, columns), descending))
    order = order or [column.desc() if descending else column.asc() for column in columns]
    result = session.execute(statement.order_by(*order).limit(per_page + 1))
    rows = list(result.scalars() if scalars else result)
    if len(rows) <= per_page:
        return Page(rows, None)
    last = rows[per_page - 1]
    return Page(rows[:per_page], encode_cursor([getattr(last, row_column(column).key) for column in columns]))


def newest_first(session, statement: sa.Select, model, cursor: str | None, per_page: int) -> Page:
    return keyset(session, statement, [model.created_at, model.id], cursor, per_page)


def rows_loaded(args) -> int:
    """How many rows a "Load more" link says are above it (its ``loaded`` argument), for the count the
    list shows after it."""
    return max(0, args.get("loaded", 0, type=int))
