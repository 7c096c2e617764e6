"""Read queries of the staff side: the ticket queue (tabs, filters, search, keyset pages), one
ticket by its number, the customer panel of a ticket's page and the members a ticket can go to.

Every query goes through ``visible``: live tickets only; the escalated queue only for members
with ``tickets.escalated`` (others never see those tickets, in lists or by number); and a role
limited to its own records sees the tickets assigned to its member (crm.permissions).

The queue is sorted by the ticket number, which is given in the order tickets are opened, so
"newest first" needs no other index than the unique (workspace_id, number) one, and the keyset
cursor is the last row's number: a deep page costs what the first does, and nothing is counted.
A page is one query, with its customers' names joined in; the names of categories and assignees come
from the workspace's lists (categories, ``crm.contacts.queries.roster``), which the page loads anyway
for its filters: joined too, they made PostgreSQL plan three more tables on every request (1.5 ms a
page at size M, 0.7 without)."""

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.auth.models import User
from crm.contacts.models import LEVELS, Contact
from crm.contacts.queries import roster
from crm.db import utcnow
from crm.deals.customers import customer_label, parse_customer
from crm.deals.models import OPEN as DEAL_OPEN
from crm.deals.models import Deal
from crm.extensions import db
from crm.i18n import lazy_gettext as _l
from crm.pagination import Page, decode_cursor, encode_cursor
from crm.permissions import visible_to_member
from crm.purchases.models import Purchase
from crm.search import matching, search_order
from crm.tickets.models import (
    ESCALATED,
    GENERAL,
    NEW,
    OPEN,
    PENDING,
    PRIORITIES,
    STATUSES,
    Ticket,
    TicketMessage,
)
from crm.tickets.sla_jobs import breaching
from crm.workspaces.models import Membership

PER_PAGE = 50
MINE, UNASSIGNED, BREACHING, ALL_TICKETS = "mine", "unassigned", "breaching", "all"
TABS = {MINE: _l("My tickets"), UNASSIGNED: _l("Unassigned"), ESCALATED: _l("Escalated"),
        BREACHING: _l("Breaching SLA"), ALL_TICKETS: _l("All")}  # fmt: skip
DEFAULT_TAB = ALL_TICKETS
WORK = ""  # the default status filter: what still needs work
OPEN_WORK = (NEW, OPEN, PENDING)
ALL_STATUSES = "all"
NEWEST, OLDEST = "newest", "oldest"
SORTS = {NEWEST: _l("Newest first"), OLDEST: _l("Oldest first")}
NUMBER = re.compile(r"#?\s*(\d{1,9})")
ID = re.compile(r"[1-9]\d{0,17}")
SHOWN_PURCHASES = 3
SHOWN_TICKETS = 5


# Aliases are made once: SQLAlchemy analyses a fresh alias again on every statement.
AUTHOR = so.aliased(Membership)


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        return None


def _id(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if ID.fullmatch(text) else None


@dataclass(frozen=True)
class QueueView:
    """The queue as the URL asks for it. Unknown values fall back to the defaults (a hand-typed
    link filters less rather than failing)."""

    tab: str = DEFAULT_TAB
    status: str = WORK
    priority: str = ""
    category: int | None = None
    assignee: str = ""  # "", "me", "none" or a membership id
    level: str = ""  # the customer's level: "", "vip", "potential" or "ordinary"
    customer: str = ""  # "contact:<id>" or "company:<id>" (its people's tickets); see without_hidden_customer
    since: date | None = None  # opened on or after (the workspace's calendar day)
    until: date | None = None  # opened on or before
    q: str = ""
    sort: str = NEWEST

    @classmethod
    def from_args(cls, args, member: Membership) -> "QueueView":
        tab = args.get("tab", DEFAULT_TAB)
        status = args.get("status", WORK)
        priority = args.get("priority", "")
        assignee = args.get("assignee", "").strip()
        sort = args.get("sort", NEWEST)
        return cls(
            tab=tab if tab in tabs(member) else DEFAULT_TAB,
            status=status if status in (ALL_STATUSES, *STATUSES) else WORK,
            priority=priority if priority in PRIORITIES else "",
            category=_id(args.get("category")),
            assignee=assignee if assignee in ("me", "none") or _id(assignee) else "",
            level=args.get("level", "") if args.get("level", "") in LEVELS else "",
            customer=parse_customer(args.get("customer")),
            since=_day(args.get("since")),
            until=_day(args.get("until")),
            q=args.get("q", "").strip()[:100],
            sort=sort if sort in SORTS else NEWEST,
        )

    def as_args(self, **changes) -> dict[str, str]:
        """The non-default state as query arguments; ``changes`` replace some (``tab="mine"``)."""
        args = {"tab": self.tab, "status": self.status, "priority": self.priority,
                "category": "" if self.category is None else str(self.category), "assignee": self.assignee,
                "level": self.level, "customer": self.customer, "since": self.since.isoformat() if self.since else "",
                "until": self.until.isoformat() if self.until else "", "q": self.q, "sort": self.sort,
                **changes}  # fmt: skip
        defaults = {"tab": DEFAULT_TAB, "status": WORK, "sort": NEWEST}
        return {key: value for key, value in args.items() if value and value != defaults.get(key)}

    @property
    def filtered(self) -> bool:
        """Whether anything but the tab and the sort narrows the list (for the empty state)."""
        return bool(self.as_args(tab=DEFAULT_TAB, sort=NEWEST))


def tabs(member: Membership) -> dict:
    """The queue's tabs the member may open: Escalated only with ``tickets.escalated``."""
    return {key: label for key, label in TABS.items() if key != ESCALATED or member.can("tickets.escalated")}


def visible(statement: sa.Select, member: Membership) -> sa.Select:
    """Live tickets the member may see (see the module's docstring)."""
    statement = statement.where(Ticket.deleted_at.is_(None))
    if not member.can("tickets.escalated"):
        statement = statement.where(Ticket.queue == GENERAL)
    return visible_to_member(statement, Ticket.assignee_id, member)


def _search(statement: sa.Select, q: str) -> sa.Select:
    """A number ("1001", "#1001") finds that ticket; words must each be in the subject or the
    requester's name or email address (an indexed search, crm/search.py)."""
    if not q:
        return statement
    number = NUMBER.fullmatch(q)
    if number:
        return statement.where(Ticket.number == int(number.group(1)))
    return matching(statement, Ticket, " ".join(q.split()[:8]), db.engine.dialect.name)


def quick_tickets(q: str, member: Membership, limit: int) -> list:
    """Tickets the member may see whose number, subject or requester matches ``q``, newest first:
    the header's search."""
    statement = _search(visible(sa.select(Ticket.number, Ticket.subject, Ticket.status), member), q)
    return db.session.execute(statement.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)).all()


def _filtered(statement: sa.Select, view: QueueView, member: Membership) -> sa.Select:
    statement = visible(statement, member)
    if view.tab == MINE:
        statement = statement.where(Ticket.assignee_id == member.id)
    elif view.tab == UNASSIGNED:
        statement = statement.where(Ticket.assignee_id.is_(None))
    elif view.tab == ESCALATED:
        statement = statement.where(Ticket.queue == ESCALATED)
    elif view.tab == BREACHING:
        statement = statement.where(breaching(utcnow()))
    if view.status == WORK:
        statement = statement.where(Ticket.status.in_(OPEN_WORK))
    elif view.status != ALL_STATUSES:
        statement = statement.where(Ticket.status == view.status)
    if view.priority:
        statement = statement.where(Ticket.priority == view.priority)
    if view.category is not None:
        statement = statement.where(Ticket.category_id == view.category)
    if view.assignee == "me":
        statement = statement.where(Ticket.assignee_id == member.id)
    elif view.assignee == "none":
        statement = statement.where(Ticket.assignee_id.is_(None))
    elif view.assignee:
        statement = statement.where(Ticket.assignee_id == int(view.assignee))
    if view.level:
        statement = statement.where(Ticket.contact_id.in_(sa.select(Contact.id).where(Contact.level == view.level)))
    if view.customer:
        statement = _of_customer(statement, view.customer)
    zone = ZoneInfo(member.workspace.timezone)
    if view.since:
        statement = statement.where(Ticket.created_at >= datetime.combine(view.since, time(), zone))
    if view.until:
        statement = statement.where(Ticket.created_at < datetime.combine(view.until + timedelta(days=1), time(), zone))
    return _search(statement, view.q)


def _of_customer(statement: sa.Select, customer: str) -> sa.Select:
    """Tickets of the contact, or of the company's people who are not in the trash (as the company's
    page counts them, crm.tickets.summary)."""
    kind, record_id = customer.split(":")
    if kind == "contact":
        return statement.where(Ticket.contact_id == int(record_id))
    people = sa.select(Contact.id).where(Contact.company_id == int(record_id), Contact.deleted_at.is_(None))
    return statement.where(Ticket.contact_id.in_(people))


def without_hidden_customer(view: QueueView, member: Membership) -> tuple[QueueView, str | None]:
    """The view without a customer filter the member may not use, and the customer's name: the
    filter needs ``contacts.read`` (it names a record) and a customer the member may see (one query)."""
    if not view.customer:
        return view, None
    label = customer_label(view.customer, member) if member.can("contacts.read") else None
    return (view, label) if label is not None else (replace(view, customer=""), None)


@dataclass(frozen=True, slots=True)
class QueueRow:
    number: int
    subject: str
    status: str
    priority: str
    queue: str
    created_at: datetime
    contact_id: int
    contact_name: str
    level: str
    category_id: int | None
    assignee_id: int | None
    contact_deleted_at: datetime | None  # with the owner: whether the row may link the contact's page
    contact_owner_id: int | None


def queue_page(view: QueueView, member: Membership, after: str | None) -> Page:
    """One page of the queue after the cursor ``after``, in one query: the page's tickets are found
    first (numbers only, on the tickets table alone), and only those are joined to their customers,
    so the plan never joins the thousands of tickets a filter keeps before sorting them."""
    descending = view.sort == NEWEST
    found = _filtered(sa.select(Ticket.id.label("ticket_id"), Ticket.number.label("key")), view, member)
    if after:
        (last,) = decode_cursor(after, [Ticket.number])
        found = found.where(Ticket.number < last if descending else Ticket.number > last)
    order = search_order(view.q, db.engine.dialect.name, [Ticket.number], descending)
    order = order or [Ticket.number.desc() if descending else Ticket.number]
    found = found.order_by(*order).limit(PER_PAGE + 1).subquery()
    statement = (
        sa.select(
            Ticket.number,
            Ticket.subject,
            Ticket.status,
            Ticket.priority,
            Ticket.queue,
            Ticket.created_at,
            Ticket.contact_id,
            Contact.name.label("contact_name"),
            Contact.level,
            Ticket.category_id,
            Ticket.assignee_id,
            Contact.deleted_at,
            Contact.owner_id,
        )
        .select_from(found)
        .join(Ticket, Ticket.id == found.c.ticket_id)
        .join(Contact, sa.and_(Contact.workspace_id == Ticket.workspace_id, Contact.id == Ticket.contact_id))
        .order_by(found.c.key.desc() if descending else found.c.key)
    )
    rows = db.session.execute(statement).all()
    items = [QueueRow(*row) for row in rows[:PER_PAGE]]  # the statement selects QueueRow's fields in its order
    return Page(items, encode_cursor([items[-1].number]) if len(rows) > PER_PAGE else None)


def ticket_or_none(number: int, member: Membership) -> Ticket | None:
    """The live ticket with this number of the bound workspace, if the member may see it."""
    if number > 2**31 - 1:
        return None
    return db.session.scalar(visible(sa.select(Ticket).where(Ticket.number == number), member))


def worker_choices(queue: str | None = None) -> list[tuple[int, str]]:
    """Active members whose role may answer tickets (``tickets.write``): whom a ticket can go to;
    for the escalated ``queue``, those who may work it too (others never see its tickets)."""
    members = roster()
    workers = members.who_may("tickets.write")
    if queue == ESCALATED:
        escalated = {member_id for member_id, _name in members.who_may("tickets.escalated")}
        workers = [(member_id, name) for member_id, name in workers if member_id in escalated]
    return workers


@dataclass
class CustomerPanel:
    contact: Contact
    open_deals: int
    purchases: list
    earlier: list  # rows with number, subject, status, created_at
    more_earlier: bool = False  # the customer has more tickets than ``earlier`` shows


def customer_panel(ticket: Ticket, member: Membership) -> CustomerPanel:
    """What the ticket page shows of the customer: the contact (tier, level, lifetime value), how
    many open deals they have (within the member's record scope), their last purchases and their
    other tickets the member may see (four queries)."""
    contact = db.session.get(Contact, ticket.contact_id)
    deals = visible_to_member(
        sa.select(sa.func.count(Deal.id)).where(
            Deal.contact_id == contact.id, Deal.status == DEAL_OPEN, Deal.deleted_at.is_(None)
        ),
        Deal.owner_id,
        member,
    )
    purchases = db.session.execute(
        sa.select(Purchase.purchased_on, Purchase.product, Purchase.amount, Purchase.currency)
        .where(Purchase.contact_id == contact.id)
        .order_by(Purchase.purchased_on.desc(), Purchase.id.desc())
        .limit(SHOWN_PURCHASES)
    ).all()
    earlier = db.session.execute(
        visible(sa.select(Ticket.number, Ticket.subject, Ticket.status, Ticket.created_at), member)
        .where(Ticket.contact_id == contact.id, Ticket.id != ticket.id)
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(SHOWN_TICKETS + 1)
    ).all()
    more = len(earlier) > SHOWN_TICKETS
    return CustomerPanel(contact, db.session.scalar(deals) or 0, purchases, earlier[:SHOWN_TICKETS], more)


@dataclass(frozen=True, slots=True)
class MessageRow:
    id: int
    kind: str
    body: str
    created_at: datetime
    author_name: str | None  # None: the customer


def conversation(ticket_id: int, message_id: int | None = None) -> list[MessageRow]:
    """A ticket's messages oldest first with their authors' names (one query), or just one of them."""
    author = AUTHOR
    statement = (
        sa.select(
            TicketMessage.id,
            TicketMessage.kind,
            TicketMessage.body,
            TicketMessage.created_at,
            User.name.label("author_name"),
        )
        .outerjoin(
            author, sa.and_(author.workspace_id == TicketMessage.workspace_id, author.id == TicketMessage.author_id)
        )
        .outerjoin(User, User.id == author.user_id)
        .where(TicketMessage.ticket_id == ticket_id)
        .order_by(TicketMessage.created_at, TicketMessage.id)
    )
    if message_id is not None:
        statement = statement.where(TicketMessage.id == message_id)
    return [MessageRow(*row) for row in db.session.execute(statement)]
