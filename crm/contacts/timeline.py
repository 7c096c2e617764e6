"""A contact's timeline: activities and purchases, newest first, in keyset pages.

Both sources sort on one key (time, source rank, id): an activity's time is when it happened, a
purchase's is the start of its day (UTC), and at equal times activities come first. The cursor is
the key of the last entry shown; each source is asked only for rows after it (two queries a page).
"""

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, time

import sqlalchemy as sa
import sqlalchemy.orm as so
from werkzeug.exceptions import BadRequest

from crm.activities.models import Activity
from crm.extensions import db
from crm.purchases.models import Purchase

PER_PAGE = 20
ACTIVITY, PURCHASE = 1, 0


@dataclass
class Entry:
    at: datetime
    rank: int
    item: Activity | Purchase

    @property
    def key(self) -> tuple:
        return (self.at, self.rank, self.item.id)

    @property
    def is_purchase(self) -> bool:
        return self.rank == PURCHASE


def day_start(day) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def encode(key: tuple) -> str:
    at, rank, item_id = key
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{rank}|{item_id}".encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, rank, item_id = raw.split("|")
        return datetime.fromisoformat(at), int(rank), int(item_id)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest("invalid timeline cursor") from error


def _activities_after(contact_id: int, cursor: tuple | None, limit: int) -> list[Activity]:
    statement = sa.select(Activity).where(Activity.contact_id == contact_id)
    if cursor:
        at, rank, item_id = cursor
        same_time_later = sa.and_(Activity.occurred_at == at, sa.literal(rank == ACTIVITY), Activity.id < item_id)
        statement = statement.where(sa.or_(Activity.occurred_at < at, same_time_later))
    statement = statement.options(so.joinedload(Activity.author), so.joinedload(Activity.assignee))
    return list(db.session.scalars(statement.order_by(Activity.occurred_at.desc(), Activity.id.desc()).limit(limit)))


def _purchases_after(contact_id: int, cursor: tuple | None, limit: int) -> list[Purchase]:
    statement = sa.select(Purchase).where(Purchase.contact_id == contact_id)
    if cursor:
        at, rank, item_id = cursor
        day = at.astimezone(UTC).date()
        if day_start(day) < at or rank == ACTIVITY:
            statement = statement.where(Purchase.purchased_on <= day)
        else:
            same_day_later = sa.and_(Purchase.purchased_on == day, Purchase.id < item_id)
            statement = statement.where(sa.or_(Purchase.purchased_on < day, same_day_later))
    ordered = statement.order_by(Purchase.purchased_on.desc(), Purchase.id.desc())
    return list(db.session.scalars(ordered.limit(limit)))


def page(contact_id: int, cursor: str | None = None, per_page: int = PER_PAGE) -> tuple[list[Entry], str | None]:
    after = decode(cursor) if cursor else None
    entries = [Entry(a.occurred_at, ACTIVITY, a) for a in _activities_after(contact_id, after, per_page + 1)]
    entries += [
        Entry(day_start(p.purchased_on), PURCHASE, p) for p in _purchases_after(contact_id, after, per_page + 1)
    ]
    entries.sort(key=lambda entry: entry.key, reverse=True)
    if len(entries) <= per_page:
        return entries, None
    return entries[:per_page], encode(entries[per_page - 1].key)
