"""In a real browser: a lead's page offers "New deal"; a deal worth the rule's total makes them
potential, which their page shows with the rule that gave it; losing the deal makes them ordinary."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import log_in
from tests.factories import make_contact, make_workspace

pytestmark = pytest.mark.browser


def test_a_big_deal_from_the_contacts_page_makes_them_potential(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    log_in(page, live_server.url, owner.email, owner.password)
    contact_url = f"{live_server.url}/w/{owner.slug}/contacts/{ann}"
    page.goto(contact_url)
    badges = page.locator(".badges")
    expect(badges).to_contain_text("Ordinary")
    page.get_by_role("link", name="New deal for Ann Lee").click()
    expect(page.get_by_role("combobox", name="Contact", exact=True)).to_have_value("Ann Lee")
    page.get_by_label("Title").fill("Tea for the new hotel")
    page.get_by_label("Value").fill("6000")
    page.get_by_role("button", name="Add deal").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Tea for the new hotel")

    page.goto(contact_url)
    expect(badges).to_contain_text("Potential")
    expect(page.get_by_text("Potential: open deals worth at least $5,000.00.")).to_be_visible()

    page.locator(".open-deals").get_by_role("link", name="Tea for the new hotel").click()
    page.get_by_label("Why was it lost?").select_option(label="Too expensive")
    page.get_by_role("button", name="Mark as lost").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lost")
    page.goto(contact_url)
    expect(badges).to_contain_text("Ordinary")
