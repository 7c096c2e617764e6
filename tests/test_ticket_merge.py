"""Merging a duplicate ticket into another (crm/tickets/merge.py, POST /tickets/<number>/merge):
the conversation and files move in time order, the duplicate closes (read-only, out of the work
queue and the service levels), the kept ticket takes the higher priority and the escalated queue,
both are audited; refusals (another customer's ticket, itself, a merged ticket, an unknown or
hidden number, another workspace's) change nothing; permissions; the kept ticket's new private
link goes by email only, to both tickets' addresses, and no link shown before opens the merged
conversation, in both directions of the portal attack (crm.tickets.merge); the ticket page's query
budget."""

import io
import re
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.db import utcnow
from crm.extensions import db
from crm.tenancy import workspace_scope
from crm.tickets.models import CLOSED, ESCALATED, GENERAL, INTERNAL, Ticket, TicketAttachment, TicketMessage
from crm.tickets.service import add_reply, hash_token
from tests.conftest import post
from tests.factories import assign_role, make_member, make_role, make_ticket
from tests.query_counter import count_queries
from tests.test_pages import assert_valid_page
from tests.test_permissions import sign_in_as
from tests.test_portal import TOKEN_URL, submit
from tests.test_tickets_service import customer, messages_of, ticket_of
from tests.test_workspace_settings import TINY_PNG

MERGE = {"HX-Request": "true", "HX-Target": "ticket-merge"}


def page(ws, number: int) -> str:
    return f"/w/{ws.slug}/tickets/{number}"


def merge(client, ws, number: int, target: str, headers=None):
    return post(client, f"{page(ws, number)}/merge", {"target": target}, headers=headers)


def set_fields(app, ws, ticket_id: int, **fields) -> None:
    with app.app_context(), workspace_scope(ws.id):
        ticket = db.session.get(Ticket, ticket_id)
        for name, value in fields.items():
            setattr(ticket, name, value)
        db.session.commit()


def reply(app, ws, ticket_id: int, body: str, kind: str = "public", author_id: int | None = None) -> int:
    with app.app_context(), workspace_scope(ws.id):
        message = add_reply(db.session.get(Ticket, ticket_id), body, kind=kind, author_id=author_id)
        db.session.commit()
        return message.id


def snapshot(app, ws) -> dict:
    """Every ticket, message, file and audit entry of the workspace, to show nothing changed."""
    with app.app_context(), workspace_scope(ws.id):
        tickets = {t.id: {c.key: getattr(t, c.key) for c in Ticket.__table__.columns}
                   for t in db.session.scalars(sa.select(Ticket))}  # fmt: skip
        messages = db.session.execute(sa.select(TicketMessage.id, TicketMessage.ticket_id).order_by("id")).all()
        files = db.session.execute(sa.select(TicketAttachment.id, TicketAttachment.ticket_id).order_by("id")).all()
        audited = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    return {"tickets": tickets, "messages": messages, "files": files, "audited": audited}


def two_of_one_customer(app, ws, name: str = "Ann Lee", **fields) -> tuple[int, int, str, str]:
    """Tickets #1001 (kept) and #1002 (the duplicate) of one customer: (target id, source id, tokens)."""
    ann = customer(app, ws, name, **fields)
    target, target_token = make_ticket(app, ws, ann, "Cracked mug", requester_email="ann@example.com")
    source, source_token = make_ticket(app, ws, ann, "Mug broken", body="Sent you photos.",
                                       requester_email="ann@example.com")  # fmt: skip
    return target, source, target_token, source_token


def test_merge_moves_the_conversation_and_files_and_closes_the_duplicate(app, client, auth, ws_a, mailbox):
    target, source, target_token, _ = two_of_one_customer(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    data = {"kind": "public", "body": "Photo of the label", "attachments": [(io.BytesIO(TINY_PNG), "label.png")]}
    post(client, f"{page(ws_a, 1002)}/messages", data, content_type="multipart/form-data")
    reply(app, ws_a, target, "We are looking into it.", author_id=ws_a.membership_id)  # later than #1002's
    set_fields(app, ws_a, source, priority="high")
    mailbox.messages.clear()
    before = ticket_of(app, ws_a, target)

    html = client.get(page(ws_a, 1002)).get_data(as_text=True)
    assert "Merge into another ticket" in html and 'id="ticket-merge-target"' in html
    assert '<label for="ticket-merge-target">' in html
    response = merge(client, ws_a, 1002, "#1001")
    assert (response.status_code, response.headers["Location"]) == (303, page(ws_a, 1001))

    kept, closed = ticket_of(app, ws_a, target), ticket_of(app, ws_a, source)
    assert (closed["status"], closed["merged_into_id"]) == (CLOSED, target)
    assert closed["closed_at"] is not None and closed["resolved_at"] is None  # closed as a duplicate
    assert closed["first_response_due_at"] is None and closed["resolution_due_at"] is None
    assert kept["merged_into_id"] is None and kept["status"] == before["status"] == "open"
    assert kept["priority"] == "high" and kept["resolution_due_at"] < before["resolution_due_at"]
    conversation = [(kind, body) for kind, _author, body in messages_of(app, ws_a, target)]
    assert conversation == [
        ("customer", "It arrived broken."),  # #1001's
        ("customer", "Sent you photos."),  # #1002's, in the order they were written
        ("public", "Photo of the label"),
        ("public", "We are looking into it."),
        (INTERNAL, "Ticket #1002 was merged into this ticket."),
    ]
    assert messages_of(app, ws_a, source) == [
        (INTERNAL, ws_a.membership_id, "This ticket was merged into ticket #1001.")
    ]
    with app.app_context(), workspace_scope(ws_a.id):
        [file] = db.session.scalars(sa.select(TicketAttachment)).all()
        assert file.ticket_id == target and db.session.get(TicketMessage, file.message_id).ticket_id == target
        entries = {e.record_id: e.changes for e in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "ticket.merged"))}  # fmt: skip
    assert entries[source]["merged_into_id"] == [None, target] and entries[source]["status"] == ["open", CLOSED]
    assert entries[source]["messages_moved"] == [None, 2] and entries[source]["files_moved"] == [None, 1]
    assert entries[target] == {"merged_from": [None, 1002], "priority": ["normal", "high"]}

    kept_page = client.get(page(ws_a, 1001)).get_data(as_text=True)
    assert "Ticket #1002 was merged into #1001." in kept_page  # the flash
    assert "Sent you photos." in kept_page and "Photo of the label" in kept_page
    link = re.search(rf'href="({page(ws_a, 1001)}/files/\d+)"', kept_page).group(1)
    assert client.get(link).data == TINY_PNG
    merged_page = client.get(page(ws_a, 1002))
    html = merged_page.get_data(as_text=True)
    assert merged_page.status_code == 200
    assert f'<a href="{page(ws_a, 1001)}">Merged into #1001</a>' in html
    assert (
        'id="ticket-reply"' not in html and '<form id="ticket-fields"' not in html and 'id="ticket-merge"' not in html
    )
    assert_valid_page(html, "merged ticket")
    # The customer is told once (both tickets have the same address), with the kept ticket's new
    # private link: the one it had before no longer opens it.
    [mail] = mailbox.messages
    assert mail["To"] == "ann@example.com" and "merged into #1001" in mail["Subject"]
    [link] = mailbox.links()
    assert link.startswith(f"http://localhost/portal/{ws_a.slug}/t/") and target_token not in link
    assert ticket_of(app, ws_a, target)["tracking_token_hash"] == hash_token(link.rsplit("/", 1)[1])


def test_the_kept_ticket_takes_the_escalation_and_opens_again_for_work(app, client, auth, ws_a):
    target, source, _, _ = two_of_one_customer(app, ws_a)
    set_fields(app, ws_a, source, queue=ESCALATED, priority="urgent")  # a low rating escalated it
    set_fields(app, ws_a, target, status="resolved", resolved_at=utcnow(), priority="high")
    auth.login(ws_a.email, ws_a.password)
    response = merge(client, ws_a, 1002, "1001", headers=MERGE)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == page(ws_a, 1001)  # htmx: no 3xx
    kept = ticket_of(app, ws_a, target)
    assert (kept["queue"], kept["priority"], kept["status"], kept["resolved_at"]) == (ESCALATED, "urgent", "open", None)
    with app.app_context(), workspace_scope(ws_a.id):
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "ticket.merged",
                                                              AuditEntry.record_id == target))  # fmt: skip
    assert entry.changes["queue"] == [GENERAL, ESCALATED] and entry.changes["status"] == ["resolved", "open"]
    assert entry.changes["priority"] == ["high", "urgent"]
    assert "Ticket #1002 was merged into #1001." in client.get(page(ws_a, 1001)).get_data(as_text=True)


def test_a_merged_ticket_is_read_only_and_out_of_the_work_queue(app, client, auth, ws_a):
    two_of_one_customer(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    assert merge(client, ws_a, 1002, "1001").status_code == 303
    before = snapshot(app, ws_a)
    response = post(client, f"{page(ws_a, 1002)}/messages", {"kind": "public", "body": "Hello?"})
    assert response.status_code == 409
    assert "Ticket #1002 was merged into #1001 and cannot be changed" in response.get_data(as_text=True)
    response = post(client, f"{page(ws_a, 1002)}/messages", {"kind": "public", "body": "Hello?"},
                    headers={"HX-Request": "true", "HX-Target": "ticket-reply"})  # fmt: skip
    assert response.status_code == 409 and "merged into #1001" in response.headers["HX-Trigger"]
    assert post(client, page(ws_a, 1002), {"status": "open"}).status_code == 409
    fields = {"HX-Request": "true", "HX-Target": "ticket-fields"}
    assert post(client, page(ws_a, 1002), {"priority": "low"}, headers=fields).status_code == 409
    assert merge(client, ws_a, 1002, "1001").status_code == 409
    post(client, f"/w/{ws_a.slug}/tickets/bulk", {"ticket": [1002], "bulk_status": "open"})
    assert snapshot(app, ws_a) == before
    rows = client.get(f"/w/{ws_a.slug}/tickets/").get_data(as_text=True)
    assert 'id="ticket-row-1001"' in rows and 'id="ticket-row-1002"' not in rows  # closed: no work left
    closed = client.get(f"/w/{ws_a.slug}/tickets/?status=closed").get_data(as_text=True)
    assert 'id="ticket-row-1002"' in closed


def test_refusals_change_nothing(app, client, auth, ws_a, ws_b):
    target, source, _, _ = two_of_one_customer(app, ws_a)
    bo = customer(app, ws_a, "Bo Chen")
    make_ticket(app, ws_a, bo, "Someone else's")  # #1003
    done, _ = make_ticket(app, ws_a, customer(app, ws_a, "Cy"), "Merged already")  # #1004
    keeper, _ = make_ticket(app, ws_a, customer(app, ws_a, "Cy Two"), "Keeper")  # #1005
    set_fields(app, ws_a, done, merged_into_id=keeper, status=CLOSED)
    for _ in range(6):  # workspace B has a #1006; A does not
        make_ticket(app, ws_b, customer(app, ws_b, "Bea"), "Beta's")
    auth.login(ws_a.email, ws_a.password)
    before, before_b = snapshot(app, ws_a), snapshot(app, ws_b)
    refusals = {
        "1003": "only tickets of the same customer can be merged",
        "1002": "cannot be merged into itself",
        "1004": "merge into that one instead",
        "1006": "There is no ticket with this number.",
        "99999999999": "There is no ticket with this number.",
        "abc": "There is no ticket with this number.",
        "": "Enter the number of the ticket to merge into.",
    }
    for typed, message in refusals.items():
        response = merge(client, ws_a, 1002, typed)
        html = response.get_data(as_text=True)
        assert response.status_code == 422, typed
        assert message in html and 'aria-invalid="true"' in html, typed
        assert '<details id="ticket-merge" class="panel ticket-merge" open>' in html, typed
        assert_valid_page(html, f"merge into {typed!r}")
        partial = merge(client, ws_a, 1002, typed, headers=MERGE)
        assert partial.status_code == 422 and partial.get_data(as_text=True).lstrip().startswith(
            '<details id="ticket-merge"'
        )
        assert message in partial.get_data(as_text=True) and "<html" not in partial.get_data(as_text=True)
    assert snapshot(app, ws_a) == before and snapshot(app, ws_b) == before_b
    assert ticket_of(app, ws_a, source)["merged_into_id"] is None and ticket_of(app, ws_a, target)["status"] == "new"
    # Another workspace's ticket number under its own slug: the wall of routing.
    assert merge(client, ws_b, 1001, "1002").status_code == 404
    assert snapshot(app, ws_b) == before_b


def test_permissions_follow_the_ticket_page(app, client, ws_a):
    target, source, _, _ = two_of_one_customer(app, ws_a)
    vip = customer(app, ws_a, "Vera Important", level="vip")
    make_ticket(app, ws_a, vip, "VIP one")  # #1003, escalated
    make_ticket(app, ws_a, vip, "VIP two")  # #1004, escalated
    before = snapshot(app, ws_a)
    viewer = make_member(app, ws_a, "vic@alpha.example.com", role="viewer")
    sign_in_as(client, viewer.user_id)
    assert "Merge into another ticket" not in client.get(page(ws_a, 1002)).get_data(as_text=True)
    assert merge(client, ws_a, 1002, "1001").status_code == 403
    seller = make_member(app, ws_a, "sam@alpha.example.com", role="sales")  # no tickets.read
    sign_in_as(client, seller.user_id)
    assert merge(client, ws_a, 1002, "1001").status_code == 403
    agent = make_member(app, ws_a, "sue@alpha.example.com", role="support")  # no tickets.escalated
    sign_in_as(client, agent.user_id)
    assert merge(client, ws_a, 1004, "1003").status_code == 404  # as the ticket page
    response = merge(client, ws_a, 1002, "1003")  # a ticket they cannot see is no ticket
    assert response.status_code == 422 and "There is no ticket with this number." in response.get_data(as_text=True)
    own = make_role(app, ws_a, "Own tickets", ("contacts.read", "tickets.read", "tickets.write"), record_scope="own")
    assign_role(app, ws_a, agent.membership_id, own)
    set_fields(app, ws_a, source, assignee_id=agent.membership_id)
    before = snapshot(app, ws_a)
    response = merge(client, ws_a, 1002, "1001")  # not assigned to them: not theirs to see
    assert response.status_code == 422 and "There is no ticket with this number." in response.get_data(as_text=True)
    assert snapshot(app, ws_a) == before
    set_fields(app, ws_a, target, assignee_id=agent.membership_id)
    assert merge(client, ws_a, 1002, "1001").status_code == 303
    assert ticket_of(app, ws_a, source)["merged_into_id"] == target


JOINED = "This request was joined with request #%d. We emailed the new private link to the address you gave."


def emailed_path(mailbox) -> str:
    """The portal path of the one tracking link emailed (the kept ticket's new one)."""
    [link] = {link for link in mailbox.links() if "/t/" in link}
    return link.removeprefix("http://localhost")


def assert_joined_page(response, number: int, *secrets: str) -> None:
    """The old link's page: the number joined with, nothing of the conversation nor any other link."""
    html = response.get_data(as_text=True)
    assert response.status_code == 410 and JOINED % number in html, html
    assert "Location" not in response.headers and response.headers["Cache-Control"] == "no-store"
    own = response.request.path.split("/t/")[1].split("/")[0]  # the link typed (the footer's "next")
    assert set(re.findall(r"/t/([A-Za-z0-9_-]+)", html)) <= {own}
    for secret in secrets:
        assert secret not in html
    assert_valid_page(html, "joined request")


def test_old_links_stop_and_the_new_one_goes_by_email(app, client, auth, ws_a, mailbox):
    target, source, target_token, source_token = two_of_one_customer(app, ws_a)
    reply(app, ws_a, source, "Staff only: check the courier.", kind=INTERNAL, author_id=ws_a.membership_id)
    auth.login(ws_a.email, ws_a.password)
    mailbox.messages.clear()
    assert merge(client, ws_a, 1002, "1001").status_code == 303
    auth.logout()
    old, kept_old = f"/portal/{ws_a.slug}/t/{source_token}", f"/portal/{ws_a.slug}/t/{target_token}"
    new = emailed_path(mailbox)
    assert [m["To"] for m in mailbox.messages] == ["ann@example.com"]
    assert new not in (old, kept_old) and target_token not in new

    # The duplicate's old link says where its request went, and no more.
    assert_joined_page(client.get(old), 1001, "Sent you photos.", "It arrived broken.", new, target_token)
    # The kept ticket's old link is unknown now, like any other.
    assert client.get(kept_old).status_code == 404
    assert client.get(f"/portal/{ws_a.slug}/t/not-a-token").status_code == 404
    # The emailed link opens the merged conversation; notes stay with the staff.
    html = client.get(new).get_data(as_text=True)
    assert "Sent you photos." in html and "It arrived broken." in html
    assert "check the courier" not in html and "merged into" not in html

    # The old link takes nothing any more: replies, ratings, files, downloads.
    before = snapshot(app, ws_a)
    assert_joined_page(post(client, f"{old}/reply", {"body": "Any news?"}), 1001)
    assert_joined_page(post(client, f"{old}/rate", {"score": "5", "comment": ""}), 1001)
    with app.app_context(), workspace_scope(ws_a.id):
        file_ids = db.session.scalars(sa.select(TicketAttachment.id)).all()
    assert_joined_page(client.get(f"{old}/files/{file_ids[0] if file_ids else 1}"), 1001)
    assert snapshot(app, ws_a) == before
    assert post(client, f"{kept_old}/reply", {"body": "Any news?"}).status_code == 404
    assert snapshot(app, ws_a) == before
    assert ticket_of(app, ws_a, source)["status"] == CLOSED  # the duplicate does not open again

    # A reply through the new link goes on the kept ticket.
    response = post(client, f"{new}/reply", {"body": "Any news?"})
    assert (response.status_code, response.headers["Location"]) == (303, new)
    assert messages_of(app, ws_a, target)[-1] == ("customer", None, "Any news?")


def test_both_addresses_on_record_get_the_new_link_each_in_their_language(app, client, auth, ws_a, mailbox):
    ann = customer(app, ws_a, "Ann Lee")
    target, _ = make_ticket(app, ws_a, ann, "Cracked mug", requester_email="ann@work.example", locale="zh_Hans")
    make_ticket(app, ws_a, ann, "Mug broken", requester_email="ann@example.com", locale="en")  # #1002
    auth.login(ws_a.email, ws_a.password)
    mailbox.messages.clear()
    assert merge(client, ws_a, 1002, "1001").status_code == 303
    mails = {m["To"]: m for m in mailbox.messages}
    assert sorted(mails) == ["ann@example.com", "ann@work.example"]
    assert mails["ann@example.com"]["Subject"] == "[#1002] Mug broken: merged into #1001"
    assert mails["ann@work.example"]["Subject"] == "[#1002] Mug broken：已合并到 #1001"
    [link] = set(mailbox.links())  # the same new link to both
    assert ticket_of(app, ws_a, target)["tracking_token_hash"] == hash_token(link.rsplit("/", 1)[1])


def attack(app, client, auth, ws, mailbox, source: int, target: int) -> tuple[str, str, str]:
    """The review's attack: someone files first with the victim's address, unknown to the
    workspace (the portal shows that link at once); the victim files later with it (same contact,
    link by email only); the staff merge ``source`` into ``target``. Returns the attacker's link,
    the new link emailed and the victim's old (emailed) link."""
    r = submit(client, app, ws, email="victim@example.com", name="Victim", subject="Order 1",
               description="attacker text")  # fmt: skip
    assert r.status_code == 303 and TOKEN_URL.search(r.headers["Location"])
    attacker_link = r.headers["Location"]
    r = submit(client, app, ws, email="victim@example.com", name="Victim", subject="Order 1 again",
               description="VICTIM SECRET: card ends 4242")  # fmt: skip
    assert r.status_code == 303 and "/t/" not in r.headers["Location"]
    victims_link = next(link for link in mailbox.links() if "/t/" in link and not link.endswith(attacker_link))
    auth.login(ws.email, ws.password)
    mailbox.messages.clear()
    assert merge(client, ws, source, str(target)).status_code == 303
    auth.logout()
    assert [m["To"] for m in mailbox.messages] == ["victim@example.com"]
    new = emailed_path(mailbox)
    assert new not in (attacker_link, victims_link)
    return attacker_link, new, victims_link.removeprefix("http://localhost")


def test_the_victims_ticket_merged_into_the_attackers_is_not_shown_at_the_attackers_link(
    app, client, auth, ws_a, mailbox
):
    attacker_link, new, victims_link = attack(app, client, auth, ws_a, mailbox, source=1002, target=1001)
    response = client.get(attacker_link)  # the kept ticket's old link
    assert response.status_code == 404 and "VICTIM SECRET" not in response.get_data(as_text=True)
    assert post(client, f"{attacker_link}/reply", {"body": "send it to me"}).status_code == 404
    assert_joined_page(client.get(victims_link), 1001, "VICTIM SECRET", "attacker text", new)
    html = client.get(new).get_data(as_text=True)  # the victim's mailbox
    assert "VICTIM SECRET" in html and "attacker text" in html


def test_the_attackers_ticket_merged_into_the_victims_does_not_lead_there(app, client, auth, ws_a, mailbox):
    attacker_link, new, victims_link = attack(app, client, auth, ws_a, mailbox, source=1001, target=1002)
    response = client.get(attacker_link)  # the duplicate's old link: no redirect, no token
    assert_joined_page(response, 1002, "VICTIM SECRET", "attacker text", new, victims_link)
    assert_joined_page(post(client, f"{attacker_link}/reply", {"body": "send it to me"}), 1002, "VICTIM SECRET")
    assert messages_of(app, ws_a, ticket_id_of(app, ws_a, 1002))[-1][2] != "send it to me"
    assert client.get(victims_link).status_code == 404  # the victim's old link too: the new one is emailed
    html = client.get(new).get_data(as_text=True)
    assert "VICTIM SECRET" in html and "attacker text" in html


def ticket_id_of(app, ws, number: int) -> int:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.scalar(sa.select(Ticket.id).where(Ticket.number == number))


def test_the_ticket_page_keeps_its_query_budget(app, client, auth, ws_a):
    two_of_one_customer(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    client.get(f"/w/{ws_a.slug}/")
    with count_queries(app) as queries:
        response = client.get(page(ws_a, 1002))
    assert response.status_code == 200 and "Merge into another ticket" in response.get_data(as_text=True)
    # member, ticket, conversation, contact, purchases, other tickets, deals, files, saved replies,
    # categories, workers: the merge form costs nothing.
    assert len(queries) == 11, queries
    assert merge(client, ws_a, 1002, "1001").status_code == 303
    with count_queries(app) as queries:
        response = client.get(page(ws_a, 1002))
    assert "Merged into #1001" in response.get_data(as_text=True)
    # Read-only: no saved replies nor workers; the kept ticket's number (with the category and
    # assignee the read-only details load, as for a viewer).
    assert len(queries) == 11, queries


def test_merged_tickets_leave_the_sla_clocks(app, client, auth, ws_a):
    _target, source, _, _ = two_of_one_customer(app, ws_a)
    set_fields(app, ws_a, source, first_response_due_at=utcnow() - timedelta(hours=1))
    auth.login(ws_a.email, ws_a.password)
    assert 'id="ticket-row-1002"' in client.get(f"/w/{ws_a.slug}/tickets/?tab=breaching").get_data(as_text=True)
    assert merge(client, ws_a, 1002, "1001").status_code == 303
    breaching = client.get(f"/w/{ws_a.slug}/tickets/?tab=breaching&status=all").get_data(as_text=True)
    assert 'id="ticket-row-1002"' not in breaching
    assert "Late" not in client.get(page(ws_a, 1002)).get_data(as_text=True)


def test_a_chain_of_merges_names_the_last_ticket_at_the_first_link(app, client, auth, ws_a):
    target, _source, _, source_token = two_of_one_customer(app, ws_a)
    last, last_token = make_ticket(
        app, ws_a, customer_id_of(app, ws_a, target), "Mug, third time", body="Third time now."
    )  # #1003
    auth.login(ws_a.email, ws_a.password)
    assert merge(client, ws_a, 1002, "1001").status_code == 303
    assert merge(client, ws_a, 1001, "1003").status_code == 303  # the kept one turns out a duplicate too
    assert [body for _kind, _author, body in messages_of(app, ws_a, last)][:3] == [
        "It arrived broken.", "Sent you photos.", "Third time now."
    ]  # fmt: skip
    response = client.get(f"/portal/{ws_a.slug}/t/{source_token}")  # names the live end of the chain
    assert_joined_page(response, 1003, "It arrived broken.", last_token)
    assert client.get(f"/portal/{ws_a.slug}/t/{last_token}").status_code == 404  # renewed by the merge
    assert "Merged into #1003" in client.get(page(ws_a, 1001)).get_data(as_text=True)


def customer_id_of(app, ws, ticket_id: int) -> int:
    return ticket_of(app, ws, ticket_id)["contact_id"]


def replied_while_merged(app, ws, source: int, target: int, reply) -> tuple:
    """Merges ``source`` into ``target`` in a thread that holds its transaction open for a moment
    while ``reply()`` sends a reply (it returns the response and the reply's text); returns that
    response and how many messages of that text were left on the duplicate."""
    from crm.tickets.merge import merge_ticket
    from crm.workspaces.models import Membership

    merged, errors = threading.Event(), []

    def merge_slowly():
        try:
            with app.app_context(), workspace_scope(ws.id):
                actor = db.session.get(Membership, ws.membership_id)
                merge_ticket(db.session.get(Ticket, source), db.session.get(Ticket, target), actor)
                merged.set()
                time.sleep(1.5)  # the reply arrives now, before the merge is committed
                db.session.commit()
        except Exception as error:  # reported by the assertion below
            errors.append(error)
            merged.set()

    thread = threading.Thread(target=merge_slowly)
    thread.start()
    merged.wait(30)
    response, body = reply()
    thread.join(30)
    assert errors == []
    with app.app_context(), workspace_scope(ws.id):
        stranded = db.session.scalar(sa.select(sa.func.count(TicketMessage.id)).where(
            TicketMessage.ticket_id == source, TicketMessage.body == body))  # fmt: skip
    return response, stranded


@pytest.mark.postgres
def test_a_customer_reply_sent_while_the_ticket_is_merged_is_not_left_on_the_duplicate(app, client, ws_a):
    """The customer answers on the duplicate's page while a member merges it: the reply waits for
    the merge, then finds the duplicate merged (410) rather than landing on it, where nobody reads."""
    ann = customer(app, ws_a, "Ann Lee")
    source, token = make_ticket(app, ws_a, ann, subject="Late parcel")
    target, _ = make_ticket(app, ws_a, ann, subject="Where is my order")

    def reply():
        return post(client, f"/portal/{ws_a.slug}/t/{token}/reply", {"body": "Any news?"}), "Any news?"

    response, stranded = replied_while_merged(app, ws_a, source, target, reply)
    assert (response.status_code, stranded) == (410, 0)


@pytest.mark.postgres
def test_a_staff_reply_sent_while_the_ticket_is_merged_is_refused_not_left_on_the_duplicate(app, client, auth, ws_a):
    ann = customer(app, ws_a, "Ann Lee")
    source, _ = make_ticket(app, ws_a, ann, subject="Late parcel")
    target, _ = make_ticket(app, ws_a, ann, subject="Where is my order")
    auth.login(ws_a.email, ws_a.password)

    def reply():
        body = "It left today."
        return post(client, f"{page(ws_a, 1001)}/messages", {"kind": "public", "body": body}), body

    response, stranded = replied_while_merged(app, ws_a, source, target, reply)
    assert (response.status_code, stranded) == (409, 0)
