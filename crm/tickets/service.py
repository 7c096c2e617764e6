"""Opening tickets (numbered per workspace, routed to a queue by the customer's level, with a private
tracking token), the conversation, status, assignment, priority and category changes, and the
customer's rating, which closes the loop when it is low. Every change is audited; the caller commits
(one transaction per user action). Values are checked before anything is written, so a refused
call leaves nothing behind."""

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.dialects import postgresql, sqlite

from crm import secrets as secrets_store
from crm.activities import service as activities
from crm.activities.models import Activity
from crm.audit import service as audit
from crm.auth.service import normalize_email
from crm.contacts import identities
from crm.contacts import service as contacts
from crm.contacts.models import Contact
from crm.contacts.phones import to_e164
from crm.db import utcnow
from crm.duplicates import service as duplicates
from crm.extensions import db
from crm.permissions import OWNER, scope_allows
from crm.search import searchable
from crm.tenancy import bound_workspace_id
from crm.tickets import rotation, sla
from crm.tickets.models import (
    CHANNELS,
    CLOSED,
    CUSTOMER,
    DEFAULT_CATEGORIES,
    ESCALATED,
    FINISHED,
    FIRST_NUMBER,
    GENERAL,
    INTERNAL,
    MESSAGE_KINDS,
    NEW,
    NORMAL,
    OPEN,
    PENDING,
    PORTAL,
    PRIORITIES,
    PUBLIC,
    RESOLVED,
    STATUSES,
    Ticket,
    TicketCategory,
    TicketCounter,
    TicketMessage,
)
from crm.workspaces.models import ACTIVE, Membership, Role, Workspace

SUBJECT_MAX = 200
BODY_MAX = 10_000
NAME_MAX = 200
REFERENCE_MAX = 120
COMMENT_MAX = 2_000
TOKEN_MAX = 100  # token_urlsafe(32) is 43 characters; anything much longer is not one of ours
LOW_RATING = 2  # this or less reopens the ticket, escalated, with a recovery task
ESCALATED_LEVELS = ("vip", "potential")


class TicketError(ValueError):
    """A refused change: ``status`` 409 when the ticket is not in a state that allows it, 422 for a
    value that cannot be taken (``field`` names the form field)."""

    def __init__(self, message: str, status: int = 409, field: str | None = None):
        super().__init__(message)
        self.status = status
        self.field = field


# --- categories ------------------------------------------------------------------------------------


def create_default_categories() -> None:
    """The complaint categories every workspace starts with (names translated on display)."""
    for position, name in enumerate(DEFAULT_CATEGORIES):
        db.session.add(TicketCategory(name=name, position=position, active=True))
    db.session.flush()


def remove_all_categories() -> None:
    """A restore into a new workspace replaces the default categories with the backup's."""
    db.session.execute(sa.delete(TicketCategory))


def categories(active_only: bool = False) -> list[TicketCategory]:
    statement = sa.select(TicketCategory).order_by(TicketCategory.position, TicketCategory.id)
    if active_only:
        statement = statement.where(TicketCategory.active.is_(True))
    return list(db.session.scalars(statement))


# --- opening ---------------------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def tracking_token(ticket: Ticket) -> str:
    """The ticket's tracking token, for the link in emails to the customer."""
    return secrets_store.decrypt(ticket.tracking_token_sealed)


def renew_tracking_token(ticket: Ticket) -> None:
    """A new private link for ``ticket``, made as ``open_ticket`` makes the first; the old one no
    longer opens it. Only its hash and the sealed copy (for emails) are kept."""
    token = secrets.token_urlsafe(32)
    ticket.tracking_token_hash = hash_token(token)
    ticket.tracking_token_sealed = secrets_store.encrypt(token)


def next_number() -> int:
    """The next ticket number of the bound workspace: 1001, 1002...

    One statement, INSERT ... ON CONFLICT DO UPDATE ... RETURNING, on the workspace's counter row,
    as for quote numbers (crm.quotes.service.next_number): on PostgreSQL the row stays locked until
    the transaction ends, so concurrent tickets wait for each other instead of reading the same
    value, and a rolled-back ticket gives its number back."""
    table = TicketCounter.__table__
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(table)
        .values(workspace_id=bound_workspace_id(), last_number=FIRST_NUMBER)
        .on_conflict_do_update(index_elements=[table.c.workspace_id], set_={"last_number": table.c.last_number + 1})
        .returning(table.c.last_number)
    )
    return db.session.execute(statement).scalar_one()


def route_queue(contact: Contact) -> str:
    """VIP and potential customers go to the escalated queue, everyone else to the general one."""
    return ESCALATED if contact.level in ESCALATED_LEVELS else GENERAL


def _text(value: str | None, limit: int, field: str, required: bool = True) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise TicketError(_("This field is required."), 422, field)
        return None
    if len(value) > limit:
        raise TicketError(_("Keep it under %(count)d characters.", count=limit), 422, field)
    return value


def _email(raw: str | None, required: bool) -> str | None:
    if not (raw or "").strip():
        if required:
            raise TicketError(_("This field is required."), 422, "email")
        return None
    try:
        return normalize_email(raw)
    except ValueError as error:
        raise TicketError(str(error), 422, "email") from error


def _check_choice(value: str, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise TicketError(_("Not a valid choice."), 422, field)
    return value


def _check_category(category_id: int | None) -> int | None:
    if category_id is None:
        return None
    active = db.session.scalar(
        sa.select(TicketCategory.id).where(TicketCategory.id == category_id, TicketCategory.active.is_(True))
    )
    if active is None:
        raise TicketError(_("Not a valid choice."), 422, "category_id")
    return category_id


def _check_member(member_id: int, field: str = "assignee_id") -> Membership:
    member = db.session.get(Membership, member_id)
    if member is None or member.status != ACTIVE:
        raise TicketError(_("Choose an active member of the workspace."), 422, field)
    return member


def ticket_search_text(subject: str, requester_name: str | None, requester_email: str | None) -> str:
    return searchable(" ".join(part for part in (subject, requester_name, requester_email) if part))


def open_ticket(*, contact: Contact, subject: str, body: str, channel: str, category_id: int | None = None,
                priority: str = NORMAL, requester_name: str | None, requester_email: str | None,
                reference: str | None = None, author_id: int | None = None,
                locale: str | None = None) -> tuple[Ticket, str]:  # fmt: skip
    """A new ticket of ``contact``: numbered, routed to its queue, status "new", with its first
    message (the customer's words, or the staff member's record of them when ``author_id`` is
    given) and a tracking token. Returns the ticket and the token, which only the customer gets:
    the ticket keeps its SHA-256.

    The requester's email is required from the portal; for a ticket staff open (by phone, in
    person...) it and the name default to the contact's. ``locale`` is the language the customer
    wrote in on the portal, which their emails use; None when not known."""
    if contact.deleted_at is not None:
        raise TicketError(_("This contact is in the trash. Restore it first."), 409, "contact_id")
    subject = _text(subject, SUBJECT_MAX, "subject")
    body = _text(body, BODY_MAX, "body")
    _check_choice(channel, CHANNELS, "channel")
    _check_choice(priority, PRIORITIES, "priority")
    category_id = _check_category(category_id)
    requester_email = _email(requester_email, required=channel == PORTAL) or (contact.emails or [None])[0]
    requester_name = _text(requester_name, NAME_MAX, "name", required=False) or contact.name
    reference = _text(reference, REFERENCE_MAX, "reference", required=False)
    if author_id is not None:
        _check_member(author_id, "author_id")

    token = secrets.token_urlsafe(32)
    queue = route_queue(contact)
    ticket = Ticket(
        number=next_number(), subject=subject, contact_id=contact.id, channel=channel, category_id=category_id,
        priority=priority, status=NEW, queue=queue, assignee_id=rotation.next_assignee(queue),
        tracking_token_hash=hash_token(token),
        tracking_token_sealed=secrets_store.encrypt(token),
        requester_name=requester_name, requester_email=requester_email, reference=reference, locale=locale,
        search_text=ticket_search_text(subject, requester_name, requester_email),
    )  # fmt: skip
    _due_times(ticket, contact.level)
    db.session.add(ticket)
    db.session.flush()
    kind = CUSTOMER if author_id is None else PUBLIC
    db.session.add(TicketMessage(ticket_id=ticket.id, kind=kind, author_id=author_id, body=body))
    changes = {
        "number": [None, ticket.number], "subject": [None, subject], "contact_id": [None, contact.id],
        "channel": [None, channel], "queue": [None, ticket.queue], "priority": [None, priority],
    }  # fmt: skip
    if category_id is not None:
        changes["category_id"] = [None, category_id]
    if ticket.assignee_id is not None:
        changes["assignee_id"] = [None, ticket.assignee_id]
    audit.record("ticket.created", "ticket", ticket.id, changes)
    return ticket, token


def known_customer(email: str) -> bool:
    """Whether a live contact of the bound workspace holds this address (normalised); a malformed
    address is nobody's."""
    try:
        email = normalize_email(email)
    except ValueError:
        return False
    return identities.owners_of("email", [email]).get(email) is not None


def find_contact_for_portal(name: str, email: str, phone: str | None = None) -> Contact:
    """The live contact of the bound workspace holding ``email`` (normalised), or a new contact
    with source "portal" (its phone parsed with the workspace's phone region). An existing
    contact is left as it is: what a visitor types never changes a customer record."""
    name = _text(name, NAME_MAX, "name")
    email = _email(email, required=True)
    holder = identities.owners_of("email", [email]).get(email)
    if holder is not None:
        return db.session.get(Contact, holder)
    phones = []
    if (phone or "").strip():
        region = db.session.get(Workspace, bound_workspace_id()).phone_region
        try:
            phones = [to_e164(phone.strip(), region)]
        except ValueError as error:
            raise TicketError(str(error), 422, "phone") from error
    # Never refused for the plan's contacts limit: a customer's complaint is not lost (crm/billing/limits.py).
    contact = contacts.create_contact(
        {"name": name, "emails": [email], "phones": phones, "source": "portal"}, check_limit=False
    )
    duplicates.refresh_for(contact)
    return contact


def ticket_by_token(token: str | None, lock: bool = False) -> Ticket | None:
    """The bound workspace's live ticket with this tracking token, else None. Looked up by the
    token's hash, so nothing compares the secret itself, and another workspace's token finds nothing.
    ``lock``: its row locked until the transaction ends, and read as a merge going on leaves it."""
    if not token or len(token) > TOKEN_MAX:
        return None
    statement = sa.select(Ticket).where(Ticket.tracking_token_hash == hash_token(token), Ticket.deleted_at.is_(None))
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(statement)


# --- the conversation ------------------------------------------------------------------------------


def just_said(ticket: Ticket, body: str | None) -> bool:
    """Whether the customer's latest message on the ticket, sent within the last two minutes, says
    ``body`` already (a second tap on "Send" while the first was on its way)."""
    latest = db.session.scalars(
        sa.select(TicketMessage).where(TicketMessage.ticket_id == ticket.id)
        .order_by(TicketMessage.created_at.desc(), TicketMessage.id.desc()).limit(1)
    ).first()  # fmt: skip
    return (
        latest is not None and latest.kind == CUSTOMER and latest.body == (body or "").strip()
        and latest.created_at > utcnow() - timedelta(minutes=2)
    )  # fmt: skip


def add_reply(ticket: Ticket, body: str, *, kind: str, author_id: int | None) -> TicketMessage:
    """A message on ``ticket``. Staff write public replies and internal notes (``author_id`` is
    theirs), the customer writes from the portal (``author_id`` None). The first public reply
    answers the ticket (first response time) and moves a new ticket to open; the customer writing
    on a ticket that waits on them or is done with reopens it."""
    _check_choice(kind, MESSAGE_KINDS, "kind")
    if (kind == CUSTOMER) != (author_id is None):
        raise TicketError(_("Only the customer writes customer replies, and staff everything else."), 422, "kind")
    body = _text(body, BODY_MAX, "body")
    if author_id is not None:
        _check_member(author_id, "author_id")
    now = utcnow()
    message = TicketMessage(ticket_id=ticket.id, kind=kind, author_id=author_id, body=body, created_at=now)
    db.session.add(message)
    changes = {"kind": [None, kind]}
    before = ticket.status
    if kind == PUBLIC:
        if ticket.first_responded_at is None:
            ticket.first_responded_at = now
        if ticket.status == NEW:
            ticket.status = OPEN
    elif kind == CUSTOMER and ticket.status in (PENDING, *FINISHED):
        _move(ticket, OPEN)  # a pending ticket's clocks run again, later by the wait
    if ticket.status != before:
        changes["status"] = [before, ticket.status]
    ticket.updated_at = now
    action = {PUBLIC: "ticket.replied", INTERNAL: "ticket.noted", CUSTOMER: "ticket.customer_replied"}[kind]
    audit.record(action, "ticket", ticket.id, changes)
    return message


# --- changes by staff ------------------------------------------------------------------------------


def _move(ticket: Ticket, status: str) -> None:
    """Sets the status and the times that go with it: resolving stamps resolved_at, closing
    closed_at (and resolved_at if it was closed without being resolved), anything else clears them."""
    now = utcnow()
    _pause_or_resume_clocks(ticket, status, now)
    ticket.status = status
    if status == RESOLVED:
        ticket.resolved_at, ticket.closed_at = now, None
    elif status == CLOSED:
        ticket.resolved_at, ticket.closed_at = ticket.resolved_at or now, now
    else:
        ticket.resolved_at, ticket.closed_at = None, None


def _pause_or_resume_clocks(ticket: Ticket, status: str, now) -> None:
    """Waiting on the customer (pending) stops the SLA clocks; leaving it moves the due times later
    by the business time the wait lasted."""
    if status == PENDING and ticket.sla_paused_at is None:
        ticket.sla_paused_at = now
    elif status != PENDING and ticket.sla_paused_at is not None:
        workspace = db.session.get(Workspace, ticket.workspace_id)
        calendar = sla.calendar_of(workspace.sla_settings, workspace.timezone)
        waited = sla.business_time_between(ticket.sla_paused_at, now, calendar)
        if ticket.first_responded_at is None:
            ticket.first_response_due_at = sla.later_by(ticket.first_response_due_at, waited, calendar)
        ticket.resolution_due_at = sla.later_by(ticket.resolution_due_at, waited, calendar)
        ticket.sla_paused_seconds = (ticket.sla_paused_seconds or 0) + int(waited.total_seconds())
        ticket.sla_paused_at = None


def _due_times(ticket: Ticket, level: str) -> None:
    """Sets the due times from the workspace's calendar and targets, counted from when it was opened,
    later by the open time it has waited on the customer so far (``due_times_again``)."""
    due_times_again(ticket, level, db.session.get(Workspace, bound_workspace_id()))


def due_times_again(ticket: Ticket, level: str, workspace: Workspace) -> None:
    """The due times of the ticket's priority and ``level``, from when it was opened, moved later by
    its finished waits on the customer (a wait going on now moves them when it ends). The first
    response's only while it is not given: a wait after it does not make it later."""
    opened = ticket.created_at or utcnow()
    first, resolve = sla.due_times(opened, level, ticket.priority, workspace.sla_settings, workspace.timezone)
    waited = timedelta(seconds=ticket.sla_paused_seconds or 0)
    if waited:
        calendar = sla.calendar_of(workspace.sla_settings, workspace.timezone)
        resolve = sla.add_business_time(resolve, waited, calendar)
        if ticket.first_responded_at is None:
            first = sla.add_business_time(first, waited, calendar)
    ticket.first_response_due_at, ticket.resolution_due_at = first, resolve


def set_status(ticket: Ticket, status: str, member_id: int | None) -> dict:
    """Moves the ticket to ``status`` (any but back to "new", which only a ticket nobody has
    touched has). ``member_id`` is the staff member doing it; None is the system, which may only
    close a resolved ticket (closing automatically some days after resolving)."""
    _check_choice(status, STATUSES, "status")
    if status == ticket.status:
        return {}
    if status == NEW:
        raise TicketError(_("A ticket cannot go back to new."), 409, "status")
    if member_id is None and not (ticket.status == RESOLVED and status == CLOSED):
        raise TicketError(_("Only a resolved ticket closes by itself."), 409, "status")
    before = ticket.status
    _move(ticket, status)
    changes = {"status": [before, status]}
    audit.record("ticket.status_changed", "ticket", ticket.id, changes)
    return changes


def assign(ticket: Ticket, member_id: int | None) -> dict:
    """Gives the ticket to an active member, or (None) back to the queue. Its assignee as it is
    is no change, even one disabled since."""
    if member_id == ticket.assignee_id:
        return {}
    if member_id is not None:
        _check_member(member_id)
    changes = {"assignee_id": [ticket.assignee_id, member_id]}
    ticket.assignee_id = member_id
    audit.record("ticket.assigned", "ticket", ticket.id, changes)
    return changes


def set_priority(ticket: Ticket, priority: str) -> dict:
    _check_choice(priority, PRIORITIES, "priority")
    if priority == ticket.priority:
        return {}
    changes = {"priority": [ticket.priority, priority]}
    ticket.priority = priority
    _due_times(ticket, ticket.contact.level)  # the new priority's targets, from when it was opened
    audit.record("ticket.updated", "ticket", ticket.id, changes)
    return changes


def set_category(ticket: Ticket, category_id: int | None) -> dict:
    """One of the workspace's active categories, or none. A retired category a ticket already has
    may stay, but is not given anew."""
    if category_id == ticket.category_id:
        return {}
    _check_category(category_id)
    changes = {"category_id": [ticket.category_id, category_id]}
    ticket.category_id = category_id
    audit.record("ticket.updated", "ticket", ticket.id, changes)
    return changes


# --- satisfaction ----------------------------------------------------------------------------------


def rate(ticket: Ticket, score: int, comment: str | None) -> Activity | None:
    """The customer's rating of a resolved or closed ticket, given once. A low score (1 or 2)
    reopens the ticket into the escalated queue and gives the customer's owner a recovery task due
    tomorrow; it returns that task. The ticket's row is locked and read again first: a form sent
    twice at once (a double tap) rates once, the other is refused as rated already."""
    db.session.flush()  # a refresh reads the row as stored: this transaction's changes first
    db.session.refresh(ticket, with_for_update=True)
    if ticket.rating is not None:
        raise TicketError(_("This ticket has been rated already."))
    if ticket.status not in FINISHED:
        raise TicketError(_("A ticket can be rated once it is resolved."))
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise TicketError(_("Choose a score from 1 to 5."), 422, "score")
    comment = _text(comment, COMMENT_MAX, "comment", required=False)
    ticket.rating, ticket.rating_comment, ticket.rated_at = score, comment, utcnow()
    changes = {"rating": [None, score]}
    task = None
    if score <= LOW_RATING:
        changes["status"] = [ticket.status, OPEN]
        changes["queue"] = [ticket.queue, ESCALATED]
        _move(ticket, OPEN)
        ticket.queue = ESCALATED
    audit.record("ticket.rated", "ticket", ticket.id, changes)
    if score <= LOW_RATING:
        task = _recovery_task(ticket, score)
    return task


def _recovery_task(ticket: Ticket, score: int) -> Activity:
    """A task on the customer to win them back: for their owner, else the ticket's assignee, else
    the workspace's first Owner, whoever of them is active (a member who left would never see it;
    an Activity needs an author: the same member, as nobody on the staff wrote it)."""
    contact = db.session.get(Contact, ticket.contact_id)
    candidates = [member_id for member_id in (contact.owner_id, ticket.assignee_id) if member_id is not None]
    active = set(db.session.scalars(sa.select(Membership.id).where(Membership.id.in_(candidates),
                                                                   Membership.status == ACTIVE)))  # fmt: skip
    member_id = next((member_id for member_id in candidates if member_id in active), None) or _first_owner_id()
    body = _("Win back the customer: ticket #%(number)d was rated %(score)d of 5.", number=ticket.number, score=score)
    data = {"kind": "task", "body": body, "assignee_id": member_id, "due_at": utcnow() + timedelta(days=1)}
    task = activities.log_activity(contact, member_id, data)
    db.session.flush()
    return task


def _first_owner_id() -> int:
    return db.session.scalar(
        sa.select(Membership.id)
        .join(Role, sa.and_(Role.workspace_id == Membership.workspace_id, Role.id == Membership.role_id))
        .where(Role.builtin == OWNER, Membership.status == ACTIVE)
        .order_by(Membership.id)
        .limit(1)
    )


# --- who may work a ticket -------------------------------------------------------------------------


def allowed_to_work(ticket: Ticket, membership: Membership) -> bool:
    """Whether ``membership`` may answer and change ``ticket``: it needs ``tickets.write``, the
    escalated queue needs ``tickets.escalated`` too, and a role limited to its own records works
    only the tickets assigned to the member (the record-scope rule of crm.permissions)."""
    if not membership.can("tickets.write"):
        return False
    if ticket.queue == ESCALATED and not membership.can("tickets.escalated"):
        return False
    return scope_allows(ticket.assignee_id, membership)
