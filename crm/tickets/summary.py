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


def _open(statement: sa.Select, member: Membership) -> OpenTickets:
    columns = (Ticket.number, Ticket.subject, Ticket.status, sa.func.count().over().label("total"))
    statement = visible(statement.add_columns(*columns), member).where(Ticket.status.notin_(FINISHED))
    rows = db.session.execute(statement.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(SHOWN)).all()
    return OpenTickets(rows[0].total if rows else 0, rows)


def contact_open_tickets(member: Membership, contact_id: int) -> OpenTickets:
    return _open(sa.select().select_from(Ticket).where(Ticket.contact_id == contact_id), member)


def company_open_tickets(member: Membership, company_id: int) -> OpenTickets:
    """Open tickets of the company's people (live contacts only)."""
    people = sa.and_(Contact.workspace_id == Ticket.workspace_id, Contact.id == Ticket.contact_id)
    statement = sa.select().select_from(Ticket).join(Contact, people)
    return _open(statement.where(Contact.company_id == company_id, Contact.deleted_at.is_(None)), member)
