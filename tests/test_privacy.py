"""A customer's privacy requests (crm/privacy/service.py): the copy of their data holds their record,
purchases and tickets without staff's internal notes, opens safely in spreadsheets; erasure
anonymises what the accounts need and deletes the rest, touching nobody else."""

import io
import json
import zipfile
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from crm.activities.models import Activity
from crm.audit.models import AuditEntry
from crm.contacts.models import Contact, ContactIdentity, ContactTag
from crm.extensions import db
from crm.privacy import service
from crm.purchases.models import Purchase
from crm.tenancy import workspace_scope
from crm.tickets import service as tickets
from crm.tickets.models import CUSTOMER, INTERNAL, PUBLIC, Ticket, TicketMessage
from tests.factories import (
    make_activity,
    make_contact,
    make_custom_field,
    make_purchase,
    make_ticket,
    set_custom_value,
)


def customer_with_history(app, ws, name="Wang Fang", email="fang@example.com"):
    contact_id = make_contact(app, ws, name, emails=[email], phones=["+8613800138000"], tags=["vip-fair"],
                              birthday=date(1990, 5, 1), about="Prefers calls", street="1 Tea Lane",
                              city="Hangzhou", postal_code="310000", country="CN")  # fmt: skip
    make_purchase(app, ws, contact_id, "=SUM(A1)", amount=120)
    make_activity(app, ws, contact_id, "Called about the teapot")
    ticket_id, _token = make_ticket(app, ws, contact_id, subject="Broken lid", body="The lid broke.",
                                    requester_email=email, reference="ORD-7")  # fmt: skip
    with app.app_context(), workspace_scope(ws.id):
        ticket = db.session.get(Ticket, ticket_id)
        tickets.add_reply(ticket, "Sorry, a new lid is on its way.", kind=PUBLIC, author_id=ws.membership_id)
        tickets.add_reply(ticket, "Customer sounds upset", kind=INTERNAL, author_id=ws.membership_id)
        db.session.commit()
    return contact_id, ticket_id


def test_the_copy_holds_record_purchases_and_tickets_but_not_internal_notes(app, ws_a):
    contact_id, _ticket_id = customer_with_history(app, ws_a)
    with app.app_context(), workspace_scope(ws_a.id):
        archive = zipfile.ZipFile(io.BytesIO(service.export_zip(db.session.get(Contact, contact_id))))
    assert sorted(archive.namelist()) == ["contact.csv", "data.json", "purchases.csv", "tickets.csv"]
    data = json.loads(archive.read("data.json"))
    assert data["contact"]["name"] == "Wang Fang" and data["contact"]["emails"] == ["fang@example.com"]
    assert data["contact"]["birthday"] == "1990-05-01" and data["contact"]["tags"] == ["vip-fair"]
    assert (data["contact"]["street"], data["contact"]["city"], data["contact"]["country"]) == (
        "1 Tea Lane", "Hangzhou", "CN")  # fmt: skip
    assert "1 Tea Lane" in archive.read("contact.csv").decode("utf-8")
    assert [p["product"] for p in data["purchases"]] == ["=SUM(A1)"]
    (ticket,) = data["tickets"]
    assert ticket["subject"] == "Broken lid"
    assert [(m["from"], m["text"]) for m in ticket["messages"]] == [
        ("you", "The lid broke."), ("staff", "Sorry, a new lid is on its way.")]  # fmt: skip
    purchases_csv = archive.read("purchases.csv").decode("utf-8")
    assert purchases_csv.startswith("\ufeff") and "'=SUM(A1)" in purchases_csv  # no formula runs


def test_the_copy_gives_custom_fields_by_label_and_sensitive_ones_readable(app, ws_a):
    contact_id, _ticket_id = customer_with_history(app, ws_a)
    passport = make_custom_field(app, ws_a, "Passport", sensitive=True)
    size = make_custom_field(app, ws_a, "Shoe size", kind="number")
    visit = make_custom_field(app, ws_a, "First visit", kind="date")
    set_custom_value(app, ws_a, contact_id, passport, "E12345678")
    set_custom_value(app, ws_a, contact_id, size, Decimal("38.5"))
    set_custom_value(app, ws_a, contact_id, visit, date(2026, 3, 1))
    with app.app_context(), workspace_scope(ws_a.id):
        archive = zipfile.ZipFile(io.BytesIO(service.export_zip(db.session.get(Contact, contact_id))))
    data = json.loads(archive.read("data.json"))
    assert data["contact"]["custom_fields"] == {"Passport": "E12345678", "Shoe size": "38.5",
                                                "First visit": "2026-03-01"}  # fmt: skip
    contact_csv = archive.read("contact.csv").decode("utf-8")
    assert "E12345678" in contact_csv and "Shoe size" in contact_csv and "gAAAA" not in contact_csv


def test_erasure_keeps_the_accounts_and_deletes_the_rest(app, ws_a):
    contact_id, ticket_id = customer_with_history(app, ws_a)
    other_id, other_ticket = customer_with_history(app, ws_a, "Li Lei", "lei@example.com")
    with app.app_context(), workspace_scope(ws_a.id):
        service.erase(db.session.get(Contact, contact_id))
        db.session.commit()
        contact = db.session.get(Contact, contact_id)
        assert contact.name == f"Erased customer #{contact_id}"
        assert (contact.emails, contact.phones, contact.birthday, contact.about) == ([], [], None, None)
        assert (contact.street, contact.city, contact.postal_code, contact.country) == (None, None, None, None)
        assert "fang" not in contact.search_text
        for model in (ContactIdentity, ContactTag, Activity):
            assert not db.session.scalars(sa.select(model).where(model.contact_id == contact_id)).all(), model
        assert db.session.scalar(sa.select(Purchase.amount).where(Purchase.contact_id == contact_id)) == 120
        ticket = db.session.get(Ticket, ticket_id)
        assert (ticket.requester_email, ticket.reference) == (None, None)
        assert "fang" not in ticket.search_text and ticket.search_text.startswith("[erased] erased customer")
        customers_words = sa.select(TicketMessage.kind, TicketMessage.body).where(
            TicketMessage.ticket_id == ticket_id, TicketMessage.kind == CUSTOMER
        )
        words = dict(db.session.execute(customers_words).all())
        assert words == {CUSTOMER: "[erased]"}
        assert db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.action == "contact.erased"))
        other = db.session.get(Contact, other_id)
        assert other.name == "Li Lei" and other.emails == ["lei@example.com"]
        assert db.session.get(Ticket, other_ticket).requester_email == "lei@example.com"
        assert db.session.scalars(sa.select(ContactIdentity).where(ContactIdentity.contact_id == other_id)).all()


def test_after_an_erasure_the_complaints_old_links_open_nothing_but_the_requests_does(app, client, ws_a):
    """Staff's replies on a complaint may quote the customer's details: once erased, its private link
    opens nothing. The erasure request's own link still shows it was done."""
    from crm.tickets.models import PRIVACY_ERASURE

    contact_id, ticket_id = customer_with_history(app, ws_a)
    with app.app_context(), workspace_scope(ws_a.id):
        complaint_token = tickets.tracking_token(db.session.get(Ticket, ticket_id))
        _request, request_token = service.open_request(PRIVACY_ERASURE, "Wang Fang", "fang@example.com")
        db.session.commit()
    link = f"/portal/{ws_a.slug}/t/{{}}"
    assert "a new lid is on its way" in client.get(link.format(complaint_token)).get_data(as_text=True)
    with app.app_context(), workspace_scope(ws_a.id):
        service.erase(db.session.get(Contact, contact_id))
        db.session.commit()
    assert client.get(link.format(complaint_token)).status_code == 404
    assert client.get(link.format(request_token)).status_code == 200


def test_another_workspace_is_untouched(app, ws_a, ws_b):
    mine, _ = customer_with_history(app, ws_a)
    theirs, _ = customer_with_history(app, ws_b)
    with app.app_context(), workspace_scope(ws_a.id):
        service.erase(db.session.get(Contact, mine))
        db.session.commit()
    with app.app_context(), workspace_scope(ws_b.id):
        assert db.session.get(Contact, theirs).name == "Wang Fang"


def test_a_request_is_a_ticket_due_in_thirty_days_and_approval_resolves_it(app, ws_a):
    from datetime import timedelta

    from crm.db import utcnow
    from crm.tickets.models import PRIVACY_COPY, PRIVACY_ERASURE, RESOLVED
    from crm.tickets.service import TicketError

    contact_id, _ = customer_with_history(app, ws_a)
    with app.app_context(), workspace_scope(ws_a.id):
        copy, _token = service.open_request(PRIVACY_COPY, "Wang Fang", "FANG@example.com")
        erasure, _token = service.open_request(PRIVACY_ERASURE, "Wang Fang", "fang@example.com", details="All of it")
        db.session.commit()
        assert copy.contact_id == erasure.contact_id == contact_id  # matched by the normalised email
        assert abs(copy.resolution_due_at - utcnow() - timedelta(days=30)) < timedelta(minutes=1)
        assert not service.copy_available(copy)
        with pytest.raises(TicketError, match="has not opened the link"):
            service.fulfil(copy, ws_a.membership_id)
        service.verify(copy)
        service.verify(erasure)
        service.fulfil(copy, ws_a.membership_id)
        db.session.commit()
        assert copy.status == RESOLVED and service.copy_available(copy)
        with pytest.raises(TicketError):  # once only
            service.fulfil(copy, ws_a.membership_id)
        db.session.rollback()
        service.fulfil(db.session.get(Ticket, erasure.id), ws_a.membership_id)
        db.session.commit()
        assert db.session.get(Contact, contact_id).name == f"Erased customer #{contact_id}"
        with pytest.raises(TicketError, match="Not a valid choice"):
            service.open_request("complaint", "X", "x@example.com")


def test_erasure_reaches_merged_contacts_files_and_subjects(app, ws_a):
    from pathlib import Path

    from werkzeug.datastructures import FileStorage

    from crm.tickets import attachments
    from crm.tickets.models import TicketAttachment
    from tests.factories import make_merge
    from tests.test_workspace_settings import TINY_PNG

    contact_id, ticket_id = customer_with_history(app, ws_a)
    twin = make_contact(app, ws_a, "Wang F.", emails=["fang.old@example.com"], phones=["+8613900139000"])
    make_merge(app, ws_a, contact_id, twin)
    with app.app_context(), workspace_scope(ws_a.id):
        first = db.session.scalar(sa.select(TicketMessage).where(TicketMessage.ticket_id == ticket_id))
        photo = FileStorage(io.BytesIO(TINY_PNG), filename="wang-fang-receipt.png")
        (saved,) = attachments.save(first, attachments.check([photo]))
        stored = Path(app.config["UPLOAD_DIR"]) / attachments.FOLDER / saved.stored_name
        db.session.commit()
        assert stored.is_file()
        service.erase(db.session.get(Contact, contact_id))
        db.session.commit()
        merged = db.session.get(Contact, twin)
        assert merged.name == f"Erased customer #{twin}" and (merged.emails, merged.phones) == ([], [])
        assert db.session.get(Ticket, ticket_id).subject == "[erased]"
        assert db.session.scalar(sa.select(sa.func.count(TicketAttachment.id))) == 0
    assert not stored.exists()
