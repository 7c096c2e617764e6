"""The staff ticket page's extras: a saved reply filled in for the ticket, files on a reply, the
service-level marks, approving a privacy request (erasure needs contacts.delete), and the email to
the member whose turn it was."""

import io
import re
from datetime import timedelta

import sqlalchemy as sa

from crm.contacts.models import Contact
from crm.db import utcnow
from crm.extensions import db
from crm.privacy import service as privacy
from crm.saved_replies.models import SavedReply
from crm.tenancy import workspace_scope
from crm.tickets.models import PRIVACY_COPY, PRIVACY_ERASURE, RESOLVED, Ticket, TicketAttachment
from tests.conftest import post
from tests.factories import make_contact, make_member, make_ticket
from tests.test_workspace_settings import TINY_PNG


def saved_reply(app, ws, body: str) -> int:
    with app.app_context(), workspace_scope(ws.id):
        reply = SavedReply(title="Sorry", body=body)
        db.session.add(reply)
        db.session.commit()
        return reply.id


def number_of(app, ws, ticket_id: int) -> int:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.get(Ticket, ticket_id).number


def test_a_saved_reply_fills_the_reply_box_for_this_ticket(app, client, auth, ws_a, ws_b):
    ticket_id, _ = make_ticket(app, ws_a, make_contact(app, ws_a, "Wang Fang"))
    number = number_of(app, ws_a, ticket_id)
    mine = saved_reply(app, ws_a, "Dear {customer_first_name}, about {ticket_number}: {agent_name}")
    theirs = saved_reply(app, ws_b, "Beta's secret words")
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/tickets/{number}").get_data(as_text=True)
    assert f'<option value="{mine}">Sorry</option>' in page
    filled = client.get(f"/w/{ws_a.slug}/tickets/{number}/saved-reply?saved_reply={mine}").get_data(as_text=True)
    assert f"Dear Wang, about #{number}: Alice" in filled and 'id="reply-body"' in filled
    other = client.get(f"/w/{ws_a.slug}/tickets/{number}/saved-reply?saved_reply={theirs}").get_data(as_text=True)
    assert "secret" not in other


def test_staff_attach_files_to_a_reply_and_only_readers_of_the_ticket_get_them(app, client, auth, ws_a, ws_b):
    ticket_id, _ = make_ticket(app, ws_a, make_contact(app, ws_a, "Wang Fang"))
    number = number_of(app, ws_a, ticket_id)
    auth.login(ws_a.email, ws_a.password)
    data = {"kind": "public", "body": "Here is the label", "attachments": [(io.BytesIO(TINY_PNG), "label.png")]}
    response = post(client, f"/w/{ws_a.slug}/tickets/{number}/messages", data, content_type="multipart/form-data")
    assert response.status_code == 303
    page = client.get(f"/w/{ws_a.slug}/tickets/{number}").get_data(as_text=True)
    link = re.search(rf'href="(/w/{ws_a.slug}/tickets/{number}/files/(\d+))"', page)
    assert client.get(link.group(1)).data == TINY_PNG
    bad = {"kind": "public", "body": "Oops", "attachments": [(io.BytesIO(b"MZ\x90\x00"), "tool.exe")]}
    response = post(client, f"/w/{ws_a.slug}/tickets/{number}/messages", bad, content_type="multipart/form-data")
    assert response.status_code == 422 and "tool.exe is not an image or a PDF." in response.get_data(as_text=True)
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count(TicketAttachment.id))) == 1
    auth.logout()
    auth.login(ws_b.email, ws_b.password)
    assert client.get(f"/w/{ws_b.slug}/tickets/{number}/files/{link.group(2)}").status_code == 404


def test_a_files_name_is_kept_without_its_folders_or_control_characters(app, client, auth, ws_a):
    ticket_id, _ = make_ticket(app, ws_a, make_contact(app, ws_a, "Wang Fang"))
    number = number_of(app, ws_a, ticket_id)
    auth.login(ws_a.email, ws_a.password)
    # Direction marks and isolates, as overrides, make a name read otherwise than it is ("gnp.exe" backwards).
    named = [(io.BytesIO(TINY_PNG), "fakepath/la\x07bel\x00.png"), (io.BytesIO(TINY_PNG), "\x1b/"),
             (io.BytesIO(TINY_PNG), "scan\u2067exe.\u2069\u200f\u061c\u202e.png")]  # fmt: skip
    data = {"kind": "public", "body": "Here is the label", "attachments": named}
    response = post(client, f"/w/{ws_a.slug}/tickets/{number}/messages", data, content_type="multipart/form-data")
    assert response.status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        assert set(db.session.scalars(sa.select(TicketAttachment.filename))) == {"label.png", "file", "scanexe..png"}
    bad = {"kind": "public", "body": "Oops", "attachments": [(io.BytesIO(b"MZ"), "to\x07ol.exe")]}
    response = post(client, f"/w/{ws_a.slug}/tickets/{number}/messages", bad, content_type="multipart/form-data")
    assert response.status_code == 422 and "tool.exe is not an image or a PDF." in response.get_data(as_text=True)


def test_the_page_marks_a_late_first_response(app, client, auth, ws_a):
    ticket_id, _ = make_ticket(app, ws_a, make_contact(app, ws_a, "Otto"))
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Ticket, ticket_id).first_response_due_at = utcnow() - timedelta(hours=1)
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/tickets/{number_of(app, ws_a, ticket_id)}").get_data(as_text=True)
    assert re.search(r"First response</dt>\s*<dd>Due [^<]+\s*<span class=\"badge warning\">Late</span>", page)


def privacy_ticket(app, ws, kind: str) -> int:
    make_contact(app, ws, "Wang Fang", emails=["fang@example.com"])
    with app.app_context(), workspace_scope(ws.id):
        ticket, _token = privacy.open_request(kind, "Wang Fang", "fang@example.com")
        privacy.verify(ticket)  # as when the customer opens the emailed link
        db.session.commit()
        return ticket.number


def test_approving_a_copy_resolves_the_request_and_tells_the_customer(app, client, auth, mailbox, ws_a):
    number = privacy_ticket(app, ws_a, PRIVACY_COPY)
    agent = make_member(app, ws_a, "sue@alpha.example.com", role="support")
    auth.login(agent.email, agent.password)
    page = client.get(f"/w/{ws_a.slug}/tickets/{number}").get_data(as_text=True)
    assert "Approve and send the copy" in page
    assert post(client, f"/w/{ws_a.slug}/tickets/{number}/privacy", {}).status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        ticket = db.session.scalar(sa.select(Ticket).where(Ticket.number == number))
        assert ticket.status == RESOLVED and ticket.privacy_done_at is not None
    assert mailbox.messages[-1]["To"] == "fang@example.com"
    assert f"/portal/{ws_a.slug}/t/" in mailbox.messages[-1].get_body(("plain",)).get_content()


def test_an_erasure_needs_the_right_to_delete_contacts(app, client, auth, mailbox, ws_a):
    number = privacy_ticket(app, ws_a, PRIVACY_ERASURE)
    agent = make_member(app, ws_a, "sue@alpha.example.com", role="support")
    auth.login(agent.email, agent.password)
    assert "Erasing needs the permission to delete contacts." in client.get(
        f"/w/{ws_a.slug}/tickets/{number}"
    ).get_data(as_text=True)
    assert post(client, f"/w/{ws_a.slug}/tickets/{number}/privacy", {}).status_code == 403
    auth.logout()
    auth.login(ws_a.email, ws_a.password)
    assert post(client, f"/w/{ws_a.slug}/tickets/{number}/privacy", {}).status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        contact = db.session.scalar(sa.select(Contact))
        assert contact.emails == [] and contact.name.startswith("Erased customer #")
    assert mailbox.messages[-1]["To"] == "fang@example.com"  # told at the address the request came from
    again = post(client, f"/w/{ws_a.slug}/tickets/{number}/privacy", {})
    assert again.status_code == 303 and "already done" in client.get(again.headers["Location"]).get_data(as_text=True)


def test_the_member_whose_turn_it_is_hears_of_a_portal_complaint(app, client, auth, mailbox, ws_a):
    from tests.test_portal import complaint

    agent = make_member(app, ws_a, "sue@alpha.example.com", role="support")
    auth.login(ws_a.email, ws_a.password)
    post(client, f"/w/{ws_a.slug}/settings/ticket-assignment/", {"members-general": [agent.membership_id]})
    auth.logout()
    assert post(client, f"/portal/{ws_a.slug}/new", complaint(app, ws_a)).status_code == 303
    to_agent = [m for m in mailbox.messages if m["To"] == agent.email]
    assert len(to_agent) == 1 and "is yours" in to_agent[0]["Subject"]
    assert f"/w/{ws_a.slug}/tickets/" in to_agent[0].get_body(("plain",)).get_content()


def test_the_breaching_queue_lists_late_tickets_only(app, client, auth, ws_a):
    late, _ = make_ticket(app, ws_a, make_contact(app, ws_a, "Otto"), subject="Cold soup")
    make_ticket(app, ws_a, make_contact(app, ws_a, "Pat"), subject="Fresh bread")
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Ticket, late).first_response_due_at = utcnow() - timedelta(minutes=5)
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/tickets/?tab=breaching").get_data(as_text=True)
    assert "Cold soup" in page and "Fresh bread" not in page
    assert 'aria-current="page">Breaching SLA<' in page


def test_bulk_status_and_assignee_change_the_chosen_tickets_only(app, client, auth, mailbox, ws_a):
    agent = make_member(app, ws_a, "sue@alpha.example.com", role="support")
    first, _ = make_ticket(app, ws_a, make_contact(app, ws_a, "Otto"), requester_email="otto@example.com")
    second, _ = make_ticket(app, ws_a, make_contact(app, ws_a, "Pat"), requester_email="pat@example.com")
    untouched, _ = make_ticket(app, ws_a, make_contact(app, ws_a, "Quinn"))
    numbers = [number_of(app, ws_a, first), number_of(app, ws_a, second)]
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/tickets/").get_data(as_text=True)
    assert f'id="pick-{numbers[0]}"' in page and "Apply to the chosen tickets" in page
    data = {"ticket": numbers, "bulk_status": "pending", "bulk_assignee": str(agent.membership_id), "query": "tab=all"}
    response = post(client, f"/w/{ws_a.slug}/tickets/bulk", data)
    assert response.status_code == 303 and response.headers["Location"].endswith("/tickets/?tab=all")
    with app.app_context(), workspace_scope(ws_a.id):
        states = {t.id: (t.status, t.assignee_id) for t in db.session.scalars(sa.select(Ticket))}
    assert states[first] == states[second] == ("pending", agent.membership_id)
    assert states[untouched] == ("new", None)
    told = sorted(m["To"] for m in mailbox.messages)
    assert told == ["otto@example.com", "pat@example.com", agent.email, agent.email]


def test_bulk_refuses_a_bad_value_and_leaves_tickets_a_member_may_not_work(app, client, auth, ws_a, ws_b):
    agent = make_member(app, ws_a, "sue@alpha.example.com", role="support")  # no tickets.escalated
    vip = make_contact(app, ws_a, "Vera")
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Contact, vip).level = "vip"
        db.session.commit()
    escalated, _ = make_ticket(app, ws_a, vip)
    plain, _ = make_ticket(app, ws_a, make_contact(app, ws_a, "Otto"))
    theirs, _ = make_ticket(app, ws_b, make_contact(app, ws_b, "Bo"))
    auth.login(agent.email, agent.password)
    numbers = [number_of(app, ws_a, escalated), number_of(app, ws_a, plain)]
    response = post(client, f"/w/{ws_a.slug}/tickets/bulk", {"ticket": numbers, "bulk_status": "new"})
    assert "cannot go back to new" in client.get(response.headers["Location"]).get_data(as_text=True)
    response = post(client, f"/w/{ws_a.slug}/tickets/bulk", {"ticket": numbers, "bulk_status": "resolved"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 ticket updated. 1 ticket you may not change was left alone." in page
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Ticket, escalated).status == "new"
        assert db.session.get(Ticket, plain).status == RESOLVED
    post(client, f"/w/{ws_a.slug}/tickets/bulk", {"ticket": [number_of(app, ws_b, theirs)], "bulk_status": "closed"})
    with app.app_context(), workspace_scope(ws_b.id):
        assert db.session.get(Ticket, theirs).status == "new"


def test_the_queue_filters_by_customer_level_and_opening_day(app, client, auth, ws_a):
    vip = make_contact(app, ws_a, "Vera")
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Contact, vip).level = "vip"
        db.session.commit()
    make_ticket(app, ws_a, vip, subject="VIP kettle")
    old, _ = make_ticket(app, ws_a, make_contact(app, ws_a, "Otto"), subject="Old spoon")
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Ticket, old).created_at = utcnow() - timedelta(days=40)
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/tickets/?level=vip").get_data(as_text=True)
    assert "VIP kettle" in page and "Old spoon" not in page
    since = (utcnow() - timedelta(days=7)).date().isoformat()
    page = client.get(f"/w/{ws_a.slug}/tickets/?since={since}").get_data(as_text=True)
    assert "VIP kettle" in page and "Old spoon" not in page
    until = (utcnow() - timedelta(days=30)).date().isoformat()
    page = client.get(f"/w/{ws_a.slug}/tickets/?until={until}").get_data(as_text=True)
    assert "Old spoon" in page and "VIP kettle" not in page


def test_a_role_limited_to_its_own_records_erases_only_its_own_customers(app, client, auth, ws_a):
    from tests.factories import assign_role, make_role

    number = privacy_ticket(app, ws_a, PRIVACY_ERASURE)
    agent = make_member(app, ws_a, "sue@alpha.example.com", role="support")
    own = make_role(app, ws_a, "Own desk", ("contacts.read", "contacts.delete", "tickets.read", "tickets.write"), "own")
    assign_role(app, ws_a, agent.membership_id, own)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.scalar(sa.select(Ticket).where(Ticket.number == number)).assignee_id = agent.membership_id
        db.session.commit()
    auth.login(agent.email, agent.password)
    assert post(client, f"/w/{ws_a.slug}/tickets/{number}/privacy", {}).status_code == 403
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(Contact)).emails == ["fang@example.com"]
