"""Typing a name without its accents finds it: "muller" in the contacts list's search box shows
Müller (and Muller), and "sao paulo" in the header's search shows São Paulo's company."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import log_in, wait_for_htmx
from tests.factories import make_company, make_contact, make_deal, make_workspace

pytestmark = pytest.mark.browser


def test_typing_without_accents_finds_accented_names(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make_contact(app, owner, "Jürgen Müller")
    make_contact(app, owner, "Hans Muller")
    make_contact(app, owner, "Bob Stone")
    make_company(app, owner, "São Paulo Têxtil")
    log_in(page, live_server.url, owner.email, owner.password)

    page.get_by_role("navigation").get_by_role("link", name="Contacts").click()
    wait_for_htmx(page)
    rows = page.locator("#contact-rows tr")
    expect(rows).to_have_count(3)
    page.get_by_label("Search", exact=True).press_sequentially("muller", delay=30)
    expect(rows).to_have_count(2)
    expect(rows.get_by_role("link", name="Jürgen Müller")).to_be_visible()
    expect(rows.get_by_role("link", name="Hans Muller")).to_be_visible()

    page.get_by_label("Search", exact=True).fill("")
    page.get_by_label("Search", exact=True).press_sequentially("jü", delay=30)  # two letters: a word's start
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Jürgen Müller")

    page.get_by_label("Search customers, deals and tickets").press_sequentially("sao paulo", delay=30)
    results = page.locator("#global-search-results")
    expect(results.get_by_role("link", name="São Paulo Têxtil")).to_be_visible()


def test_german_spellings_and_deal_titles_are_found_as_typed(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make_contact(app, owner, "Jürgen Müller")
    make_contact(app, owner, "Karl Mueller")
    make_contact(app, owner, "Hans Muller")
    make_deal(app, owner, "Café au lait supply")
    make_deal(app, owner, "Tea for Acme")
    log_in(page, live_server.url, owner.email, owner.password)

    page.get_by_role("navigation").get_by_role("link", name="Contacts").click()
    wait_for_htmx(page)
    rows = page.locator("#contact-rows tr")
    expect(rows).to_have_count(3)
    page.get_by_label("Search", exact=True).press_sequentially("mueller", delay=30)
    expect(rows).to_have_count(2)
    expect(rows.get_by_role("link", name="Jürgen Müller")).to_be_visible()
    expect(rows.get_by_role("link", name="Karl Mueller")).to_be_visible()

    page.get_by_label("Search customers, deals and tickets").press_sequentially("cafe", delay=30)
    results = page.locator("#global-search-results")
    expect(results.get_by_role("link", name="Café au lait supply")).to_be_visible()
    expect(results.get_by_role("link", name="Tea for Acme")).to_have_count(0)
