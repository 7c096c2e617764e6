"""Quotes from deals: numbering (sequential and gap-free per workspace and year, safe under concurrent
generation on PostgreSQL), the copy of the deal's lines, status changes (accepting can win the deal),
editing drafts only, the business details in settings, permissions, isolation, bad input, and a
fixed number of queries on the quote page."""

import re
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.deals.models import Deal
from crm.extensions import db
from crm.products.models import DealItem
from crm.quotes.models import Quote
from crm.quotes.service import create_quote, next_number
from crm.tenancy import workspace_scope
from crm.workspaces.models import Workspace
from tests.conftest import post
from tests.factories import (
    assign_role,
    make_company,
    make_contact,
    make_deal,
    make_deal_item,
    make_member,
    make_quote,
    make_role,
)
from tests.query_counter import count_queries
from tests.test_pages import assert_valid_page


def today() -> date:
    return datetime.now(UTC).date()


def url(ws, rest: str) -> str:
    return f"/w/{ws.slug}/{rest}"


def add_lines(app, ws, deal_id: int, *lines) -> list[int]:
    """Deal line items (name, quantity, unit price, discount %, tax %), in order."""
    with app.app_context(), workspace_scope(ws.id):
        items = [
            DealItem(deal_id=deal_id, name=name, quantity=Decimal(quantity), unit_price=Decimal(price),
                     discount_percent=Decimal(discount), tax_rate=Decimal(tax), position=position)
            for position, (name, quantity, price, discount, tax) in enumerate(lines)
        ]  # fmt: skip
        db.session.add_all(items)
        db.session.commit()
        return [item.id for item in items]


def stored(app, ws, quote_id: int) -> Quote:
    with app.app_context(), workspace_scope(ws.id):
        quote = db.session.get(Quote, quote_id)
        lines = [(i.name, i.quantity, i.unit_price, i.discount_percent, i.tax_rate, i.net_amount, i.tax_amount)
                 for i in quote.items]  # fmt: skip
        db.session.expunge(quote)
        quote.lines = lines
        return quote


def quote_count(app, ws) -> int:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.scalar(sa.select(sa.func.count(Quote.id)))


def deal_status(app, ws, deal_id: int) -> str:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.get(Deal, deal_id).status


def audit_actions(app, ws, quote_id: int) -> list[str]:
    with app.app_context(), workspace_scope(ws.id):
        return list(db.session.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.record_type == "quote", AuditEntry.record_id == quote_id)
            .order_by(AuditEntry.id)
        ))  # fmt: skip


def create(client, ws, deal_id: int):
    return post(client, url(ws, f"deals/{deal_id}/quotes"), {})


def created_id(response) -> int:
    assert response.status_code == 303, response.status_code
    return int(re.search(r"/quotes/(\d+)$", response.headers["Location"]).group(1))


def test_a_quote_copies_the_deals_lines_customer_and_workspace_details(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    deal_id = make_deal(app, ws_a, "Tea for Acme", value=999, contact_id=ann, company_id=acme)
    add_lines(app, ws_a, deal_id, ("Tea chest", "2", "100.00", "10", "20"), ("Delivery", "1", "25.50", "0", "0"))
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Workspace, ws_a.id).business_details = "Alpha Trading Ltd\n1 Harbour Road\nVAT GB123"
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    quote_id = created_id(create(client, ws_a, deal_id))
    quote = stored(app, ws_a, quote_id)
    year = today().year
    assert (quote.number, quote.status, quote.issued_on, quote.valid_until) == (
        f"Q-{year}-0001",
        "draft",
        today(),
        today() + timedelta(days=30),
    )
    assert quote.lines == [
        ("Tea chest", Decimal("2.000"), Decimal("100.00"), Decimal("10.00"), Decimal("20.00"), Decimal("180.00"),
         Decimal("36.00")),
        ("Delivery", Decimal("1.000"), Decimal("25.50"), Decimal("0.00"), Decimal("0.00"), Decimal("25.50"),
         Decimal("0.00")),
    ]  # fmt: skip
    assert (quote.subtotal, quote.tax_total, quote.total) == (Decimal("205.50"), Decimal("36.00"), Decimal("241.50"))
    assert (quote.company_name, quote.contact_name, quote.seller_name) == ("Acme Ltd", "Ann Lee", "Alpha Trading")
    page = client.get(url(ws_a, f"quotes/{quote_id}")).get_data(as_text=True)
    assert f"Q-{year}-0001" in page and "1 Harbour Road" in page and "Tea chest" in page
    assert "$180.00" in page and "$36.00" in page and "$241.50" in page
    assert 'class="quote-document"' in page and "data-print" in page
    assert audit_actions(app, ws_a, quote_id) == ["quote.created"]
    deal_page = client.get(url(ws_a, f"deals/{deal_id}")).get_data(as_text=True)
    assert f"/quotes/{quote_id}" in deal_page and "$241.50" in deal_page and "Create quote" in deal_page


def test_a_deal_without_lines_gives_one_line_of_its_title_and_value(app, client, auth, ws_a):
    deal_id = make_deal(app, ws_a, "Consulting", value="1200.50", currency="EUR")
    auth.login(ws_a.email, ws_a.password)
    quote = stored(app, ws_a, created_id(create(client, ws_a, deal_id)))
    assert quote.lines == [("Consulting", Decimal("1.000"), Decimal("1200.50"), Decimal("0.00"), Decimal("0.00"),
                            Decimal("1200.50"), Decimal("0.00"))]  # fmt: skip
    assert (quote.currency, quote.total, quote.company_name, quote.contact_name) == ("EUR", Decimal("1200.50"),
                                                                                     None, None)  # fmt: skip


def test_numbers_are_sequential_per_workspace_and_independent_across_workspaces(app, client, auth, ws_a, ws_b):
    a_deal, b_deal = make_deal(app, ws_a, "A"), make_deal(app, ws_b, "B")
    make_quote(app, ws_b, b_deal)
    auth.login(ws_a.email, ws_a.password)
    numbers = [stored(app, ws_a, created_id(create(client, ws_a, a_deal))).number for _ in range(3)]
    year = today().year
    assert numbers == [f"Q-{year}-0001", f"Q-{year}-0002", f"Q-{year}-0003"]
    with app.app_context(), workspace_scope(ws_b.id):
        assert list(db.session.scalars(sa.select(Quote.number))) == [f"Q-{year}-0001"]
        assert next_number(year) == f"Q-{year}-0002"
        db.session.rollback()


def test_numbers_have_no_gap_after_a_rolled_back_generation_and_restart_each_year(app, ws_a):
    with app.app_context(), workspace_scope(ws_a.id):
        assert next_number(2026) == "Q-2026-0001"
        db.session.rollback()  # the quote's transaction failed: its number is given back
        assert next_number(2026) == "Q-2026-0001"
        assert next_number(2026) == "Q-2026-0002"
        assert next_number(2027) == "Q-2027-0001"
        db.session.commit()
        assert next_number(2026) == "Q-2026-0003"
        db.session.rollback()


@pytest.mark.postgres
def test_concurrent_generations_get_distinct_consecutive_numbers(app, ws_a):
    """Eight requests generating a quote of the same workspace at once, each in its own transaction
    and connection: every number once, none skipped. The first holds the counter row until it
    commits, so the others wait rather than read the same value."""
    deal_id = make_deal(app, ws_a, "Busy deal")
    start, numbers, errors = threading.Barrier(8), [], []

    def generate():
        try:
            with app.app_context(), workspace_scope(ws_a.id):
                deal = db.session.get(Deal, deal_id)
                workspace = db.session.get(Workspace, ws_a.id)
                start.wait()
                quote = create_quote(deal, workspace, date(2026, 5, 1), None)
                db.session.commit()
                numbers.append(quote.number)
        except Exception as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=generate) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(numbers) == [f"Q-2026-{n:04d}" for n in range(1, 9)]


def test_a_quote_stays_as_made_when_the_deal_changes(app, client, auth, ws_a):
    deal_id = make_deal(app, ws_a, "Tea", value=50)
    [tea] = add_lines(app, ws_a, deal_id, ("Green tea", "5", "10.00", "0", "0"))
    auth.login(ws_a.email, ws_a.password)
    quote_id = created_id(create(client, ws_a, deal_id))
    before = stored(app, ws_a, quote_id)
    with app.app_context(), workspace_scope(ws_a.id):
        item = db.session.get(DealItem, tea)
        item.unit_price, item.name = Decimal("99.00"), "Black tea"
        db.session.add(DealItem(deal_id=deal_id, name="Cups", quantity=Decimal(1), unit_price=Decimal(7),
                                discount_percent=Decimal(0), tax_rate=Decimal(0), position=1))  # fmt: skip
        db.session.get(Deal, deal_id).title = "Tea, renamed"
        db.session.commit()
    after = stored(app, ws_a, quote_id)
    assert (after.lines, after.total, after.title) == (before.lines, Decimal("50.00"), "Tea")
    page = client.get(url(ws_a, f"quotes/{quote_id}")).get_data(as_text=True)
    assert "Green tea" in page and "Black tea" not in page and "Cups" not in page
    newer = stored(app, ws_a, created_id(create(client, ws_a, deal_id)))
    assert [line[0] for line in newer.lines] == ["Black tea", "Cups"] and newer.total == Decimal("502.00")


def test_status_moves_draft_sent_accepted_and_refuses_the_rest(app, client, auth, ws_a):
    quote_id = make_quote(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    status_url = url(ws_a, f"quotes/{quote_id}/status")
    response = post(client, status_url, {"status": "accepted"})  # a draft is sent first
    assert response.status_code == 409 and "cannot be marked Accepted" in response.get_data(as_text=True)
    for bad in ("draft", "bogus", ""):
        response = post(client, status_url, {"status": bad})
        assert response.status_code == 422 and "Not a valid choice" in response.get_data(as_text=True), bad
    assert stored(app, ws_a, quote_id).status == "draft"
    assert post(client, status_url, {"status": "sent"}).status_code == 303
    boosted = post(client, status_url, {"status": "sent"}, headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert boosted.status_code == 409  # htmx swaps no 409: the reason comes as a toast
    assert "cannot be marked Sent" in boosted.headers["HX-Trigger"]
    assert post(client, status_url, {"status": "declined"}).status_code == 303
    for again in ("accepted", "sent", "declined"):
        assert post(client, status_url, {"status": again}).status_code == 409
    quote = stored(app, ws_a, quote_id)
    assert quote.status == "declined" and quote.status_changed_at is not None
    assert audit_actions(app, ws_a, quote_id) == ["quote.created", "quote.sent", "quote.declined"]
    page = client.get(url(ws_a, f"quotes/{quote_id}")).get_data(as_text=True)
    assert "Declined" in page and "Mark as" not in page and "Edit the draft" not in page


def test_accepting_with_the_box_ticked_wins_the_deal(app, client, auth, ws_a):
    won_deal, open_deal = make_deal(app, ws_a, "Tea"), make_deal(app, ws_a, "Cups")
    won_quote, open_quote = make_quote(app, ws_a, won_deal), make_quote(app, ws_a, open_deal)
    auth.login(ws_a.email, ws_a.password)
    for quote_id in (won_quote, open_quote):
        post(client, url(ws_a, f"quotes/{quote_id}/status"), {"status": "sent"})
    page = client.get(url(ws_a, f"quotes/{won_quote}")).get_data(as_text=True)
    assert "Also mark the deal won" in page
    response = post(client, url(ws_a, f"quotes/{won_quote}/status"), {"status": "accepted", "win_deal": "y"})
    assert response.status_code == 303
    assert stored(app, ws_a, won_quote).status == "accepted"
    with app.app_context(), workspace_scope(ws_a.id):
        deal = db.session.get(Deal, won_deal)
        assert (deal.status, deal.closed_on) == ("won", today())
    assert post(client, url(ws_a, f"quotes/{open_quote}/status"), {"status": "accepted"}).status_code == 303
    assert deal_status(app, ws_a, open_deal) == "open"  # box not ticked: the deal stays open


def test_accepting_with_a_win_refuses_a_lost_deal_and_saves_nothing(app, client, auth, ws_a):
    deal_id = make_deal(app, ws_a, "Tea")
    quote_id = make_quote(app, ws_a, deal_id)
    auth.login(ws_a.email, ws_a.password)
    post(client, url(ws_a, f"quotes/{quote_id}/status"), {"status": "sent"})
    with app.app_context(), workspace_scope(ws_a.id):
        deal = db.session.get(Deal, deal_id)
        deal.status, deal.closed_on = "lost", today()
        db.session.commit()
    response = post(client, url(ws_a, f"quotes/{quote_id}/status"), {"status": "accepted", "win_deal": "y"})
    assert response.status_code == 409 and "The deal is lost" in response.get_data(as_text=True)
    assert stored(app, ws_a, quote_id).status == "sent"
    assert deal_status(app, ws_a, deal_id) == "lost"
    assert audit_actions(app, ws_a, quote_id) == ["quote.created", "quote.sent"]


def test_only_an_open_deal_gets_a_quote(app, client, auth, ws_a):
    deal_id = make_deal(app, ws_a, "Tea")
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Deal, deal_id).status = "won"
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    response = create(client, ws_a, deal_id)
    assert response.status_code == 409 and "Only an open deal can be quoted" in response.get_data(as_text=True)
    response = post(client, url(ws_a, f"deals/{deal_id}/quotes"), {}, headers={"HX-Request": "true"})
    assert response.status_code == 409 and "Only an open deal can be quoted" in response.headers["HX-Trigger"]
    assert quote_count(app, ws_a) == 0
    assert "Create quote" not in client.get(url(ws_a, f"deals/{deal_id}")).get_data(as_text=True)


def test_a_total_beyond_what_a_quote_holds_is_refused(app, client, auth, ws_a):
    deal_id = make_deal(app, ws_a, "Two ships", value=0)
    add_lines(app, ws_a, deal_id, ("Ship", "1", "6000000000.00", "0", "0"), ("Ship", "1", "6000000000.00", "0", "0"))
    auth.login(ws_a.email, ws_a.password)
    response = create(client, ws_a, deal_id)
    assert response.status_code == 422 and "The quote&#39;s total is too large." in response.get_data(as_text=True)
    assert quote_count(app, ws_a) == 0
    with app.app_context(), workspace_scope(ws_a.id):
        assert next_number(today().year) == f"Q-{today().year}-0001"  # the refused quote took no number
        db.session.rollback()


def test_a_draft_edits_its_validity_and_notes_with_bad_input_refused(app, client, auth, ws_a):
    quote_id = make_quote(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    edit_url = url(ws_a, f"quotes/{quote_id}")
    for bad, message in (
        ({"valid_until": (today() - timedelta(days=1)).isoformat()}, "valid until its date of issue or later"),
        ({"valid_until": "soon"}, "Not a valid date value."),
        ({"valid_until": ""}, "Enter a date."),
        ({"valid_until": today().isoformat(), "notes": "x" * 5001}, "Field cannot be longer than 5000 characters."),
    ):
        response = post(client, edit_url, bad)
        assert response.status_code == 422 and message in response.get_data(as_text=True), bad
    assert stored(app, ws_a, quote_id).valid_until == today() + timedelta(days=30)
    later = today() + timedelta(days=60)
    response = post(client, edit_url, {"valid_until": later.isoformat(), "notes": "  Payment within 14 days.  "})
    assert response.status_code == 303
    quote = stored(app, ws_a, quote_id)
    assert (quote.valid_until, quote.notes) == (later, "Payment within 14 days.")
    assert "Payment within 14 days." in client.get(edit_url).get_data(as_text=True)
    assert audit_actions(app, ws_a, quote_id) == ["quote.created", "quote.updated"]
    post(client, url(ws_a, f"quotes/{quote_id}/status"), {"status": "sent"})
    response = post(client, edit_url, {"valid_until": today().isoformat(), "notes": "changed"})
    assert response.status_code == 409 and "Only a draft quote can be changed." in response.get_data(as_text=True)
    assert stored(app, ws_a, quote_id).notes == "Payment within 14 days."


def test_another_workspaces_quotes_and_deals_are_404(app, client, auth, ws_a, ws_b):
    their_deal = make_deal(app, ws_b, "Secret deal")
    theirs = make_quote(app, ws_b, their_deal)
    auth.login(ws_a.email, ws_a.password)
    response = client.get(url(ws_a, f"quotes/{theirs}"))
    assert response.status_code == 404 and "Secret deal" not in response.get_data(as_text=True)
    assert create(client, ws_a, their_deal).status_code == 404
    assert post(client, url(ws_a, f"quotes/{theirs}/status"), {"status": "sent"}).status_code == 404
    assert post(client, url(ws_a, f"quotes/{theirs}"), {"valid_until": "2040-01-01", "notes": "x"}).status_code == 404
    assert quote_count(app, ws_a) == 0
    quote = stored(app, ws_b, theirs)
    assert (quote.status, quote.notes) == ("draft", None)
    assert client.get(url(ws_b, f"quotes/{theirs}")).status_code == 404  # not a member of B


def test_a_deleted_deals_quotes_are_gone(app, client, auth, ws_a):
    deal_id = make_deal(app, ws_a, "Tea")
    quote_id = make_quote(app, ws_a, deal_id)
    auth.login(ws_a.email, ws_a.password)
    assert post(client, url(ws_a, f"deals/{deal_id}/delete"), {}).status_code == 303
    assert client.get(url(ws_a, f"quotes/{quote_id}")).status_code == 404


def test_viewers_read_quotes_and_only_writers_change_them(app, client, auth, ws_a):
    deal_id = make_deal(app, ws_a, "Tea")
    quote_id = make_quote(app, ws_a, deal_id)
    viewer = make_member(app, ws_a, "vic@alpha.example.com", role="viewer")
    auth.login(viewer.email, viewer.password)
    page = client.get(url(ws_a, f"quotes/{quote_id}")).get_data(as_text=True)
    assert "Tea" in page and "Mark as sent" not in page and "Edit the draft" not in page
    assert "Create quote" not in client.get(url(ws_a, f"deals/{deal_id}")).get_data(as_text=True)
    assert create(client, ws_a, deal_id).status_code == 403
    assert post(client, url(ws_a, f"quotes/{quote_id}/status"), {"status": "sent"}).status_code == 403
    assert post(client, url(ws_a, f"quotes/{quote_id}"), {"valid_until": "2040-01-01"}).status_code == 403
    assert client.get(url(ws_a, "settings/quotes")).status_code == 403
    auth.logout()
    agent = make_member(app, ws_a, "sue@alpha.example.com", role="support")
    auth.login(agent.email, agent.password)
    assert client.get(url(ws_a, f"quotes/{quote_id}")).status_code == 403
    assert (quote_count(app, ws_a), stored(app, ws_a, quote_id).status) == (1, "draft")


def test_own_scope_follows_the_deal(app, client, auth, ws_a):
    seller = make_member(app, ws_a, "sam@alpha.example.com", role="sales")
    assign_role(app, ws_a, seller.membership_id,
                make_role(app, ws_a, "Own deals", ("deals.read", "deals.write"), record_scope="own"))  # fmt: skip
    theirs = make_deal(app, ws_a, "Alice's", owner_id=ws_a.membership_id)
    mine = make_deal(app, ws_a, "Sam's", owner_id=seller.membership_id)
    their_quote = make_quote(app, ws_a, theirs)
    auth.login(seller.email, seller.password)
    assert client.get(url(ws_a, f"quotes/{their_quote}")).status_code == 404
    assert post(client, url(ws_a, f"quotes/{their_quote}/status"), {"status": "sent"}).status_code == 404
    assert create(client, ws_a, theirs).status_code == 404
    my_quote = created_id(create(client, ws_a, mine))
    assert client.get(url(ws_a, f"quotes/{my_quote}")).status_code == 200
    assert stored(app, ws_a, their_quote).status == "draft"


def test_business_details_in_settings_go_on_new_quotes_only(app, client, auth, ws_a):
    old_quote = make_quote(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(url(ws_a, "settings/quotes")).get_data(as_text=True)
    assert "Business details on quotes" in page and 'aria-current="page">Quotes<' in page
    response = post(client, url(ws_a, "settings/quotes"), {"business_details": "x" * 1001})
    assert response.status_code == 422 and "cannot be longer than 1000 characters" in response.get_data(as_text=True)
    response = post(client, url(ws_a, "settings/quotes"), {"business_details": " Alpha Trading Ltd\nVAT GB123 "})
    assert response.status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Workspace, ws_a.id).business_details == "Alpha Trading Ltd\nVAT GB123"
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "workspace.updated"))
        assert entry.changes == {"business_details": [None, "Alpha Trading Ltd\nVAT GB123"]}
    new_quote = make_quote(app, ws_a)
    assert "VAT GB123" in client.get(url(ws_a, f"quotes/{new_quote}")).get_data(as_text=True)
    assert "VAT GB123" not in client.get(url(ws_a, f"quotes/{old_quote}")).get_data(as_text=True)
    seller = make_member(app, ws_a, "sam@alpha.example.com", role="sales")
    auth.logout()
    auth.login(seller.email, seller.password)
    assert post(client, url(ws_a, "settings/quotes"), {"business_details": "hijack"}).status_code == 403


def test_the_quote_page_takes_the_same_queries_whatever_its_lines(app, client, auth, ws_a):
    small, big = make_deal(app, ws_a, "Small"), make_deal(app, ws_a, "Big")
    add_lines(app, ws_a, small, *[(f"Item {n}", "1", "1", "0", "0") for n in range(2)])
    add_lines(app, ws_a, big, *[(f"Item {n}", "1", "1", "0", "0") for n in range(30)])
    small_quote, big_quote = make_quote(app, ws_a, small), make_quote(app, ws_a, big)
    auth.login(ws_a.email, ws_a.password)
    client.get(url(ws_a, ""))  # the workspace's slug is remembered from now on
    counts = []
    for quote_id, lines in ((small_quote, 2), (big_quote, 30)):
        with count_queries(app) as queries:
            page = client.get(url(ws_a, f"quotes/{quote_id}")).get_data(as_text=True)
        assert page.count('<th scope="row">Item ') == lines
        counts.append(len(queries))
    assert counts[0] == counts[1] == 4, counts  # member, the quote with its deal, its lines, its history


def test_quote_pages_are_valid_html_with_labelled_fields(app, client, auth, ws_a):
    quote_id = make_quote(app, ws_a)
    sent_id = make_quote(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    post(client, url(ws_a, f"quotes/{sent_id}/status"), {"status": "sent"})
    for page_url in (f"quotes/{quote_id}", f"quotes/{sent_id}", "settings/quotes"):
        assert_valid_page(client.get(url(ws_a, page_url)).get_data(as_text=True), page_url)
    refused = post(client, url(ws_a, f"quotes/{quote_id}"), {"valid_until": "soon"}).get_data(as_text=True)
    assert_valid_page(refused, "the refused edit")
    assert 'aria-invalid="true"' in refused


def test_a_yen_quotes_lines_are_whole_yen_and_add_up_to_its_total(app, client, auth, ws_a):
    deal_id = make_deal(app, ws_a, "Tea for Osaka", value=0, currency="JPY")
    # ¥105 less 10% is ¥94.50 a line: kept to the sen, each line showed ¥94 and the subtotal ¥189.
    for name in ("Sencha", "Genmaicha"):
        make_deal_item(app, ws_a, deal_id, name=name, unit_price="105", discount="10", tax_rate="10")
    auth.login(ws_a.email, ws_a.password)
    quote = stored(app, ws_a, created_id(create(client, ws_a, deal_id)))
    assert [line[5:] for line in quote.lines] == [(Decimal("95.00"), Decimal("10.00"))] * 2
    assert (quote.subtotal, quote.tax_total, quote.total) == (Decimal("190.00"), Decimal("20.00"), Decimal("210.00"))
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Deal, deal_id).value == Decimal("190.00")
    page = client.get(url(ws_a, f"quotes/{quote.id}")).get_data(as_text=True)
    assert page.count("¥95") == 2 and "¥190" in page and "¥20" in page and "¥210" in page


def test_of_two_members_marking_a_sent_quote_at_once_only_the_first_does(app, ws_a):
    """Accepted (winning the deal) and declined at the same moment, each in its own transaction: the
    second waits for the first's row and is refused, rather than a declined quote with a won deal."""
    import time

    from crm.quotes.service import QuoteError, change_status

    deal_id = make_deal(app, ws_a, "Tea")
    quote_id = make_quote(app, ws_a, deal_id)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Quote, quote_id).status = "sent"
        db.session.commit()
    start, outcomes = threading.Barrier(2), {}

    def mark(status: str, delay: float, hold: float):
        try:
            with app.app_context(), workspace_scope(ws_a.id):
                quote = db.session.get(Quote, quote_id)
                quote.deal  # noqa: B018  (loaded before the other changes anything)
                start.wait()
                time.sleep(delay)
                change_status(quote, status, db.session.get(Workspace, ws_a.id), today(), None, win_deal=True)
                time.sleep(hold)  # the other marks it meanwhile
                db.session.commit()
                outcomes[status] = "done"
        except QuoteError as error:
            outcomes[status] = str(error)

    threads = [threading.Thread(target=mark, args=("accepted", 0, 0.5)),
               threading.Thread(target=mark, args=("declined", 0.2, 0))]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes == {
        "accepted": "done",
        "declined": "Someone else changed this quote's status meanwhile. Check it and try again.",
    }
    assert stored(app, ws_a, quote_id).status == "accepted"
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Deal, deal_id).status == "won"
