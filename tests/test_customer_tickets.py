"""A customer's tickets on the customer's pages: the open ones in the head of a contact's page and
of its company's page (the company's people), and each ticket on the contact's timeline, at the
time it was opened, with where it stands now. Only tickets the member may see in the queue: with
tickets.read, escalated ones with tickets.escalated, and under "own records" those assigned to them."""

import re
from datetime import timedelta

from crm.contacts.models import Contact
from crm.db import utcnow
from crm.extensions import db
from crm.tenancy import workspace_scope
from crm.tickets.models import CLOSED, ESCALATED, RESOLVED, Ticket
from tests.factories import (
    assign_role,
    make_activity,
    make_company,
    make_contact,
    make_member,
    make_role,
    make_ticket,
)
from tests.test_pages import assert_valid_page

MORE = {"HX-Request": "true", "HX-Target": "timeline-more"}


def set_ticket(app, ws, ticket_id: int, **values) -> int:
    """Changes a ticket's columns; returns its number."""
    with app.app_context(), workspace_scope(ws.id):
        ticket = db.session.get(Ticket, ticket_id)
        for name, value in values.items():
            setattr(ticket, name, value)
        db.session.commit()
        return ticket.number


def head_of(page: str, section: str) -> str:
    match = re.search(rf'<section class="open-deals open-tickets" aria-labelledby="{section}".*?</section>', page, re.S)
    return match.group(0) if match else ""


def timeline_of(page: str) -> str:
    return page.split('id="timeline-list"')[1].split("</ol>")[0]


def test_a_contact_whose_only_ticket_is_resolved_has_no_open_ticket_and_a_link_to_it(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee")
    done, _ = make_ticket(app, ws_a, ann, "Wrong colour")
    set_ticket(app, ws_a, done, status=RESOLVED)
    auth.login(ws_a.email, ws_a.password)
    head = head_of(client.get(f"/w/{ws_a.slug}/contacts/{ann}").get_data(as_text=True), "open-tickets-title")
    assert "No open tickets." in head and "Wrong colour" not in head
    assert f'?customer=contact:{ann}&amp;status=all">See 1 ticket</a>' in head


def test_a_contacts_page_shows_its_open_tickets_and_each_ticket_on_the_timeline(app, client, auth, ws_a, ws_b):
    ann = make_contact(app, ws_a, "Ann Lee")
    lid, _ = make_ticket(app, ws_a, ann, "Lid <b>cracked</b>")
    late, _ = make_ticket(app, ws_a, ann, "Late delivery")
    done, _ = make_ticket(app, ws_a, ann, "Wrong colour")
    make_ticket(app, ws_b, make_contact(app, ws_b, "Ann Lee"), "Another workspace's ticket")
    lid_number = set_ticket(app, ws_a, lid, created_at=utcnow() - timedelta(days=3))
    late_number = set_ticket(app, ws_a, late, created_at=utcnow() - timedelta(days=2))
    done_number = set_ticket(app, ws_a, done, status=RESOLVED, created_at=utcnow() - timedelta(days=1))
    make_activity(app, ws_a, ann, "Called about the lid", occurred_at=utcnow() - timedelta(days=2, hours=12))
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/contacts/{ann}").get_data(as_text=True)
    assert_valid_page(page, f"/w/{ws_a.slug}/contacts/{ann}")
    head = head_of(page, "open-tickets-title")
    assert "2 open tickets" in head and "Wrong colour" not in head  # resolved is not open
    all_tickets = f'href="/w/{ws_a.slug}/tickets/?customer=contact:{ann}&amp;status=all">See all 3 tickets</a>'
    assert all_tickets in head
    assert f'<a href="/w/{ws_a.slug}/tickets/{late_number}">#{late_number} Late delivery</a> (New)' in head
    assert head.index("Late delivery") < head.index("Lid")  # newest first
    assert "Lid &lt;b&gt;cracked&lt;/b&gt;" in head
    timeline = timeline_of(page)
    assert timeline.count("Ticket opened") == 3 and "Another workspace" not in page
    assert f'<a href="/w/{ws_a.slug}/tickets/{done_number}">#{done_number} Wrong colour</a> · Resolved' in timeline
    order = [timeline.index(text) for text in ("Wrong colour", "Late delivery", "Called about the lid", "cracked")]
    assert order == sorted(order)  # newest first, among the contact's other entries
    assert f"#{lid_number} Lid &lt;b&gt;cracked&lt;/b&gt;</a> · New" in timeline
    chinese = client.get(f"/w/{ws_a.slug}/contacts/{ann}", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    head = head_of(chinese.get_data(as_text=True), "open-tickets-title")
    assert "2 个未解决的工单：" in head and "（新建）" in head  # Chinese punctuation, from the catalogue


def test_a_companys_page_shows_the_open_tickets_of_its_live_people(app, client, auth, ws_a):
    acme, globex = make_company(app, ws_a, "Acme Ltd"), make_company(app, ws_a, "Globex")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    bo = make_contact(app, ws_a, "Bo Chen", company_id=acme)
    gone = make_contact(app, ws_a, "Gone Di", company_id=acme)
    elsewhere = make_contact(app, ws_a, "Cy Wu", company_id=globex)
    make_ticket(app, ws_a, ann, "Ann's complaint")
    make_ticket(app, ws_a, bo, "Bo's complaint")
    closed, _ = make_ticket(app, ws_a, bo, "Bo's old complaint")
    set_ticket(app, ws_a, closed, status=CLOSED)
    make_ticket(app, ws_a, gone, "Di's complaint")
    make_ticket(app, ws_a, elsewhere, "Cy's complaint")
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Contact, gone).deleted_at = utcnow()
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/companies/{acme}").get_data(as_text=True)
    assert_valid_page(page, f"/w/{ws_a.slug}/companies/{acme}")
    head = head_of(page, "open-tickets-title")
    assert "2 open tickets" in head and "Ann&#39;s complaint" in head and "Bo&#39;s complaint" in head
    for hidden in ("old complaint", "Di&#39;s", "Cy&#39;s"):
        assert hidden not in head, hidden
    quiet = client.get(f"/w/{ws_a.slug}/companies/{make_company(app, ws_a, 'Quiet Ltd')}").get_data(as_text=True)
    assert 'id="open-tickets-title"' not in quiet  # nothing said when nothing is open


def test_more_than_five_open_tickets_say_how_many_more(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee")
    for number in range(7):
        make_ticket(app, ws_a, ann, f"Complaint {number}")
    auth.login(ws_a.email, ws_a.password)
    head = head_of(client.get(f"/w/{ws_a.slug}/contacts/{ann}").get_data(as_text=True), "open-tickets-title")
    assert "7 open tickets" in head and len(re.findall(r'href="[^"]+/tickets/\d+"', head)) == 5 and "and 2 more" in head
    assert "See all" not in head  # every ticket is open: "and 2 more" leads to them


def test_only_tickets_the_member_may_see_in_the_queue(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee", owner_id=ws_a.membership_id)
    agent = make_member(app, ws_a, "sue@alpha.example.com", role="support")
    general, _ = make_ticket(app, ws_a, ann, "General complaint")
    escalated, _ = make_ticket(app, ws_a, ann, "Escalated complaint")
    set_ticket(app, ws_a, escalated, queue=ESCALATED)
    set_ticket(app, ws_a, general, assignee_id=agent.membership_id)
    make_ticket(app, ws_a, ann, "Nobody's complaint")
    no_tickets = make_role(app, ws_a, "No tickets", ("contacts.read",))
    viewer = make_member(app, ws_a, "vic@alpha.example.com")
    assign_role(app, ws_a, viewer.membership_id, no_tickets)
    auth.login(viewer.email, viewer.password)
    page = client.get(f"/w/{ws_a.slug}/contacts/{ann}").get_data(as_text=True)
    assert "complaint" not in page and "Ticket opened" not in page
    auth.logout()
    # Support works the general queue only.
    auth.login(agent.email, agent.password)
    page = client.get(f"/w/{ws_a.slug}/contacts/{ann}").get_data(as_text=True)
    assert "General complaint" in page and "Nobody&#39;s complaint" in page and "Escalated complaint" not in page
    # "Own records": tickets assigned to them (and the contact must be theirs to open at all).
    own = make_role(app, ws_a, "Own", ("contacts.read", "tickets.read", "tickets.escalated"), record_scope="own")
    assign_role(app, ws_a, agent.membership_id, own)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Contact, ann).owner_id = agent.membership_id
        db.session.commit()
    page = client.get(f"/w/{ws_a.slug}/contacts/{ann}").get_data(as_text=True)
    assert "General complaint" in page and "Nobody" not in page and "Escalated complaint" not in page
    assert "1 open ticket:" in head_of(page, "open-tickets-title")


def test_timeline_pages_with_tickets_cover_every_entry_once(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee")
    start = utcnow() - timedelta(days=40)
    for number in range(13):
        ticket_id, _ = make_ticket(app, ws_a, ann, f"ticket {number:02d}")
        set_ticket(app, ws_a, ticket_id, created_at=start + timedelta(days=2 * number))
        make_activity(app, ws_a, ann, f"note {number:02d}", occurred_at=start + timedelta(days=2 * number + 1))
    ticket_id, _ = make_ticket(app, ws_a, ann, "ticket same time")  # ties with a note: the ticket first
    set_ticket(app, ws_a, ticket_id, created_at=start + timedelta(days=1))
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/contacts/{ann}").get_data(as_text=True)
    first = timeline_of(page)
    assert first.count('<li id="entry-') == 20 and first.index("note 12") < first.index("ticket 12")
    link = re.search(r'id="timeline-more".*?data-hx-get="([^"]+)"', page, re.S).group(1).replace("&amp;", "&")
    rest = client.get(link, headers=MORE).get_data(as_text=True)
    everything = first.split('id="timeline-more"')[0] + rest
    assert everything.count('<li id="entry-') == 27  # 14 tickets and 13 notes
    for label in (
        [f"ticket {n:02d}</a>" for n in range(13)]
        + [f">note {n:02d}</p>" for n in range(13)]
        + ["ticket same time</a>"]
    ):
        assert everything.count(label) == 1, label
    assert everything.index("ticket same time") < everything.index("note 00")


def test_a_ticket_is_opened_from_a_company_page_for_one_of_its_people(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/companies/{acme}").get_data(as_text=True)
    link = f'<a href="/w/{ws_a.slug}/tickets/new?contact={ann}">New ticket'
    assert link + '<span class="visually-hidden"> for Ann Lee</span></a>' in page
    form = client.get(f"/w/{ws_a.slug}/tickets/new?contact={ann}").get_data(as_text=True)
    assert f'value="{ann}"' in form and "Ann Lee" in form  # the person chosen
    reader = make_member(app, ws_a, "rita@alpha.example.com", role="viewer")
    auth.login(reader.email, reader.password)
    assert "New ticket" not in client.get(f"/w/{ws_a.slug}/companies/{acme}").get_data(as_text=True)
