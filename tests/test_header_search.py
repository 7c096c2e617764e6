"""The header's search finds deals and tickets too, besides contacts and companies: deals by their
title, tickets by number ("1001", "#1001"), subject or requester; each kind only for members who
may read it, within their record scope, never another workspace's; a query-count check."""

import pytest
import sqlalchemy as sa

from crm.db import utcnow
from crm.deals.models import Deal
from crm.extensions import db
from crm.tenancy import workspace_scope
from crm.tickets.models import ESCALATED, Ticket
from tests.factories import assign_role, make_contact, make_deal, make_member, make_role, make_ticket
from tests.query_counter import count_queries
from tests.test_pages import assert_valid_page

QUICK = {"HX-Request": "true", "HX-Target": "global-search-results"}


def search(client, ws, q: str, quick: bool = True) -> str:
    response = client.get(f"/w/{ws.slug}/search/", query_string={"q": q}, headers=QUICK if quick else {})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_deals_and_tickets_are_found_from_the_header(app, client, auth, ws_a, ws_b):
    ann = make_contact(app, ws_a, "Ann Lee")
    won = make_deal(app, ws_a, "Lotus <tea> chests", value=1200)
    make_deal(app, ws_a, "Green tea")
    gone = make_deal(app, ws_a, "Lotus gone")
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Deal, won).status = "won"
        db.session.get(Deal, gone).deleted_at = utcnow()
        db.session.commit()
    ticket_id, _ = make_ticket(app, ws_a, ann, "Lotus lid cracked", requester_email="buyer@lotus.example.com")
    make_deal(app, ws_b, "Lotus of Beta")
    make_ticket(app, ws_b, make_contact(app, ws_b, "Bo"), "Lotus of Beta's ticket")
    with app.app_context(), workspace_scope(ws_a.id):
        number = db.session.get(Ticket, ticket_id).number
    auth.login(ws_a.email, ws_a.password)
    quick = search(client, ws_a, "lotus")
    assert f'<a href="/w/{ws_a.slug}/deals/{won}">Lotus &lt;tea&gt; chests</a>' in quick
    assert "Deal · $1,200.00 · Won" in quick
    assert f'<a href="/w/{ws_a.slug}/tickets/{number}">#{number} Lotus lid cracked</a>' in quick
    assert "Ticket · New" in quick
    for hidden in ("Green tea", "Lotus gone", "Beta"):
        assert hidden not in quick, hidden
    assert f"#{number} Lotus lid cracked" in search(client, ws_a, f"#{number}")  # by number
    assert f"#{number} Lotus lid cracked" in search(client, ws_a, "buyer@lotus")  # by requester
    assert "Lotus &lt;tea&gt; chests" in search(client, ws_a, "chests  LOTUS")  # every word, in any order
    assert "Nothing found" in search(client, ws_a, "zzzz")
    full = search(client, ws_a, "lotus", quick=False)
    assert_valid_page(full, f"/w/{ws_a.slug}/search/?q=lotus")
    assert 'id="found-deals"' in full and 'id="found-tickets"' in full and "Lotus lid cracked" in full


def test_each_kind_only_for_members_who_may_read_it_in_their_scope(app, client, auth, ws_a):
    member = make_member(app, ws_a, "sam@alpha.example.com")
    ann = make_contact(app, ws_a, "Ann Lee", owner_id=member.membership_id)
    make_deal(app, ws_a, "Lotus mine", owner_id=member.membership_id)
    make_deal(app, ws_a, "Lotus theirs", owner_id=ws_a.membership_id)
    mine, _ = make_ticket(app, ws_a, ann, "Lotus ticket mine")
    escalated, _ = make_ticket(app, ws_a, ann, "Lotus ticket escalated")
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Ticket, mine).assignee_id = member.membership_id
        db.session.get(Ticket, escalated).queue = ESCALATED
        db.session.get(Ticket, escalated).assignee_id = member.membership_id
        db.session.commit()
    make_ticket(app, ws_a, ann, "Lotus ticket nobody's")
    contacts_only = make_role(app, ws_a, "Contacts only", ("contacts.read",))
    assign_role(app, ws_a, member.membership_id, contacts_only)
    auth.login(member.email, member.password)
    full = search(client, ws_a, "lotus", quick=False)
    assert "Lotus" not in full.split("<h1>Search</h1>")[1].split('id="search-q"')[1].split("</main>")[0]
    assert 'id="found-deals"' not in full and 'id="found-tickets"' not in full
    own = make_role(app, ws_a, "Own", ("contacts.read", "deals.read", "tickets.read"), record_scope="own")
    assign_role(app, ws_a, member.membership_id, own)
    quick = search(client, ws_a, "lotus")
    assert "Lotus mine" in quick and "Lotus ticket mine" in quick
    for hidden in ("Lotus theirs", "nobody", "escalated"):  # others' records; escalated needs its permission
        assert hidden not in quick, hidden


def test_header_search_queries_stay_flat(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Lotus Ann")
    for number in range(12):
        make_deal(app, ws_a, f"Lotus deal {number}", contact_id=ann)
        make_ticket(app, ws_a, ann, f"Lotus ticket {number}")
    auth.login(ws_a.email, ws_a.password)
    search(client, ws_a, "lotus")
    with count_queries(app) as queries:
        quick = search(client, ws_a, "lotus")
    assert quick.count("Lotus deal") == 8 and quick.count("Lotus ticket") == 8
    assert len(queries) == 5, queries  # member, contacts, companies, deals, tickets
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count(Deal.id))) == 12


@pytest.mark.postgres
def test_the_app_role_searches_deal_titles_through_their_trigram_index(app, ws_a):
    """Under row-level security LIKE must be leakproof (crm/pg.py) for the index of the titles' search
    text to serve it."""
    from crm.deals.queries import quick_deals
    from crm.workspaces.models import Membership
    from tests.conftest import owner_engine

    model = make_deal(app, ws_a, "Lotus tea chests")
    columns = ", ".join(
        column.name for column in Deal.__table__.columns if column.name not in ("id", "title", "search_text")
    )
    engine = owner_engine(app)
    with engine.begin() as connection:  # 100,000 more deals (fewer are read faster whole)
        connection.execute(sa.text("SELECT set_config('app.current_workspace', :ws, true)"), {"ws": str(ws_a.id)})
        connection.execute(sa.text(
            f"INSERT INTO deals (title, search_text, {columns})"
            f" SELECT 'Plain deal ' || n, 'plain deal ' || n, {columns}"
            " FROM deals, generate_series(1, 100000) AS n WHERE id = :model"), {"model": model})  # fmt: skip
        connection.execute(sa.text("ANALYZE deals"))
    engine.dispose()
    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "FROM deals" in statement:
            sent.append((statement, parameters))

    plans = []
    with app.app_context(), workspace_scope(ws_a.id):
        # "Lötus": lotus or loetus (crm.search.search_terms), an OR the index serves both sides of.
        for q in ("lotus", "Lötus"):
            sent.clear()
            sa.event.listen(db.engine, "before_cursor_execute", record)
            try:
                found = quick_deals(q, db.session.get(Membership, ws_a.membership_id), 8)
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", record)
            assert [row.title for row in found] == ["Lotus tea chests"]
            [(statement, parameters)] = sent
            plan = "\n".join(db.session.connection().exec_driver_sql("EXPLAIN " + statement, parameters).scalars())
            plans.append(plan)
    assert "ix_deals_trigram" in plans[0], plans[0]
    assert plans[1].count("ix_deals_trigram") == 2 and "BitmapOr" in plans[1], plans[1]


def test_members_who_read_only_tickets_or_deals_have_the_box_for_those(app, client, auth, ws_a):
    member = make_member(app, ws_a, "tia@alpha.example.com")
    ann = make_contact(app, ws_a, "Lotus Lee")
    make_deal(app, ws_a, "Lotus deal")
    make_ticket(app, ws_a, ann, "Lotus ticket")
    assign_role(app, ws_a, member.membership_id, make_role(app, ws_a, "Tickets only", ("tickets.read",)))
    auth.login(member.email, member.password)
    home = client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)
    assert 'id="global-q"' in home
    quick = search(client, ws_a, "lotus")
    assert "Lotus ticket" in quick and "Lotus Lee" not in quick and "Lotus deal" not in quick
    full = search(client, ws_a, "lotus", quick=False)
    assert 'id="found-tickets"' in full and 'id="found-contacts"' not in full and 'id="found-companies"' not in full
    assert_valid_page(full, f"/w/{ws_a.slug}/search/?q=lotus")
    assign_role(app, ws_a, member.membership_id, make_role(app, ws_a, "Deals only", ("deals.read",)))
    quick = search(client, ws_a, "lotus")
    assert "Lotus deal" in quick and "Lotus ticket" not in quick and "Lotus Lee" not in quick
    assign_role(app, ws_a, member.membership_id, make_role(app, ws_a, "Reports only", ("reports.view",)))
    assert 'id="global-q"' not in client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)
    assert client.get(f"/w/{ws_a.slug}/search/", query_string={"q": "lotus"}).status_code == 403


def test_typing_a_companys_name_lists_the_company_first(app, client, auth, ws_a):
    from tests.factories import make_company

    acme = make_company(app, ws_a, "Acme Oy")
    for name in ("Ann Lee", "Bo Chen"):
        make_contact(app, ws_a, name, company_id=acme)
    auth.login(ws_a.email, ws_a.password)
    quick = search(client, ws_a, "acme oy")
    assert quick.index(">Acme Oy</a>") < quick.index(">Ann Lee</a>")  # the company above its people
    make_company(app, ws_a, "Hann Trading")  # holds "ann", but does not start with it: people first
    quick = search(client, ws_a, "ann")
    assert quick.index(">Ann Lee</a>") < quick.index(">Hann Trading</a>")


def test_two_contacts_of_one_name_are_told_apart_by_email_or_a_phone_for_who_may_see_it(app, client, auth, ws_a):
    make_contact(app, ws_a, "王伟", emails=["wang.wei@example.com"])
    make_contact(app, ws_a, "王伟", phones=["+8613800138000"])
    auth.login(ws_a.email, ws_a.password)
    for quick in (True, False):
        found = search(client, ws_a, "王伟", quick=quick)
        assert "wang.wei@example.com" in found and "138 0013 8000" in found, quick
    sales = make_member(app, ws_a, "sam@alpha.example.com")  # no contacts.sensitive: no phones
    auth.login(sales.email, sales.password)
    found = search(client, ws_a, "王伟")
    assert "wang.wei@example.com" in found and "138" not in found
