"""The complaint portal in a real browser, as a customer with no account: file a complaint, land on
the private tracking page with the number, reply, and see the reply in the conversation."""

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.factories import make_workspace

pytestmark = pytest.mark.browser


def test_a_customer_files_a_complaint_follows_it_and_replies(app, browser: Browser, live_server, mailbox):
    shop = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    context = browser.new_context()  # a fresh visitor: nobody signed in
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/portal/{shop.slug}/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Alpha Trading")
        page.get_by_role("main").get_by_role("link", name="Submit a complaint").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Submit a complaint")

        page.get_by_label("Your name").fill("Mei Wong")
        page.get_by_label("Email", exact=True).fill("mei@example.com")
        page.get_by_label("Order or reference number (optional)").fill("ORD-778")
        page.get_by_label("What is it about?").select_option(label="Delivery")
        page.get_by_label("Subject").fill("Parcel arrived crushed")
        page.get_by_label("Description").fill("Two cups are broken.")
        page.get_by_role("button", name="Send the complaint").click()

        expect(page).to_have_url(re.compile(rf"/portal/{shop.slug}/t/[A-Za-z0-9_-]{{43}}$"))
        expect(page.get_by_role("heading", level=1)).to_contain_text("Complaint #1001")
        expect(page.get_by_role("status")).to_contain_text("Its number is #1001")
        expect(page.get_by_role("main")).to_contain_text("Two cups are broken.")
        assert mailbox.links() == [page.url]

        page.get_by_label("Your reply").fill("I also have photos of the box.")
        page.get_by_role("button", name="Send the reply").click()
        expect(page.get_by_role("status")).to_have_text("Your reply is sent.")
        conversation = page.get_by_role("region", name="Conversation")
        expect(conversation.get_by_role("listitem")).to_have_count(2)
        expect(conversation.get_by_role("listitem").last).to_contain_text("I also have photos of the box.")
    finally:
        context.close()


def test_the_portal_fits_a_phone(app, browser: Browser, live_server):
    from tests.browser.test_layout_browser import PHONE, assert_no_horizontal_scroll
    from tests.factories import make_contact, make_ticket

    shop = make_workspace(
        app, "Northern Harbour Seafood Wholesale and Retail Trading Company", "ann@harbour.example.com"
    )
    contact = make_contact(app, shop, "Mei Wong", emails=["mei@example.com"])
    _, token = make_ticket(
        app, shop, contact, subject="Order " + "ORD-2026-" * 12, body="https://example.com/" + "x" * 120
    )
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        for path in ("", "new", f"t/{token}"):
            page.goto(f"{live_server.url}/portal/{shop.slug}/{path}")
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            assert_no_horizontal_scroll(page)
    finally:
        context.close()
