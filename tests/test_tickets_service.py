"""The tickets foundation (crm/tickets/service.py): numbering per workspace from #1001 (safe under
concurrent tickets on PostgreSQL), routing by customer level, the conversation and status changes
(a customer reply reopens), the rating given once (a low one reopens escalated with a recovery task
for the owner), refusals that save nothing, tracking tokens found only in their own workspace, the
portal's contact look-up, who may work a ticket, and the default categories."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.activities.models import Activity
from crm.audit.models import AuditEntry
from crm.contacts.models import Contact
from crm.db import utcnow
from crm.extensions import db
from crm.tenancy import workspace_scope
from crm.tickets import service
from crm.tickets.models import (
    CLOSED,
    CUSTOMER,
    DEFAULT_CATEGORIES,
    ESCALATED,
    GENERAL,
    INTERNAL,
    NEW,
    OPEN,
    PENDING,
    PUBLIC,
    RESOLVED,
    Ticket,
    TicketCategory,
    TicketCounter,
    TicketMessage,
)
from crm.tickets.service import TicketError
from crm.workspaces.models import Membership
from tests.factories import assign_role, make_contact, make_member, make_role, make_ticket


def ticket_of(app, ws, ticket_id: int) -> dict:
    with app.app_context(), workspace_scope(ws.id):
        ticket = db.session.get(Ticket, ticket_id)
        return {column.name: getattr(ticket, column.key) for column in Ticket.__table__.columns}


def messages_of(app, ws, ticket_id: int) -> list[tuple]:
    with app.app_context(), workspace_scope(ws.id):
        ticket = db.session.get(Ticket, ticket_id)
        return [(m.kind, m.author_id, m.body) for m in ticket.messages]


def change(app, ws, ticket_id: int, action, *args, **kwargs):
    """Runs a service function on the ticket in its own transaction; returns what it returned."""
    with app.app_context(), workspace_scope(ws.id):
        result = action(db.session.get(Ticket, ticket_id), *args, **kwargs)
        db.session.commit()
        return result


def refused(app, ws, ticket_id: int, action, *args, **kwargs) -> TicketError:
    """The service refuses; the ticket is as it was (nothing flushed, nothing audited)."""
    before = ticket_of(app, ws, ticket_id)
    with app.app_context(), workspace_scope(ws.id):
        audited = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
        with pytest.raises(TicketError) as caught:
            action(db.session.get(Ticket, ticket_id), *args, **kwargs)
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == audited
    assert ticket_of(app, ws, ticket_id) == before
    return caught.value


def customer(app, ws, name: str, level: str = "ordinary", trashed: bool = False, **fields) -> int:
    """A contact of the given level (pinned, as an admin would), in the trash if ``trashed``."""
    contact_id = make_contact(app, ws, name, **fields)
    with app.app_context(), workspace_scope(ws.id):
        contact = db.session.get(Contact, contact_id)
        contact.level, contact.level_pinned = level, True
        contact.deleted_at = utcnow() if trashed else None
        db.session.commit()
    return contact_id


def category_id(app, ws, name: str = "Delivery") -> int:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.scalar(sa.select(TicketCategory.id).where(TicketCategory.name == name))


# --- numbering and opening -------------------------------------------------------------------------


def test_numbers_start_at_1001_in_each_workspace(app, ws_a, ws_b):
    ann, bo = make_contact(app, ws_a, "Ann Lee"), make_contact(app, ws_b, "Bo Chen")
    a1, _ = make_ticket(app, ws_a, ann)
    a2, _ = make_ticket(app, ws_a, ann)
    b1, _ = make_ticket(app, ws_b, bo)
    a3, _ = make_ticket(app, ws_a, ann)
    assert [ticket_of(app, ws_a, t)["number"] for t in (a1, a2, a3)] == [1001, 1002, 1003]
    assert ticket_of(app, ws_b, b1)["number"] == 1001


def test_a_rolled_back_ticket_gives_its_number_back(app, ws_a):
    with app.app_context(), workspace_scope(ws_a.id):
        assert service.next_number() == 1001
        db.session.rollback()
        assert service.next_number() == 1001
        assert service.next_number() == 1002
        db.session.rollback()


@pytest.mark.postgres
def test_concurrent_tickets_get_distinct_consecutive_numbers(app, ws_a):
    """Eight customers filing at once, each in its own transaction and connection: every number
    once, none skipped (the first holds the counter row until it commits)."""
    ann = make_contact(app, ws_a, "Ann Lee")
    start, numbers, errors = threading.Barrier(8), [], []

    def file_one():
        try:
            with app.app_context(), workspace_scope(ws_a.id):
                contact = db.session.get(Contact, ann)
                start.wait()
                ticket, _ = service.open_ticket(contact=contact, subject="Late", body="Where is it?", channel="portal",
                                                requester_name="Ann", requester_email="ann@example.com")  # fmt: skip
                db.session.commit()
                numbers.append(ticket.number)
        except Exception as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=file_one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(numbers) == list(range(1001, 1009))


def test_opening_stores_the_first_message_the_requester_and_only_a_hash_of_the_token(app, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"])
    delivery = category_id(app, ws_a)
    ticket_id, token = make_ticket(app, ws_a, ann, subject="  Late parcel ", body="Ordered on Monday.",
                                   requester_email=" Ann.Lee@Example.COM ", requester_name="Ann",
                                   category_id=delivery, priority="high", reference="SO-42")  # fmt: skip
    ticket = ticket_of(app, ws_a, ticket_id)
    assert (ticket["subject"], ticket["status"], ticket["queue"], ticket["priority"], ticket["channel"]) == (
        "Late parcel", NEW, GENERAL, "high", "portal")  # fmt: skip
    assert (ticket["requester_name"], ticket["requester_email"], ticket["reference"]) == (
        "Ann", "ann.lee@example.com", "SO-42")  # fmt: skip
    assert ticket["category_id"] == delivery and ticket["contact_id"] == ann
    assert len(token) >= 43 and token not in str(ticket.values())
    assert ticket["tracking_token_hash"] == service.hash_token(token)
    assert messages_of(app, ws_a, ticket_id) == [(CUSTOMER, None, "Ordered on Monday.")]
    with app.app_context(), workspace_scope(ws_a.id):
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "ticket.created"))
        assert (entry.record_type, entry.record_id, entry.changes["number"]) == ("ticket", ticket_id, [None, 1001])


def test_staff_open_a_ticket_for_a_customer_with_their_details(app, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"])
    ticket_id, _ = make_ticket(app, ws_a, ann, channel="phone", requester_email=None, body="Called about a refund",
                               author_id=ws_a.membership_id)  # fmt: skip
    ticket = ticket_of(app, ws_a, ticket_id)
    assert (ticket["channel"], ticket["requester_name"], ticket["requester_email"]) == ("phone", "Ann Lee",
                                                                                        "ann@example.com")  # fmt: skip
    assert ticket["first_responded_at"] is None  # their own account of the complaint answers nothing
    assert messages_of(app, ws_a, ticket_id) == [(PUBLIC, ws_a.membership_id, "Called about a refund")]


@pytest.mark.parametrize(
    ("level", "queue"), [("vip", ESCALATED), ("potential", ESCALATED), ("ordinary", GENERAL)]
)  # fmt: skip
def test_vip_and_potential_customers_go_to_the_escalated_queue(app, ws_a, level, queue):
    contact = customer(app, ws_a, "Customer", level)
    ticket_id, _ = make_ticket(app, ws_a, contact)
    assert ticket_of(app, ws_a, ticket_id)["queue"] == queue
    with app.app_context(), workspace_scope(ws_a.id):
        assert service.route_queue(db.session.get(Contact, contact)) == queue


BAD_OPENINGS = [
    ({"channel": "fax"}, "channel"),
    ({"priority": "critical"}, "priority"),
    ({"subject": "   "}, "subject"),
    ({"subject": "x" * 201}, "subject"),
    ({"body": ""}, "body"),
    ({"requester_email": "not-an-email"}, "email"),
    ({"requester_email": ""}, "email"),  # required from the portal
    ({"reference": "r" * 121}, "reference"),
    ({"category_id": "inactive"}, "category_id"),
    ({"category_id": "other workspace"}, "category_id"),
    ({"author_id": "other workspace"}, "author_id"),
]


@pytest.mark.parametrize(("bad", "field"), BAD_OPENINGS, ids=[f"{field}-{i}" for i, (_, field) in
                                                              enumerate(BAD_OPENINGS)])  # fmt: skip
def test_bad_values_are_refused_and_nothing_is_saved(app, ws_a, ws_b, bad, field):
    ann = make_contact(app, ws_a, "Ann Lee")
    with app.app_context(), workspace_scope(ws_a.id):
        retired = db.session.scalar(sa.select(TicketCategory).where(TicketCategory.name == "Other"))
        retired.active = False
        db.session.commit()
        retired_id = retired.id
    ids = {"inactive": retired_id, "other workspace": category_id(app, ws_b)}
    if bad.get("author_id"):
        bad = {"author_id": ws_b.membership_id}
    elif bad.get("category_id"):
        bad = {"category_id": ids[bad["category_id"]]}
    data = {"subject": "Late", "body": "Where is it?", "channel": "portal", "requester_name": "Ann",
            "requester_email": "ann@example.com", **bad}  # fmt: skip
    with app.app_context(), workspace_scope(ws_a.id):
        with pytest.raises(TicketError) as caught:
            service.open_ticket(contact=db.session.get(Contact, ann), **data)
        db.session.commit()
        assert caught.value.field == field and caught.value.status == 422
        for model in (Ticket, TicketMessage, TicketCounter):
            assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0, model
        assert db.session.scalar(sa.select(AuditEntry.id).where(AuditEntry.record_type == "ticket")) is None
    ticket_id, _ = make_ticket(app, ws_a, ann)
    assert ticket_of(app, ws_a, ticket_id)["number"] == 1001


def test_a_contact_in_the_trash_gets_no_ticket(app, ws_a):
    ann = customer(app, ws_a, "Ann Lee", trashed=True)
    with pytest.raises(TicketError):
        make_ticket(app, ws_a, ann)


# --- the tracking token ----------------------------------------------------------------------------


def test_a_token_finds_its_ticket_in_its_own_workspace_only(app, ws_a, ws_b):
    ticket_id, token = make_ticket(app, ws_a, make_contact(app, ws_a, "Ann Lee"))
    make_ticket(app, ws_b, make_contact(app, ws_b, "Bo Chen"))
    with app.app_context():
        with workspace_scope(ws_a.id):
            assert service.ticket_by_token(token).id == ticket_id
            for wrong in ("", None, token[:-1], token + "x", "x" * 500, service.hash_token(token)):
                assert service.ticket_by_token(wrong) is None, wrong
        with workspace_scope(ws_b.id):
            assert service.ticket_by_token(token) is None


def test_a_deleted_tickets_token_finds_nothing(app, ws_a):
    ticket_id, token = make_ticket(app, ws_a, make_contact(app, ws_a, "Ann Lee"))
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Ticket, ticket_id).deleted_at = utcnow()
        db.session.commit()
        assert service.ticket_by_token(token) is None


# --- the portal's contact --------------------------------------------------------------------------


def test_the_portal_finds_the_live_contact_by_email_or_adds_one(app, ws_a, ws_b):
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], title="Buyer")
    customer(app, ws_a, "Old Bo", trashed=True, emails=["bo@example.com"])
    make_contact(app, ws_b, "Cy in B", emails=["cy@example.com"])
    with app.app_context(), workspace_scope(ws_a.id):
        found = service.find_contact_for_portal("Someone Else", " ANN@Example.com ", "+1 202 555 0100")
        assert (found.id, found.name, found.phones) == (ann, "Ann Lee", [])  # left as it was
        bo = service.find_contact_for_portal("Bo Chen", "bo@example.com", "(202) 555-0101")
        cy = service.find_contact_for_portal("Cy", "cy@example.com", "")
        db.session.commit()
        assert (bo.name, bo.emails, bo.phones, bo.source, bo.deleted_at) == (
            "Bo Chen", ["bo@example.com"], ["+12025550101"], "portal", None)  # fmt: skip
        assert (cy.emails, cy.phones, cy.source) == (["cy@example.com"], [], "portal")
        assert service.find_contact_for_portal("Bo", "bo@example.com").id == bo.id
        actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.record_id == bo.id))
        assert "contact.created" in list(actions)


@pytest.mark.parametrize(
    ("name", "email", "phone", "field"),
    [("", "a@example.com", None, "name"), ("Ann", "nope", None, "email"), ("Ann", "", None, "email"),
     ("Ann", "a@example.com", "12", "phone")],
)  # fmt: skip
def test_the_portal_contact_refuses_bad_details(app, ws_a, name, email, phone, field):
    with app.app_context(), workspace_scope(ws_a.id):
        with pytest.raises(TicketError) as caught:
            service.find_contact_for_portal(name, email, phone)
        db.session.commit()
        assert caught.value.field == field
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Contact)) == 0


# --- the conversation and statuses -----------------------------------------------------------------


def test_the_first_public_reply_answers_the_ticket_and_opens_it(app, ws_a):
    ticket_id, _ = make_ticket(app, ws_a, make_contact(app, ws_a, "Ann Lee"))
    change(app, ws_a, ticket_id, service.add_reply, "Looking into it", kind=INTERNAL, author_id=ws_a.membership_id)
    ticket = ticket_of(app, ws_a, ticket_id)
    assert (ticket["status"], ticket["first_responded_at"]) == (NEW, None)  # a note answers nobody
    change(app, ws_a, ticket_id, service.add_reply, "Sorry! A new one is on its way.", kind=PUBLIC,
           author_id=ws_a.membership_id)  # fmt: skip
    answered = ticket_of(app, ws_a, ticket_id)
    assert answered["status"] == OPEN and answered["first_responded_at"] is not None
    change(app, ws_a, ticket_id, service.add_reply, "Tracking: 123", kind=PUBLIC, author_id=ws_a.membership_id)
    assert ticket_of(app, ws_a, ticket_id)["first_responded_at"] == answered["first_responded_at"]
    assert [kind for kind, _, _ in messages_of(app, ws_a, ticket_id)] == [CUSTOMER, INTERNAL, PUBLIC, PUBLIC]


@pytest.mark.parametrize("status", [PENDING, RESOLVED, CLOSED])
def test_a_customer_reply_reopens_a_waiting_or_finished_ticket(app, ws_a, status):
    ticket_id, _ = make_ticket(app, ws_a, make_contact(app, ws_a, "Ann Lee"))
    change(app, ws_a, ticket_id, service.set_status, status, ws_a.membership_id)
    change(app, ws_a, ticket_id, service.add_reply, "Still broken!", kind=CUSTOMER, author_id=None)
    ticket = ticket_of(app, ws_a, ticket_id)
    assert (ticket["status"], ticket["resolved_at"], ticket["closed_at"]) == (OPEN, None, None)


def test_a_customer_reply_leaves_a_new_ticket_new(app, ws_a):
    ticket_id, _ = make_ticket(app, ws_a, make_contact(app, ws_a, "Ann Lee"))
    change(app, ws_a, ticket_id, service.add_reply, "Also the lid", kind=CUSTOMER, author_id=None)
    assert ticket_of(app, ws_a, ticket_id)["status"] == NEW


def test_statuses_stamp_their_times(app, ws_a):
    ticket_id, _ = make_ticket(app, ws_a, make_contact(app, ws_a, "Ann Lee"))
    assert change(app, ws_a, ticket_id, service.set_status, RESOLVED, ws_a.membership_id) == {
        "status": [NEW, RESOLVED]}  # fmt: skip
    resolved = ticket_of(app, ws_a, ticket_id)
    assert resolved["resolved_at"] is not None and resolved["closed_at"] is None
    change(app, ws_a, ticket_id, service.set_status, CLOSED, None)  # the system closes resolved tickets
    closed = ticket_of(app, ws_a, ticket_id)
    assert closed["resolved_at"] == resolved["resolved_at"] and closed["closed_at"] is not None
    assert change(app, ws_a, ticket_id, service.set_status, CLOSED, ws_a.membership_id) == {}
    change(app, ws_a, ticket_id, service.set_status, OPEN, ws_a.membership_id)
    reopened = ticket_of(app, ws_a, ticket_id)
    assert (reopened["status"], reopened["resolved_at"], reopened["closed_at"]) == (OPEN, None, None)
    change(app, ws_a, ticket_id, service.set_status, CLOSED, ws_a.membership_id)  # closed without resolving
    assert ticket_of(app, ws_a, ticket_id)["resolved_at"] is not None
    with app.app_context(), workspace_scope(ws_a.id):
        entries = db.session.scalars(
            sa.select(AuditEntry.changes).where(AuditEntry.action == "ticket.status_changed").order_by(AuditEntry.id)
        )
        assert [c["status"] for c in entries] == [[NEW, RESOLVED], [RESOLVED, CLOSED], [CLOSED, OPEN], [OPEN, CLOSED]]


def test_bad_changes_are_refused_and_leave_the_ticket_as_it_was(app, ws_a, ws_b):
    ticket_id, _ = make_ticket(app, ws_a, make_contact(app, ws_a, "Ann Lee"))
    gone = make_member(app, ws_a, "gone@alpha.example.com", role="support", status="disabled").membership_id
    member = ws_a.membership_id
    assert refused(app, ws_a, ticket_id, service.set_status, "done", member).field == "status"
    assert refused(app, ws_a, ticket_id, service.set_status, OPEN, None).status == 409  # the system only closes
    change(app, ws_a, ticket_id, service.set_status, OPEN, member)
    assert refused(app, ws_a, ticket_id, service.set_status, NEW, member).status == 409
    assert refused(app, ws_a, ticket_id, service.set_priority, "critical").field == "priority"
    assert refused(app, ws_a, ticket_id, service.set_category, category_id(app, ws_b)).field == "category_id"
    assert refused(app, ws_a, ticket_id, service.set_category, 999_999).field == "category_id"
    assert refused(app, ws_a, ticket_id, service.assign, ws_b.membership_id).field == "assignee_id"
    assert refused(app, ws_a, ticket_id, service.assign, gone).field == "assignee_id"
    for body, kind, author in (
        ("  ", PUBLIC, member),
        ("x" * 10_001, PUBLIC, member),
        ("Hi", "email", member),
        ("Hi", CUSTOMER, member),
        ("Hi", PUBLIC, None),
        ("Hi", INTERNAL, ws_b.membership_id),
    ):
        refused(app, ws_a, ticket_id, service.add_reply, body, kind=kind, author_id=author)  # fmt: skip
    assert len(messages_of(app, ws_a, ticket_id)) == 1


def test_assign_priority_and_category_are_audited(app, ws_a):
    ticket_id, _ = make_ticket(app, ws_a, make_contact(app, ws_a, "Ann Lee"))
    sue = make_member(app, ws_a, "sue@alpha.example.com", role="support").membership_id
    billing = category_id(app, ws_a, "Billing")
    assert change(app, ws_a, ticket_id, service.assign, sue) == {"assignee_id": [None, sue]}
    assert change(app, ws_a, ticket_id, service.assign, sue) == {}
    assert change(app, ws_a, ticket_id, service.set_priority, "urgent") == {"priority": ["normal", "urgent"]}
    assert change(app, ws_a, ticket_id, service.set_category, billing) == {"category_id": [None, billing]}
    assert change(app, ws_a, ticket_id, service.set_category, None) == {"category_id": [billing, None]}
    assert change(app, ws_a, ticket_id, service.assign, None) == {"assignee_id": [sue, None]}
    ticket = ticket_of(app, ws_a, ticket_id)
    assert (ticket["assignee_id"], ticket["priority"], ticket["category_id"]) == (None, "urgent", None)
    with app.app_context(), workspace_scope(ws_a.id):
        actions = list(
            db.session.scalars(
                sa.select(AuditEntry.action).where(
                    AuditEntry.record_id == ticket_id, AuditEntry.record_type == "ticket"
                )
            )
        )
    assert sorted(actions) == sorted(["ticket.created", "ticket.assigned", "ticket.updated", "ticket.updated",
                                      "ticket.updated", "ticket.assigned"])  # fmt: skip


# --- satisfaction ----------------------------------------------------------------------------------


def test_a_ticket_is_rated_once_when_resolved(app, ws_a):
    ticket_id, _ = make_ticket(app, ws_a, make_contact(app, ws_a, "Ann Lee"))
    assert "resolved" in str(refused(app, ws_a, ticket_id, service.rate, 5, None))
    change(app, ws_a, ticket_id, service.set_status, RESOLVED, ws_a.membership_id)
    for score in (0, 6, "5", 4.5, True, None):
        assert refused(app, ws_a, ticket_id, service.rate, score, None).field == "score"
    assert refused(app, ws_a, ticket_id, service.rate, 5, "x" * 2001).field == "comment"
    assert change(app, ws_a, ticket_id, service.rate, 5, "  Quick and kind ") is None
    ticket = ticket_of(app, ws_a, ticket_id)
    assert (ticket["rating"], ticket["rating_comment"], ticket["status"]) == (5, "Quick and kind", RESOLVED)
    assert ticket["rated_at"] is not None
    assert "already" in str(refused(app, ws_a, ticket_id, service.rate, 1, None))
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0


def test_a_low_rating_reopens_escalated_with_a_recovery_task_for_the_owner(app, ws_a):
    sam = make_member(app, ws_a, "sam@alpha.example.com", role="sales").membership_id
    sue = make_member(app, ws_a, "sue@alpha.example.com", role="support").membership_id
    ann = make_contact(app, ws_a, "Ann Lee", owner_id=sam)
    ticket_id, _ = make_ticket(app, ws_a, ann)
    change(app, ws_a, ticket_id, service.assign, sue)
    change(app, ws_a, ticket_id, service.set_status, CLOSED, sue)
    task_id = change(app, ws_a, ticket_id, lambda t: service.rate(t, 2, "Still no refund").id)
    ticket = ticket_of(app, ws_a, ticket_id)
    assert (ticket["status"], ticket["queue"], ticket["resolved_at"], ticket["closed_at"]) == (OPEN, ESCALATED,
                                                                                               None, None)  # fmt: skip
    assert (ticket["rating"], ticket["rating_comment"]) == (2, "Still no refund")
    with app.app_context(), workspace_scope(ws_a.id):
        task = db.session.get(Activity, task_id)
        assert (task.kind, task.contact_id, task.assignee_id, task.done_at) == ("task", ann, sam, None)
        assert "#1001" in task.body
        assert timedelta(hours=23) < task.due_at - utcnow() <= timedelta(days=1)
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "ticket.rated"))
        assert entry.changes == {"rating": [None, 2], "status": [CLOSED, OPEN], "queue": [GENERAL, ESCALATED]}
    assert "already" in str(refused(app, ws_a, ticket_id, service.rate, 1, None))


@pytest.mark.postgres
def test_a_rating_sent_twice_at_once_is_taken_once(app, ws_a):
    """A double tap on the phone sends the rating form twice: one rating, one recovery task, the
    other refused as given already."""
    ann = make_contact(app, ws_a, "Ann Lee")
    ticket_id, _ = make_ticket(app, ws_a, ann)
    change(app, ws_a, ticket_id, service.set_status, RESOLVED, ws_a.membership_id)
    start, outcomes = threading.Barrier(2), []

    def rate_it(score):
        try:
            with app.app_context(), workspace_scope(ws_a.id):
                ticket = db.session.get(Ticket, ticket_id)
                start.wait()
                service.rate(ticket, score, None)
                db.session.commit()
                outcomes.append("rated")
        except TicketError as error:
            outcomes.append(str(error))

    threads = [threading.Thread(target=rate_it, args=(score,)) for score in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["This ticket has been rated already.", "rated"]
    with app.app_context(), workspace_scope(ws_a.id):
        tasks = db.session.scalar(sa.select(sa.func.count(Activity.id)).where(Activity.kind == "task"))
        rated = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                                  .where(AuditEntry.action == "ticket.rated"))  # fmt: skip
    assert (tasks, rated) == (1, 1)


def test_a_recovery_task_without_an_owner_goes_to_the_assignee_or_the_workspace_owner(app, ws_a):
    sue = make_member(app, ws_a, "sue@alpha.example.com", role="support").membership_id
    ann = make_contact(app, ws_a, "Ann Lee")
    assigned, _ = make_ticket(app, ws_a, ann)
    unassigned, _ = make_ticket(app, ws_a, ann)
    change(app, ws_a, assigned, service.assign, sue)
    assignees = []
    for ticket_id in (assigned, unassigned):
        change(app, ws_a, ticket_id, service.set_status, RESOLVED, sue)
        task_id = change(app, ws_a, ticket_id, lambda t: service.rate(t, 1, None).id)
        with app.app_context(), workspace_scope(ws_a.id):
            assignees.append(db.session.get(Activity, task_id).assignee_id)
    assert assignees == [sue, ws_a.membership_id]


def test_a_recovery_task_skips_an_owner_and_an_assignee_who_left(app, ws_a):
    """Winning back an unhappy customer is urgent: the task goes to someone who still works here."""
    sam = make_member(app, ws_a, "sam@alpha.example.com", role="sales").membership_id
    sue = make_member(app, ws_a, "sue@alpha.example.com", role="support").membership_id
    ann = make_contact(app, ws_a, "Ann Lee", owner_id=sam)
    first, _ = make_ticket(app, ws_a, ann)
    second, _ = make_ticket(app, ws_a, ann)
    for ticket_id in (first, second):
        change(app, ws_a, ticket_id, service.assign, sue)
        change(app, ws_a, ticket_id, service.set_status, RESOLVED, sue)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Membership, sam).status = "removed"
        db.session.commit()
    assignees = []
    for ticket_id, gone in ((first, None), (second, sue)):
        if gone is not None:
            with app.app_context(), workspace_scope(ws_a.id):
                db.session.get(Membership, gone).status = "disabled"
                db.session.commit()
        task_id = change(app, ws_a, ticket_id, lambda t: service.rate(t, 1, None).id)
        with app.app_context(), workspace_scope(ws_a.id):
            assignees.append(db.session.get(Activity, task_id).assignee_id)
    assert assignees == [sue, ws_a.membership_id]


# --- who may work a ticket -------------------------------------------------------------------------


def test_who_may_work_a_ticket(app, ws_a):
    support = make_member(app, ws_a, "sue@alpha.example.com", role="support").membership_id
    manager = make_member(app, ws_a, "max@alpha.example.com", role="manager").membership_id
    viewer = make_member(app, ws_a, "vic@alpha.example.com", role="viewer").membership_id
    own = make_member(app, ws_a, "oli@alpha.example.com", role="support").membership_id
    permissions = ("tickets.read", "tickets.write", "tickets.escalated")
    assign_role(app, ws_a, own, make_role(app, ws_a, "Own tickets", permissions, record_scope="own"))
    general, _ = make_ticket(app, ws_a, make_contact(app, ws_a, "Ann Lee"))
    escalated, _ = make_ticket(app, ws_a, customer(app, ws_a, "Vera VIP", "vip"))
    mine, _ = make_ticket(app, ws_a, customer(app, ws_a, "Vic VIP", "vip"))
    change(app, ws_a, mine, service.assign, own)
    with app.app_context(), workspace_scope(ws_a.id):
        tickets = {name: db.session.get(Ticket, i) for name, i in (("general", general), ("escalated", escalated),
                                                                    ("mine", mine))}  # fmt: skip
        allowed = {
            member: sorted(name for name, ticket in tickets.items()
                           if service.allowed_to_work(ticket, db.session.get(Membership, member_id)))
            for member, member_id in (("owner", ws_a.membership_id), ("support", support), ("manager", manager),
                                      ("viewer", viewer), ("own", own))
        }  # fmt: skip
    assert allowed == {
        "owner": ["escalated", "general", "mine"],
        "support": ["general"],  # no tickets.escalated
        "manager": ["escalated", "general", "mine"],
        "viewer": [],  # no tickets.write
        "own": ["mine"],  # only what is assigned to them
    }


# --- default categories ----------------------------------------------------------------------------


def test_every_workspace_starts_with_the_default_categories(app, ws_a, ws_b):
    for ws in (ws_a, ws_b):
        with app.app_context(), workspace_scope(ws.id):
            listed = [(c.name, c.position, c.active) for c in service.categories()]
            assert listed == [(name, position, True) for position, name in enumerate(DEFAULT_CATEGORIES)]
            assert [c.display_name for c in service.categories(active_only=True)] == list(DEFAULT_CATEGORIES)


def test_a_renamed_category_shows_as_named(app, ws_a):
    with app.app_context(), workspace_scope(ws_a.id):
        category = service.categories()[0]
        category.name = "Chipped cups"
        assert category.display_name == "Chipped cups"
        db.session.rollback()


def test_the_migration_gives_existing_workspaces_the_default_categories(app, ws_a, ws_b):
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        downgrade(revision="0021")
        upgrade()
    for ws in (ws_a, ws_b):
        with app.app_context(), workspace_scope(ws.id):
            assert [c.name for c in service.categories(active_only=True)] == list(DEFAULT_CATEGORIES)
