"""Deleting a custom field in the browser: Delete opens a page that says how many records hold a
value, and only its button deletes the field."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import log_in, wait_for_htmx
from tests.factories import make_contact, make_custom_field, make_workspace, set_custom_value

pytestmark = pytest.mark.browser


def test_delete_asks_on_a_page_of_its_own_then_deletes(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    region = make_custom_field(app, owner, "Region", kind="select", options=["North", "South"])
    for name, value in (("Ann North", "North"), ("Bo South", "South")):
        set_custom_value(app, owner, make_contact(app, owner, name), region, value)
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/settings/custom-fields/")
    page.get_by_role("link", name="Delete Region").click()
    expect(page.get_by_role("heading", name="Delete Region")).to_be_visible()
    expect(page.locator("#holding")).to_have_text("2 contacts hold a value of this field.")
    wait_for_htmx(page)
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("link", name="Delete Region")).to_be_visible()  # nothing deleted
    wait_for_htmx(page)
    page.get_by_role("link", name="Delete Region").click()
    expect(page.get_by_role("heading", name="Delete Region")).to_be_visible()
    wait_for_htmx(page)
    page.get_by_role("button", name="Delete field").click()
    expect(page.get_by_text("Field Region and its values are deleted.")).to_be_visible()
    expect(page.get_by_role("link", name="Delete Region")).to_have_count(0)
