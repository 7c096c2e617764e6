"""The companies list's filters, sort and columns, all in the URL: industry (any case), size, the
day added (the workspace's days), custom fields (a sensitive one never filters and shows masked),
name order, built-in and custom columns, "load more" and the export keeping the filters; nonsense in
the URL filters nothing; another workspace's companies never show."""

import csv
import io
import re
from datetime import UTC, date, datetime

from crm.extensions import db
from crm.pagination import encode_cursor
from crm.tenancy import workspace_scope
from tests.factories import make_company, make_custom_field, set_custom_value
from tests.query_counter import count_queries
from tests.test_pages import assert_valid_page

RESULTS = {"HX-Request": "true", "HX-Target": "company-results"}
MORE = {"HX-Request": "true", "HX-Target": "companies-more"}


def names(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="[^"]+"[^>]*>([^<]+)</a>', html)


def test_filters_sort_and_custom_columns_live_in_the_url(app, client, auth, ws_a, ws_b):
    segment = make_custom_field(app, ws_a, "Segment", kind="select", entity="company", options=["Retail", "Trade"])
    secret = make_custom_field(app, ws_a, "Tax number", entity="company", sensitive=True)
    acme = make_company(app, ws_a, "Acme Tea", industry="Tea", size="11-50")
    zen = make_company(app, ws_a, "Zen Tea", industry="tea", size="1-10")
    make_company(app, ws_a, "Bolt Hardware", industry="Hardware", size="11-50")
    make_company(app, ws_b, "Beta Tea", industry="Tea", size="11-50")
    set_custom_value(app, ws_a, acme, segment, "Trade")
    set_custom_value(app, ws_a, zen, segment, "Retail")
    set_custom_value(app, ws_a, acme, secret, "FI-1234567")
    auth.login(ws_a.email, ws_a.password)
    url = f"/w/{ws_a.slug}/companies/"

    def listed(**args) -> list[str]:
        return names(client.get(url, query_string=args, headers=RESULTS).get_data(as_text=True))

    assert listed(industry="TEA") == ["Zen Tea", "Acme Tea"]  # any case, newest first, never Beta's
    assert listed(size="11-50") == ["Bolt Hardware", "Acme Tea"]
    assert listed(cf_segment="Trade") == ["Acme Tea"]
    assert listed(industry="tea", sort="name") == ["Acme Tea", "Zen Tea"]
    assert listed(sort="oldest") == ["Acme Tea", "Zen Tea", "Bolt Hardware"]
    assert listed(cf_tax_number="FI-1234567") == []  # sensitive: no filter, so nobody (never everyone)
    assert listed(size="huge", sort="sideways", owner="x") == ["Bolt Hardware", "Zen Tea", "Acme Tea"]
    page = client.get(url, query_string={"industry": "tea", "cols": ["cf_segment", "cf_tax_number"]})
    html = page.get_data(as_text=True)
    assert_valid_page(html, url)
    assert '<th scope="col">Segment</th>' in html and "<td>Trade</td>" in html and "<td>Retail</td>" in html
    assert "FI-1234567" not in html and "••••" in html  # masked in the list, as contacts' are
    assert 'value="tea"' in html and 'id="col-cf_segment" name="cols" value="cf_segment" checked' in html
    export = re.search(r'href="([^"]*/companies/export\.csv[^"]*)"', html).group(1).replace("&amp;", "&")
    rows = list(csv.reader(io.StringIO(client.get(export).get_data(as_text=True).lstrip("\ufeff"))))
    assert sorted(row[0] for row in rows[1:]) == ["Acme Tea", "Zen Tea"]  # the export keeps the filter


def test_load_more_keeps_the_filters_and_the_query_count_stays_flat(app, client, auth, ws_a):
    for number in range(53):
        make_company(app, ws_a, f"Tea {number:02d}", industry="Tea")
    make_company(app, ws_a, "Bolt Hardware", industry="Hardware")
    auth.login(ws_a.email, ws_a.password)
    url = f"/w/{ws_a.slug}/companies/"
    client.get(url)
    with count_queries(app) as queries:
        first = client.get(url, query_string={"industry": "tea", "sort": "name"}).get_data(as_text=True)
    assert len(queries) == 3, queries  # member, the page with owners, the owner filter's members
    assert names(first)[:2] == ["Tea 00", "Tea 01"] and len(names(first)) == 50
    more = re.search(r'id="companies-more".*?data-hx-get="([^"]+)"', first, re.S).group(1).replace("&amp;", "&")
    with count_queries(app) as queries:
        rest = client.get(more, headers=MORE).get_data(as_text=True)
    assert len(queries) == 2, queries
    assert names(rest) == ["Tea 50", "Tea 51", "Tea 52"]  # name order and the filter go on; no Bolt


def test_an_owner_number_beyond_any_id_lists_nothing_rather_than_failing(app, client, auth, ws_a):
    make_company(app, ws_a, "Acme Tea")
    auth.login(ws_a.email, ws_a.password)
    for url in (f"/w/{ws_a.slug}/companies/", f"/w/{ws_a.slug}/contacts/"):
        response = client.get(url, query_string={"owner": "9" * 30})
        assert response.status_code == 200 and "Acme Tea</a>" not in response.get_data(as_text=True), url


def test_a_forged_cursor_is_refused_rather_than_failing(app, client, auth, ws_a):
    make_company(app, ws_a, "Acme Ltd")
    auth.login(ws_a.email, ws_a.password)
    for sort, values in (
        ("", ["2026-01-01T00:00:00", "1"]),
        ("", ["0001-01-01T00:00:00+14:00", "1"]),
        ("", ["2026-01-01T00:00:00+00:00", "99999999999999999999"]),
        ("name", ["Acme\x00", "1"]),
    ):
        response = client.get(f"/w/{ws_a.slug}/companies/", query_string={"sort": sort, "after": encode_cursor(values)})
        assert response.status_code == 400, (sort, values)
    genuine = encode_cursor(["2999-01-01T00:00:00+00:00", "1"])
    assert "Acme Ltd" in client.get(f"/w/{ws_a.slug}/companies/?after={genuine}").get_data(as_text=True)


def test_the_filter_panel_says_how_many_filters_are_on(app, client, auth, ws_a):
    make_company(app, ws_a, "Acme Tea", industry="Tea")
    auth.login(ws_a.email, ws_a.password)
    url = f"/w/{ws_a.slug}/companies/"
    page = client.get(url, query_string={"q": "acme", "industry": "tea", "sort": "name"}).get_data(as_text=True)
    assert_valid_page(page, url)
    assert '<details class="filter-panel" id="company-filters-panel" open data-fold-narrow>' in page
    assert '<span id="company-filters-summary">Filters (1 active)</span>' in page  # not the search box
    partial = client.get(url, headers=RESULTS).get_data(as_text=True)
    assert '<span id="company-filters-summary" data-hx-swap-oob="innerHTML">Filters</span>' in partial


def set_company(app, workspace, company_id: int, created_at=None, timezone=None) -> None:
    """The company's time of creation and the workspace's zone, as if the company had been added then."""
    from crm.contacts.models import Company
    from crm.workspaces.models import Workspace

    with app.app_context(), workspace_scope(workspace.id):
        if timezone:
            db.session.get(Workspace, workspace.id).timezone = timezone
        if created_at:
            db.session.get(Company, company_id).created_at = created_at
        db.session.commit()


def header(html: str) -> list[str]:
    return re.findall(r'<th scope="col">([^<]+)</th>', html)


def cells(html: str, company_id: int) -> list[str]:
    row = re.search(rf'<tr id="company-{company_id}">(.*?)</tr>', html, re.S).group(1)
    return re.findall(r"<td>([^<]*)</td>", row)


def test_built_in_columns_show_as_the_companys_page_does(app, client, auth, ws_a, ws_b):
    segment = make_custom_field(app, ws_a, "Segment", kind="select", entity="company", options=["Retail", "Trade"])
    acme = make_company(app, ws_a, "Acme Tea", industry="Tea", website="acme.example.com", phone="+14155550123",
                        city="Helsinki", country="FI", customer_since=date(2024, 1, 5), size="11-50")  # fmt: skip
    bolt = make_company(app, ws_a, "Bolt Hardware", phone="+358401234567")
    set_custom_value(app, ws_a, acme, segment, "Trade")
    set_company(app, ws_a, acme, datetime(2026, 12, 6, 20, 30, tzinfo=UTC), "Asia/Shanghai")  # 7 Dec there
    make_company(app, ws_b, "Beta Tea", phone="+14155550199")
    auth.login(ws_a.email, ws_a.password)
    url = f"/w/{ws_a.slug}/companies/"
    # The columns come in their own order, built-in ones first, whatever the order in the URL.
    chosen = ["cf_segment", "created", "size", "customer_since", "country", "city", "phone", "notes", "cf_nope"]
    page = client.get(url, query_string={"cols": chosen})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert_valid_page(html, url)
    assert header(html) == ["Company name", "Industry", "Website", "Owner", "Phone", "City", "Country",
                            "Customer since", "Size (staff)", "Added", "Segment"]  # fmt: skip
    # A number of the workspace's region (US) in national form, another in international form; the
    # country by its name; days in the member's format, the day added where the workspace is.
    assert cells(html, acme) == ["Tea", "acme.example.com", "", "(415) 555-0123", "Helsinki", "Finland",
                                 "Jan 5, 2024", "11-50", "Dec 7, 2026", "Trade"]  # fmt: skip
    assert cells(html, bolt)[3:6] == ["+358 40 1234567", "", ""]
    assert "Beta Tea" not in html and "555-0199" not in html
    for key in ("phone", "city", "country", "customer_since", "size", "created", "cf_segment"):
        assert f'id="col-{key}" name="cols" value="{key}" checked' in html, key
    assert 'id="col-notes"' not in html
    # The same columns in the htmx partial; the export keeps every column whatever is shown.
    partial = client.get(url, query_string={"cols": ["phone"]}, headers=RESULTS).get_data(as_text=True)
    assert header(partial)[4:] == ["Phone"] and "(415) 555-0123" in partial
    assert "Phone" not in header(client.get(url).get_data(as_text=True))  # not shown unless chosen


def test_load_more_keeps_the_columns_and_the_added_filter_with_a_flat_query_count(app, client, auth, ws_a):
    def add(numbers) -> None:
        for number in numbers:
            make_company(app, ws_a, f"Tea {number:02d}", phone=f"+1415555{number:04d}", customer_since=date(2024, 1, 5))

    auth.login(ws_a.email, ws_a.password)
    url = f"/w/{ws_a.slug}/companies/"
    args = {"sort": "name", "cols": ["phone", "created", "customer_since"], "created_from": "2000-01-01"}
    add(range(3))
    client.get(url)
    with count_queries(app) as few:
        client.get(url, query_string=args)
    add(range(3, 53))
    with count_queries(app) as queries:
        first = client.get(url, query_string=args).get_data(as_text=True)
    assert len(queries) == len(few) == 3, queries  # member, the page with owners, the owner filter's members
    assert len(names(first)) == 50 and "(415) 555-0000" in first and "Jan 5, 2024" in first
    more = re.search(r'id="companies-more".*?data-hx-get="([^"]+)"', first, re.S).group(1).replace("&amp;", "&")
    assert "cols=phone" in more and "cols=created" in more and "cols=customer_since" in more
    assert "created_from=2000-01-01" in more and "sort=name" in more
    assert 'colspan="8"' in first  # the tick box, four columns and the three chosen
    with count_queries(app) as queries:
        rest = client.get(more, headers=MORE).get_data(as_text=True)
    assert len(queries) == 2, queries
    assert names(rest) == ["Tea 50", "Tea 51", "Tea 52"]  # name order and the filter go on
    first_new = int(re.search(r'<tr id="company-(\d+)"', rest).group(1))
    assert cells(rest, first_new)[3:5] == ["(415) 555-0050", "Jan 5, 2024"]


def test_the_added_filter_takes_the_workspaces_days(app, client, auth, ws_a, ws_b):
    early = make_company(app, ws_a, "Early Tea")  # 23:00 on 6 December in Shanghai
    late = make_company(app, ws_a, "Late Tea")  # 04:30 on 7 December
    next_day = make_company(app, ws_a, "Next Day Tea")  # 00:30 on 8 December
    set_company(app, ws_a, early, datetime(2026, 12, 6, 15, 0, tzinfo=UTC), "Asia/Shanghai")
    set_company(app, ws_a, late, datetime(2026, 12, 6, 20, 30, tzinfo=UTC))
    set_company(app, ws_a, next_day, datetime(2026, 12, 7, 16, 30, tzinfo=UTC))
    other = make_company(app, ws_b, "Other Tea")
    set_company(app, ws_b, other, datetime(2026, 12, 6, 20, 30, tzinfo=UTC), "Asia/Shanghai")
    auth.login(ws_a.email, ws_a.password)
    url = f"/w/{ws_a.slug}/companies/"

    def listed(**args) -> list[str]:
        return names(client.get(url, query_string=args, headers=RESULTS).get_data(as_text=True))

    assert listed(created_from="2026-12-07", created_to="2026-12-07") == ["Late Tea"]
    assert listed(created_from="2026-12-07") == ["Next Day Tea", "Late Tea"]
    assert listed(created_to="2026-12-06") == ["Early Tea"]
    assert listed(created_from="2026-12-07", sort="name") == ["Late Tea", "Next Day Tea"]
    assert listed(created_from="2026-12-08", created_to="2026-12-07") == []  # the wrong way round: nothing
    page = client.get(url, query_string={"created_from": "2026-12-07", "created_to": "2026-12-07"})
    html = page.get_data(as_text=True)
    assert_valid_page(html, url)
    assert 'id="created_from" name="created_from" value="2026-12-07"' in html
    assert '<span id="company-filters-summary">Filters (2 active)</span>' in html
    # The export and the bulk bar's "all matching" take the same days.
    export = re.search(r'href="([^"]*/companies/export\.csv[^"]*)"', html).group(1).replace("&amp;", "&")
    rows = list(csv.reader(io.StringIO(client.get(export).get_data(as_text=True).lstrip("\ufeff"))))
    assert [row[0] for row in rows[1:]] == ["Late Tea"]
    count = client.get(f"{url}bulk-count", query_string={"scope": "all", "created_from": "2026-12-07"})
    assert "2 companies match this list." in count.get_data(as_text=True)
    # Another workspace's company, added at the same moment, never shows.
    assert "Other Tea" not in client.get(url, query_string={"created_from": "2026-12-01"}).get_data(as_text=True)


def test_a_day_that_is_not_one_is_ignored_as_on_the_contacts_list(app, client, auth, ws_a):
    make_company(app, ws_a, "Acme Tea")
    auth.login(ws_a.email, ws_a.password)
    url = f"/w/{ws_a.slug}/companies/"
    for value in ("soon", "2026-13-40", "12/07/2026", "9999-12-31", "0001-01-01", "x" * 500):
        for name in ("created_from", "created_to"):
            response = client.get(url, query_string={name: value})
            html = response.get_data(as_text=True)
            assert response.status_code == 200 and names(html) == ["Acme Tea"], (name, value)
            assert f'id="{name}" name="{name}" value=""' in html
            assert '<span id="company-filters-summary">Filters</span>' in html
    # The first and last days of the calendar no longer overflow the contacts list's range either.
    for name in ("created_to", "active_to", "created_from"):
        assert client.get(f"/w/{ws_a.slug}/contacts/", query_string={name: "9999-12-31"}).status_code == 200


def test_the_state_comes_back_whole_from_its_arguments():
    """What "load more", saved views, bulk jobs and export links carry is read back as it was."""
    from werkzeug.datastructures import MultiDict

    from crm.contacts.company_list import CompanyListState

    args = MultiDict([("industry", "Tea"), ("created_from", "2026-12-07"), ("created_to", "2026-12-31"),
                      ("cols", "cf_segment"), ("cols", "created"), ("cols", "phone"), ("cols", "phone")])  # fmt: skip
    state = CompanyListState.from_args(args)
    assert state.columns == ("phone", "created", "cf_segment") and state.created_from == date(2026, 12, 7)
    assert CompanyListState.from_args(MultiDict(list(_pairs(state.as_args())))) == state


def _pairs(args: dict):
    for key, value in args.items():
        for item in value if isinstance(value, list) else [value]:
            yield key, item
