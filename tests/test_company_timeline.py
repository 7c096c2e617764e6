"""A company's timeline beyond its activities: its purchases and its people's, changes of its fields,
its deals created, won and lost, and its people's tickets, newest first among its activities, in
keyset pages across all of them; each entry about a person names them. What shows follows the
member's rights (deals.read, tickets.read and the escalated queue, "own records"); another
workspace's records never show; the page's queries do not grow with its entries; and the timeline
draws itself again after a purchase or an edit made on the page."""

import json
import re
from datetime import date, timedelta

import sqlalchemy as sa

from crm.contacts.models import Contact
from crm.db import utcnow
from crm.deals.models import Deal, DealStageChange
from crm.extensions import db
from crm.tenancy import workspace_scope
from crm.tickets.models import ESCALATED
from tests.conftest import post
from tests.factories import (
    assign_role,
    default_pipeline,
    make_activity,
    make_company,
    make_company_activity,
    make_company_purchase,
    make_contact,
    make_deal,
    make_member,
    make_purchase,
    make_role,
    make_ticket,
)
from tests.query_counter import count_queries, page_queries
from tests.test_company_activities import company_url, timeline_of
from tests.test_customer_tickets import set_ticket
from tests.test_pages import assert_valid_page
from tests.test_timeline import FORGED_TIMELINE_CURSORS, timeline_cursor

MORE = {"HX-Request": "true", "HX-Target": "timeline-more"}
DETAILS = {"HX-Request": "true", "HX-Target": "company-details"}
SECTION = {"HX-Request": "true", "HX-Target": "company-purchases"}
TODAY = date.today()


def entry(timeline: str, text: str) -> str:
    """The one entry of the timeline that holds ``text``."""
    [found] = [item for item in timeline.split('<li id="entry-')[1:] if text in item]
    return found


def secret_company(app, ws) -> int:
    """A company of ``ws`` with a person, a purchase, a ticket and a deal, all called "Secret ..."."""
    company = make_company(app, ws, "Acme Ltd")  # the name of one in the other workspace
    person = make_contact(app, ws, "Secret Person", company_id=company)
    make_purchase(app, ws, person, "Secret purchase")
    make_ticket(app, ws, person, "Secret ticket")
    make_deal(app, ws, "Secret deal", company_id=company)
    return company


def set_stage_changes(app, ws, deal_id: int, at) -> None:
    """Moves the deal's stage history (its creation, its win or loss) to ``at``."""
    with app.app_context(), workspace_scope(ws.id):
        db.session.execute(sa.update(DealStageChange).where(DealStageChange.deal_id == deal_id).values(at=at))
        db.session.commit()


def win(app, ws, deal_id: int, kind: str = "Won", at=None) -> None:
    """The deal won (or lost, ``kind="Lost"``) as the service records it, at ``at``."""
    stages = default_pipeline(app, ws).stages
    with app.app_context(), workspace_scope(ws.id):
        deal = db.session.get(Deal, deal_id)
        db.session.add(DealStageChange(deal_id=deal_id, from_stage_id=deal.stage_id, to_stage_id=stages[kind],
                                       at=at or utcnow()))  # fmt: skip
        deal.status, deal.stage_id = kind.lower(), stages[kind]
        db.session.commit()


def test_purchases_changes_deals_and_tickets_show_among_the_activities_newest_first(app, client, auth, ws_a, ws_b):
    acme, globex = make_company(app, ws_a, "Acme Ltd"), make_company(app, ws_a, "Globex")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    cy = make_contact(app, ws_a, "Cy Wu", company_id=globex)
    now = utcnow()
    make_purchase(app, ws_a, ann, "Tea chest", amount=1200, on=TODAY - timedelta(days=3))
    make_company_purchase(app, ws_a, acme, "Fleet service", amount=500, on=TODAY - timedelta(days=2))
    make_purchase(app, ws_a, cy, "Globex tea", amount=10, on=TODAY - timedelta(days=2))
    ticket, _ = make_ticket(app, ws_a, ann, "Lid <b>cracked</b>")
    number = set_ticket(app, ws_a, ticket, created_at=now - timedelta(days=1))
    make_ticket(app, ws_a, cy, "Globex complaint")
    tea = make_deal(app, ws_a, "Tea <u>order</u>", value=900, contact_id=ann, company_id=acme)
    set_stage_changes(app, ws_a, tea, now - timedelta(hours=36))
    win(app, ws_a, tea, at=now - timedelta(hours=6))
    cups = make_deal(app, ws_a, "Cups", value=70, company_id=acme)
    set_stage_changes(app, ws_a, cups, now - timedelta(hours=40))
    win(app, ws_a, cups, "Lost", at=now - timedelta(hours=30))
    make_deal(app, ws_a, "Globex deal", company_id=globex)
    make_activity(app, ws_a, ann, "Called Ann", kind="call", occurred_at=now - timedelta(hours=12))
    secret_company(app, ws_b)  # another workspace's, of the same name
    auth.login(ws_a.email, ws_a.password)
    edit = {"name": "Acme Ltd", "industry": "Tea <trade>", "owner_id": str(ws_a.membership_id)}
    assert post(client, company_url(ws_a, acme), edit).status_code == 303

    page = client.get(company_url(ws_a, acme)).get_data(as_text=True)
    assert_valid_page(page, company_url(ws_a, acme))
    timeline = timeline_of(page)
    change = entry(timeline, "Industry")
    assert "Edited a company" in change and "· Alice</p>" in change  # who, by name, as the History panel names them
    assert '<span class="field-name">Industry</span>: <ins>Tea &lt;trade&gt;</ins>' in change
    won = entry(timeline, "Deal won")
    assert f'<a href="/w/{ws_a.slug}/deals/{tea}">Tea &lt;u&gt;order&lt;/u&gt;</a> · $900.00' in won
    lost = entry(timeline, "Deal lost")
    assert f'<a href="/w/{ws_a.slug}/deals/{cups}">Cups</a>' in lost
    opened = entry(timeline, "Ticket opened")
    assert f'<a href="/w/{ws_a.slug}/tickets/{number}">#{number} Lid &lt;b&gt;cracked&lt;/b&gt;</a> · New' in opened
    assert f'with <a href="/w/{ws_a.slug}/contacts/{ann}">Ann Lee</a>' in opened
    bought = entry(timeline, "Tea chest")
    assert "Purchase" in bought and f'with <a href="/w/{ws_a.slug}/contacts/{ann}">Ann Lee</a>' in bought
    assert "= <strong>$1,200.00</strong>" in bought and "Delete" not in bought  # changed in the Purchases section
    own = entry(timeline, "Fleet service")
    assert "with" not in own and "= <strong>$500.00</strong>" in own  # the company's own: nobody to name
    order = [timeline.index(text) for text in ("Industry", "Deal won", "Called Ann", "Ticket opened", "Deal lost",
                                               "Deal created", "Fleet service", "Tea chest")]  # fmt: skip
    assert order == sorted(order), order
    created = [item for item in timeline.split('<li id="entry-')[1:] if "Deal created" in item]
    assert ["Tea &lt;u&gt;order" in created[0], "Cups" in created[1]] == [True, True]  # 36 and 40 hours ago
    for elsewhere in ("Globex", "Secret"):
        assert elsewhere not in timeline, elsewhere

    chinese = client.get(company_url(ws_a, acme), headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    timeline = timeline_of(chinese.get_data(as_text=True))
    assert "购买" in timeline and "行业" in timeline and "<b>" not in timeline and "<u>" not in timeline


def test_pages_cover_every_entry_of_every_source_once_newest_first(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    start = utcnow() - timedelta(days=40)
    labels = []
    for number in range(12):
        at = start + timedelta(days=number * 3, hours=1)
        make_company_activity(app, ws_a, acme, f"note {number:02d}", occurred_at=at)
        labels.append(f"note {number:02d}")
    for number in range(8):  # two a day: ties on a day broken by id across the page boundaries
        make_purchase(app, ws_a, ann, f"item {number}", amount=5, on=(start + timedelta(days=number // 2 * 5)).date())
        labels.append(f"item {number}")
    for number in range(6):
        deal = make_deal(app, ws_a, f"deal {number}", company_id=acme)
        set_stage_changes(app, ws_a, deal, start + timedelta(days=number * 6, hours=2))
        labels.append(f"deal {number}")
    for number in range(5):
        ticket, _ = make_ticket(app, ws_a, ann, f"ticket {number}")
        set_ticket(app, ws_a, ticket, created_at=start + timedelta(days=number * 7, hours=3))
        labels.append(f"ticket {number}")
    auth.login(ws_a.email, ws_a.password)
    for number in range(3):
        post(client, company_url(ws_a, acme), {"name": "Acme Ltd", "website": f"change{number}.example.com"})
        labels.append(f"<ins>change{number}.example.com</ins>")  # the next change has it as the value before

    page = client.get(company_url(ws_a, acme)).get_data(as_text=True)
    pages = [timeline_of(page)]
    while 'id="timeline-more"' in pages[-1]:
        link = re.search(r'id="timeline-more".*?data-hx-get="([^"]+)"', pages[-1], re.S).group(1).replace("&amp;", "&")
        pages[-1] = pages[-1].split('<li id="timeline-more"')[0]
        pages.append(client.get(link, headers=MORE).get_data(as_text=True))
    assert len(pages) == 2 and [part.count('<li id="entry-') for part in pages] == [20, 14]
    everything = "".join(pages)
    entries = everything.split('<li id="entry-')[1:]
    for label in labels:
        assert len([item for item in entries if re.search(rf"{re.escape(label)}($|[< ])", item)]) == 1, label
    times = re.findall(r'<li id="entry-[^"]+"[^>]*><p class="entry-head">.*?<time datetime="([^"]+)"', everything)
    assert len(times) == 34 and times == sorted(times, reverse=True)  # newest first, over both pages


def test_a_forged_timeline_cursor_is_refused_rather_than_failing(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    make_purchase(app, ws_a, make_contact(app, ws_a, "Ann Lee", company_id=acme), "Green tea")
    auth.login(ws_a.email, ws_a.password)
    for text in FORGED_TIMELINE_CURSORS:
        response = client.get(company_url(ws_a, acme, "/timeline"), query_string={"after": timeline_cursor(text)})
        assert response.status_code == 400, text
    genuine = timeline_cursor("2999-12-31T00:00:00+14:00|0|1")
    later = client.get(company_url(ws_a, acme, "/timeline"), query_string={"after": genuine})
    assert later.status_code == 200 and "Green tea" in later.get_data(as_text=True)


def test_what_a_member_sees_follows_deals_tickets_and_record_scope(app, client, auth, ws_a):
    seller = make_member(app, ws_a, "sam@alpha.example.com")
    acme = make_company(app, ws_a, "Acme Ltd", owner_id=seller.membership_id)
    sams = make_contact(app, ws_a, "Sam's Bo", company_id=acme, owner_id=seller.membership_id)
    alices = make_contact(app, ws_a, "Alice's Cy", company_id=acme, owner_id=ws_a.membership_id)
    gone = make_contact(app, ws_a, "Gone Di", company_id=acme, owner_id=seller.membership_id)
    make_purchase(app, ws_a, sams, "Bo's tea")
    make_purchase(app, ws_a, alices, "Cy's tea")
    make_purchase(app, ws_a, gone, "Di's tea")
    make_company_purchase(app, ws_a, acme, "Company tea")
    make_deal(app, ws_a, "Sam's deal", company_id=acme, owner_id=seller.membership_id)
    make_deal(app, ws_a, "Alice's deal", company_id=acme, owner_id=ws_a.membership_id)
    binned = make_deal(app, ws_a, "Binned deal", company_id=acme, owner_id=seller.membership_id)
    assigned, _ = make_ticket(app, ws_a, alices, "Cy's complaint for Sam")
    set_ticket(app, ws_a, assigned, assignee_id=seller.membership_id)
    make_ticket(app, ws_a, alices, "Cy's unassigned complaint")
    escalated, _ = make_ticket(app, ws_a, sams, "Bo's escalated complaint")
    set_ticket(app, ws_a, escalated, queue=ESCALATED, assignee_id=seller.membership_id)
    make_ticket(app, ws_a, gone, "Di's complaint")
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Contact, gone).deleted_at = utcnow()
        db.session.get(Deal, binned).deleted_at = utcnow()
        db.session.commit()

    def seen_by(email: str, password: str) -> str:
        auth.logout()
        auth.login(email, password)
        return timeline_of(client.get(company_url(ws_a, acme)).get_data(as_text=True))

    everything = seen_by(ws_a.email, ws_a.password)
    for text in (
        "Bo&#39;s tea",
        "Cy&#39;s tea",
        "Company tea",
        "Sam&#39;s deal",
        "Alice&#39;s deal",
        "Cy&#39;s complaint for Sam",
        "Cy&#39;s unassigned complaint",
        "Bo&#39;s escalated complaint",
    ):
        assert text in everything, text  # fmt: skip
    for text in ("Di&#39;s", "Binned deal"):  # in the trash
        assert text not in everything, text

    own = make_role(app, ws_a, "Own", ("contacts.read", "deals.read", "tickets.read"), record_scope="own")
    assign_role(app, ws_a, seller.membership_id, own)
    timeline = seen_by(seller.email, seller.password)
    for text in ("Bo&#39;s tea", "Company tea", "Sam&#39;s deal", "Cy&#39;s complaint for Sam"):
        assert text in timeline, text
    for text in ("Cy&#39;s tea", "Alice&#39;s deal", "Cy&#39;s unassigned complaint", "escalated", "Di&#39;s"):
        assert text not in timeline, text
    # A ticket assigned to them of a person they may not open: the ticket, without the person.
    assert "Alice&#39;s Cy" not in entry(timeline, "complaint for Sam") and "with" not in entry(timeline, "for Sam")

    nothing_else = make_role(app, ws_a, "Reader", ("contacts.read",))
    assign_role(app, ws_a, seller.membership_id, nothing_else)
    timeline = seen_by(seller.email, seller.password)
    assert "Cy&#39;s tea" in timeline and "Company tea" in timeline
    assert "Deal created" not in timeline and "deal" not in timeline  # no deals.read
    assert "Ticket opened" not in timeline and "complaint" not in timeline  # no tickets.read
    with count_queries(app) as queries:
        client.get(company_url(ws_a, acme, "/timeline"), headers=MORE)
    assert len(queries) == 5, queries  # member, the company, activities, purchases, changes: no deals, no tickets


def test_another_workspaces_records_never_show_and_its_company_is_404(app, client, auth, ws_a, ws_b):
    mine = make_company(app, ws_a, "Acme Ltd")
    theirs = secret_company(app, ws_b)
    auth.login(ws_a.email, ws_a.password)
    for url in (
        company_url(ws_a, theirs),
        company_url(ws_a, theirs, "/timeline"),
        f"/w/{ws_b.slug}/companies/{theirs}",
        f"/w/{ws_b.slug}/companies/{theirs}/timeline",
    ):
        response = client.get(url)
        assert response.status_code == 404 and "Secret" not in response.get_data(as_text=True), url  # fmt: skip
    assert "Secret" not in client.get(company_url(ws_a, mine)).get_data(as_text=True)


def test_company_page_queries_stay_flat_however_many_entries_and_people(app, client, auth, ws_a):
    quiet, busy = make_company(app, ws_a, "Quiet Ltd"), make_company(app, ws_a, "Busy Ltd")
    colleague = make_member(app, ws_a, "colleague@alpha.example.com")

    def fill(company_id: int, people: int) -> None:
        contacts = [make_contact(app, ws_a, f"Person {n}", company_id=company_id) for n in range(people)]
        for number, contact in enumerate(contacts * (1 if people == 1 else 3)):
            make_purchase(app, ws_a, contact, f"item {number}", on=TODAY - timedelta(days=number))
            if number % 3 == 0:
                make_ticket(app, ws_a, contact, f"ticket {number}")
                deal = make_deal(app, ws_a, f"deal {number}", company_id=company_id, owner_id=colleague.membership_id)
                if number % 2:
                    win(app, ws_a, deal)
        make_company_purchase(app, ws_a, company_id, "Own purchase")

    fill(quiet, 1)
    fill(busy, 4)
    auth.login(ws_a.email, ws_a.password)
    for company_id in (quiet, busy):
        post(client, company_url(ws_a, company_id), {"name": "Renamed", "owner_id": str(colleague.membership_id)})

    few, _ = page_queries(app, client, company_url(ws_a, quiet))
    many, page = page_queries(app, client, company_url(ws_a, busy))
    timeline = timeline_of(page)
    assert timeline.count('<li id="entry-') == 20 and "Deal won" in timeline and "Ticket opened" in timeline
    assert "item 7" in timeline and "Person 3</a>" in timeline  # purchases, naming who bought
    assert '<span class="field-name">Owner</span>: <ins>Test User</ins>' in timeline  # the owner, by name
    assert many == few, (few, many)


def test_the_timeline_draws_itself_again_after_a_purchase_or_an_edit_on_the_page(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    auth.login(ws_a.email, ws_a.password)
    data = {"buyer": "", "purchased_on": TODAY.isoformat(), "product": "Fleet service", "quantity": "1",
            "unit_price": "250"}  # fmt: skip
    added = post(client, company_url(ws_a, acme, "/purchases/"), data, headers=SECTION)
    assert added.status_code == 200 and "timeline-changed" in json.loads(added.headers["HX-Trigger"])
    refused = post(client, company_url(ws_a, acme, "/purchases/"), {**data, "product": ""}, headers=SECTION)
    assert refused.status_code == 422 and "timeline-changed" not in refused.headers.get("HX-Trigger", "")
    saved = post(client, company_url(ws_a, acme), {"name": "Acme Ltd", "industry": "Fleets"}, headers=DETAILS)
    assert saved.status_code == 200 and "timeline-changed" in json.loads(saved.headers["HX-Trigger"])
    redrawn = client.get(company_url(ws_a, acme, "/timeline"), headers={"HX-Request": "true"})
    body = redrawn.get_data(as_text=True)
    assert "<html" not in body and body.index("Fleets") < body.index("Fleet service")


def test_purchases_sort_from_the_start_of_their_day_in_the_workspaces_time_zone(app, client, auth, ws_a):
    from datetime import UTC, datetime, time
    from zoneinfo import ZoneInfo

    from tests.test_timeline import set_zone

    zone = ZoneInfo("America/Los_Angeles")
    set_zone(app, ws_a, "America/Los_Angeles")
    today = datetime.now(zone).date()
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    evening = datetime.combine(today - timedelta(days=1), time(20), tzinfo=zone).astimezone(UTC)
    make_activity(app, ws_a, ann, "Called the evening before", kind="call", occurred_at=evening)
    make_company_purchase(app, ws_a, acme, "Urn today", on=today)
    make_purchase(app, ws_a, ann, "Tea yesterday", on=today - timedelta(days=1))
    auth.login(ws_a.email, ws_a.password)
    timeline = timeline_of(client.get(company_url(ws_a, acme)).get_data(as_text=True))
    order = [timeline.index(text) for text in ("Urn today", "Called the evening before", "Tea yesterday")]
    assert order == sorted(order)
