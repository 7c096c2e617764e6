from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

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


def history_of(record_type: str, record_id: int, limit: int = 20) -> list[AuditEntry]:
    """The latest entries about one record, for its detail page, with the names and currencies
    their changes mention read for them all (crm/audit/change_text.py)."""
    statement = (
        sa.select(AuditEntry)
        .where(AuditEntry.record_type == record_type, AuditEntry.record_id == record_id)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    entries = list(db.session.scalars(statement))
    prepare(entries)
    return entries
