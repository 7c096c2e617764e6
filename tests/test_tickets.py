"""The staff side of tickets (crm/tickets/routes.py): the queue's tabs, filters, search and keyset
pages within a query budget; escalated tickets hidden from members without tickets.escalated;
a role limited to its own tickets; the ticket page's replies and internal notes, its fields
changed in place (422 and nothing saved on a bad value); the emails to the customer (with the
private tracking link) and to the assignee; opening a ticket for a customer; permissions."""

import re

import sqlalchemy as sa

from crm.contacts.models import Contact
from crm.extensions import db
from crm.tenancy import workspace_scope
from crm.tickets.models import ESCALATED, INTERNAL, PUBLIC, Ticket, TicketMessage
from crm.tickets.service import open_ticket
from tests.conftest import post, sent_by_browser
from tests.factories import assign_role, make_member, make_purchase, make_role, make_ticket
from tests.query_counter import count_queries
from tests.test_pages import assert_valid_page
from tests.test_permissions import sign_in_as
from tests.test_tickets_service import category_id, customer, messages_of, ticket_of

RESULTS = {"HX-Request": "true", "HX-Target": "ticket-results"}
MORE = {"HX-Request": "true", "HX-Target": "ticket-more"}
FIELDS = {"HX-Request": "true", "HX-Target": "ticket-fields"}
REPLY = {"HX-Request": "true", "HX-Target": "ticket-reply"}
ROW = re.compile(r'id="ticket-row-(\d+)"')


def queue(ws) -> str:
    return f"/w/{ws.slug}/tickets/"


def numbers(response) -> list[int]:
    return [int(n) for n in ROW.findall(response.get_data(as_text=True))]


def number_of(app, ws, ticket_id: int) -> int:
    return ticket_of(app, ws, ticket_id)["number"]


def set_fields(app, ws, ticket_id: int, **fields) -> None:
    with app.app_context(), workspace_scope(ws.id):
        ticket = db.session.get(Ticket, ticket_id)
        for name, value in fields.items():
            setattr(ticket, name, value)
        db.session.commit()


def agent(app, ws, email: str = "sue@alpha.example.com", role: str = "support"):
    return make_member(app, ws, email, role=role)


def test_queue_rows_escape_what_customers_wrote(app, client, auth, ws_a):
    vip = customer(app, ws_a, "O'Brien <b>&</b>", level="vip")
    ticket_id, _ = make_ticket(app, ws_a, vip, '<img src=x onerror="alert(1)">')
    auth.login(ws_a.email, ws_a.password)
    page = client.get(queue(ws_a) + "?tab=all").get_data(as_text=True)
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;</a>" in page and "<img src=x" not in page
    assert "O&#39;Brien &lt;b&gt;&amp;&lt;/b&gt;</a>" in page and "<b>&</b>" not in page
    assert '<span class="badge level-vip">VIP</span>' in page
    number = number_of(app, ws_a, ticket_id)
    assert f'<label for="pick-{number}" class="visually-hidden">Choose ticket #{number}</label>' in page
    assert_valid_page(page, "queue")


def test_queue_rows_name_the_category_and_assignee_even_one_no_longer_working(app, client, auth, ws_a):
    # The names come from the workspace's lists, not from the page's query (crm/tickets/queries.py).
    from crm.auth.models import User
    from crm.tickets.models import TicketCategory
    from crm.workspaces.models import Membership

    sue = agent(app, ws_a)
    ann = customer(app, ws_a, "Ann Lee")
    delivery = category_id(app, ws_a)
    first, _ = make_ticket(app, ws_a, ann, "Broken cup", category_id=delivery)
    make_ticket(app, ws_a, ann, "Loose lid")
    set_fields(app, ws_a, first, assignee_id=sue.membership_id)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(TicketCategory, delivery).name = "Cups <i>&</i>"
        db.session.get(Membership, sue.membership_id).status = "disabled"
        db.session.scalar(sa.select(User).where(User.email == sue.email)).name = "Sue <b>"
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    page = client.get(queue(ws_a)).get_data(as_text=True)
    rows = {number: page.split(f'id="ticket-row-{number}"')[1].split("</tr>")[0] for number in (1001, 1002)}
    assert "<td>Cups &lt;i&gt;&amp;&lt;/i&gt;</td>" in rows[1001] and "<td>Sue &lt;b&gt;</td>" in rows[1001]
    assert "<td></td>" in rows[1002] and "<td>Nobody</td>" in rows[1002]
    assert f'<option value="{sue.membership_id}">Sue' not in page  # disabled: no longer offered as an assignee


def assignee_choices(page: str) -> str:
    return page.split('id="ticket-field-assignee"')[1].split("</select>")[0]


def test_changing_a_field_keeps_an_assignee_who_no_longer_works_tickets(app, client, auth, ws_a):
    """The fields form sends every field on each change: an assignee it did not offer (disabled since)
    stays chosen in it, so resolving the ticket does not quietly take it from them."""
    from crm.workspaces.models import Membership

    sue = agent(app, ws_a)
    ticket_id, _ = make_ticket(app, ws_a, customer(app, ws_a, "Ann Lee"))
    set_fields(app, ws_a, ticket_id, assignee_id=sue.membership_id)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Membership, sue.membership_id).status = "disabled"
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    url = f"/w/{ws_a.slug}/tickets/1001"
    page = client.get(url).get_data(as_text=True)
    assert f'<option value="{sue.membership_id}" selected>' in assignee_choices(page)
    form = sent_by_browser(page.split('id="ticket-fields"')[1].split("</form>")[0])
    response = post(client, url, {**form, "status": "resolved"}, headers=FIELDS)
    assert response.status_code == 200
    saved = ticket_of(app, ws_a, ticket_id)
    assert (saved["status"], saved["assignee_id"]) == ("resolved", sue.membership_id)


def test_an_escalated_ticket_goes_only_to_members_who_work_that_queue(app, client, auth, ws_a, mailbox):
    sue = agent(app, ws_a)  # support: no tickets.escalated, so she never sees an escalated ticket
    max_ = agent(app, ws_a, "max@alpha.example.com", role="manager")
    general, _ = make_ticket(app, ws_a, customer(app, ws_a, "Ann Lee"))
    escalated, _ = make_ticket(app, ws_a, customer(app, ws_a, "Vera Important", level="vip"))
    assert ticket_of(app, ws_a, escalated)["queue"] == ESCALATED
    auth.login(ws_a.email, ws_a.password)
    offered = assignee_choices(client.get(f"/w/{ws_a.slug}/tickets/1002").get_data(as_text=True))
    assert f'<option value="{max_.membership_id}">' in offered
    assert f'<option value="{sue.membership_id}">' not in offered
    response = post(client, f"/w/{ws_a.slug}/tickets/1002", {"assignee_id": str(sue.membership_id)}, headers=FIELDS)
    assert response.status_code == 422 and ticket_of(app, ws_a, escalated)["assignee_id"] is None
    bulk = post(client, f"/w/{ws_a.slug}/tickets/bulk", {"ticket": ["1001", "1002"],
                                                          "bulk_assignee": str(sue.membership_id)})  # fmt: skip
    assert bulk.status_code == 303
    assert ticket_of(app, ws_a, escalated)["assignee_id"] is None
    assert ticket_of(app, ws_a, general)["assignee_id"] is None  # nothing saved when a value is refused
    assert mailbox.messages == []


def test_queue_tabs_and_status(app, client, auth, ws_a):
    sue = agent(app, ws_a)
    ann = customer(app, ws_a, "Ann Lee")
    vip = customer(app, ws_a, "Vera Important", level="vip")
    make_ticket(app, ws_a, ann, "Loose lid")
    mine, _ = make_ticket(app, ws_a, ann, "Cracked mug")
    escalated, _ = make_ticket(app, ws_a, vip, "Late delivery")
    done, _ = make_ticket(app, ws_a, ann, "Wrong colour")
    set_fields(app, ws_a, mine, assignee_id=sue.membership_id)
    set_fields(app, ws_a, done, status="resolved")
    set_fields(app, ws_a, escalated, assignee_id=ws_a.membership_id)
    auth.login(ws_a.email, ws_a.password)
    url = queue(ws_a)
    page = client.get(url)
    assert page.status_code == 200
    assert numbers(page) == [1003, 1002, 1001]  # open work, newest first; the resolved one left out
    html = page.get_data(as_text=True)
    assert "Vera Important" in html and "VIP" in html
    assert ">Escalated</a>" in html and 'aria-current="page">All</a>' in html
    assert numbers(client.get(url, query_string={"tab": "unassigned"})) == [1001]
    assert numbers(client.get(url, query_string={"tab": "escalated"})) == [1003]
    assert numbers(client.get(url, query_string={"tab": "mine"})) == [1003]
    assert numbers(client.get(url, query_string={"status": "all"})) == [1004, 1003, 1002, 1001]
    assert numbers(client.get(url, query_string={"status": "resolved"})) == [1004]
    assert numbers(client.get(url, query_string={"status": "all", "sort": "oldest"})) == [1001, 1002, 1003, 1004]
    assert numbers(client.get(url, query_string={"status": "bogus", "tab": "bogus", "sort": "x"})) == [1003, 1002, 1001]
    auth.logout()
    auth.login(sue.email, sue.password)
    assert numbers(client.get(url, query_string={"tab": "mine"})) == [1002]
    empty = client.get(url, query_string={"tab": "mine", "status": "closed"}).get_data(as_text=True)
    assert "No ticket matches" in empty


def test_queue_filters_and_search(app, client, auth, ws_a):
    sue = agent(app, ws_a)
    ann = customer(app, ws_a, "Ann Lee")
    bo = customer(app, ws_a, "Bo Chen")
    make_ticket(app, ws_a, ann, "Broken cup", priority="high", category_id=category_id(app, ws_a))
    second, _ = make_ticket(app, ws_a, bo, "Missing saucer", requester_email="bo.chen@example.com")
    make_ticket(app, ws_a, bo, "Cup arrived broken", requester_name="Bob Chen")
    set_fields(app, ws_a, second, assignee_id=sue.membership_id)
    auth.login(ws_a.email, ws_a.password)
    url = queue(ws_a)

    def found(**args):
        return numbers(client.get(url, query_string=args))

    assert found(priority="high") == [1001]
    assert found(category=str(category_id(app, ws_a))) == [1001]
    assert found(assignee=str(sue.membership_id)) == [1002]
    assert found(assignee="none") == [1003, 1001]
    assert found(assignee="me") == []
    assert found(q="1002") == [1002]
    assert found(q="#1003") == [1003]
    assert found(q="broken cup") == [1003, 1001]  # every word, anywhere in the subject
    assert found(q="bob") == [1003]  # the requester's name
    assert found(q="bo.chen@") == [1002]  # the requester's email
    assert found(q="100%_") == []
    assert found(q="CHEN saucer") == [1002]  # any case, words in any field
    # Search as you type: the results and the tabs (their links keep the filters), not the page.
    partial = client.get(url, query_string={"q": "saucer"}, headers=RESULTS)
    html = partial.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="ticket-results">') and "<html" not in html
    assert 'id="ticket-tabs" class="tabs"' in html and 'data-hx-swap-oob="true"' in html and "q=saucer" in html
    assert numbers(partial) == [1002]
    assert "Vary" in partial.headers and "HX-Target" in partial.headers["Vary"]


def many_tickets(app, ws, contact_id: int, count: int) -> None:
    with app.app_context(), workspace_scope(ws.id):
        contact = db.session.get(Contact, contact_id)
        for n in range(count):
            open_ticket(contact=contact, subject=f"Complaint {n}", body="x", channel="phone",
                        requester_name=None, requester_email=None)  # fmt: skip
        db.session.commit()


def test_queue_pages_with_load_more_within_the_query_budget(app, client, auth, ws_a):
    agent(app, ws_a)
    ann = customer(app, ws_a, "Ann Lee")
    many_tickets(app, ws_a, ann, 120)
    auth.login(ws_a.email, ws_a.password)
    client.get(f"/w/{ws_a.slug}/")
    for sort, expected in (("newest", list(range(1120, 1000, -1))), ("oldest", list(range(1001, 1121)))):
        with count_queries(app) as queries:
            response = client.get(queue(ws_a), query_string={"sort": sort})
        assert len(queries) == 4, queries  # member, the page with its customers, categories, staff
        walked = numbers(response)
        assert len(walked) == 50
        while match := re.search(r'data-hx-get="([^"]+after=[^"]+)"', response.get_data(as_text=True)):
            with count_queries(app) as queries:
                response = client.get(match.group(1).replace("&amp;", "&"), headers=MORE)
            assert len(queries) == 4, queries  # the same however deep
            walked += numbers(response)
        assert walked == expected, sort
    assert client.get(queue(ws_a), query_string={"after": "not-a-cursor"}).status_code == 400


def test_escalated_tickets_are_hidden_from_members_without_the_permission(app, client, ws_a):
    sue = agent(app, ws_a)
    ann = customer(app, ws_a, "Ann Lee")
    vip = customer(app, ws_a, "Vera Important", level="vip")
    make_ticket(app, ws_a, ann, "Loose lid")
    escalated, _ = make_ticket(app, ws_a, vip, "Late delivery")
    assert ticket_of(app, ws_a, escalated)["queue"] == ESCALATED
    sign_in_as(client, sue.user_id)
    url = queue(ws_a)
    page = client.get(url, query_string={"status": "all"}).get_data(as_text=True)
    assert numbers(client.get(url, query_string={"status": "all"})) == [1001]
    assert "Late delivery" not in page and ">Escalated</a>" not in page
    assert numbers(client.get(url, query_string={"tab": "escalated"})) == [1001]  # falls back to All
    assert numbers(client.get(url, query_string={"q": "#1002"})) == []
    assert client.get(f"/w/{ws_a.slug}/tickets/1002").status_code == 404
    assert post(client, f"/w/{ws_a.slug}/tickets/1002/messages", {"body": "hi"}).status_code == 404
    assert post(client, f"/w/{ws_a.slug}/tickets/1002", {"status": "closed"}).status_code == 404
    assert messages_of(app, ws_a, escalated) == [("customer", None, "It arrived broken.")]
    assert ticket_of(app, ws_a, escalated)["status"] == "new"
    # A manager works the escalated queue.
    manager = make_member(app, ws_a, "max@alpha.example.com", role="manager")
    sign_in_as(client, manager.user_id)
    assert numbers(client.get(url, query_string={"tab": "escalated"})) == [1002]
    assert client.get(f"/w/{ws_a.slug}/tickets/1002").status_code == 200


def test_a_role_limited_to_its_own_sees_only_tickets_assigned_to_it(app, client, ws_a):
    own = make_role(app, ws_a, "Own tickets", ("contacts.read", "tickets.read", "tickets.write"), record_scope="own")
    sue = agent(app, ws_a)
    assign_role(app, ws_a, sue.membership_id, own)
    ann = customer(app, ws_a, "Ann Lee")
    make_ticket(app, ws_a, ann, "Not mine")
    mine, _ = make_ticket(app, ws_a, ann, "Mine")
    set_fields(app, ws_a, mine, assignee_id=sue.membership_id)
    sign_in_as(client, sue.user_id)
    assert numbers(client.get(queue(ws_a))) == [1002]
    assert numbers(client.get(queue(ws_a), query_string={"tab": "unassigned"})) == []
    assert client.get(f"/w/{ws_a.slug}/tickets/1001").status_code == 404
    page = client.get(f"/w/{ws_a.slug}/tickets/1002").get_data(as_text=True)
    assert "Mine" in page and "#1001" not in page  # the customer's other ticket is not theirs either


def test_reply_to_customer_and_internal_note(app, client, auth, ws_a, mailbox):
    ann = customer(app, ws_a, "Ann Lee")
    ticket_id, token = make_ticket(app, ws_a, ann, requester_email="ann@example.com")
    auth.login(ws_a.email, ws_a.password)
    url = f"/w/{ws_a.slug}/tickets/1001/messages"
    response = post(client, url, {"kind": "public", "body": "Sorry! A new cup is on its way."}, headers=REPLY)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<form id="ticket-reply"')  # a fresh form...
    assert (
        'data-hx-swap-oob="beforeend:#ticket-messages"' in html and "A new cup is on its way" in html
    )  # ...the message
    assert 'id="ticket-fields"' in html and '<option value="open" selected>' in html  # new -> open
    assert ticket_of(app, ws_a, ticket_id)["status"] == "open"
    assert ticket_of(app, ws_a, ticket_id)["first_responded_at"] is not None
    [mail] = mailbox.messages
    assert mail["To"] == "ann@example.com" and "#1001" in mail["Subject"]
    assert "A new cup is on its way" in mail.get_body(("plain",)).get_content()
    assert any(f"/portal/{ws_a.slug}/t/{token}" in link for link in mailbox.links())

    response = post(client, url, {"kind": "internal", "body": "Courier lost it twice."})  # no JavaScript
    assert response.status_code == 303 and re.search(r"/tickets/1001#message-\d+$", response.headers["Location"])
    assert len(mailbox.messages) == 1  # the customer is not told about notes
    page = client.get(f"/w/{ws_a.slug}/tickets/1001").get_data(as_text=True)
    note = re.search(r'<li id="message-\d+" class="message message-internal">(.*?)</li>', page, re.S).group(1)
    assert "Internal note — the customer does not see this" in note and "Courier lost it twice." in note
    assert page.index("It arrived broken.") < page.index("A new cup") < page.index("Courier lost")  # oldest first
    assert [(kind, body[:5]) for kind, _author, body in messages_of(app, ws_a, ticket_id)] == [
        ("customer", "It ar"), (PUBLIC, "Sorry"), (INTERNAL, "Couri"),
    ]  # fmt: skip

    for bad in ({"kind": "public", "body": "  "}, {"kind": "customer", "body": "Pretending"}, {"body": "x" * 10_001}):
        response = post(client, url, bad, headers=REPLY)
        assert response.status_code == 422, bad
        assert 'id="ticket-reply"' in response.get_data(as_text=True)
    assert post(client, url, {"kind": "public", "body": ""}).status_code == 422  # the whole page, no JavaScript
    assert len(messages_of(app, ws_a, ticket_id)) == 3 and len(mailbox.messages) == 1


def test_fields_change_in_place_and_refuse_bad_values(app, client, auth, ws_a, mailbox):
    sue = agent(app, ws_a)
    viewer = make_member(app, ws_a, "vic@alpha.example.com", role="viewer")
    ann = customer(app, ws_a, "Ann Lee")
    ticket_id, token = make_ticket(app, ws_a, ann, requester_email="ann@example.com")
    delivery = category_id(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    url = f"/w/{ws_a.slug}/tickets/1001"
    response = post(client, url, {"status": "pending", "priority": "high", "category_id": str(delivery),
                                  "assignee_id": ""}, headers=FIELDS)  # fmt: skip
    assert response.status_code == 200
    assert response.get_data(as_text=True).lstrip().startswith('<form id="ticket-fields"')
    saved = ticket_of(app, ws_a, ticket_id)
    assert (saved["status"], saved["priority"], saved["category_id"]) == ("pending", "high", delivery)
    [mail] = mailbox.messages  # waiting on the customer: they are told, with their link
    assert mail["To"] == "ann@example.com" and f"/portal/{ws_a.slug}/t/{token}" in " ".join(mailbox.links())

    before = ticket_of(app, ws_a, ticket_id)
    for bad in ({"status": "resolved", "priority": "whenever"}, {"status": "new"}, {"status": "bogus"},
                {"category_id": "abc"}, {"category_id": "999999"}, {"assignee_id": str(viewer.membership_id)},
                {"assignee_id": "999999"}, {"assignee_id": "-1"}):  # fmt: skip
        response = post(client, url, bad, headers=FIELDS)
        assert response.status_code == 422, bad
        html = response.get_data(as_text=True)
        assert 'role="alert"' in html and 'aria-invalid="true"' in html, bad
        assert ticket_of(app, ws_a, ticket_id) == before, bad  # nothing saved, the good value neither
    assert post(client, url, {"priority": "whenever"}).status_code == 422  # the whole page, no JavaScript
    assert len(mailbox.messages) == 1

    response = post(client, url, {"assignee_id": str(sue.membership_id)}, headers=FIELDS)
    assert response.status_code == 200 and ticket_of(app, ws_a, ticket_id)["assignee_id"] == sue.membership_id
    assignment = mailbox.messages[-1]
    assert assignment["To"] == sue.email and "#1001" in assignment["Subject"]
    assert f"/w/{ws_a.slug}/tickets/1001" in assignment.get_body(("plain",)).get_content()
    post(client, url, {"assignee_id": str(ws_a.membership_id)}, headers=FIELDS)  # taking it oneself: no email
    post(client, url, {"status": "resolved"})  # without JavaScript: back to the page
    assert len(mailbox.messages) == 3 and "Resolved" in mailbox.messages[-1]["Subject"]
    post(client, url, {"status": "open"}, headers=FIELDS)  # open again: the customer is not emailed
    assert len(mailbox.messages) == 3


def test_ticket_page_shows_the_customer_panel(app, client, auth, ws_a):
    vip = customer(app, ws_a, "Vera Important", level="vip")
    for product in ("Tea", "Cups", "Pot", "Tray"):
        make_purchase(app, ws_a, vip, product, amount=50)
    older, _ = make_ticket(app, ws_a, vip, "Old complaint")
    make_ticket(app, ws_a, vip, "New complaint")
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/tickets/1002").get_data(as_text=True)
    panel = page[page.index('class="panel ticket-customer"') :]
    assert f'href="/w/{ws_a.slug}/contacts/{vip}"' in panel and "VIP" in panel
    assert "Lifetime value" in panel and "Open deals" in panel
    assert sum(product in panel for product in ("Tea", "Cups", "Pot", "Tray")) == 3  # the last three
    assert f'href="/w/{ws_a.slug}/tickets/1001"' in panel and "Old complaint" in panel
    assert client.get(f"/w/{ws_a.slug}/tickets/1003").status_code == 404
    assert client.get(f"/w/{ws_a.slug}/tickets/99999999999").status_code == 404
    set_fields(app, ws_a, older, deleted_at=sa.func.now())
    assert client.get(f"/w/{ws_a.slug}/tickets/1001").status_code == 404


def test_new_ticket_for_a_customer(app, client, ws_a):
    sue = agent(app, ws_a)
    ann = customer(app, ws_a, "Ann Lee", emails=["ann@example.com"])
    vip = customer(app, ws_a, "Vera Important", level="vip")
    sign_in_as(client, sue.user_id)
    contact_page = client.get(f"/w/{ws_a.slug}/contacts/{ann}").get_data(as_text=True)
    assert f'href="/w/{ws_a.slug}/tickets/new?contact={ann}"' in contact_page
    form = client.get(f"/w/{ws_a.slug}/tickets/new?contact={ann}").get_data(as_text=True)
    assert f'value="{ann}" data-picker-value' in form and 'value="Ann Lee"' in form
    assert 'value="portal"' not in form
    picked = client.get(f"/w/{ws_a.slug}/tickets/customers", query_string={"q": "ann", "field": "contact_id"})
    assert picked.status_code == 200 and f'data-value="{ann}"' in picked.get_data(as_text=True)

    url = f"/w/{ws_a.slug}/tickets/"
    good = {"contact_id": str(ann), "subject": "Called about a cracked pot", "body": "Cracked on arrival.",
            "channel": "phone", "priority": "normal", "category_id": ""}  # fmt: skip
    for bad in ({"contact_id": ""}, {"subject": "  "}, {"body": ""}, {"channel": "portal"}, {"priority": "soon"},
                {"contact_id": "999999"}, {"category_id": "999999"}, {"subject": "x" * 201}):  # fmt: skip
        response = post(client, url, {**good, **bad})
        assert response.status_code == 422, bad
        assert_valid_page(response.get_data(as_text=True), f"new ticket {bad}")
        assert 'aria-invalid="true"' in response.get_data(as_text=True), bad
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 0

    response = post(client, url, good)
    assert response.status_code == 303 and response.headers["Location"] == f"/w/{ws_a.slug}/tickets/1001"
    with app.app_context(), workspace_scope(ws_a.id):
        ticket = db.session.scalar(sa.select(Ticket))
        assert (ticket.channel, ticket.contact_id, ticket.requester_email) == ("phone", ann, "ann@example.com")
        [message] = db.session.scalars(sa.select(TicketMessage)).all()
        assert (message.kind, message.author_id) == (PUBLIC, sue.membership_id)
    # A VIP's ticket goes to the escalated queue, which this agent does not see: back to the queue.
    response = post(client, url, {**good, "contact_id": str(vip)})
    assert response.status_code == 303 and response.headers["Location"] == url
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(Ticket.queue).where(Ticket.number == 1002)) == ESCALATED


def test_permissions_of_the_staff_side(app, client, ws_a):
    ann = customer(app, ws_a, "Ann Lee")
    ticket_id, _ = make_ticket(app, ws_a, ann)
    viewer = make_member(app, ws_a, "vic@alpha.example.com", role="viewer")
    seller = make_member(app, ws_a, "sam@alpha.example.com", role="sales")
    sign_in_as(client, viewer.user_id)
    page = client.get(f"/w/{ws_a.slug}/tickets/1001")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="ticket-reply"' not in html and '<dl id="ticket-fields"' in html
    assert ">Tickets</a>" in client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)
    assert "New ticket" not in client.get(queue(ws_a)).get_data(as_text=True)
    assert post(client, f"/w/{ws_a.slug}/tickets/1001/messages", {"body": "hi"}).status_code == 403
    assert post(client, f"/w/{ws_a.slug}/tickets/1001", {"status": "closed"}).status_code == 403
    assert client.get(f"/w/{ws_a.slug}/tickets/new").status_code == 403
    sign_in_as(client, seller.user_id)
    assert client.get(queue(ws_a)).status_code == 403
    assert client.get(f"/w/{ws_a.slug}/tickets/1001").status_code == 403
    assert ">Tickets</a>" not in client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)
    assert messages_of(app, ws_a, ticket_id) == [("customer", None, "It arrived broken.")]


def test_pages_are_valid_html(app, client, auth, ws_a):
    ann = customer(app, ws_a, "Ann Lee")
    make_ticket(app, ws_a, ann)
    make_ticket(app, ws_a, ann, "Second")
    auth.login(ws_a.email, ws_a.password)
    post(client, f"/w/{ws_a.slug}/tickets/1001/messages", {"kind": "internal", "body": "A note"})
    for url in ("tickets/", "tickets/?tab=mine", "tickets/?q=nothing-matches", "tickets/1001", "tickets/new"):
        response = client.get(f"/w/{ws_a.slug}/{url}")
        assert response.status_code == 200, url
        assert_valid_page(response.get_data(as_text=True), url)
