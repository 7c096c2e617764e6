"""Privacy requests of a customer: a copy of their data, and erasure.

The copy is a ZIP of ``data.json`` (everything) and CSVs for spreadsheets: the contact record (with
custom fields and tags), its purchases, and its tickets with the messages the customer saw (staff's
internal notes are the business's working notes and stay out).

Erasure anonymises what must stay for the accounts and deletes the rest: the contact keeps its id,
company, owner, figures and purchases (sales ledgers need them) under the name "Erased customer #id";
its emails, phones, address, birthday, notes, custom fields, tags, identities, activities, duplicate pairs,
merge and import undo records, data-quality findings and portal sign-in links go; its tickets lose
the requester's name, email and reference, their subject, the customer's own words, the files and
the rating comment, and their private links (but the erasure request's) stop opening, since staff's
replies there may quote what was erased. Contacts merged into it are erased the same way. The audit log is append-only
and keeps what it recorded before (it is the record that the erasure happened); the README says so.
"""

import io
import json
import zipfile
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from crm.activities.models import Activity
from crm.audit import service as audit
from crm.contacts.models import Contact, ContactIdentity, ContactTag
from crm.contacts.service import contact_search_text
from crm.csv_stream import BOM, csv_row
from crm.custom_fields import service as custom_fields
from crm.data_quality.models import DataQualityFinding
from crm.db import utcnow
from crm.duplicates.models import ContactMerge, DuplicatePair
from crm.extensions import db
from crm.imports.models import ImportChange
from crm.purchases.models import Purchase
from crm.tickets import attachments
from crm.tickets import service as tickets
from crm.tickets.models import (
    CUSTOMER,
    INTERNAL,
    PORTAL,
    PRIVACY_COPY,
    PRIVACY_DAYS,
    PRIVACY_ERASURE,
    RESOLVED,
    PortalSignIn,
    Ticket,
    TicketAttachment,
    TicketMessage,
)
from crm.workspaces.models import Workspace

ERASED_WORDS = "[erased]"
ERASED_NAME = "Erased customer #"  # + the contact's id
# What the customer told or gave us; staff's notes ("about") and the business's own grading (tier,
# level, lifecycle, values) stay out, like internal notes.
CONTACT_FIELDS = ("id", "name", "emails", "phones", "title", "gender", "birthday", "street", "city", "region",
                  "postal_code", "country", "source", "created_at", "updated_at")  # fmt: skip
PURCHASE_FIELDS = ("purchased_on", "product", "quantity", "unit_price", "amount", "currency")
TICKET_FIELDS = ("number", "subject", "status", "channel", "created_at", "resolved_at", "closed_at", "rating",
                 "rating_comment")  # fmt: skip


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def data_of(contact: Contact) -> dict:
    """Everything the copy holds, as JSON-ready values."""
    record = {name: _plain(getattr(contact, name, None)) for name in CONTACT_FIELDS}
    # By label and readable: the keys and the encrypted text of sensitive fields mean nothing to the customer.
    fields = custom_fields.definitions(db.session.get(Workspace, contact.workspace_id), "contact")
    record["custom_fields"] = custom_fields.readable_values(fields, contact.custom)
    record["tags"] = [tag.name for tag in contact.tags]
    purchases = db.session.scalars(sa.select(Purchase).where(Purchase.contact_id == contact.id)
                                   .order_by(Purchase.purchased_on, Purchase.id))  # fmt: skip
    tickets = db.session.scalars(sa.select(Ticket).where(Ticket.contact_id == contact.id, Ticket.deleted_at.is_(None))
                                 .order_by(Ticket.number))  # fmt: skip
    return {
        "contact": record,
        "purchases": [{name: _plain(getattr(p, name)) for name in PURCHASE_FIELDS} for p in purchases],
        "tickets": [_ticket_data(ticket) for ticket in tickets],
    }


def _ticket_data(ticket: Ticket) -> dict:
    messages = [{"from": "you" if m.kind == CUSTOMER else "staff", "at": _plain(m.created_at), "text": m.body}
                for m in ticket.messages if m.kind != INTERNAL]  # fmt: skip
    return {**{name: _plain(getattr(ticket, name)) for name in TICKET_FIELDS}, "messages": messages}


def export_zip(contact: Contact) -> bytes:
    """The copy as a ZIP (small: one customer's records)."""
    data = data_of(contact)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2))
        archive.writestr("contact.csv", _csv([data["contact"]], (*CONTACT_FIELDS, "custom_fields", "tags")))
        archive.writestr("purchases.csv", _csv(data["purchases"], PURCHASE_FIELDS))
        archive.writestr("tickets.csv", _csv(data["tickets"], TICKET_FIELDS))
    return buffer.getvalue()


def _csv(rows: list[dict], fields) -> str:
    def cell(value):
        return json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else value

    return BOM + csv_row(fields) + "".join(csv_row([cell(row.get(name)) for name in fields]) for row in rows)


def erase(contact: Contact) -> None:
    """Anonymises the contact and deletes its personal data (see the module's docstring), and the
    same for the contacts merged into it (in the trash, still holding their details); audited."""
    merged_ids = db.session.scalars(
        sa.select(ContactMerge.merged_id).where(ContactMerge.survivor_id == contact.id)
    ).all()
    for merged_id in merged_ids:
        merged = db.session.get(Contact, merged_id)
        if merged is not None and merged.id != contact.id:
            _erase_one(merged)
    _erase_one(contact)


def anonymise(contact: Contact) -> None:
    """The erasure of this one contact without its own audit entry: for the trash's purge
    (crm/contacts/purge.py), which logs one entry per workspace, not one per customer."""
    _erase_one(contact, audited=False)


def _erase_one(contact: Contact, audited: bool = True) -> None:
    contact_id = contact.id
    db.session.execute(sa.delete(PortalSignIn).where(PortalSignIn.email.in_(list(contact.emails or []))))
    contact.name = f"{ERASED_NAME}{contact_id}"
    contact.emails, contact.phones, contact.custom = [], [], {}
    contact.title = contact.gender = contact.birthday = contact.about = contact.external_id = None
    contact.street = contact.city = contact.region = contact.postal_code = contact.country = None
    contact.search_text = contact_search_text(contact, None)
    for model, column in ((ContactIdentity, ContactIdentity.contact_id), (ContactTag, ContactTag.contact_id),
                          (Activity, Activity.contact_id), (DataQualityFinding, DataQualityFinding.contact_id),
                          (ImportChange, ImportChange.contact_id)):  # fmt: skip
        db.session.execute(sa.delete(model).where(column == contact_id))
    db.session.execute(sa.delete(DuplicatePair).where(
        sa.or_(DuplicatePair.contact_id == contact_id, DuplicatePair.other_id == contact_id)))  # fmt: skip
    db.session.execute(sa.delete(ContactMerge).where(
        sa.or_(ContactMerge.survivor_id == contact_id, ContactMerge.merged_id == contact_id)))  # fmt: skip
    ticket_ids = sa.select(Ticket.id).where(Ticket.contact_id == contact_id).scalar_subquery()
    anonymous = {"requester_name": contact.name, "requester_email": None, "reference": None, "rating_comment": None,
                 "subject": ERASED_WORDS}  # fmt: skip
    anonymous["search_text"] = tickets.ticket_search_text(ERASED_WORDS, contact.name, None)
    db.session.execute(sa.update(Ticket).where(Ticket.contact_id == contact_id).values(**anonymous))
    # Their complaints' private links no longer open: staff's replies there may quote what was erased.
    # The erasure request's own link still says it was done.
    complaints = sa.select(Ticket).where(Ticket.contact_id == contact_id, Ticket.kind != PRIVACY_ERASURE)
    for ticket in db.session.scalars(complaints):
        tickets.renew_tracking_token(ticket)
    customers_words = sa.and_(TicketMessage.ticket_id.in_(ticket_ids), TicketMessage.kind == CUSTOMER)
    db.session.execute(sa.update(TicketMessage).where(customers_words).values(body=ERASED_WORDS))
    files = db.session.scalars(sa.select(TicketAttachment).where(TicketAttachment.ticket_id.in_(ticket_ids))).all()
    for attachment in files:
        attachments.remove(attachment)
    if audited:
        audit.record("contact.erased", "contact", contact_id, {"erased": [None, True]})


# --- requests from the portal ----------------------------------------------------------------------


def open_request(
    kind: str, name: str, email: str, phone: str | None = None, details: str | None = None, locale: str | None = None
):
    """A privacy request as a ticket of the customer with that email (made if new): due in 30
    calendar days whatever the service hours, as the law counts them; ``locale`` is the language
    the customer asked in, which their emails use. Returns (ticket, token)."""
    if kind not in (PRIVACY_COPY, PRIVACY_ERASURE):
        raise tickets.TicketError(_("Not a valid choice."), 422, "kind")
    contact = tickets.find_contact_for_portal(name, email, phone)
    subject = _("Copy of my data") if kind == PRIVACY_COPY else _("Delete my data")
    body = (details or "").strip() or subject
    ticket, token = tickets.open_ticket(contact=contact, subject=subject, body=body, channel=PORTAL,
                                        requester_name=name, requester_email=email, locale=locale)  # fmt: skip
    ticket.kind = kind
    ticket.resolution_due_at = utcnow() + timedelta(days=PRIVACY_DAYS)
    return ticket, token


def fulfil(ticket: Ticket, member_id: int) -> None:
    """Staff approve the request: the copy becomes downloadable from the tracking page, or the
    contact is erased; the ticket is resolved. Raises TicketError if it is not an open request."""
    if ticket.kind not in (PRIVACY_COPY, PRIVACY_ERASURE) or ticket.privacy_done_at is not None:
        raise tickets.TicketError(_("This request is already done."), 409, "kind")
    if ticket.privacy_verified_at is None:
        raise tickets.TicketError(
            _("The customer has not opened the link we emailed yet: until then, nothing proves the address is theirs."),
            409, "kind",
        )  # fmt: skip
    contact = db.session.get(Contact, ticket.contact_id)
    if ticket.kind == PRIVACY_ERASURE:
        erase(contact)
    else:
        audit.record("contact.data_exported", "contact", contact.id, {"ticket": [None, ticket.number]})
    ticket.privacy_done_at = utcnow()
    tickets.set_status(ticket, RESOLVED, member_id)


def verify(ticket: Ticket) -> None:
    """The customer opened the private link emailed to the request's address: it is theirs."""
    if ticket.kind in (PRIVACY_COPY, PRIVACY_ERASURE) and ticket.privacy_verified_at is None:
        ticket.privacy_verified_at = utcnow()


def copy_available(ticket: Ticket) -> bool:
    """Whether the customer may download their copy now: approved, and within 30 days of it."""
    return (ticket.kind == PRIVACY_COPY and ticket.privacy_done_at is not None
            and utcnow() - ticket.privacy_done_at <= timedelta(days=PRIVACY_DAYS))  # fmt: skip
