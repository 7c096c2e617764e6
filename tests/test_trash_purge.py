"""Emptying the trash for good (crm/contacts/purge.py, `flask crm purge-trash`): contacts and
companies deleted more than 30 days ago leave the database with what is only theirs, in every
workspace; younger ones, live ones and restored ones stay; a second run changes nothing."""

from datetime import timedelta

import sqlalchemy as sa

from crm.activities.models import Activity
from crm.audit.models import AuditEntry
from crm.contacts import purge
from crm.contacts.models import Company, Contact, ContactIdentity, ContactTag
from crm.db import utcnow
from crm.deals.models import Deal
from crm.duplicates.models import ContactMerge
from crm.extensions import db
from crm.purchases.models import Purchase
from crm.tenancy import workspace_scope
from crm.tickets.models import Ticket, TicketMessage
from tests.factories import (
    make_activity,
    make_company,
    make_company_activity,
    make_company_purchase,
    make_contact,
    make_deal,
    make_deal_activity,
    make_merge,
    make_purchase,
    make_ticket,
    make_workspace,
)
from tests.test_trash import trashed


def run_purge(app) -> str:
    result = app.test_cli_runner().invoke(args=["crm", "purge-trash"])
    assert result.exit_code == 0, result.output
    return result.output


def rows(app, ws, model, *where) -> list:
    with app.app_context(), workspace_scope(ws.id):
        return list(db.session.scalars(sa.select(model).where(*where)))


def exists(app, ws, model, record_id: int) -> bool:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.get(model, record_id) is not None


def customer(app, ws, name: str, email: str, days_ago: float | None) -> int:
    """A contact with a tag, an email (an identity), an activity and a purchase, deleted
    ``days_ago`` (None: live)."""
    contact_id = make_contact(app, ws, name, tags=("vip",), emails=[email])
    make_activity(app, ws, contact_id, f"Called {name}")
    make_purchase(app, ws, contact_id, "Tea", 50)
    if days_ago is not None:
        trashed(app, ws, Contact, contact_id, days_ago)
    return contact_id


def test_contacts_past_the_window_go_with_what_is_theirs_in_every_workspace(app, ws_a, ws_b):
    kept = {}
    gone = {}
    for ws in (ws_a, ws_b):
        gone[ws.id] = customer(app, ws, "Old Ann", "ann@example.com", 31)
        kept[ws.id] = [
            customer(app, ws, "Young Bo", "bo@example.com", 29),
            customer(app, ws, "Live Cy", "cy@example.com", None),
        ]
    output = run_purge(app)
    assert f"{ws_a.name}: 1 contact(s) and 0 company(ies) purged." in output
    assert f"{ws_b.name}: 1 contact(s)" in output
    for ws in (ws_a, ws_b):
        old = gone[ws.id]
        assert not exists(app, ws, Contact, old)
        for model in (Activity, Purchase, ContactIdentity, ContactTag):
            assert rows(app, ws, model, model.contact_id == old) == []
        for contact_id in kept[ws.id]:
            assert exists(app, ws, Contact, contact_id)
            for model in (Activity, Purchase, ContactIdentity, ContactTag):
                assert len(rows(app, ws, model, model.contact_id == contact_id)) == 1


def test_a_contacts_deals_and_their_activities_stay_without_it(app, ws_a):
    contact_id = make_contact(app, ws_a, "Old Ann")
    deal_id = make_deal(app, ws_a, "Big order", contact_id=contact_id)
    on_deal = make_deal_activity(app, ws_a, deal_id, "Sent the offer")
    own = make_activity(app, ws_a, contact_id, "Private chat")
    trashed(app, ws_a, Contact, contact_id, 40)
    run_purge(app)
    assert rows(app, ws_a, Deal, Deal.id == deal_id)[0].contact_id is None
    assert rows(app, ws_a, Activity, Activity.id == on_deal)[0].contact_id is None
    assert not exists(app, ws_a, Activity, own)


def test_a_contact_with_tickets_is_erased_in_place_and_its_tickets_stay(app, ws_a):
    contact_id = make_contact(app, ws_a, "Old Ann", emails=["ann@example.com"], phones=["+12025550123"],
                              street="1 Main St")  # fmt: skip
    make_purchase(app, ws_a, contact_id, "Tea", 50)
    ticket_id, _token = make_ticket(app, ws_a, contact_id, subject="Ann's broken cup", body="Ann here: it broke.")
    trashed(app, ws_a, Contact, contact_id, 31)
    assert "1 contact(s)" in run_purge(app)
    contact = rows(app, ws_a, Contact, Contact.id == contact_id)[0]
    assert contact.name == f"Erased customer #{contact_id}" and contact.deleted_at is not None
    assert contact.emails == [] and contact.phones == [] and contact.street is None
    assert contact.lifetime_value == 0 and rows(app, ws_a, Purchase, Purchase.contact_id == contact_id) == []
    ticket = rows(app, ws_a, Ticket, Ticket.id == ticket_id)[0]
    assert "Ann" not in ticket.subject and ticket.requester_email is None
    messages = rows(app, ws_a, TicketMessage, TicketMessage.ticket_id == ticket_id)
    assert messages and all("Ann" not in message.body for message in messages)
    assert "0 contact(s)" in run_purge(app)  # erased once, not counted again


def test_a_company_goes_and_its_people_stay_without_it(app, ws_a, ws_b):
    company_id = make_company(app, ws_a, "Acme Ltd")
    person = make_contact(app, ws_a, "Ann Lee", company_id=company_id)
    persons_purchase = make_purchase(app, ws_a, person, "Tea", 50)
    own_purchase = make_company_purchase(app, ws_a, company_id, "Coffee", 500)
    own_activity = make_company_activity(app, ws_a, company_id, "Visited the office")
    deal_id = make_deal(app, ws_a, "Acme deal", company_id=company_id)
    trashed(app, ws_a, Company, company_id, 31)
    young = trashed(app, ws_a, Company, make_company(app, ws_a, "Young Co"), 29)
    live = make_company(app, ws_a, "Live Co")
    other = trashed(app, ws_b, Company, make_company(app, ws_b, "Beta Old"), 31)
    output = run_purge(app)
    assert f"{ws_a.name}: 0 contact(s) and 1 company(ies) purged." in output
    assert not exists(app, ws_a, Company, company_id) and not exists(app, ws_b, Company, other)
    assert exists(app, ws_a, Company, young) and exists(app, ws_a, Company, live)
    contact = rows(app, ws_a, Contact, Contact.id == person)[0]
    assert contact.company_id is None and "acme" not in contact.search_text
    purchase = rows(app, ws_a, Purchase, Purchase.id == persons_purchase)[0]
    assert purchase.contact_id == person and purchase.company_id is None
    assert not exists(app, ws_a, Purchase, own_purchase) and not exists(app, ws_a, Activity, own_activity)
    assert rows(app, ws_a, Deal, Deal.id == deal_id)[0].company_id is None


def test_a_contact_merged_away_goes_once_its_merge_is_past_undoing(app, ws_a):
    survivor = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"])
    merged = make_contact(app, ws_a, "Ann Lee (old)", emails=["ann@example.com"])
    moved = make_activity(app, ws_a, merged, "Her first call")
    merge_id = make_merge(app, ws_a, survivor, merged)
    recent_survivor = make_contact(app, ws_a, "Bo Wu", emails=["bo@example.com"])
    recent = make_contact(app, ws_a, "Bo Wu (old)", emails=["bo@example.com"])
    recent_merge = make_merge(app, ws_a, recent_survivor, recent)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(ContactMerge, merge_id).created_at = utcnow() - timedelta(days=31)
        # Still undoable (3 days old), whatever its deleted_at says: never purged.
        db.session.get(ContactMerge, recent_merge).created_at = utcnow() - timedelta(days=3)
        db.session.commit()
    trashed(app, ws_a, Contact, merged, 31)
    trashed(app, ws_a, Contact, recent, 31)
    run_purge(app)
    assert not exists(app, ws_a, Contact, merged) and not exists(app, ws_a, ContactMerge, merge_id)
    assert rows(app, ws_a, Activity, Activity.id == moved)[0].contact_id == survivor
    assert exists(app, ws_a, Contact, survivor)
    assert exists(app, ws_a, Contact, recent) and exists(app, ws_a, ContactMerge, recent_merge)


def test_a_record_restored_meanwhile_is_left_alone(app, ws_a):
    contact_id = trashed(app, ws_a, Contact, make_contact(app, ws_a, "Old Ann"), 31)
    with app.app_context(), workspace_scope(ws_a.id):
        before = purge.due_before()
        ids = list(db.session.scalars(purge.expired(Contact, before)))
        db.session.get(Contact, contact_id).deleted_at = None  # restored between reading and purging
        db.session.commit()
        assert ids == [contact_id] and purge.purge_contacts(ids, before) == 0
        db.session.commit()
    assert exists(app, ws_a, Contact, contact_id)


def test_one_audit_entry_per_workspace_with_counts_and_a_second_run_changes_nothing(app, ws_a, ws_b):
    for ws in (ws_a, ws_b):
        customer(app, ws, "Old Ann", "ann@example.com", 31)
        customer(app, ws, "Old Bo", "bo@example.com", 45)
        trashed(app, ws, Company, make_company(app, ws, "Old Co"), 31)
    deletions = len(rows(app, ws_a, AuditEntry, AuditEntry.action == "contact.deleted"))
    run_purge(app)
    for ws in (ws_a, ws_b):
        entries = rows(app, ws, AuditEntry, AuditEntry.action == "trash.purged")
        assert [entry.changes for entry in entries] == [{"contacts": 2, "companies": 1}]
        assert entries[0].record_id is None
    # What the log recorded before stays (it is append-only).
    assert len(rows(app, ws_a, AuditEntry, AuditEntry.action == "contact.deleted")) == deletions
    output = run_purge(app)
    assert f"{ws_a.name}: 0 contact(s) and 0 company(ies) purged." in output
    assert len(rows(app, ws_a, AuditEntry, AuditEntry.action == "trash.purged")) == 1


def test_batches_of_a_thousand_each_commit(app, ws_a, monkeypatch):
    monkeypatch.setattr(purge.batch, "BATCH", 2)
    ids = [trashed(app, ws_a, Contact, make_contact(app, ws_a, f"Old {n}"), 31) for n in range(5)]
    commits = []
    with app.app_context(), workspace_scope(ws_a.id):
        real_commit = db.session.commit
        monkeypatch.setattr(db.session, "commit", lambda: (commits.append(1), real_commit())[1])
        assert purge.purge_workspace() == {"contacts": 5, "companies": 0}
    assert len(commits) == 3 and not any(exists(app, ws_a, Contact, contact_id) for contact_id in ids)


def test_a_new_workspace_with_an_empty_trash_is_fine(app):
    ws = make_workspace(app, "Gamma", "gina@gamma.example.com")
    assert f"{ws.name}: 0 contact(s) and 0 company(ies) purged." in run_purge(app)
    assert rows(app, ws, AuditEntry, AuditEntry.action == "trash.purged") == []


def test_a_purge_that_fails_midway_logs_the_batches_it_did(app, ws_a, monkeypatch):
    monkeypatch.setattr(purge.batch, "BATCH", 2)
    ids = [trashed(app, ws_a, Contact, make_contact(app, ws_a, f"Old {n}"), 31) for n in range(5)]
    real_purge = purge.purge_contacts

    def third_batch_fails(batch_ids, before):
        if ids[4] in batch_ids:
            raise RuntimeError("the database went away")
        return real_purge(batch_ids, before)

    monkeypatch.setattr(purge, "purge_contacts", third_batch_fails)
    result = app.test_cli_runner().invoke(args=["crm", "purge-trash"])
    assert result.exit_code == 1 and f"{ws_a.name}: the purge failed" in result.output
    entries = rows(app, ws_a, AuditEntry, AuditEntry.action == "trash.purged")
    assert [entry.changes for entry in entries] == [{"contacts": 4, "companies": 0}]
    assert [exists(app, ws_a, Contact, contact_id) for contact_id in ids] == [False] * 4 + [True]


def test_a_merged_contacts_tickets_stay_whole_on_the_survivor_after_the_purge(app, ws_a):
    survivor = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"])
    merged = make_contact(app, ws_a, "Ann L", emails=["ann@example.com"])
    ticket_id, _token = make_ticket(
        app, ws_a, merged, subject="Ann's broken cup", body="Ann here: it broke.", requester_email="ann@example.com"
    )
    merge_id = make_merge(app, ws_a, survivor, merged)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(ContactMerge, merge_id).created_at = utcnow() - timedelta(days=31)
        db.session.commit()
    trashed(app, ws_a, Contact, merged, 31)
    assert "1 contact(s)" in run_purge(app)
    assert not exists(app, ws_a, Contact, merged)  # gone, not kept as an erased customer
    ticket = rows(app, ws_a, Ticket, Ticket.id == ticket_id)[0]
    assert (ticket.contact_id, ticket.subject, ticket.requester_email) == (
        survivor,
        "Ann's broken cup",
        "ann@example.com",
    )
    bodies = [message.body for message in rows(app, ws_a, TicketMessage, TicketMessage.ticket_id == ticket_id)]
    assert bodies == ["Ann here: it broke."]
    assert rows(app, ws_a, Contact, Contact.id == survivor)[0].name == "Ann Lee"
