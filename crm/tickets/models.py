"""Tickets (customer complaints): the workspace's complaint categories, the tickets, their messages
(public replies, internal notes, customer replies) and the per-workspace counter that numbers them."""

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext

from crm.contacts.models import Contact
from crm.db import BigId, Timestamps, UTCDateTime, utcnow
from crm.extensions import db
from crm.i18n import lazy_gettext as _l
from crm.permissions import N_
from crm.tenancy import TenantScoped
from crm.workspaces.models import Membership

NEW, OPEN, PENDING, RESOLVED, CLOSED = "new", "open", "pending", "resolved", "closed"
STATUSES = (NEW, OPEN, PENDING, RESOLVED, CLOSED)
STATUS_LABELS = {
    NEW: _l("New"), OPEN: _l("Open"), PENDING: _l("Waiting on the customer"), RESOLVED: _l("Resolved"),
    CLOSED: _l("Closed"),
}  # fmt: skip
# Statuses of a ticket that is done with, until the customer writes again.
FINISHED = (RESOLVED, CLOSED)

LOW, NORMAL, HIGH, URGENT = "low", "normal", "high", "urgent"
PRIORITIES = (LOW, NORMAL, HIGH, URGENT)
PRIORITY_LABELS = {LOW: _l("Low"), NORMAL: _l("Normal"), HIGH: _l("High"), URGENT: _l("Urgent")}

GENERAL, ESCALATED = "general", "escalated"
QUEUES = (GENERAL, ESCALATED)
QUEUE_LABELS = {GENERAL: _l("General"), ESCALATED: _l("Escalated")}

PORTAL, EMAIL, PHONE, IN_PERSON, STAFF = "portal", "email", "phone", "in_person", "staff"
CHANNELS = (PORTAL, EMAIL, PHONE, IN_PERSON, STAFF)
CHANNEL_LABELS = {
    PORTAL: _l("Portal"), EMAIL: _l("Email"), PHONE: _l("Phone"), IN_PERSON: _l("In person"), STAFF: _l("Staff"),
}  # fmt: skip

# Messages: a public reply of staff (the customer sees it), an internal note (staff only), a
# reply of the customer (from the portal).
PUBLIC, INTERNAL, CUSTOMER = "public", "internal", "customer"
MESSAGE_KINDS = (PUBLIC, INTERNAL, CUSTOMER)

# What a ticket is: a complaint (or any service request), or a customer's privacy request.
COMPLAINT, PRIVACY_COPY, PRIVACY_ERASURE = "complaint", "privacy_copy", "privacy_erasure"
KINDS = (COMPLAINT, PRIVACY_COPY, PRIVACY_ERASURE)
KIND_LABELS = {COMPLAINT: _l("Complaint"), PRIVACY_COPY: _l("Copy of my data"), PRIVACY_ERASURE: _l("Delete my data")}
PRIVACY_DAYS = 30  # a privacy request is due within 30 calendar days

FIRST_NUMBER = 1001

# The complaint categories every workspace starts with; admins edit the list.
DEFAULT_CATEGORIES = (N_("Product quality"), N_("Delivery"), N_("Billing"), N_("Service"), N_("Other"))
_DEFAULT_NAMES = frozenset(DEFAULT_CATEGORIES)


def display_name(name: str) -> str:
    """Default names follow the reader's language until the workspace renames them."""
    return gettext(name) if name in _DEFAULT_NAMES else name


def _membership(model: str, column: str) -> so.Mapped[Membership | None]:
    return so.relationship(
        primaryjoin=(
            f"and_(Membership.workspace_id == {model}.workspace_id, Membership.id == foreign({model}.{column}))"
        ),
        viewonly=True,
    )


class TicketCategory(TenantScoped, db.Model):
    """A complaint type of the workspace: what the portal form offers and the service report counts.
    A category in use is retired (inactive), never deleted."""

    __tablename__ = "ticket_categories"
    __scoped_table_args__ = (sa.Index("ix_ticket_categories_workspace_id_position", "workspace_id", "position"),)

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    position: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    active: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=True)

    @property
    def display_name(self) -> str:
        return display_name(self.name)


class TicketCounter(TenantScoped, db.Model):
    """The last ticket number given in a workspace. Taken with one atomic upsert in the transaction
    that opens the ticket (crm.tickets.service.next_number): concurrent tickets queue on this row,
    and a rolled-back one gives its number back."""

    __tablename__ = "ticket_counters"
    __scoped_table_args__ = (sa.UniqueConstraint("workspace_id"),)

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    last_number: so.Mapped[int] = so.mapped_column(sa.Integer)


class Ticket(TenantScoped, Timestamps, db.Model):
    """A customer's complaint. ``number`` is what people see (#1001); the portal finds a ticket by
    the SHA-256 of its tracking token (the token itself is only ever sent to the customer)."""

    __tablename__ = "tickets"
    __scoped_table_args__ = (
        sa.ForeignKeyConstraint(["workspace_id", "contact_id"], ["contacts.workspace_id", "contacts.id"]),
        sa.ForeignKeyConstraint(
            ["workspace_id", "category_id"], ["ticket_categories.workspace_id", "ticket_categories.id"]
        ),
        sa.ForeignKeyConstraint(["workspace_id", "assignee_id"], ["memberships.workspace_id", "memberships.id"]),
        sa.ForeignKeyConstraint(["workspace_id", "merged_into_id"], ["tickets.workspace_id", "tickets.id"]),
        sa.UniqueConstraint("workspace_id", "number"),
        # Unique per workspace rather than globally: the portal looks up within its workspace anyway,
        # a restored copy of a workspace keeps its customers' links working, and a distributed
        # database (Citus, by workspace_id) can only enforce keys that hold the workspace.
        sa.UniqueConstraint("workspace_id", "tracking_token_hash"),
        # The queues: by status, by queue, by assignee, newest first; and a customer's tickets.
        sa.Index("ix_tickets_workspace_id_status", "workspace_id", "status", "created_at", "id"),
        sa.Index("ix_tickets_workspace_id_queue", "workspace_id", "queue", "status", "created_at", "id"),
        sa.Index("ix_tickets_workspace_id_assignee_id", "workspace_id", "assignee_id", "status", "created_at", "id"),
        sa.Index("ix_tickets_workspace_id_contact_id", "workspace_id", "contact_id", "created_at"),
        sa.Index("ix_tickets_workspace_id_category_id", "workspace_id", "category_id"),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    number: so.Mapped[int] = so.mapped_column(sa.Integer)  # per workspace, from FIRST_NUMBER
    subject: so.Mapped[str] = so.mapped_column(sa.String(200))
    contact_id: so.Mapped[int] = so.mapped_column(BigId)
    channel: so.Mapped[str] = so.mapped_column(sa.String(10))
    category_id: so.Mapped[int | None] = so.mapped_column(BigId)
    priority: so.Mapped[str] = so.mapped_column(sa.String(6), default=NORMAL)
    status: so.Mapped[str] = so.mapped_column(sa.String(8), default=NEW)
    queue: so.Mapped[str] = so.mapped_column(sa.String(10), default=GENERAL)
    assignee_id: so.Mapped[int | None] = so.mapped_column(BigId)
    first_response_due_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    resolution_due_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    sla_paused_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)  # set while pending
    # The open time of its finished waits on the customer: due times set again (a new priority) add it.
    sla_paused_seconds: so.Mapped[int] = so.mapped_column(sa.Integer, default=0, server_default="0")
    breach_notified_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)  # managers told, once
    kind: so.Mapped[str] = so.mapped_column(sa.String(20), default="complaint")  # or a privacy request: KINDS
    privacy_done_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)  # copy sent or data erased
    # A privacy request is acted on only once its emailed link was opened: the address is the customer's.
    privacy_verified_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    first_responded_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    resolved_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    closed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    rating: so.Mapped[int | None] = so.mapped_column(sa.SmallInteger)  # 1-5, given once
    rating_comment: so.Mapped[str | None] = so.mapped_column(sa.Text)
    rated_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    tracking_token_hash: so.Mapped[str] = so.mapped_column(sa.String(64))  # sha256 hex, for look-ups
    # The token encrypted with the secrets key (crm.secrets), so staff replies can email the link again.
    tracking_token_sealed: so.Mapped[str] = so.mapped_column(sa.Text)
    requester_name: so.Mapped[str] = so.mapped_column(sa.String(200))
    requester_email: so.Mapped[str | None] = so.mapped_column(sa.String(320))  # lower-case
    reference: so.Mapped[str | None] = so.mapped_column(sa.String(120))  # order number or the like
    deleted_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # Subject, requester's name and email, normalised: what the queue's search reads (crm/search.py).
    search_text: so.Mapped[str] = so.mapped_column(sa.Text, default="", server_default="")
    locale: so.Mapped[str | None] = so.mapped_column(sa.String(10))  # the customer's language, for emails
    merged_into_id: so.Mapped[int | None] = so.mapped_column(BigId)  # closed as a duplicate of that ticket

    contact: so.Mapped[Contact] = so.relationship(
        primaryjoin="and_(Contact.workspace_id == Ticket.workspace_id, Contact.id == foreign(Ticket.contact_id))",
        viewonly=True,
    )
    category: so.Mapped[TicketCategory | None] = so.relationship(
        primaryjoin=(
            "and_(TicketCategory.workspace_id == Ticket.workspace_id, TicketCategory.id == foreign(Ticket.category_id))"
        ),
        viewonly=True,
    )
    assignee: so.Mapped[Membership | None] = _membership("Ticket", "assignee_id")
    messages: so.Mapped[list["TicketMessage"]] = so.relationship(
        primaryjoin=(
            "and_(TicketMessage.workspace_id == Ticket.workspace_id, foreign(TicketMessage.ticket_id) == Ticket.id)"
        ),
        order_by=lambda: (TicketMessage.created_at, TicketMessage.id),
        viewonly=True,
    )


class TicketMessage(TenantScoped, db.Model):
    """One message of a ticket's conversation; ``author_id`` is None for the customer's."""

    __tablename__ = "ticket_messages"
    __scoped_table_args__ = (
        sa.ForeignKeyConstraint(
            ["workspace_id", "ticket_id"], ["tickets.workspace_id", "tickets.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["workspace_id", "author_id"], ["memberships.workspace_id", "memberships.id"]),
        sa.Index("ix_ticket_messages_workspace_id_ticket_id", "workspace_id", "ticket_id", "created_at", "id"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    ticket_id: so.Mapped[int] = so.mapped_column(BigId)
    kind: so.Mapped[str] = so.mapped_column(sa.String(8))  # public | internal | customer
    author_id: so.Mapped[int | None] = so.mapped_column(BigId)
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    author: so.Mapped[Membership | None] = _membership("TicketMessage", "author_id")


class BreachNotice(TenantScoped, db.Model):
    """A manager the mail server took a ticket's late-ticket mail for (`flask crm check-tickets`):
    while another manager's was refused, the next run sends only the ones missing. The ticket's
    ``breach_notified_at`` is set once every manager has theirs."""

    __tablename__ = "ticket_breach_notices"
    __scoped_table_args__ = (
        sa.ForeignKeyConstraint(
            ["workspace_id", "ticket_id"], ["tickets.workspace_id", "tickets.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["workspace_id", "member_id"], ["memberships.workspace_id", "memberships.id"]),
        sa.UniqueConstraint("workspace_id", "ticket_id", "member_id"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    ticket_id: so.Mapped[int] = so.mapped_column(BigId)
    member_id: so.Mapped[int] = so.mapped_column(BigId)
    sent_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class AssignmentRotation(TenantScoped, db.Model):
    """The members taking turns on one queue, in order, and who was given the last ticket."""

    __tablename__ = "assignment_rotations"
    __scoped_table_args__ = (sa.UniqueConstraint("workspace_id", "queue"),)

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    queue: so.Mapped[str] = so.mapped_column(sa.String(20))
    member_ids: so.Mapped[list[int]] = so.mapped_column(sa.JSON, default=list)
    last_member_id: so.Mapped[int | None] = so.mapped_column(BigId)


class TicketAttachment(TenantScoped, db.Model):
    """A file a customer or staff member attached to a ticket's message: stored outside the web
    root under a random name (crm.tickets.attachments), served only to those who may see it."""

    __tablename__ = "ticket_attachments"
    __scoped_table_args__ = (
        sa.ForeignKeyConstraint(
            ["workspace_id", "ticket_id"], ["tickets.workspace_id", "tickets.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "message_id"], ["ticket_messages.workspace_id", "ticket_messages.id"], ondelete="CASCADE"
        ),
        sa.Index("ix_ticket_attachments_workspace_id_ticket_id", "workspace_id", "ticket_id"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    ticket_id: so.Mapped[int] = so.mapped_column(BigId)
    message_id: so.Mapped[int] = so.mapped_column(BigId)
    filename: so.Mapped[str] = so.mapped_column(sa.String(200))  # as the uploader named it, cleaned
    content_type: so.Mapped[str] = so.mapped_column(sa.String(50))
    size: so.Mapped[int] = so.mapped_column(sa.Integer)
    stored_name: so.Mapped[str] = so.mapped_column(sa.String(80))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class PortalSignIn(TenantScoped, db.Model):
    """A single-use link that shows a customer every request of their email address on the portal
    ("My requests"): valid 30 minutes; only the SHA-256 of its token is kept."""

    __tablename__ = "portal_sign_ins"
    __scoped_table_args__ = (sa.UniqueConstraint("workspace_id", "token_hash"),)

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(320))
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    used_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
