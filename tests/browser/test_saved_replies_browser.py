"""Saved replies in a real browser: an agent adds one in Settings, picks it on a ticket, sees it
filled in for that customer in the reply box, edits a word and sends it."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import log_in, wait_for_htmx
from tests.factories import make_contact, make_ticket, make_workspace

pytestmark = pytest.mark.browser


def test_pick_a_saved_reply_on_a_ticket_and_send_it(app, page: Page, live_server):
    shop = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make_ticket(app, shop, make_contact(app, shop, "Wang Fang", emails=["fang@example.com"]), subject="Late parcel")
    log_in(page, live_server.url, shop.email, shop.password)
    page.goto(f"{live_server.url}/w/{shop.slug}/settings/saved-replies/")
    form = page.locator("#new-saved-reply")
    form.get_by_label("Title").fill("Parcel on its way")
    form.get_by_label("Reply").fill("Dear {customer_first_name}, your parcel for {ticket_number} left today.")
    form.get_by_role("button", name="Add reply").click()
    expect(page.get_by_role("status")).to_contain_text("Saved reply Parcel on its way added.")

    page.goto(f"{live_server.url}/w/{shop.slug}/tickets/1001")
    wait_for_htmx(page)
    page.get_by_label("Start from a saved reply").select_option(label="Parcel on its way")
    message = page.get_by_label("Message")
    expect(message).to_have_value("Dear Wang, your parcel for #1001 left today.")
    message.fill("Dear Wang, your parcel for #1001 left today by express.")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#ticket-messages")).to_contain_text("left today by express.")
