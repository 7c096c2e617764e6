"""What the contact page reads together: its timeline's first page of changes with the History panel's
entries, its newest tickets with the ticket summary of its head, its deals' counts and totals with the
first open deals (one query each). Each part must read as if it had its own query: more of one kind
than the other's limit, ordering that differs, permissions that drop a part."""

import re
from datetime import date, timedelta

from crm.db import utcnow
from crm.tickets.models import CLOSED
from tests.factories import assign_role, make_contact, make_deal, make_member, make_role, make_ticket
from tests.test_change_history import history_of, log, timeline_of
from tests.test_customer_tickets import MORE, head_of, set_ticket


def contact_url(ws, contact_id: int, rest: str = "") -> str:
    return f"/w/{ws.slug}/contacts/{contact_id}{rest}"


def next_page_url(page: str) -> str:
    return page.split('id="timeline-more"')[1].split('data-hx-get="')[1].split('"')[0].replace("&amp;", "&")


def test_changes_older_than_the_panels_entries_stay_on_the_timeline(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee")
    now = utcnow()
    changed = [{"action": "contact.updated", "record_type": "contact", "record_id": ann,
                "changes": {"title": [f"Clerk {n}", f"Clerk {n + 1}"]}, "created_at": now - timedelta(days=30 - n)}
               for n in range(3)]  # fmt: skip
    exported = [{"action": "contact.merged", "record_type": "contact", "record_id": ann,
                 "changes": {"name": ["Ann", "Ann Lee"]}, "created_at": now - timedelta(hours=n)}
                for n in range(25)]  # fmt: skip
    log(app, ws_a, *changed, *exported)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(contact_url(ws_a, ann)).get_data(as_text=True)
    timeline, history = timeline_of(page), history_of(page)
    assert timeline.count('class="entry change"') == 3  # the panel's 20 newer entries crowd none out
    assert "<del>Clerk 0</del> → <ins>Clerk 1</ins>" in timeline and "<ins>Clerk 3</ins>" in timeline
    assert history.count("<li><time") == 20 and "Clerk" not in history  # the 20 newest, merges all
    viewer = make_member(app, ws_a, "vic@alpha.example.com")
    assign_role(app, ws_a, viewer.membership_id, make_role(app, ws_a, "Reader", ("contacts.read",)))
    auth.logout()
    auth.login(viewer.email, viewer.password)
    page = client.get(contact_url(ws_a, ann)).get_data(as_text=True)
    assert timeline_of(page).count('class="entry change"') == 3 and 'id="record-history"' not in page


def test_the_ticket_summary_counts_open_tickets_older_than_the_timelines_page(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee")
    opened = [make_ticket(app, ws_a, ann, f"Old open {n}")[0] for n in range(2)]
    closed = [make_ticket(app, ws_a, ann, f"Closed {n}")[0] for n in range(22)]
    start = utcnow() - timedelta(days=100)
    for n, ticket_id in enumerate([*opened, *closed]):
        set_ticket(app, ws_a, ticket_id, created_at=start + timedelta(days=n))
    for ticket_id in closed:
        set_ticket(app, ws_a, ticket_id, status=CLOSED)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(contact_url(ws_a, ann)).get_data(as_text=True)
    head = head_of(page, "open-tickets-title")
    assert "2 open tickets" in head and "Old open 0" in head and "Old open 1" in head and "Closed" not in head
    assert "See all 24 tickets" in head
    timeline = timeline_of(page)
    assert timeline.count('class="entry ticket"') == 20 and "Closed 21<" in timeline and "Closed 1<" not in timeline
    older = client.get(next_page_url(page), headers=MORE).get_data(as_text=True)
    assert older.count('class="entry ticket"') == 4 and "Old open 0<" in older and "Closed 2<" not in older


def test_the_deals_summary_totals_each_currency_and_lists_the_next_to_close(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee")
    today = date.today()
    for n in range(6):  # the first to close come first; one with no date comes last
        closes = today + timedelta(days=10 - n) if n else None
        make_deal(app, ws_a, f"Open {n}", value=100, contact_id=ann, expected_close_on=closes)
    make_deal(app, ws_a, "Euro deal", value=50, currency="EUR", contact_id=ann, expected_close_on=today)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(contact_url(ws_a, ann)).get_data(as_text=True)
    head = page.split('aria-labelledby="open-deals-title"')[1].split("</section>")[0]
    assert "7 open deals" in head and "€50.00 + $600.00" in head and "and 2 more" in head
    shown = re.findall(r'/deals/\d+">([^<]+)</a>', head)
    assert shown == ["Euro deal", "Open 5", "Open 4", "Open 3", "Open 2"]
