"""Searching a list and then opening a result: leaving the search box must not search again and put
the list's address back over the page just opened (a reload would then show the list)."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import log_in, wait_for_htmx
from tests.factories import make_company, make_contact, make_workspace

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("menu", "make", "rows_id", "address"),
    [("Contacts", make_contact, "#contact-rows", r"/contacts/\d+$"),
     ("Companies", make_company, "#company-rows", r"/companies/\d+$")],
)  # fmt: skip
def test_opening_a_record_found_by_search_keeps_its_address(app, page: Page, live_server, menu, make, rows_id, address):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make(app, owner, "Bob Stone")
    make(app, owner, "Ann Lee")
    log_in(page, live_server.url, owner.email, owner.password)
    page.get_by_role("navigation").get_by_role("link", name=menu).click()
    wait_for_htmx(page)
    rows = page.locator(f"{rows_id} tr")
    expect(rows).to_have_count(2)
    page.get_by_label("Search", exact=True).press_sequentially("stone", delay=30)
    expect(rows).to_have_count(1)
    wait_for_htmx(page)
    searches = []
    page.on("request", lambda request: searches.append(request.url) if "q=stone" in request.url else None)
    rows.first.get_by_role("link", name="Bob Stone").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bob Stone")
    wait_for_htmx(page)
    page.wait_for_timeout(300)  # a late search on leaving the box would have answered by now
    expect(page).to_have_url(re.compile(address))
    assert searches == []
