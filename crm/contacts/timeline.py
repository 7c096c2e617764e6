"""A contact's timeline: activities, purchases, changes of its fields and class, its deals being
created, won or lost, and its tickets being opened (with where they stand now), newest first, in
keyset pages; and the keyset machinery that the company's and the deal's timelines share
(crm/activities/company_timeline.py, crm/activities/deal_timeline.py).

The sources sort on one key (time, source rank, id): an activity's time is when it happened, a
change's, deal event's or ticket's when it was recorded, a purchase's the start of its day in the
workspace's time zone (where its date was given, and where the page writes times); an
import's creation of the contact when it was created, an import's change of it when the import
finished (crm/imports/history.py: read from the import's own rows, nothing written for the timeline);
at equal times imports come first, then tickets, deal events, changes and activities. The cursor is
the key of the last entry shown; each source is asked only for rows after it (six queries a page; one
fewer for a member who may not read deals, and one fewer without tickets.read). The first page's
changes come with the History panel's entries (crm/audit/queries.latest_changes), its tickets with
the ticket summary of the contact's page (crm/tickets/summary.newest_of_contact), its imports with the
panel's import entries (crm/imports/history.latest): one query each for both.
"""

import base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so
from werkzeug.exceptions import BadRequest

from crm.activities.models import Activity
from crm.audit.models import AuditEntry
from crm.auth.models import User
from crm.contacts.models import Contact
from crm.deals.models import OPEN, Deal, DealStageChange, Stage
from crm.extensions import db
from crm.i18n import lazy_gettext as _l
from crm.i18n import select_timezone
from crm.imports import history as imports_history
from crm.pagination import DAMAGED_CURSOR, cursor_int, cursor_time
from crm.permissions import scope_allows, visible_to_member
from crm.purchases.models import Purchase
from crm.tickets import summary as ticket_summary
from crm.tickets.models import Ticket
from crm.tickets.queries import visible as tickets_visible
from crm.workspaces.models import Membership

PER_PAGE = 20
IMPORT_CREATED, IMPORT_CHANGE, TICKET, DEAL_EVENT, CHANGE, ACTIVITY, PURCHASE = 6, 5, 4, 3, 2, 1, 0
CHANGE_ACTIONS = ("contact.updated", "contact.reclassified", "contact.import_undone")
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

    @property
    def is_import(self) -> bool:
        return self.rank in (IMPORT_CREATED, IMPORT_CHANGE)


@dataclass
class DealEvent:
    """A deal created, won or lost (a row of its stage history)."""

    id: int
    at: datetime
    kind: str  # created | won | lost
    deal_id: int
    title: str
    value: Decimal
    currency: str
    by: str | None


@dataclass
class Person:
    """Who an entry on a company's timeline is about, where the member may open their page."""

    id: int
    name: str


@dataclass
class TicketOpened:
    """A ticket, at the time it was opened, with its status now (and, on a company's timeline, its person)."""

    id: int
    at: datetime
    number: int
    subject: str
    status: str
    person: Person | None = None


# Entries of one source after a cursor (None: from the newest), newest first, at most ``limit``.
Source = Callable[[tuple | None, int], list[Entry]]


def day_start(day: date, zone: str) -> datetime:
    """Where a purchase of ``day`` sorts: the start of that day in ``zone``, in UTC as the other
    sources' times are (west of UTC a purchase of today would otherwise sort below last evening's call)."""
    return datetime.combine(day, time(), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def encode(key: tuple) -> str:
    at, rank, item_id = key
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{rank}|{item_id}".encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, rank, item_id = raw.split("|")
        return cursor_time(at), cursor_int(rank), cursor_int(item_id)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(DAMAGED_CURSOR) from error


def after_cursor(time_column, id_column, rank: int, cursor: tuple):
    """Rows of a source of ``rank`` that sort after the cursor's entry."""
    at, cursor_rank, item_id = cursor
    if rank < cursor_rank:
        return time_column <= at
    if rank > cursor_rank:
        return time_column < at
    return sa.or_(time_column < at, sa.and_(time_column == at, id_column < item_id))


def newest_after(statement: sa.Select, time_column, id_column, rank: int, cursor: tuple | None, limit: int):
    """``statement`` (rows of a source of ``rank``) after the cursor, newest first, at most ``limit``."""
    if cursor:
        statement = statement.where(after_cursor(time_column, id_column, rank, cursor))
    return statement.order_by(time_column.desc(), id_column.desc()).limit(limit)


def merged_page(sources: Iterable[Source], cursor: str | None, per_page: int) -> tuple[list[Entry], str | None]:
    """One page of the entries of all ``sources``, newest first, and the next page's cursor (None:
    the last page). Each source gives one more than a page, so the merge knows whether more follow."""
    after = decode(cursor) if cursor else None
    entries = [entry for source in sources for entry in source(after, per_page + 1)]
    entries.sort(key=lambda entry: entry.key, reverse=True)
    if len(entries) <= per_page:
        return entries, None
    return entries[:per_page], encode(entries[per_page - 1].key)


def activities(statement: sa.Select) -> Source:
    """The activities ``statement`` selects (with what their entries show loaded)."""

    def after(cursor: tuple | None, limit: int) -> list[Entry]:
        ordered = newest_after(statement, Activity.occurred_at, Activity.id, ACTIVITY, cursor, limit)
        return [Entry(activity.occurred_at, ACTIVITY, activity) for activity in db.session.scalars(ordered)]

    return after


def purchases(statement: sa.Select, zone: str) -> Source:
    """The purchases ``statement`` selects, each at the start of its day in ``zone`` (``day_start``).
    That start grows with the day, so the rows after a cursor are those of the cursor's day in
    ``zone`` and before, and still one query on the purchase's date."""

    def after(cursor: tuple | None, limit: int) -> list[Entry]:
        chosen = statement
        if cursor:
            at, rank, item_id = cursor
            try:
                day = at.astimezone(ZoneInfo(zone)).date()
                starts_before = day_start(day, zone) < at
            except OverflowError:  # a cursor at the edge of time, where the zone has no day (forged)
                if at.year == 1:
                    return []  # before every purchase
                day, starts_before = date.max, True
            if starts_before or rank != PURCHASE:
                chosen = chosen.where(Purchase.purchased_on <= day)
            else:
                same_day_later = sa.and_(Purchase.purchased_on == day, Purchase.id < item_id)
                chosen = chosen.where(sa.or_(Purchase.purchased_on < day, same_day_later))
        ordered = chosen.order_by(Purchase.purchased_on.desc(), Purchase.id.desc()).limit(limit)
        return [Entry(day_start(p.purchased_on, zone), PURCHASE, p) for p in db.session.scalars(ordered)]

    return after


def changes(record_type: str, record_id: int, actions: tuple[str, ...]) -> Source:
    """The audit entries of ``actions`` on one record: its fields changed."""
    from crm.audit import queries as audit_queries  # here: crm.audit reads this module's FIELD_LABELS

    statement = sa.select(AuditEntry).where(
        AuditEntry.record_type == record_type, AuditEntry.record_id == record_id, AuditEntry.action.in_(actions)
    )

    def after(cursor: tuple | None, limit: int) -> list[Entry]:
        if cursor is None:  # the first page: with the History panel's entries, in one query
            found = audit_queries.latest_changes(record_type, record_id, actions, limit)
        else:
            found = db.session.scalars(
                newest_after(statement, AuditEntry.created_at, AuditEntry.id, CHANGE, cursor, limit)
            )
        return [Entry(change.created_at, CHANGE, change) for change in found]

    return after


def stage_history(*columns) -> sa.Select:
    """Rows of deals' stage history (id, at, ``columns``, and ``by``: who moved the deal), joined to
    the stage entered (Stage)."""
    by_user = DEAL_CHANGED_BY
    return (
        sa.select(DealStageChange.id, DealStageChange.at, *columns, by_user.name.label("by"))
        .join(
            Stage, sa.and_(Stage.workspace_id == DealStageChange.workspace_id, Stage.id == DealStageChange.to_stage_id)
        )
        .outerjoin(
            Membership,
            sa.and_(Membership.workspace_id == DealStageChange.workspace_id, Membership.id == DealStageChange.by_id),
        )
        .outerjoin(by_user, by_user.id == Membership.user_id)
    )


def deal_events(whose, member: Membership) -> Source:
    """Creations, wins and losses of the live deals meeting ``whose`` that the member may see."""
    created = DealStageChange.from_stage_id.is_(None)
    statement = (
        stage_history(created.label("created"), Stage.kind, Deal.id.label("deal_id"), Deal.title, Deal.value,
                      Deal.currency)
        .join(Deal, sa.and_(Deal.workspace_id == DealStageChange.workspace_id, Deal.id == DealStageChange.deal_id))
        .where(whose, Deal.deleted_at.is_(None), sa.or_(created, Stage.kind != OPEN))
    )  # fmt: skip
    statement = visible_to_member(statement, Deal.owner_id, member)

    def after(cursor: tuple | None, limit: int) -> list[Entry]:
        ordered = newest_after(statement, DealStageChange.at, DealStageChange.id, DEAL_EVENT, cursor, limit)
        return [
            Entry(row.at, DEAL_EVENT, DealEvent(row.id, row.at, "created" if row.created else row.kind, row.deal_id,
                                                row.title, row.value, row.currency, row.by))
            for row in db.session.execute(ordered)
        ]  # fmt: skip

    return after


def tickets(member: Membership, *whose, people: bool = False) -> Source:
    """The live tickets meeting ``whose`` that the member may see in the queue; with ``people``,
    those of live contacts (``whose`` may name Contact's columns), each naming its person where the
    member may open their page."""
    statement = sa.select(Ticket.id, Ticket.created_at, Ticket.number, Ticket.subject, Ticket.status)
    if people:
        statement = statement.add_columns(
            Contact.id.label("person_id"), Contact.name.label("person_name"), Contact.owner_id.label("person_owner")
        ).join(Contact, sa.and_(Contact.workspace_id == Ticket.workspace_id, Contact.id == Ticket.contact_id))
        whose = (*whose, Contact.deleted_at.is_(None))
    statement = tickets_visible(statement.where(*whose), member)

    def opened(row) -> TicketOpened:
        person = Person(row.person_id, row.person_name) if people and scope_allows(row.person_owner, member) else None
        return TicketOpened(row.id, row.created_at, row.number, row.subject, row.status, person)

    def after(cursor: tuple | None, limit: int) -> list[Entry]:
        ordered = newest_after(statement, Ticket.created_at, Ticket.id, TICKET, cursor, limit)
        return [Entry(ticket.at, TICKET, ticket) for ticket in map(opened, db.session.execute(ordered))]

    return after


def contact_tickets(member: Membership, contact_id: int) -> Source:
    """The contact's tickets; the first page's with the summary of its page, in one query
    (crm/tickets/summary.py)."""
    later = tickets(member, Ticket.contact_id == contact_id)

    def after(cursor: tuple | None, limit: int) -> list[Entry]:
        if cursor is not None:
            return later(cursor, limit)
        rows = ticket_summary.newest_of_contact(member, contact_id, limit)
        opened = (TicketOpened(row.id, row.created_at, row.number, row.subject, row.status) for row in rows)
        return [Entry(ticket.at, TICKET, ticket) for ticket in opened]

    return after


def imports(contact_id: int) -> Source:
    """The contact's creation by an import and the imports' changes of it (crm/imports/history.py:
    one query, shared with the History panel on the first page)."""
    ranks = {imports_history.CREATED: IMPORT_CREATED, imports_history.CHANGED: IMPORT_CHANGE}

    def after(cursor: tuple | None, limit: int) -> list[Entry]:
        def later(kind: str, time_column, id_column):
            return after_cursor(time_column, id_column, ranks[kind], cursor)

        items = imports_history.latest("contact", contact_id, limit, later if cursor else None)
        return [Entry(item.created_at, ranks[item.kind], item) for item in items]

    return after


def permitted(member: Membership | None, deal_source: Callable[[], Source], ticket_source: Callable[[], Source]):
    """The deal events and tickets sources (made by these callables) that the member may read;
    neither without a member."""
    readable: list[Source] = []
    if member is not None and member.can("deals.read"):
        readable.append(deal_source())
    if member is not None and member.can("tickets.read"):
        readable.append(ticket_source())
    return readable


def _activities_of(contact_id: int) -> sa.Select:
    return (
        sa.select(Activity)
        .where(Activity.contact_id == contact_id)
        .options(
            Membership.shown_by_name(Activity.author),
            Membership.shown_by_name(Activity.assignee),
            # What the entry's link to its deal shows and checks (crm.activities.deal_routes.deal_visible).
            so.joinedload(Activity.deal).load_only(Deal.title, Deal.owner_id, Deal.deleted_at),
        )
    )


def page(
    contact_id: int, cursor: str | None = None, per_page: int = PER_PAGE, member: Membership | None = None
) -> tuple[list[Entry], str | None]:
    """One page of entries and the next page's cursor (None: the last page); deal events and
    tickets only with a ``member`` who may read them, in their record scope. Purchases take their
    place by their day in the workspace's time zone (the page's, ``select_timezone``)."""
    sources = [
        activities(_activities_of(contact_id)),
        purchases(sa.select(Purchase).where(Purchase.contact_id == contact_id), select_timezone()),
        changes("contact", contact_id, CHANGE_ACTIONS),
        imports(contact_id),
        *permitted(
            member,
            lambda: deal_events(Deal.contact_id == contact_id, member),
            lambda: contact_tickets(member, contact_id),
        ),
    ]
    return merged_page(sources, cursor, per_page)
