"""Renaming a choice of a list field in Settings: the records that hold it get the new name, and
the page says how many."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import log_in, wait_for_htmx
from tests.factories import make_contact, make_custom_field, make_workspace, set_custom_value

pytestmark = pytest.mark.browser


def test_an_admin_renames_a_choice_and_the_contacts_holding_it_follow(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    plan = make_custom_field(app, owner, "Plan", kind="select", options=["Gold", "Silver"])
    for name, value in (("Ann Gold", "Gold"), ("Bob Silver", "Silver")):
        set_custom_value(app, owner, make_contact(app, owner, name), plan, value)
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/settings/custom-fields/")
    page.get_by_role("link", name="Plan", exact=True).click()
    expect(page.get_by_role("heading", name="Rename a choice")).to_be_visible()
    wait_for_htmx(page)
    page.get_by_label("Choice", exact=True).select_option("Gold")
    page.get_by_label("New name").fill("Golden")
    page.get_by_role("button", name="Rename choice").click()
    expect(page.get_by_text("Choice Gold renamed Golden. 1 contact now has Golden.")).to_be_visible()
    expect(page.get_by_label("Choices")).to_have_value("Golden\nSilver")
    wait_for_htmx(page)
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/?cf_plan=Golden")
    expect(page.locator("#contact-results")).to_contain_text("Ann Gold")
    expect(page.locator("#contact-results")).not_to_contain_text("Bob Silver")
    expect(page.locator("#cf_plan")).to_have_value("Golden")
