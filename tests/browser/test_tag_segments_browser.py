"""A segment of customers in a real browser: the contacts tagged wholesale AND export, typed as two
tags in the one tag field with "all of these tags", saved as a view, renamed in place, and opened
again as the same list (the address holds one ``tag`` argument per tag)."""

import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import assert_no_full_reload, log_in, mark_window, wait_for_htmx
from tests.factories import make_contact, make_workspace

pytestmark = pytest.mark.browser


def test_build_a_two_tag_all_filter_save_it_rename_it_and_reopen_it(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make_contact(app, owner, "Wendy Wholesale", tags=["wholesale"])
    make_contact(app, owner, "Ed Export", tags=["export"])
    make_contact(app, owner, "Bea Both", tags=["wholesale", "export"])
    errors = []
    page.on("pageerror", lambda error: errors.append(error.message))
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/")
    wait_for_htmx(page)
    mark_window(page)
    rows = page.locator("#contact-rows tr")
    expect(rows).to_have_count(3)

    page.get_by_text("More filters").click()
    tags = page.get_by_role("search").get_by_label("Tags", exact=True)
    tags.focus()
    expect(page.locator("#tag-options option")).to_have_count(2)  # the workspace's tags, loaded on focus
    tags.press_sequentially("wholesale, ex", delay=20)
    # After a comma the field offers the other tags after what is typed.
    expect(page.locator("#tag-more-options option")).to_have_count(1)
    expect(page.locator("#tag-more-options option")).to_have_attribute("value", "wholesale, export")
    tags.fill("wholesale, export")
    expect(rows).to_have_count(3)  # any of them
    page.get_by_label("Contacts with").select_option(label="All of these tags")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Bea Both")
    expect(page.locator("#contact-filters-summary")).to_have_text("Filters (1 active)")
    query = parse_qs(urlparse(page.url).query)
    assert query["tag"] == ["wholesale", "export"] and query["tag_match"] == ["all"], page.url

    page.get_by_text("Saved views", exact=True).click()
    page.get_by_label("Save this list as").fill("Both markets")
    page.get_by_role("button", name="Save view").click()
    panel = page.locator("#saved-views-panel")
    expect(panel.get_by_role("link", name="Both markets", exact=True)).to_be_visible()
    wait_for_htmx(page)

    panel.get_by_role("link", name="Rename Both markets").click()
    name = panel.get_by_label("New name for the view Both markets")
    expect(name).to_be_focused()
    name.fill("   ")  # blanks only: the browser lets them through (the field is required), the server does not
    panel.get_by_role("button", name="Save name").click()
    expect(panel.get_by_text("Name the view (at most 80 characters).")).to_be_visible()
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_be_focused()
    name.fill("Wholesale and export")
    panel.get_by_role("button", name="Save name").click()
    renamed = panel.get_by_role("link", name="Wholesale and export", exact=True)
    expect(renamed).to_be_visible()
    expect(renamed).to_be_focused()
    expect(page.locator("#toasts")).to_contain_text("View Both markets renamed to Wholesale and export.")
    expect(panel.get_by_role("link", name="Both markets", exact=True)).to_have_count(0)
    assert_no_full_reload(page)

    page.get_by_role("link", name="Clear").click()
    expect(page.locator("#contact-rows tr")).to_have_count(3)
    wait_for_htmx(page)
    page.get_by_text("Saved views", exact=True).click()
    page.locator("#saved-views-panel").get_by_role("link", name="Wholesale and export", exact=True).click()
    expect(page).to_have_url(re.compile(r"tag=wholesale&tag=export&tag_match=all"))
    rows = page.locator("#contact-rows tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Bea Both")
    expect(page.get_by_role("search").get_by_label("Tags", exact=True)).to_have_value("wholesale, export")
    expect(page.get_by_label("Contacts with")).to_have_value("all")
    assert errors == []
