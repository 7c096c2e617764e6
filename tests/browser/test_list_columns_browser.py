"""The contacts list's Columns in a real browser: unticking every box leaves the name alone (not the
default columns back), kept in the address through a reload; ticking one again drops the marker."""

import re

import pytest
from playwright.sync_api import Page, expect

from crm.contacts.list_view import DEFAULT_COLUMNS
from tests.browser.helpers import assert_no_full_reload, log_in, mark_window, wait_for_htmx
from tests.factories import make_contact, make_workspace

pytestmark = pytest.mark.browser


def test_unticking_every_column_leaves_the_name_alone_after_a_reload(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make_contact(app, owner, "Ann Lee", emails=["ann@example.com"])
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/")
    wait_for_htmx(page)
    mark_window(page)
    headers = page.locator('#contact-results thead th[scope="col"]')
    expect(headers).to_have_count(1 + len(DEFAULT_COLUMNS))  # the name and the defaults
    page.locator("summary", has_text="Columns").click()
    for key in DEFAULT_COLUMNS:
        page.locator(f"#col-{key}").uncheck()
    expect(page).to_have_url(re.compile(r"\?cols=none$"))
    expect(page.locator("#contact-results")).not_to_contain_text("ann@example.com")
    expect(page.locator("#contact-results")).to_contain_text("Ann Lee")
    expect(headers).to_have_text(["Name"])
    assert_no_full_reload(page)
    page.reload()
    wait_for_htmx(page)
    expect(page.locator("#contact-results")).to_contain_text("Ann Lee")
    expect(page.locator("#contact-results")).not_to_contain_text("ann@example.com")
    expect(page.locator("#col-email")).not_to_be_checked()
    page.locator("summary", has_text="Columns").click()
    page.locator("#col-email").check()
    expect(page).to_have_url(re.compile(r"\?cols=email$"))
    expect(page.locator("#contact-results")).to_contain_text("ann@example.com")
