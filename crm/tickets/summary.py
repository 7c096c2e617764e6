"""The tickets of a contact, or of a company's people, for the head of its page: how many are open
and the newest few of them, and how many there are in all, in one query, among the tickets the
member may see (crm.tickets.queries.visible)."""

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import g

from crm.contacts.models import Contact
from crm.extensions import db
from crm.tickets.models import FINISHED, STATUS_LABELS, Ticket
from crm.tickets.queries import visible
from crm.workspaces.models import Membership

SHOWN = 5


@dataclass
class OpenTickets:
    count: int = 0  # open ones
    first: list = field(default_factory=list)  # rows with number, subject, status
    total: int = 0  # closed and resolved ones too

    @property
    def more(self) -> int:
        return self.count - len(self.first)

    @staticmethod
    def label(status: str) -> str:
        return STATUS_LABELS[status]


def _first_open(*conditions, member: Membership, people: bool = False) -> OpenTickets:
    """The newest open tickets meeting ``conditions`` (on the ticket's contact too, with ``people``)
    that the member may see, how many are open and how many there are (window counts, in the same
    query)."""
    is_open = Ticket.status.notin_(FINISHED)
    counts = sa.func.count().filter(is_open).over().label("open"), sa.func.count().over().label("total")
    statement = sa.select(Ticket.number, Ticket.subject, Ticket.status, *counts)
    if people:
        statement = statement.join(
            Contact, sa.and_(Contact.workspace_id == Ticket.workspace_id, Contact.id == Ticket.contact_id)
        )
    ordered = (
        visible(statement, member)
        .where(*conditions)
        .order_by(sa.case((is_open, 0), else_=1), Ticket.created_at.desc(), Ticket.id.desc())
    )
    rows = db.session.execute(ordered.limit(SHOWN)).all()
    if not rows:
        return OpenTickets()
    return OpenTickets(rows[0].open, [row for row in rows if row.status not in FINISHED], rows[0].total)


def contact_open_tickets(member: Membership, contact_id: int) -> OpenTickets:
    """Read already in this request where the contact's timeline asked for its newest tickets."""
    kept = g.get("open_tickets", {}).get(contact_id)
    return kept if kept is not None else _first_open(Ticket.contact_id == contact_id, member=member)


def newest_of_contact(member: Membership, contact_id: int, limit: int) -> list:
    """The contact's newest ``limit`` tickets the member may see (its timeline's first page: rows
    with id, created_at, number, subject, status), and the summary of its page (kept for
    ``contact_open_tickets``), in one query: window counts and two numberings, newest first and
    open ones first, of the contact's tickets."""
    is_open = Ticket.status.notin_(FINISHED)
    newest = (Ticket.created_at.desc(), Ticket.id.desc())
    numbered = sa.select(
        Ticket.id, Ticket.created_at, Ticket.number, Ticket.subject, Ticket.status,
        sa.func.count().filter(is_open).over().label("open"), sa.func.count().over().label("total"),
        sa.func.row_number().over(order_by=newest).label("newest"),
        sa.func.row_number().over(order_by=(sa.case((is_open, 0), else_=1), *newest)).label("open_first"),
    )  # fmt: skip
    tickets = visible(numbered, member).where(Ticket.contact_id == contact_id).subquery()
    rows = db.session.execute(
        sa.select(tickets)
        .where(sa.or_(tickets.c.newest <= limit, tickets.c.open_first <= SHOWN))
        .order_by(tickets.c.newest)
    ).all()
    summary = OpenTickets()
    if rows:
        first = sorted((row for row in rows if row.open_first <= SHOWN), key=lambda row: row.open_first)
        summary = OpenTickets(rows[0].open, [row for row in first if row.status not in FINISHED], rows[0].total)
    g.setdefault("open_tickets", {})[contact_id] = summary
    return [row for row in rows if row.newest <= limit]


def company_open_tickets(member: Membership, company_id: int) -> OpenTickets:
    """Open tickets of the company's people (live contacts only)."""
    return _first_open(Contact.company_id == company_id, Contact.deleted_at.is_(None), member=member, people=True)
