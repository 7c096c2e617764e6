"""A contact's timeline: activities, purchases, changes of its fields and class, its deals being
created, won or lost, and its tickets being opened (with where they stand now), newest first, in
keyset pages.

The sources sort on one key (time, source rank, id): an activity's time is when it happened, a
change's, deal event's or ticket's when it was recorded, a purchase's the start of its day (UTC); at
equal times tickets come first, then deal events, changes and activities. The cursor is the key of
the last entry shown; each source is asked only for rows after it (five queries a page; one fewer
for a member who may not read deals, and one fewer without tickets.read).
"""

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so
from werkzeug.exceptions import BadRequest

from crm.activities.models import Activity
from crm.audit.models import AuditEntry
from crm.auth.models import User
from crm.deals.models import OPEN, Deal, DealStageChange, Stage
from crm.extensions import db
from crm.i18n import lazy_gettext as _l
from crm.permissions import visible_to_member
from crm.purchases.models import Purchase
from crm.tickets.models import Ticket
from crm.tickets.queries import visible as tickets_visible
from crm.workspaces.models import Membership

PER_PAGE = 20
TICKET, DEAL_EVENT, CHANGE, ACTIVITY, PURCHASE = 4, 3, 2, 1, 0
CHANGE_ACTIONS = ("contact.updated", "contact.reclassified")
FIELD_LABELS = {
    "name": _l("Name"), "emails": _l("Email addresses"), "phones": _l("Phone numbers"), "company_id": _l("Company"),
    "title": _l("Job title"), "gender": _l("Gender"), "birthday": _l("Birthday"), "source": _l("Source"),
    "owner_id": _l("Owner"), "about": _l("About"), "street": _l("Street"), "city": _l("City"),
    "region": _l("Region or state"), "postal_code": _l("Postal code"), "country": _l("Country"),
    "lifecycle": _l("Lifecycle"), "level": _l("Customer level"), "tier": _l("Tier"), "tags": _l("Tags"),
}  # fmt: skip


DEAL_CHANGED_BY = so.aliased(User)  # made once: SQLAlchemy analyses a fresh alias again on every statement


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

    @property
    def is_change(self) -> bool:
        return self.rank == CHANGE

    @property
    def is_deal_event(self) -> bool:
        return self.rank == DEAL_EVENT

    @property
    def is_ticket(self) -> bool:
        return self.rank == TICKET


@dataclass
class DealEvent:
    """A deal of the contact created, won or lost (a row of its stage history)."""

    id: int
    at: datetime
    kind: str  # created | won | lost
    deal_id: int
    title: str
    value: Decimal
    currency: str
    by: str | None


@dataclass
class TicketOpened:
    """A ticket of the contact, at the time it was opened, with its status now."""

    id: int
    at: datetime
    number: int
    subject: str
    status: str


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


def after_cursor(time_column, id_column, rank: int, cursor: tuple):
    """Rows of a source of ``rank`` that sort after the cursor's entry."""
    at, cursor_rank, item_id = cursor
    if rank < cursor_rank:
        return time_column <= at
    if rank > cursor_rank:
        return time_column < at
    return sa.or_(time_column < at, sa.and_(time_column == at, id_column < item_id))


def _activities_after(contact_id: int, cursor: tuple | None, limit: int) -> list[Activity]:
    statement = sa.select(Activity).where(Activity.contact_id == contact_id)
    if cursor:
        statement = statement.where(after_cursor(Activity.occurred_at, Activity.id, ACTIVITY, cursor))
    statement = statement.options(
        Membership.shown_by_name(Activity.author),
        Membership.shown_by_name(Activity.assignee),
        # What the entry's link to its deal shows and checks (crm.activities.deal_routes.deal_visible).
        so.joinedload(Activity.deal).load_only(Deal.title, Deal.owner_id, Deal.deleted_at),
    )
    return list(db.session.scalars(statement.order_by(Activity.occurred_at.desc(), Activity.id.desc()).limit(limit)))


def _deal_events_after(contact_id: int, cursor: tuple | None, limit: int, member: Membership) -> list[DealEvent]:
    """Creations, wins and losses of the contact's live deals that the member may see."""
    by_user = DEAL_CHANGED_BY
    created = DealStageChange.from_stage_id.is_(None)
    statement = (
        sa.select(
            DealStageChange.id,
            DealStageChange.at,
            created.label("created"),
            Stage.kind,
            Deal.id.label("deal_id"),
            Deal.title,
            Deal.value,
            Deal.currency,
            by_user.name.label("by"),
        )
        .join(Deal, sa.and_(Deal.workspace_id == DealStageChange.workspace_id, Deal.id == DealStageChange.deal_id))
        .join(
            Stage, sa.and_(Stage.workspace_id == DealStageChange.workspace_id, Stage.id == DealStageChange.to_stage_id)
        )
        .outerjoin(
            Membership,
            sa.and_(Membership.workspace_id == DealStageChange.workspace_id, Membership.id == DealStageChange.by_id),
        )
        .outerjoin(by_user, by_user.id == Membership.user_id)
        .where(Deal.contact_id == contact_id, Deal.deleted_at.is_(None), sa.or_(created, Stage.kind != OPEN))
    )
    statement = visible_to_member(statement, Deal.owner_id, member)
    if cursor:
        statement = statement.where(after_cursor(DealStageChange.at, DealStageChange.id, DEAL_EVENT, cursor))
    ordered = statement.order_by(DealStageChange.at.desc(), DealStageChange.id.desc()).limit(limit)
    return [
        DealEvent(
            row.id,
            row.at,
            "created" if row.created else row.kind,
            row.deal_id,
            row.title,
            row.value,
            row.currency,
            row.by,
        )
        for row in db.session.execute(ordered)
    ]


def _tickets_after(contact_id: int, cursor: tuple | None, limit: int, member: Membership) -> list[TicketOpened]:
    """The contact's live tickets that the member may see in the queue."""
    columns = (Ticket.id, Ticket.created_at, Ticket.number, Ticket.subject, Ticket.status)
    statement = tickets_visible(sa.select(*columns).where(Ticket.contact_id == contact_id), member)
    if cursor:
        statement = statement.where(after_cursor(Ticket.created_at, Ticket.id, TICKET, cursor))
    ordered = statement.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)
    return [TicketOpened(*row) for row in db.session.execute(ordered)]


def _purchases_after(contact_id: int, cursor: tuple | None, limit: int) -> list[Purchase]:
    statement = sa.select(Purchase).where(Purchase.contact_id == contact_id)
    if cursor:
        at, rank, item_id = cursor
        day = at.astimezone(UTC).date()
        if day_start(day) < at or rank != PURCHASE:
            statement = statement.where(Purchase.purchased_on <= day)
        else:
            same_day_later = sa.and_(Purchase.purchased_on == day, Purchase.id < item_id)
            statement = statement.where(sa.or_(Purchase.purchased_on < day, same_day_later))
    ordered = statement.order_by(Purchase.purchased_on.desc(), Purchase.id.desc())
    return list(db.session.scalars(ordered.limit(limit)))


def _changes_after(contact_id: int, cursor: tuple | None, limit: int) -> list[AuditEntry]:
    statement = sa.select(AuditEntry).where(
        AuditEntry.record_type == "contact",
        AuditEntry.record_id == contact_id,
        AuditEntry.action.in_(CHANGE_ACTIONS),
    )
    if cursor:
        statement = statement.where(after_cursor(AuditEntry.created_at, AuditEntry.id, CHANGE, cursor))
    ordered = statement.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    return list(db.session.scalars(ordered.limit(limit)))


def page(
    contact_id: int, cursor: str | None = None, per_page: int = PER_PAGE, member: Membership | None = None
) -> tuple[list[Entry], str | None]:
    """One page of entries and the next page's cursor (None: the last page); deal events and
    tickets only with a ``member`` who may read them, in their record scope."""
    after = decode(cursor) if cursor else None
    entries = [Entry(a.occurred_at, ACTIVITY, a) for a in _activities_after(contact_id, after, per_page + 1)]
    entries += [
        Entry(day_start(p.purchased_on), PURCHASE, p) for p in _purchases_after(contact_id, after, per_page + 1)
    ]
    entries += [Entry(c.created_at, CHANGE, c) for c in _changes_after(contact_id, after, per_page + 1)]
    if member is not None and member.can("deals.read"):
        entries += [Entry(e.at, DEAL_EVENT, e) for e in _deal_events_after(contact_id, after, per_page + 1, member)]
    if member is not None and member.can("tickets.read"):
        entries += [Entry(t.at, TICKET, t) for t in _tickets_after(contact_id, after, per_page + 1, member)]
    entries.sort(key=lambda entry: entry.key, reverse=True)
    if len(entries) <= per_page:
        return entries, None
    return entries[:per_page], encode(entries[per_page - 1].key)
