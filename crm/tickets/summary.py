"""The open tickets of a contact, or of a company's people, for the head of its page: how many and
the newest few, in one query, among the tickets the member may see (crm.tickets.queries.visible)."""

from dataclasses import dataclass, field

import sqlalchemy as sa

from crm.contacts.models import Contact
from crm.extensions import db
from crm.tickets.models import FINISHED, STATUS_LABELS, Ticket
from crm.tickets.queries import visible
from crm.workspaces.models import Membership

SHOWN = 5


@dataclass
class OpenTickets:
    count: int = 0
    first: list = field(default_factory=list)  # rows with number, subject, status

    @property
    def more(self) -> int:
        return self.count - len(self.first)

    @staticmethod
    def label(status: str) -> str:
        return STATUS_LABELS[status]


def _first_open(*conditions, member: Membership, people: bool = False) -> OpenTickets:
    """The newest open tickets meeting ``conditions`` (on the ticket's contact too, with ``people``)
    that the member may see, and how many there are (a window count, in the same query)."""
    statement = sa.select(Ticket.number, Ticket.subject, Ticket.status, sa.func.count().over().label("total"))
    if people:
        statement = statement.join(
            Contact, sa.and_(Contact.workspace_id == Ticket.workspace_id, Contact.id == Ticket.contact_id)
        )
    statement = visible(statement, member).where(Ticket.status.notin_(FINISHED), *conditions)
    rows = db.session.execute(statement.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(SHOWN)).all()
    return OpenTickets(rows[0].total if rows else 0, rows)


def contact_open_tickets(member: Membership, contact_id: int) -> OpenTickets:
    return _first_open(Ticket.contact_id == contact_id, member=member)


def company_open_tickets(member: Membership, company_id: int) -> OpenTickets:
    """Open tickets of the company's people (live contacts only)."""
    return _first_open(Contact.company_id == company_id, Contact.deleted_at.is_(None), member=member, people=True)
