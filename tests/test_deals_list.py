"""The deals list (Board | List): status and board filters, the customer filter (board too), sorting
by every column both ways, keyset pages, the CSV and XLSX export, record scope, isolation, query
counts and bad input; the customer picker's search and the deal form's checks of a picked id."""

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from crm.audit.models import AuditEntry
from crm.contacts.models import Contact
from crm.db import utcnow
from crm.deals.models import Deal
from crm.extensions import db
from crm.tenancy import workspace_scope
from crm.workspaces.models import Workspace
from tests.conftest import post
from tests.factories import (
    assign_role,
    default_pipeline,
    lost_reason_id,
    make_company,
    make_contact,
    make_custom_field,
    make_deal,
    make_member,
    make_pipeline,
    make_role,
)
from tests.query_counter import count_queries
from tests.test_pages import assert_valid_page

RESULTS = {"HX-Request": "true", "HX-Target": "deal-list-results"}
MORE = {"HX-Request": "true", "HX-Target": "deal-list-more"}
ROW = re.compile(r'id="deal-row-(\d+)"')


def list_url(ws, pipeline_id: int, rest: str = "list") -> str:
    return f"/w/{ws.slug}/deals/pipelines/{pipeline_id}/{rest}"


def shown(response) -> list[int]:
    """The deal ids of a list page or fragment, in order."""
    return [int(i) for i in ROW.findall(response.get_data(as_text=True))]


def close(app, ws, deal_id: int, status: str, **fields) -> None:
    """Puts a deal in its pipeline's won or lost stage (the outcome flows are tested in test_deals.py)."""
    from crm.deals.models import Stage

    with app.app_context(), workspace_scope(ws.id):
        deal = db.session.get(Deal, deal_id)
        deal.status = status
        for name, value in fields.items():
            setattr(deal, name, value)
        deal.stage_id = db.session.scalar(
            sa.select(Stage.id).where(Stage.pipeline_id == deal.pipeline_id, Stage.kind == status)
        )
        db.session.commit()


def set_created(app, ws, deal_id: int, days_ago: int) -> None:
    with app.app_context(), workspace_scope(ws.id):
        db.session.get(Deal, deal_id).created_at = utcnow() - timedelta(days=days_ago)
        db.session.commit()


@pytest.fixture
def sales(app, ws_a):
    return default_pipeline(app, ws_a)


def test_list_shows_the_pipelines_deals_with_names_and_a_status_filter(app, client, auth, ws_a, sales):
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    tea = make_deal(app, ws_a, "Tea for Acme", sales.stages["Qualified"], 1200, contact_id=ann, company_id=acme,
                    owner_id=ws_a.membership_id, expected_close_on=date(2030, 1, 31))  # fmt: skip
    won = make_deal(app, ws_a, "Won cups", sales.stages["Lead in"], 50)
    lost = make_deal(app, ws_a, "Lost chairs", sales.stages["Lead in"], 70)
    close(app, ws_a, won, "won")
    close(app, ws_a, lost, "lost")
    partners = make_pipeline(app, ws_a, "Partners")
    elsewhere = make_deal(app, ws_a, "Partner deal", partners.open[0])
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/deals/list")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and shown(page) == [tea]
    assert_valid_page(html, "deals list")
    for text in ("Ann Lee", "Acme Ltd", "$1,200.00", "Qualified", "Alice", "Jan 31, 2030", "Open"):
        assert text in html, text
    assert 'aria-current="page">List<' in html and f"/deals/pipelines/{sales.id}?" not in html.split("List<")[0]
    for status, expected in (("won", [won]), ("lost", [lost]), ("all", [lost, won, tea])):
        assert shown(client.get(list_url(ws_a, sales.id), query_string={"status": status})) == expected
    assert shown(client.get(list_url(ws_a, partners.id))) == [elsewhere]
    fragment = client.get(list_url(ws_a, sales.id), query_string={"status": "won"}, headers=RESULTS)
    assert fragment.get_data(as_text=True).startswith('<div id="deal-list-results">') and shown(fragment) == [won]
    board = client.get(f"/w/{ws_a.slug}/deals/pipelines/{sales.id}?owner=me").get_data(as_text=True)
    assert f'href="/w/{ws_a.slug}/deals/pipelines/{sales.id}/list?owner=me" data-keep-query>List<' in board


def test_every_column_sorts_both_ways_and_the_sort_stays_in_the_url(app, client, auth, ws_a, sales):
    colleague = make_member(app, ws_a, "zed@alpha.example.com")
    zoe = make_contact(app, ws_a, "Zoe Wu")
    beta = make_company(app, ws_a, "Beta Foods")
    a = make_deal(app, ws_a, "Apples", sales.stages["Proposal"], 300, contact_id=zoe, owner_id=colleague.membership_id,
                  expected_close_on=date(2030, 3, 1))  # fmt: skip
    b = make_deal(app, ws_a, "Bananas", sales.stages["Lead in"], 100, company_id=beta, owner_id=ws_a.membership_id)
    c = make_deal(app, ws_a, "Cherries", sales.stages["Qualified"], 200, expected_close_on=date(2030, 1, 1))
    close(app, ws_a, c, "won")
    for deal_id, days in ((a, 3), (b, 1), (c, 2)):
        set_created(app, ws_a, deal_id, days)
    auth.login(ws_a.email, ws_a.password)
    expected = {
        "title": [a, b, c],
        "customer": [c, b, a],  # no customer, Beta Foods, Zoe Wu
        "value": [b, c, a],
        "stage": [b, a, c],  # Lead in, Proposal, Won: the pipeline's order
        "owner": [c, b, a],  # nobody, Alice, Test User
        "close": [c, a, b],  # no date last
        "status": [a, b, c],  # open before won
        "created": [a, c, b],
    }
    for key, ascending in expected.items():
        up = client.get(list_url(ws_a, sales.id), query_string={"status": "all", "sort": key})
        assert shown(up) == ascending, key
        down = client.get(list_url(ws_a, sales.id), query_string={"status": "all", "sort": f"-{key}"})
        if key == "close":
            assert shown(down) == [a, c, b]  # still no date last
        else:
            assert shown(down) == ascending[::-1], key
    page = client.get(list_url(ws_a, sales.id), query_string={"status": "all", "sort": "value"}).get_data(as_text=True)
    assert 'aria-sort="ascending"' in page and page.count("aria-sort=") == 1
    assert '<input type="hidden" name="sort" value="value" form="deal-list-filters">' in page
    assert "list?status=all&amp;sort=-value" in page  # the heading reverses the sort
    assert "list?status=all&amp;sort=title" in page  # text columns start A to Z
    assert f'data-hx-get="/w/{ws_a.slug}/deals/pipelines/{sales.id}/list?status=all"' in page  # newest first


def test_pages_follow_the_sort_without_offsets_or_repeats(app, client, auth, ws_a, sales, monkeypatch):
    from crm.deals import list_queries

    monkeypatch.setattr(list_queries, "PER_PAGE", 3)  # 50 in use; 3 keeps the test small
    ids = [make_deal(app, ws_a, f"Deal {n}", sales.open[n % 4], 100 * (n % 3),
                     expected_close_on=date(2030, 1, 1 + n % 2) if n % 3 else None) for n in range(8)]  # fmt: skip
    auth.login(ws_a.email, ws_a.password)
    client.get(f"/w/{ws_a.slug}/")  # the workspace's slug is remembered from now on
    for sort in ("-created", "value", "-value", "close", "-close", "stage", "customer", "-title"):
        response = client.get(list_url(ws_a, sales.id), query_string={"sort": sort})
        walked = shown(response)
        assert len(walked) == 3
        while match := re.search(r'data-hx-get="([^"]+after=[^"]+)"', response.get_data(as_text=True)):
            with count_queries(app) as queries:
                response = client.get(match.group(1).replace("&amp;", "&"), headers=MORE)
            assert len(queries) == 3, queries  # member, the pipeline, one page: however deep
            walked += shown(response)
        assert sorted(walked) == sorted(ids) and len(walked) == len(set(walked)), sort
    by_value = []
    response = client.get(list_url(ws_a, sales.id), query_string={"sort": "-value"})
    by_value += shown(response)
    while match := re.search(r'data-hx-get="([^"]+after=[^"]+)"', response.get_data(as_text=True)):
        response = client.get(match.group(1).replace("&amp;", "&"), headers=MORE)
        by_value += shown(response)
    values = {deal_id: 100 * (n % 3) for n, deal_id in enumerate(ids)}
    assert [values[i] for i in by_value] == sorted(values.values(), reverse=True)
    ties = [i for i in by_value if values[i] == 200]
    assert ties == sorted(ties, reverse=True)  # the id breaks ties, the same way


def test_bad_sort_status_and_cursor_fall_back_or_say_so(app, client, auth, ws_a, sales):
    first = make_deal(app, ws_a, "First")
    second = make_deal(app, ws_a, "Second")
    set_created(app, ws_a, first, 2)
    auth.login(ws_a.email, ws_a.password)
    odd = client.get(list_url(ws_a, sales.id), query_string={"sort": "-password", "status": "maybe", "owner": "x",
                                                              "min_value": "-1", "close_from": "soon",
                                                              "customer": "contact:abc"})  # fmt: skip
    assert odd.status_code == 200 and shown(odd) == [second, first]  # newest first, open, unfiltered
    bad_cursor = client.get(list_url(ws_a, sales.id), query_string={"after": "not-a-cursor"})
    assert bad_cursor.status_code == 400
    assert client.get(list_url(ws_a, sales.id), query_string={"sort": "title", "after": "WzFd"}).status_code == 400


def test_board_filters_and_the_customer_filter_apply_to_the_list_and_the_board(app, client, auth, ws_a, ws_b, sales):
    lead = sales.stages["Lead in"]
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    bob = make_contact(app, ws_a, "Bob Ray")
    colleague = make_member(app, ws_a, "colleague@alpha.example.com")
    of_company = make_deal(app, ws_a, "Acme crates", lead, 900, company_id=acme, owner_id=colleague.membership_id)
    of_ann = make_deal(app, ws_a, "Ann's tea", lead, 300, contact_id=ann, owner_id=ws_a.membership_id,
                       expected_close_on=date(2030, 5, 1))  # fmt: skip
    of_bob = make_deal(app, ws_a, "Bob's cups", lead, 20, contact_id=bob, expected_close_on=date(2030, 6, 1))
    their_contact = make_contact(app, ws_b, "Secret Person")
    make_deal(app, ws_b, "Secret deal", contact_id=their_contact)
    auth.login(ws_a.email, ws_a.password)
    url = list_url(ws_a, sales.id)
    for args, expected in (
        ({"customer": f"contact:{ann}"}, {of_ann}),
        ({"customer": f"company:{acme}"}, {of_company, of_ann}),  # the company's deals and its contacts'
        ({"owner": "me"}, {of_ann}),
        ({"owner": str(colleague.membership_id)}, {of_company}),
        ({"q": "bob"}, {of_bob}),
        ({"close_from": "2030-05-15"}, {of_bob}),
        ({"close_until": "2030-05-15"}, {of_ann}),
        ({"min_value": "300"}, {of_company, of_ann}),
    ):
        assert set(shown(client.get(url, query_string=args))) == expected, args
    page = client.get(url, query_string={"customer": f"company:{acme}"}).get_data(as_text=True)
    assert 'name="customer" id="customer" value="company:' in page and 'value="Acme Ltd"' in page
    board = client.get(f"/w/{ws_a.slug}/deals/pipelines/{sales.id}", query_string={"customer": f"contact:{bob}"})
    board_html = board.get_data(as_text=True)
    assert "Bob&#39;s cups" in board_html and "Acme crates" not in board_html and 'value="Bob Ray"' in board_html
    assert "$20.00" in board_html and "$1,220.00" not in board_html  # the column totals follow it
    assert_valid_page(board_html, "board with a customer filter")
    # Another workspace's contact: the filter is dropped, nothing of it is shown.
    foreign = client.get(url, query_string={"customer": f"contact:{their_contact}"})
    foreign_html = foreign.get_data(as_text=True)
    assert set(shown(foreign)) == {of_company, of_ann, of_bob} and "Secret" not in foreign_html
    assert 'name="customer" id="customer" value=""' in foreign_html


def test_list_queries_do_not_grow_with_the_rows(app, client, auth, ws_a, sales):
    acme = make_company(app, ws_a, "Acme Ltd")
    contact = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    for number in range(60):
        make_deal(app, ws_a, f"Deal {number}", sales.open[number % 4], number, contact_id=contact, company_id=acme,
                  owner_id=ws_a.membership_id)  # fmt: skip
    auth.login(ws_a.email, ws_a.password)
    client.get(f"/w/{ws_a.slug}/")
    for sort in ("-created", "customer", "owner", "stage", "close"):
        with count_queries(app) as queries:
            page = client.get(list_url(ws_a, sales.id), query_string={"sort": sort})
        assert len(shown(page)) == 50
        assert len(queries) == 4, queries  # member, pipelines (the tabs), the rows with their names, owners
    with count_queries(app) as queries:
        client.get(list_url(ws_a, sales.id), query_string={"customer": f"company:{acme}"}, headers=RESULTS)
    assert len(queries) == 4, queries  # member, the customer's name, the pipeline, the rows


def test_own_scope_lists_and_exports_only_own_deals(app, client, auth, ws_a, sales):
    seller = make_member(app, ws_a, "sam@alpha.example.com")
    assign_role(app, ws_a, seller.membership_id, make_role(
        app, ws_a, "Own deals", ("deals.read", "contacts.read", "contacts.export"), record_scope="own"))  # fmt: skip
    mine = make_deal(app, ws_a, "Sam's deal", owner_id=seller.membership_id)
    make_deal(app, ws_a, "Alice's deal", owner_id=ws_a.membership_id)
    theirs_contact = make_contact(app, ws_a, "Alice's customer", owner_id=ws_a.membership_id)
    auth.login(seller.email, seller.password)
    assert shown(client.get(list_url(ws_a, sales.id), query_string={"status": "all"})) == [mine]
    exported = client.get(list_url(ws_a, sales.id, "export.csv")).get_data(as_text=True)
    assert "Sam's deal" in exported and "Alice's deal" not in exported
    # A customer they may not see is no filter (its name is not shown either).
    hidden = client.get(list_url(ws_a, sales.id), query_string={"customer": f"contact:{theirs_contact}"})
    assert shown(hidden) == [mine] and "Alice&#39;s customer" not in hidden.get_data(as_text=True)


def test_another_workspaces_pipeline_is_404_for_the_list_and_the_export(app, client, auth, ws_a, ws_b):
    make_deal(app, ws_b, "Secret deal")
    theirs = default_pipeline(app, ws_b).id
    auth.login(ws_a.email, ws_a.password)
    for rest in ("list", "export.csv", "export.xlsx"):
        response = client.get(list_url(ws_a, theirs, rest))
        assert response.status_code == 404 and b"Secret deal" not in response.get_data()
    assert client.get(list_url(ws_a, theirs), headers=RESULTS).status_code == 404


def test_export_gives_every_matching_deal_as_csv_and_xlsx_and_is_audited(app, client, auth, ws_a, sales):
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    make_deal(app, ws_a, "=HYPERLINK(\"x\")", sales.stages["Qualified"], Decimal("1234.50"), contact_id=ann,
                    company_id=acme, owner_id=ws_a.membership_id, expected_close_on=date(2030, 1, 31),
                    notes="Wants a sample")  # fmt: skip
    make_deal(app, ws_a, "Small cups", sales.stages["Lead in"], 5)
    lost = make_deal(app, ws_a, "Lost chairs", sales.stages["Lead in"], 70)
    close(app, ws_a, lost, "lost", lost_reason_id=lost_reason_id(app, ws_a), lost_reason="Went for the cheap ones")
    auth.login(ws_a.email, ws_a.password)
    page = client.get(list_url(ws_a, sales.id), query_string={"min_value": "10"}).get_data(as_text=True)
    assert f"/deals/pipelines/{sales.id}/export.csv?min_value=10" in page
    response = client.get(list_url(ws_a, sales.id, "export.csv"), query_string={"min_value": "10"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:8] == ["Title", "Value", "Currency", "Stage", "Status", "Contact", "Company", "Owner"]
    assert len(rows) == 2  # the filter holds (value 10+, open): one deal
    assert rows[1][:9] == ["'=HYPERLINK(\"x\")", "1234.50", "USD", "Qualified", "Open", "Ann Lee", "Acme Ltd", "Alice",
                           "2030-01-31"]  # fmt: skip
    assert "Wants a sample" in rows[1]
    everything = client.get(list_url(ws_a, sales.id, "export.xlsx"), query_string={"status": "all"})
    assert everything.status_code == 200 and everything.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(everything.get_data())).active
    cells = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert len(cells) == 4 and cells[0][0] == "Title"
    assert {row[0] for row in cells[1:]} == {'\'=HYPERLINK("x")', "Small cups", "Lost chairs"}
    tea_row = next(row for row in cells if row[0].startswith("'="))
    assert tea_row[1] == 1234.5  # a number in the workbook
    lost_row = next(row for row in cells if row[0] == "Lost chairs")
    assert lost_row[4] == "Lost" and lost_row[10:12] == ["Too expensive", "Went for the cheap ones"]
    with app.app_context(), workspace_scope(ws_a.id):
        entries = db.session.execute(
            sa.select(AuditEntry.action, AuditEntry.record_id, AuditEntry.changes).order_by(AuditEntry.id)
        ).all()
    exports = [entry for entry in entries if entry.action == "deal.exported"]
    assert [(e.record_id, e.changes["format"][1], e.changes["filters"][1]) for e in exports] == [
        (sales.id, "csv", {"min_value": "10"}), (sales.id, "xlsx", {"status": "all"})]  # fmt: skip


def test_export_gives_the_deal_fields_sensitive_ones_masked_without_the_permission(app, client, auth, ws_a, sales):
    po = make_custom_field(app, ws_a, "PO number", entity="deal")
    seats = make_custom_field(app, ws_a, "Seats", kind="number", entity="deal")
    code = make_custom_field(app, ws_a, "Discount code", entity="deal", sensitive=True)
    deal = make_deal(app, ws_a, "Cups", sales.stages["Lead in"], 5)
    make_deal(app, ws_a, "Saucers", sales.stages["Lead in"], 7)
    set_deal_values(app, ws_a, deal, {po: "PO-7781", seats: Decimal("12.5"), code: "STAFF40"})
    auth.login(ws_a.email, ws_a.password)
    rows = list(csv.reader(io.StringIO(client.get(list_url(ws_a, sales.id, "export.csv")).get_data(as_text=True)
                                       .lstrip("\ufeff"))))  # fmt: skip
    assert rows[0][-3:] == ["PO number", "Seats", "Discount code"]
    assert {row[0]: row[-3:] for row in rows[1:]} == {"Cups": ["PO-7781", "12.5", "STAFF40"], "Saucers": ["", "", ""]}
    sheet = load_workbook(io.BytesIO(client.get(list_url(ws_a, sales.id, "export.xlsx")).get_data())).active
    cups = next(row for row in sheet.iter_rows(values_only=True) if row[0] == "Cups")
    assert cups[-3:] == ("PO-7781", 12.5, "STAFF40")
    auth.logout()
    member = make_member(app, ws_a, "exporter@alpha.example.com")
    exporter = make_role(app, ws_a, "Exporter", ("contacts.read", "contacts.export", "deals.read"))
    assign_role(app, ws_a, member.membership_id, exporter)
    auth.login(member.email, member.password)
    text = client.get(list_url(ws_a, sales.id, "export.csv")).get_data(as_text=True)
    assert "PO-7781" in text and "STAFF40" not in text and "••••••" in text


def set_deal_values(app, ws, deal_id: int, values: dict) -> None:
    from crm.custom_fields.models import CustomField
    from crm.custom_fields.service import FieldDef, to_storage

    with app.app_context(), workspace_scope(ws.id):
        deal = db.session.get(Deal, deal_id)
        custom = dict(deal.custom)
        for field_id, value in values.items():
            f = db.session.get(CustomField, field_id)
            definition = FieldDef(f.id, f.entity, f.key, f.label, f.kind, tuple(f.options), f.required, f.sensitive)
            custom[f.key] = to_storage(definition, value)
        deal.custom = custom
        db.session.commit()


@pytest.mark.parametrize("role", ["sales", "viewer"])
def test_export_needs_contacts_export_as_well_as_deals_read(app, client, auth, ws_a, sales, role):
    member = make_member(app, ws_a, f"{role}@alpha.example.com", role=role)
    auth.login(member.email, member.password)
    page = client.get(list_url(ws_a, sales.id)).get_data(as_text=True)
    assert "Export CSV" not in page
    assert client.get(list_url(ws_a, sales.id, "export.csv")).status_code == 403
    assert client.get(list_url(ws_a, sales.id, "export.xlsx")).status_code == 403


def test_a_role_with_contacts_export_but_not_deals_read_cannot_export_deals(app, client, auth, ws_a, sales):
    member = make_member(app, ws_a, "exporter@alpha.example.com")
    assign_role(app, ws_a, member.membership_id, make_role(app, ws_a, "Exporter", ("contacts.read", "contacts.export")))
    auth.login(member.email, member.password)
    assert client.get(list_url(ws_a, sales.id, "export.csv")).status_code == 403
    assert client.get(f"/w/{ws_a.slug}/deals/list").status_code == 403


# The customer picker


def picker_url(ws, **args) -> str:
    query = "&".join(f"{key}={value}" for key, value in {"field": "contact_id", **args}.items())
    return f"/w/{ws.slug}/deals/customers/?{query}"


def test_picker_finds_a_phone_number_as_it_is_dialled_in_the_workspaces_country(app, client, auth, ws_a):
    from crm.workspaces.models import Workspace

    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Workspace, ws_a.id).phone_region = "GB"
        db.session.commit()
    make_contact(app, ws_a, "Ann Lee", phones=["+442071838750"])
    make_company(app, ws_a, "Acme Ltd", phone="+442079460000")
    auth.login(ws_a.email, ws_a.password)
    contacts = client.get(picker_url(ws_a, kind="contact", q="020%207183%208750")).get_data(as_text=True)
    assert 'data-label="Ann Lee"' in contacts
    companies = client.get(picker_url(ws_a, kind="company", q="020%207946%200000", field="company_id"))
    assert 'data-label="Acme Ltd"' in companies.get_data(as_text=True)


def test_picker_search_finds_visible_live_records_of_the_workspace_only(app, client, auth, ws_a, ws_b):
    acme = make_company(app, ws_a, "Acme Ltd")
    make_contact(app, ws_a, "Ann Lee", company_id=acme, emails=["ann@acme.example.com"])
    trashed = make_contact(app, ws_a, "Ann Trashed")
    make_contact(app, ws_b, "Ann Secret")
    make_company(app, ws_b, "Annex Secret Ltd")
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Contact, trashed).deleted_at = utcnow()
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    html = client.get(picker_url(ws_a, kind="contact", q="ann")).get_data(as_text=True)
    assert html.startswith('<ul id="contact_id-options"') and 'role="listbox"' in html
    assert 'data-label="Ann Lee"' in html and "Acme Ltd" in html  # the company helps tell namesakes apart
    assert "Trashed" not in html and "Secret" not in html
    assert 'data-summary="1 result; use the arrow keys to choose."' in html
    by_email = client.get(picker_url(ws_a, kind="contact", q="ann@acme")).get_data(as_text=True)
    assert 'data-label="Ann Lee"' in by_email
    either = client.get(picker_url(ws_a, kind="customer", q="a", field="customer")).get_data(as_text=True)
    assert 'data-value="contact:' in either and f'data-value="company:{acme}"' in either and "Secret" not in either
    nothing = client.get(picker_url(ws_a, kind="company", q="zzz")).get_data(as_text=True)
    assert "Nothing found for “zzz”." in nothing and "<li" not in nothing and " hidden>" in nothing
    assert "<li" not in client.get(picker_url(ws_a, kind="contact", q="")).get_data(as_text=True)
    for bad in ({"kind": "user", "q": "a"}, {"kind": "contact", "q": "a", "field": 'x" onload="y'}):
        assert client.get(picker_url(ws_a, **bad)).status_code == 400


def test_picker_search_keeps_to_the_members_own_records(app, client, auth, ws_a):
    seller = make_member(app, ws_a, "sam@alpha.example.com")
    assign_role(app, ws_a, seller.membership_id, make_role(
        app, ws_a, "Own", ("deals.read", "deals.write", "contacts.read"), record_scope="own"))  # fmt: skip
    make_contact(app, ws_a, "Ann Mine", owner_id=seller.membership_id)
    make_contact(app, ws_a, "Ann Theirs", owner_id=ws_a.membership_id)
    auth.login(seller.email, seller.password)
    html = client.get(picker_url(ws_a, kind="contact", q="ann")).get_data(as_text=True)
    assert "Ann Mine" in html and "Ann Theirs" not in html


def test_the_deal_form_refuses_an_id_the_member_may_not_pick(app, client, auth, ws_a, ws_b, sales):
    theirs = make_contact(app, ws_b, "Secret Person")
    their_company = make_company(app, ws_b, "Secret Ltd")
    seller = make_member(app, ws_a, "sam@alpha.example.com")
    assign_role(app, ws_a, seller.membership_id, make_role(
        app, ws_a, "Own", ("deals.read", "deals.write", "contacts.read"), record_scope="own"))  # fmt: skip
    colleagues = make_contact(app, ws_a, "Colleague's customer", owner_id=ws_a.membership_id)
    mine = make_contact(app, ws_a, "My customer", owner_id=seller.membership_id)
    auth.login(seller.email, seller.password)
    good = {"title": "Tea", "value": "10", "currency": "USD", "stage_id": sales.stages["Lead in"], "contact_id": "",
            "company_id": "", "owner_id": seller.membership_id}  # fmt: skip
    for bad, message in (
        ({"contact_id": theirs}, "Choose a contact from the search results."),
        ({"contact_id": colleagues}, "Choose a contact from the search results."),
        ({"company_id": their_company}, "Choose a company from the search results."),
        ({"contact_id": "12abc"}, "Choose a contact from the search results."),
        ({"contact_id": "99999999999999999999"}, "Choose a contact from the search results."),
    ):
        response = post(client, f"/w/{ws_a.slug}/deals/", {**good, **bad})
        html = response.get_data(as_text=True)
        assert response.status_code == 422 and message in html, bad
        assert "Secret" not in html and "Colleague" not in html
        assert 'aria-invalid="true"' in html
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count(Deal.id))) == 0
    form = client.get(f"/w/{ws_a.slug}/deals/new?contact={theirs}").get_data(as_text=True)
    assert 'name="contact_id" id="contact_id" value=""' in form and "Secret" not in form
    response = post(client, f"/w/{ws_a.slug}/deals/", {**good, "contact_id": mine})
    assert response.status_code == 303


def test_deal_form_pages_show_the_picked_names(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    deal = make_deal(app, ws_a, "Tea", contact_id=ann, company_id=acme)
    auth.login(ws_a.email, ws_a.password)
    for url in (f"/w/{ws_a.slug}/deals/new?contact={ann}", f"/w/{ws_a.slug}/deals/{deal}/edit"):
        html = client.get(url).get_data(as_text=True)
        assert_valid_page(html, url)
        assert 'role="combobox"' in html and 'aria-controls="contact_id-options"' in html
        assert f'name="contact_id" id="contact_id" value="{ann}"' in html and 'value="Ann Lee"' in html
        assert f'name="company_id" id="company_id" value="{acme}"' in html and 'value="Acme Ltd"' in html
    with count_queries(app) as queries:
        client.get(f"/w/{ws_a.slug}/deals/new")
    assert not any("FROM contacts" in q and "LIMIT" in q for q in queries)  # no list of every contact


def test_export_gives_deal_days_as_date_cells_and_added_as_the_workspaces_day(app, client, auth, ws_a, sales):
    deal = make_deal(app, ws_a, "Tea set", sales.stages["Lead in"], 70, expected_close_on=date(2030, 1, 31))
    close(app, ws_a, deal, "won", closed_on=date(2026, 11, 30))
    late_evening = datetime(2026, 12, 6, 20, 30, tzinfo=UTC)  # 04:30 on 7 December in Shanghai
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Workspace, ws_a.id).timezone = "Asia/Shanghai"
        db.session.get(Deal, deal).created_at = late_evening
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    workbook = client.get(list_url(ws_a, sales.id, "export.xlsx"), query_string={"status": "all"})
    sheet = load_workbook(io.BytesIO(workbook.get_data())).active
    header, row = ([cell for cell in line] for line in sheet.iter_rows(max_row=2))
    cell = {title.value: value for title, value in zip(header, row, strict=True)}
    days = [cell["Expected close date"], cell["Closed on"], cell["Added"]]
    assert [day.value for day in days] == [datetime(2030, 1, 31), datetime(2026, 11, 30),
                                           datetime(2026, 12, 7)]  # fmt: skip
    assert all(day.is_date and day.number_format == "yyyy-mm-dd" for day in days)
    text = client.get(list_url(ws_a, sales.id, "export.csv"), query_string={"status": "all"}).get_data(as_text=True)
    line = dict(zip(*list(csv.reader(io.StringIO(text.lstrip("\ufeff")))), strict=True))
    assert (line["Expected close date"], line["Closed on"], line["Added"]) == (
        "2030-01-31",
        "2026-11-30",
        "2026-12-07",
    )


def test_without_contacts_read_the_picker_finds_no_one_and_the_form_takes_no_one(app, client, auth, ws_a, sales):
    seller = make_member(app, ws_a, "sam@alpha.example.com")
    assign_role(app, ws_a, seller.membership_id, make_role(app, ws_a, "Deals only", ("deals.read", "deals.write")))
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme, emails=["ann@acme.example.com"], phones=["+14155550100"])
    auth.login(seller.email, seller.password)
    for args in ({"kind": "contact", "q": "ann@acme"}, {"kind": "contact", "q": "4155550100"},
                 {"kind": "company", "q": "acme", "field": "company_id"},
                 {"kind": "customer", "q": "a", "field": "customer"}):  # fmt: skip
        html = client.get(picker_url(ws_a, **args)).get_data(as_text=True)
        assert "<li" not in html and "Ann" not in html and "Acme" not in html, args
    # Nor does a link or a post name them.
    assert "Ann Lee" not in client.get(f"/w/{ws_a.slug}/deals/new?contact={ann}").get_data(as_text=True)
    response = post(client, f"/w/{ws_a.slug}/deals/", {"title": "Tea", "value": "10", "currency": "USD",
                                                         "stage_id": sales.open[0], "contact_id": ann,
                                                         "company_id": "", "owner_id": ""})  # fmt: skip
    assert response.status_code == 422 and "Choose a contact from the search results." in response.get_data(
        as_text=True
    )
