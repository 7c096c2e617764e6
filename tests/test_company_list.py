"""The companies list's filters, sort and custom columns, all in the URL: industry (any case),
size, custom fields (a sensitive one never filters and shows masked), name order, "load more" and
the export keeping the filters; nonsense in the URL filters nothing; another workspace's companies
never show."""

import csv
import io
import re

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
    assert listed(cf_tax_number="FI-1234567") == ["Bolt Hardware", "Zen Tea", "Acme Tea"]  # sensitive: ignored
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
