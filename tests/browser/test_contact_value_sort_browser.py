"""The contacts list sorted "biggest customers first" in a real browser: chosen in the filter panel's
sort select, kept in the address, paged with "Load more contacts", and still chosen after a reload."""

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from crm.contacts.queries import PER_PAGE
from tests.browser.helpers import assert_no_full_reload, log_in, mark_window, wait_for_htmx
from tests.factories import make_contact, make_purchase, make_workspace

pytestmark = pytest.mark.browser

LABEL = "Highest value in the last 12 months (tier A first)"


def test_choose_highest_value_first_and_load_more(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make_purchase(app, owner, make_contact(app, owner, "Lapsed Buyer"), amount=9000, on=date.today() - timedelta(800))
    for number in range(PER_PAGE):
        make_contact(app, owner, f"Lead {number:02d}")
    make_purchase(app, owner, make_contact(app, owner, "Regular Buyer"), amount=3000)
    make_purchase(app, owner, make_contact(app, owner, "Top Buyer"), amount=12000)
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/?cols=tier&cols=value_12m")
    wait_for_htmx(page)
    mark_window(page)
    names = page.locator("#contact-rows th a")
    expect(names.first).to_have_text("Top Buyer")  # newest first until sorted
    page.get_by_label("Sort").select_option(label=LABEL)
    expect(page).to_have_url(re.compile(r"sort=value_12m"))  # kept in the address, to share or reload
    expect(names.nth(0)).to_have_text("Top Buyer")
    expect(names.nth(1)).to_have_text("Regular Buyer")
    expect(names.nth(2)).to_have_text("Lapsed Buyer")  # bought long ago: before those who never did
    expect(page.locator("#contact-rows tr").first).to_contain_text("$12,000.00")
    expect(names).to_have_count(PER_PAGE)
    page.get_by_role("link", name="Load more contacts").click()
    expect(names).to_have_count(PER_PAGE + 3)
    expect(names.nth(PER_PAGE + 2)).to_have_text("Lead 00")  # equal values: the newest first
    expect(names.nth(PER_PAGE)).to_have_text("Lead 02")
    expect(page.get_by_role("link", name="Load more contacts")).to_have_count(0)
    assert_no_full_reload(page)
    page.reload()
    expect(page.get_by_label("Sort")).to_have_value("value_12m")
    expect(names.first).to_have_text("Top Buyer")


def test_on_a_phone_the_long_sort_name_fits_the_filter_panel(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make_purchase(app, owner, make_contact(app, owner, "Top Buyer"), amount=12000)
    page.set_viewport_size({"width": 375, "height": 800})
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/?sort=value_12m")
    page.locator("#contact-filters-panel > summary").click()
    sort = page.get_by_role("combobox", name="Sort")
    expect(sort).to_be_visible()
    expect(sort).to_have_value("value_12m")
    box = sort.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375, box
