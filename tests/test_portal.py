"""The public complaint portal (/portal/<slug>/): filing a complaint without an account (a new
contact with source "portal", or the existing one by normalised email; a VIP's lands in the
escalated queue), bad input kept and nothing saved, the honeypot, rate limits per IP and per email,
the tracking page reached only by its token in its own workspace, never showing internal notes,
the customer's reply (reopens, tells the assignee), the rating given once (a low one reopens
escalated with a recovery task), the emails, and valid pages."""

import re
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
    ESCALATED,
    GENERAL,
    INTERNAL,
    OPEN,
    PUBLIC,
    RESOLVED,
    Ticket,
    TicketCategory,
    TicketMessage,
)
from tests.conftest import post
from tests.factories import make_contact, make_member, make_ticket
from tests.test_pages import assert_valid_page

TOKEN_URL = re.compile(r"/portal/([a-z0-9-]+)/t/([A-Za-z0-9_-]+)$")


def category_id(app, ws, name: str = "Delivery") -> int:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.scalar(sa.select(TicketCategory.id).where(TicketCategory.name == name))


def complaint(app, ws, **overrides) -> dict:
    data = {
        "name": "Mei Wong",
        "email": "mei@example.com",
        "phone": "",
        "reference": "ORD-778",
        "category_id": category_id(app, ws),
        "subject": "Parcel arrived crushed",
        "description": "The box was crushed and two cups are broken.",
        "website": "",
    }
    return {**data, **overrides}


def submit(client, app, ws, headers=None, **overrides):
    return post(client, f"/portal/{ws.slug}/new", complaint(app, ws, **overrides), headers=headers)


def tickets_of(app, ws) -> list[dict]:
    with app.app_context(), workspace_scope(ws.id):
        rows = db.session.scalars(sa.select(Ticket).order_by(Ticket.id))
        return [{c.key: getattr(t, c.key) for c in Ticket.__table__.columns} for t in rows]


def contacts_of(app, ws) -> list[tuple]:
    with app.app_context(), workspace_scope(ws.id):
        rows = db.session.scalars(sa.select(Contact).order_by(Contact.id))
        return [(c.id, c.name, c.emails, c.phones, c.source) for c in rows]


def customer(app, ws, name: str, level: str = "ordinary", **fields) -> int:
    contact_id = make_contact(app, ws, name, **fields)
    with app.app_context(), workspace_scope(ws.id):
        contact = db.session.get(Contact, contact_id)
        contact.level, contact.level_pinned = level, True
        db.session.commit()
    return contact_id


def change(app, ws, ticket_id: int, action, *args, **kwargs):
    with app.app_context(), workspace_scope(ws.id):
        result = action(db.session.get(Ticket, ticket_id), *args, **kwargs)
        db.session.commit()
        return result


def resolved_ticket(app, ws, contact_id=None, **fields) -> tuple[int, str]:
    contact_id = contact_id or make_contact(app, ws, "Mei Wong", emails=["mei@example.com"])
    ticket_id, token = make_ticket(app, ws, contact_id, requester_email="mei@example.com", **fields)
    change(app, ws, ticket_id, service.set_status, RESOLVED, ws.membership_id)
    return ticket_id, token


# --- filing a complaint ----------------------------------------------------------------------------


def test_the_home_page_shows_the_workspace_and_a_way_to_complain(client, ws_a):
    page = client.get(f"/portal/{ws_a.slug}/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<h1>Alpha Trading</h1>" in html
    assert "You do not need an account" in html  # the default intro
    assert f'href="/portal/{ws_a.slug}/new"' in html
    assert "Log in" not in html and "Search" not in html  # no staff chrome


def test_a_complaint_creates_a_portal_contact_and_a_ticket_and_mails_the_private_link(app, client, mailbox, ws_a):
    response = submit(client, app, ws_a, phone="(650) 253-0000")
    assert response.status_code == 303
    slug, token = TOKEN_URL.search(response.headers["Location"]).groups()
    assert slug == ws_a.slug
    assert response.headers["Cache-Control"] == "no-store"

    [(contact_id, name, emails, phones, source)] = contacts_of(app, ws_a)
    assert (name, emails, phones, source) == ("Mei Wong", ["mei@example.com"], ["+16502530000"], "portal")
    [ticket] = tickets_of(app, ws_a)
    assert (ticket["number"], ticket["channel"], ticket["queue"], ticket["status"]) == (1001, "portal", GENERAL, "new")
    assert (ticket["contact_id"], ticket["category_id"], ticket["reference"]) == (
        contact_id, category_id(app, ws_a), "ORD-778",
    )  # fmt: skip
    assert ticket["tracking_token_hash"] == service.hash_token(token)

    [message] = mailbox.messages
    assert message["To"] == "mei@example.com"
    assert "#1001" in message["Subject"]
    assert mailbox.links() == [f"http://localhost/portal/{ws_a.slug}/t/{token}"]

    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Its number is #1001" in html and "Keep the link of this page private" in html
    assert "Parcel arrived crushed" in html and "two cups are broken" in html
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    assert_valid_page(html, "track")
    # The notice is shown once.
    assert "Its number is" not in client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_complaint_goes_to_the_contact_holding_the_email(app, client, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], phones=["+16502530000"])
    response = submit(client, app, ws_a, name="A. Lee", email="  ANN@Example.COM ", phone="+1 650 253 0001")
    assert response.status_code == 303
    [ticket] = tickets_of(app, ws_a)
    assert ticket["contact_id"] == ann
    assert ticket["requester_email"] == "ann@example.com"
    # Nothing the visitor typed changed the customer record.
    assert [c[:4] for c in contacts_of(app, ws_a)] == [(ann, "Ann Lee", ["ann@example.com"], ["+16502530000"])]


def test_a_vip_complaint_lands_in_the_escalated_queue(app, client, ws_a):
    customer(app, ws_a, "Vera Important", level="vip", emails=["vera@example.com"])
    assert submit(client, app, ws_a, email="vera@example.com").status_code == 303
    assert [t["queue"] for t in tickets_of(app, ws_a)] == [ESCALATED]


def test_bad_input_comes_back_filled_with_a_message_by_each_field_and_saves_nothing(app, client, mailbox, ws_a):
    response = submit(client, app, ws_a, name="", email="not-an-email", phone="12", category_id="", subject="",
                      description="Still broken <b>cups</b>", reference="R-" + "9" * 200)  # fmt: skip
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for field in ("name", "email", "phone", "reference", "category_id", "subject"):
        assert f'id="{field}-error"' in html, field
    assert 'value="not-an-email"' in html and 'value="12"' in html
    assert "Still broken &lt;b&gt;cups&lt;/b&gt;" in html
    assert "Enter your name." in html and "Choose what your complaint is about." in html
    assert_valid_page(html, "new (422)")
    assert tickets_of(app, ws_a) == [] and contacts_of(app, ws_a) == [] and mailbox.messages == []


def test_a_retired_or_foreign_category_is_refused(app, client, ws_a, ws_b):
    delivery = category_id(app, ws_a)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(TicketCategory, delivery).active = False
        db.session.commit()
    for value in (delivery, category_id(app, ws_b), "abc"):
        response = submit(client, app, ws_a, category_id=value)
        assert response.status_code == 422, value
        assert 'id="category_id-error"' in response.get_data(as_text=True)
    assert f'value="{delivery}"' not in client.get(f"/portal/{ws_a.slug}/new").get_data(as_text=True)
    assert tickets_of(app, ws_a) == [] and tickets_of(app, ws_b) == []


def test_a_filled_honeypot_answers_like_success_and_saves_nothing(app, client, mailbox, ws_a):
    response = submit(client, app, ws_a, website="http://spam.example.com")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/portal/{ws_a.slug}/"
    assert "We received your complaint" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert tickets_of(app, ws_a) == [] and contacts_of(app, ws_a) == [] and mailbox.messages == []


def test_the_honeypot_is_hidden_from_people_and_assistive_technology(client, ws_a):
    html = client.get(f"/portal/{ws_a.slug}/new").get_data(as_text=True)
    assert re.search(r'<div class="hp-field">\s*<label for="website">', html)
    assert ".hp-field { display: none; }" in client.get("/static/app.css").get_data(as_text=True)


def test_submitting_is_rate_limited_per_ip(app, client, ws_a):
    statuses = [submit(client, app, ws_a, email=f"c{i}@example.com", subject="").status_code for i in range(6)]
    assert statuses == [422] * 5 + [429]
    # The refusal still wears the portal's own layout.
    response = submit(client, app, ws_a, email="late@example.com")
    assert response.status_code == 429
    assert "Alpha Trading" in response.get_data(as_text=True)
    assert tickets_of(app, ws_a) == []


def test_submitting_is_rate_limited_per_email_whatever_the_ip(app, client, ws_a):
    statuses = []
    for i in range(6):
        data = complaint(app, ws_a, email="Mei@Example.com " if i % 2 else "mei@example.com", subject="")
        address = {"REMOTE_ADDR": f"10.0.0.{i + 1}"}
        statuses.append(post(client, f"/portal/{ws_a.slug}/new", data, environ_base=address).status_code)
    assert statuses == [422] * 5 + [429]
    other = post(client, f"/portal/{ws_a.slug}/new", complaint(app, ws_a, email="bo@example.com"),
                 environ_base={"REMOTE_ADDR": "10.0.0.9"})  # fmt: skip
    assert other.status_code == 303


def test_a_signed_in_staff_member_files_as_the_customer(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    assert submit(client, app, ws_a).status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "ticket.created"))
        assert (entry.actor_id, entry.actor_label) == (None, "")


# --- the workspace and the token -------------------------------------------------------------------


def test_an_unknown_slug_is_404_and_an_old_one_redirects(app, client, auth, ws_a):
    for url in ("/portal/no-such-shop/", "/portal/no-such-shop/new", "/portal/no-such-shop/t/abc"):
        assert client.get(url).status_code == 404, url
    _, token = resolved_ticket(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    settings = {"name": "Alpha Trading", "slug": "alpha-shop", "timezone": "UTC", "currency": "USD",
                "phone_region": "US"}  # fmt: skip
    assert post(client, f"/w/{ws_a.slug}/settings", settings).status_code == 303
    auth.logout()
    response = client.get(f"/portal/{ws_a.slug}/t/{token}")
    assert (response.status_code, response.headers["Location"]) == (301, f"/portal/alpha-shop/t/{token}")
    assert client.get(f"/portal/alpha-shop/t/{token}").status_code == 200


def test_a_deleted_workspace_has_no_portal(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    assert post(client, f"/w/{ws_a.slug}/settings/delete", {"confirm_name": "Alpha Trading"}).status_code == 303
    assert client.get(f"/portal/{ws_a.slug}/").status_code == 404


def test_a_guessed_token_is_404(app, client, ws_a):
    resolved_ticket(app, ws_a)
    for token in ("abc", "x" * 43, "x" * 500):
        assert client.get(f"/portal/{ws_a.slug}/t/{token}").status_code == 404
        assert post(client, f"/portal/{ws_a.slug}/t/{token}/reply", {"body": "hi"}).status_code == 404
        assert post(client, f"/portal/{ws_a.slug}/t/{token}/rate", {"score": "5"}).status_code == 404


def test_another_workspaces_token_is_404_under_this_slug(app, client, ws_a, ws_b):
    _, token = resolved_ticket(app, ws_b, subject="Secret of Beta")
    assert client.get(f"/portal/{ws_b.slug}/t/{token}").status_code == 200
    response = client.get(f"/portal/{ws_a.slug}/t/{token}")
    assert response.status_code == 404
    assert "Secret of Beta" not in response.get_data(as_text=True)
    assert post(client, f"/portal/{ws_a.slug}/t/{token}/reply", {"body": "hi"}).status_code == 404
    assert post(client, f"/portal/{ws_a.slug}/t/{token}/rate", {"score": "5"}).status_code == 404


def test_the_tracking_page_never_shows_internal_notes(app, client, ws_a):
    sue = make_member(app, ws_a, "sue.park@alpha.example.com", role="support")
    with app.app_context(), workspace_scope(ws_a.id):
        from crm.auth.models import User
        from crm.workspaces.models import Membership

        db.session.get(User, db.session.get(Membership, sue.membership_id).user_id).name = "Sue Park"
        db.session.commit()
    contact = make_contact(app, ws_a, "Mei Wong", emails=["mei@example.com"])
    ticket_id, token = make_ticket(app, ws_a, contact)
    change(app, ws_a, ticket_id, service.add_reply, "Customer is a pain, refund anyway", kind=INTERNAL,
           author_id=sue.membership_id)  # fmt: skip
    change(app, ws_a, ticket_id, service.add_reply, "Sorry! A refund is on its way.", kind=PUBLIC,
           author_id=sue.membership_id)  # fmt: skip
    html = client.get(f"/portal/{ws_a.slug}/t/{token}").get_data(as_text=True)
    assert "Sorry! A refund is on its way." in html
    assert "<strong>Sue</strong>" in html and "Park" not in html
    assert "Customer is a pain" not in html
    assert "In progress" in html  # the first public reply opened it
    assert "First answer" in html


# --- replies and ratings ---------------------------------------------------------------------------


def test_a_customer_reply_reopens_a_resolved_ticket_and_tells_the_assignee(app, client, mailbox, ws_a):
    sue = make_member(app, ws_a, "sue@alpha.example.com", role="support")
    ticket_id, token = resolved_ticket(app, ws_a)
    change(app, ws_a, ticket_id, service.assign, sue.membership_id)
    response = post(client, f"/portal/{ws_a.slug}/t/{token}/reply", {"body": "Still no refund."})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/portal/{ws_a.slug}/t/{token}"
    [ticket] = tickets_of(app, ws_a)
    assert (ticket["status"], ticket["resolved_at"]) == (OPEN, None)
    with app.app_context(), workspace_scope(ws_a.id):
        kinds = [(m.kind, m.body) for m in db.session.scalars(sa.select(TicketMessage).order_by(TicketMessage.id))]
    assert kinds[-1] == (CUSTOMER, "Still no refund.")
    [message] = mailbox.messages
    assert message["To"] == "sue@alpha.example.com"
    assert "#1001" in message["Subject"]
    assert "Still no refund." in message.get_body(("plain",)).get_content()
    assert mailbox.links() == [f"http://localhost/w/{ws_a.slug}/tickets/1001"]
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "open again" in html and "Still no refund." in html


def test_send_tapped_twice_sends_the_reply_once(app, client, mailbox, ws_a):
    """A second tap on "Send" (the first on its way on a slow phone) is not a second message; the
    same words minutes later, or other words, are."""
    _ticket_id, token = resolved_ticket(app, ws_a)
    url = f"/portal/{ws_a.slug}/t/{token}/reply"
    for _tap in range(2):
        response = post(client, url, {"body": "Still no refund."})
        assert response.status_code == 303 and response.headers["Location"] == f"/portal/{ws_a.slug}/t/{token}"
    assert post(client, url, {"body": "Any news?"}).status_code == 303

    def said() -> list[str]:
        with app.app_context(), workspace_scope(ws_a.id):
            kept = sa.select(TicketMessage.body).where(TicketMessage.kind == CUSTOMER).order_by(TicketMessage.id)
            return list(db.session.scalars(kept))

    assert said()[-2:] == ["Still no refund.", "Any news?"] and said().count("Still no refund.") == 1
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.execute(sa.update(TicketMessage).values(created_at=utcnow() - timedelta(minutes=3)))
        db.session.commit()
    assert post(client, url, {"body": "Any news?"}).status_code == 303
    assert said()[-2:] == ["Any news?", "Any news?"]  # asked again, minutes later


def test_an_empty_reply_is_422_and_saves_nothing(app, client, mailbox, ws_a):
    _, token = resolved_ticket(app, ws_a)
    response = post(client, f"/portal/{ws_a.slug}/t/{token}/reply", {"body": "  "})
    assert response.status_code == 422
    assert 'id="body-error"' in response.get_data(as_text=True)
    assert_valid_page(response.get_data(as_text=True), "reply (422)")
    assert tickets_of(app, ws_a)[0]["status"] == RESOLVED
    assert mailbox.messages == []


def test_a_ticket_is_rated_once(app, client, ws_a):
    ticket_id, token = resolved_ticket(app, ws_a)
    change(app, ws_a, ticket_id, service.set_status, CLOSED, ws_a.membership_id)
    page = client.get(f"/portal/{ws_a.slug}/t/{token}").get_data(as_text=True)
    assert "<legend>How satisfied are you" in page and 'type="radio"' in page
    assert_valid_page(page, "track with rating form")

    response = post(client, f"/portal/{ws_a.slug}/t/{token}/rate", {"score": "4", "comment": "Quick, thanks"})
    assert response.status_code == 303
    [ticket] = tickets_of(app, ws_a)
    assert (ticket["rating"], ticket["rating_comment"], ticket["status"]) == (4, "Quick, thanks", CLOSED)
    page = client.get(f"/portal/{ws_a.slug}/t/{token}").get_data(as_text=True)
    assert "You rated our handling 4 of 5." in page and 'type="radio"' not in page

    again = post(client, f"/portal/{ws_a.slug}/t/{token}/rate", {"score": "1"})
    assert again.status_code == 409
    assert "rated this complaint already" in again.get_data(as_text=True)
    assert tickets_of(app, ws_a)[0]["rating"] == 4


def test_rating_needs_a_resolved_ticket_and_a_score(app, client, ws_a):
    contact = make_contact(app, ws_a, "Mei Wong", emails=["mei@example.com"])
    _, open_token = make_ticket(app, ws_a, contact)
    assert 'type="radio"' not in client.get(f"/portal/{ws_a.slug}/t/{open_token}").get_data(as_text=True)
    assert post(client, f"/portal/{ws_a.slug}/t/{open_token}/rate", {"score": "5"}).status_code == 409
    _, token = resolved_ticket(app, ws_a, contact)
    for score in ("", "7", "x"):
        response = post(client, f"/portal/{ws_a.slug}/t/{token}/rate", {"score": score, "comment": "kept"})
        assert response.status_code == 422, score
        assert 'id="score-error"' in response.get_data(as_text=True)
    assert [t["rating"] for t in tickets_of(app, ws_a)] == [None, None]


def test_a_rating_of_2_reopens_escalated_with_a_recovery_task(app, client, ws_a):
    owner = make_member(app, ws_a, "olga@alpha.example.com", role="sales")
    contact = make_contact(app, ws_a, "Mei Wong", emails=["mei@example.com"], owner_id=owner.membership_id)
    _, token = resolved_ticket(app, ws_a, contact)
    assert post(client, f"/portal/{ws_a.slug}/t/{token}/rate", {"score": "2", "comment": "Rude"}).status_code == 303
    [ticket] = tickets_of(app, ws_a)
    assert (ticket["rating"], ticket["status"], ticket["queue"]) == (2, OPEN, ESCALATED)
    with app.app_context(), workspace_scope(ws_a.id):
        [task] = db.session.scalars(sa.select(Activity).where(Activity.kind == "task")).all()
        assert (task.contact_id, task.assignee_id) == (contact, owner.membership_id)
        assert "#1001" in task.body


def test_replies_and_ratings_are_rate_limited_per_ip(app, client, ws_a):
    _, token = resolved_ticket(app, ws_a)
    statuses = [post(client, f"/portal/{ws_a.slug}/t/{token}/reply", {"body": ""}).status_code for _ in range(11)]
    assert statuses == [422] * 10 + [429]
    statuses = [post(client, f"/portal/{ws_a.slug}/t/{token}/rate", {"score": ""}).status_code for _ in range(11)]
    assert statuses == [422] * 10 + [429]


# --- branding and pages ----------------------------------------------------------------------------


def test_the_logo_is_public_and_shown_in_the_header(app, client, ws_a):
    from tests.test_workspace_settings import TINY_PNG, set_logo

    assert client.get(f"/portal/{ws_a.slug}/logo").status_code == 404
    assert "portal-logo" not in client.get(f"/portal/{ws_a.slug}/").get_data(as_text=True)
    set_logo(app, ws_a)
    response = client.get(f"/portal/{ws_a.slug}/logo")
    assert (response.status_code, response.content_type, response.data) == (200, "image/png", TINY_PNG)
    assert "public" in response.headers["Cache-Control"]
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert f'src="/portal/{ws_a.slug}/logo"' in client.get(f"/portal/{ws_a.slug}/").get_data(as_text=True)


def test_portal_pages_are_valid_and_translated(app, client, ws_a):
    for url in (f"/portal/{ws_a.slug}/", f"/portal/{ws_a.slug}/new", f"/portal/{ws_a.slug}/t/not-a-token",
                "/portal/no-such-shop/"):  # fmt: skip
        assert_valid_page(client.get(url).get_data(as_text=True), url)
    html = client.get(f"/portal/{ws_a.slug}/new").get_data(as_text=True)
    assert '<html lang="en">' in html and 'class="skip-link"' in html
    assert f'name="next" value="/portal/{ws_a.slug}/new"' in html  # the language switch comes back here


@pytest.mark.parametrize("intro", ["We answer within a day.\nCall us too."])
def test_the_home_page_shows_the_workspace_intro(app, client, ws_a, intro):
    from crm.workspaces.models import Workspace

    with app.app_context():
        db.session.get(Workspace, ws_a.id).portal_intro = intro
        db.session.commit()
    html = client.get(f"/portal/{ws_a.slug}/").get_data(as_text=True)
    assert intro in html and "You do not need an account" not in html
