from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import g

from crm.audit.change_text import prepare
from crm.audit.models import AuditEntry
from crm.auth.models import User
from crm.extensions import db
from crm.pagination import Page, newest_first
from crm.workspaces.models import Membership

PER_PAGE = 50


def filtered(actor: str = "", action: str = "", record_type: str = "", since=None, until=None, tz="UTC") -> sa.Select:
    """Entries of the bound workspace matching the filters; dates are whole days in ``tz``."""
    statement = sa.select(AuditEntry)
    if actor:
        statement = statement.where(AuditEntry.actor_id == int(actor))
    if action:
        statement = statement.where(AuditEntry.action == action)
    if record_type:
        statement = statement.where(AuditEntry.record_type == record_type)
    if since:
        statement = statement.where(AuditEntry.created_at >= _start_of(since, tz))
    if until:
        statement = statement.where(AuditEntry.created_at < _start_of(until + timedelta(days=1), tz))
    return statement


def _start_of(day: date, tz: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(tz))


def page(statement: sa.Select, after: str | None, per_page: int = PER_PAGE) -> Page:
    return newest_first(db.session, statement, AuditEntry, after, per_page)


def in_batches(statement: sa.Select, size: int = 1000):
    """Every matching entry, newest first, a batch at a time (for the CSV export)."""
    cursor = None
    while True:
        batch = page(statement, cursor, size)
        yield from batch.items
        if batch.next_cursor is None:
            return
        cursor = batch.next_cursor


def people() -> list[tuple[int, str]]:
    """(user id, "name <email>") of everyone who has been a member, for the person filter."""
    rows = db.session.execute(
        sa.select(User.id, User.name, User.email).join(Membership, Membership.user_id == User.id).order_by(User.name)
    )
    return [(user_id, f"{name} <{email}>") for user_id, name, email in rows]


HISTORY_SHOWN = 20  # entries in a record's History panel


def history_of(record_type: str, record_id: int, limit: int = HISTORY_SHOWN) -> list[AuditEntry]:
    """The latest entries about one record, for its detail page, with the names and currencies
    their changes mention read for them all (crm/audit/change_text.py); read already in this request
    where the record's timeline asked for its changes (``latest_changes``)."""
    kept = g.get("audit_history", {}).get((record_type, record_id))
    if kept is not None and limit <= HISTORY_SHOWN:
        entries = kept[:limit]
    else:
        entries = list(db.session.scalars(_newest(_about(record_type, record_id)).limit(limit)))
    prepare(entries)
    return entries


def latest_changes(record_type: str, record_id: int, actions: tuple[str, ...], limit: int) -> list[AuditEntry]:
    """The latest ``limit`` entries of ``actions`` about one record (its timeline's first page of
    changes). For a member who may see its History panel, the panel's entries come in the same query
    (UNION ALL of the two, each read from its index up to its limit) and are kept for ``history_of``."""
    changes = _newest(_about(record_type, record_id).where(AuditEntry.action.in_(actions))).limit(limit)
    if not g.membership.can("audit.view"):
        return list(db.session.scalars(changes))
    history = _newest(_about(record_type, record_id)).limit(HISTORY_SHOWN)
    chosen = sa.union_all(_ids(changes, "changes"), _ids(history, "history")).subquery()
    # an entry of both parts comes twice, as the same object
    both = _newest(sa.select(AuditEntry, chosen.c.part).join(chosen, chosen.c.id == AuditEntry.id))
    read: dict[str, list[AuditEntry]] = {"changes": [], "history": []}
    for entry, part in db.session.execute(both):
        read[part].append(entry)
    g.setdefault("audit_history", {})[(record_type, record_id)] = read["history"]
    return read["changes"]


def _about(record_type: str, record_id: int) -> sa.Select:
    return sa.select(AuditEntry).where(AuditEntry.record_type == record_type, AuditEntry.record_id == record_id)


def _newest(statement: sa.Select) -> sa.Select:
    return statement.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())


def _ids(statement: sa.Select, part: str) -> sa.Select:
    """The ids ``statement`` selects, named as ``part`` (a subquery: SQLite takes no LIMIT in a UNION's parts)."""
    chosen = statement.with_only_columns(AuditEntry.id).subquery()
    return sa.select(chosen.c.id, sa.literal(part).label("part"))
