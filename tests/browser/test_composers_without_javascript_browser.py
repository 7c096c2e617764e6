"""A record page's composers with JavaScript off: a purchase with a wrong price comes back on a page
of its own with what was typed and the error next to the price; corrected and sent from there, it
is added and the contact's page shows it. The same on a company's Purchases section, on a phone."""

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.helpers import log_in
from tests.factories import make_company, make_contact, make_workspace

pytestmark = pytest.mark.browser
PHONE = {"width": 375, "height": 740}


def test_a_refused_purchase_keeps_what_was_typed_and_is_added_once_corrected(app, browser: Browser, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    acme = make_company(app, owner, "Acme Ltd")
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    page = context.new_page()
    log_in(page, live_server.url, owner.email, owner.password)
    contact_page = f"{live_server.url}/w/{owner.slug}/contacts/{ann}"
    page.goto(contact_page)

    composer = page.locator("#purchase-composer")
    composer.get_by_label("Product").fill("Tea chest")
    composer.get_by_label("Quantity").fill("2")
    composer.get_by_label("Unit price").fill("-5")
    composer.get_by_role("button", name="Add purchase").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a purchase")
    expect(page.get_by_role("alert")).to_contain_text("The purchase was not saved")
    composer = page.locator("#purchase-composer")
    expect(composer.get_by_label("Product")).to_have_value("Tea chest")  # nothing typed is lost
    expect(composer.get_by_label("Quantity")).to_have_value("2")
    price = composer.get_by_label("Unit price")
    expect(price).to_have_value("-5")
    expect(price).to_have_attribute("aria-invalid", "true")
    expect(price).to_have_accessible_description("Enter an amount from 0 to 999,999,999,999.99.")
    expect(page.get_by_role("link", name="Back to Ann Lee")).to_have_attribute(
        "href", f"/w/{owner.slug}/contacts/{ann}"
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    price.fill("60")
    composer.get_by_role("button", name="Add purchase").click()
    expect(page).to_have_url(contact_page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ann Lee")
    expect(page.locator("#toasts")).to_contain_text("Purchase added.")
    expect(page.locator("#timeline-list")).to_contain_text("Tea chest")

    company_page = f"{live_server.url}/w/{owner.slug}/companies/{acme}"
    page.goto(company_page)
    composer = page.locator("#company-purchase-composer")
    composer.get_by_label("Product").fill("Fleet service")
    composer.get_by_label("Unit price").fill("")
    composer.get_by_role("button", name="Add purchase").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a purchase")
    composer = page.locator("#company-purchase-composer")
    expect(composer.get_by_label("Product")).to_have_value("Fleet service")
    composer.get_by_label("Unit price").fill("750")
    composer.get_by_role("button", name="Add purchase").click()
    expect(page).to_have_url(company_page)
    expect(page.locator("#company-purchases")).to_contain_text("Fleet service")
    context.close()
