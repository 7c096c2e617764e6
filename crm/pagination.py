"""Keyset ("load more") pagination, newest first, over (created_at, id).

Deep pages cost the same as the first: the cursor is the last row's sort key, never an OFFSET,
and no COUNT(*) is run.
"""

import base64
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from werkzeug.exceptions import BadRequest


@dataclass
class Page:
    items: list
    next_cursor: str | None


def encode_cursor(created_at: datetime, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, row_id = raw.split("|")
        return datetime.fromisoformat(stamp), int(row_id)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest("invalid page cursor") from error


def newest_first(session, statement: sa.Select, model, cursor: str | None, per_page: int) -> Page:
    if cursor:
        created_at, row_id = decode_cursor(cursor)
        statement = statement.where(sa.tuple_(model.created_at, model.id) < (created_at, row_id))
    rows = list(session.scalars(statement.order_by(model.created_at.desc(), model.id.desc()).limit(per_page + 1)))
    if len(rows) <= per_page:
        return Page(rows, None)
    last = rows[per_page - 1]
    return Page(rows[:per_page], encode_cursor(last.created_at, last.id))
