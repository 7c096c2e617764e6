"""Quotes in a real browser: create a quote from a deal, see the printable page (printed, only the
document shows), send it (a stale page's second send is refused with a toast) and accept it with
"also mark the deal won"."""

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import log_in
from tests.factories import make_company, make_contact, make_deal, make_workspace

pytestmark = pytest.mark.browser


def test_create_print_and_accept_a_quote_that_wins_the_deal(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    acme = make_company(app, owner, "Acme Ltd")
    ann = make_contact(app, owner, "Ann Lee", company_id=acme)
    deal_id = make_deal(app, owner, "Tea chests", value=1200, contact_id=ann, company_id=acme)
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/deals/{deal_id}")

    quotes = page.locator("#deal-quotes")
    expect(quotes).to_contain_text("No quotes yet.")
    quotes.get_by_role("button", name="Create quote").click()
    number = f"Q-{datetime.now(UTC).year}-0001"
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Quote {number}")
    document = page.locator(".quote-document")
    expect(document).to_contain_text("Acme Ltd")
    expect(document).to_contain_text("Ann Lee")
    expect(document.get_by_role("row", name=re.compile("^Tea chests"))).to_contain_text("$1,200.00")

    # Printed, the page is the document alone: no app header, footer or buttons.
    page.emulate_media(media="print")
    expect(document).to_be_visible()
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".site-footer")).to_be_hidden()
    expect(page.get_by_role("button", name="Mark as sent")).to_be_hidden()
    page.emulate_media(media="screen")
    expect(page.locator(".site-header")).to_be_visible()

    # A colleague sends it meanwhile: this page's own "Mark as sent" is refused with the reason.
    other = page.context.new_page()
    other.goto(page.url)
    other.get_by_role("button", name="Mark as sent").click()
    expect(other.locator(".quote-status")).to_contain_text("Sent")
    other.close()
    page.get_by_role("button", name="Mark as sent").click()
    expect(page.locator("#toasts")).to_contain_text("A quote that is Sent cannot be marked Sent.")
    page.reload()
    expect(page.locator(".quote-status")).to_contain_text("Sent")
    expect(page.get_by_role("heading", name="Edit the draft")).to_have_count(0)
    page.get_by_label("Also mark the deal won").check()
    page.get_by_role("button", name="Mark as accepted").click()
    expect(page.locator(".quote-status")).to_contain_text("Accepted")

    page.get_by_role("link", name="Back to the deal Tea chests").click()
    expect(page.locator(".deal-status")).to_contain_text("Won")
    row = page.locator("#deal-quotes").get_by_role("row", name=re.compile(number))
    expect(row).to_contain_text("Accepted")
