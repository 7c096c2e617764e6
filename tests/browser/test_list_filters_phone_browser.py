"""The contacts and companies lists on a phone: the results come within the first screen, the
filters wait folded under a "Filters" summary that says how many are on, and a new search keeps the
panel as the member left it. On a wide screen the filters stay open."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import log_in, wait_for_htmx
from tests.factories import make_company, make_contact, make_workspace

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 800}
DESKTOP = {"width": 1280, "height": 800}


def top_of(page: Page, selector: str) -> float:
    """Where the element starts, from the top of the page (not of the scrolled view)."""
    return page.locator(selector).first.evaluate("el => el.getBoundingClientRect().top + window.scrollY")


def test_on_a_phone_the_contacts_come_first_and_the_folded_filters_still_filter(app, page: Page, live_server):
    owner = make_workspace(app, "Phone Traders", "pia@phone.example.com")
    for number in range(6):
        make_contact(app, owner, f"Lead {number}")
    make_contact(app, owner, "Carl Customer", lifecycle="active")
    errors = []
    page.on("pageerror", lambda error: errors.append(error.message))
    page.set_viewport_size(PHONE)
    log_in(page, live_server.url, owner.email, owner.password)
    page.get_by_role("navigation").get_by_role("link", name="Contacts").click()  # a boosted page
    rows = page.locator("#contact-rows tr")
    expect(rows).to_have_count(7)
    wait_for_htmx(page)

    assert top_of(page, "#contact-rows tr") < PHONE["height"], "the first contact is below the first screen"
    expect(page.get_by_label("Search", exact=True)).to_be_visible()
    expect(page.locator("#bulk-form")).to_be_hidden()  # nothing ticked yet
    summary = page.locator("#contact-filters-panel > summary")
    expect(summary).to_have_text("Filters")
    expect(page.get_by_role("combobox", name="Lifecycle")).to_be_hidden()

    summary.focus()  # a keyboard opens it
    page.keyboard.press("Enter")
    lifecycle = page.get_by_role("combobox", name="Lifecycle")
    expect(lifecycle).to_be_visible()
    expect(page.get_by_role("combobox", name="Owner")).to_be_visible()
    expect(page.get_by_text("Columns", exact=True)).to_be_visible()
    lifecycle.select_option(label="Active")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Carl Customer")
    expect(summary).to_have_text("Filters (1 active)")  # the count came with the results
    expect(lifecycle).to_be_visible()  # and the panel stayed open

    summary.click()  # folded again, it stays folded through a search
    expect(lifecycle).to_be_hidden()
    page.get_by_label("Search", exact=True).press_sequentially("Nobody", delay=20)
    expect(rows).to_have_count(0)
    wait_for_htmx(page)
    expect(lifecycle).to_be_hidden()
    expect(summary).to_have_text("Filters (1 active)")

    page.get_by_label("Search", exact=True).fill("")
    expect(rows).to_have_count(1)
    rows.first.get_by_role("checkbox").check()  # a ticked row brings the bulk bar
    expect(page.locator("#bulk-form")).to_be_visible()
    assert errors == []


def test_on_a_phone_the_companies_come_first(app, page: Page, live_server):
    owner = make_workspace(app, "Phone Wholesale", "pekka@phone.example.com")
    make_company(app, owner, "Acme Oy")
    page.set_viewport_size(PHONE)
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(page.url + "companies/?industry=Retail")
    expect(page.locator("#company-filters-panel > summary")).to_have_text("Filters (1 active)")
    expect(page.get_by_label("Industry")).to_be_hidden()
    page.get_by_label("Search", exact=True).fill("")  # the filter is folded, not lost
    page.locator("#company-filters-panel > summary").click()
    page.get_by_label("Industry").fill("")
    rows = page.locator("#company-rows tr")
    expect(rows).to_have_count(1)
    wait_for_htmx(page)
    expect(page.locator("#company-filters-panel > summary")).to_have_text("Filters")
    page.locator("#company-filters-panel > summary").click()
    assert top_of(page, "#company-rows tr") < PHONE["height"], "the first company is below the first screen"


def test_on_a_wide_screen_the_filters_are_open(app, page: Page, live_server):
    owner = make_workspace(app, "Desk Traders", "dora@desk.example.com")
    make_contact(app, owner, "Carl Customer", lifecycle="active")
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(page.url + "contacts/?lifecycle=active")
    wait_for_htmx(page)
    expect(page.locator("#contact-filters-panel")).to_have_attribute("open", "")
    expect(page.locator("#contact-filters-panel > summary")).to_have_text("Filters (1 active)")
    expect(page.get_by_role("combobox", name="Lifecycle")).to_be_visible()
    expect(page.get_by_role("combobox", name="Lifecycle")).to_have_value("active")
    expect(page.locator("#bulk-form")).to_be_visible()
    page.goto(page.url.split("contacts/")[0] + "companies/")
    wait_for_htmx(page)
    expect(page.get_by_label("Industry")).to_be_visible()
