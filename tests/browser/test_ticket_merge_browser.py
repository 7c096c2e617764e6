"""Merging a duplicate ticket in a real browser: open the duplicate, unfold "Merge into another
ticket", have a wrong number refused in place (htmx), merge into the right one after confirming,
and land on the kept ticket with the duplicate's message in its conversation."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import log_in, wait_for_htmx
from tests.factories import make_contact, make_ticket, make_workspace

pytestmark = pytest.mark.browser


def test_merge_a_duplicate_into_the_customers_other_ticket(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    make_ticket(app, owner, ann, "Cracked mug", body="The mug has a crack.")
    make_ticket(app, owner, ann, "Mug broken", body="Photos of the broken mug are attached.")
    make_ticket(app, owner, make_contact(app, owner, "Bo Chen"), "Someone else's mug")
    log_in(page, live_server.url, owner.email, owner.password)

    page.goto(f"{live_server.url}/w/{owner.slug}/tickets/1002")
    expect(page.get_by_role("heading", level=1)).to_contain_text("#1002")
    wait_for_htmx(page)
    page.get_by_text("Merge into another ticket").click()
    number = page.get_by_label("Number of the ticket to merge into")
    page.on("dialog", lambda dialog: dialog.accept())  # "This cannot be undone."
    number.fill("1003")
    page.get_by_role("button", name="Merge", exact=True).click()
    expect(page.locator("#ticket-merge-error")).to_contain_text("only tickets of the same customer")
    expect(page).to_have_url(re.compile(r"/tickets/1002$"))  # refused in place
    wait_for_htmx(page)

    number = page.get_by_label("Number of the ticket to merge into")
    expect(number).to_have_attribute("aria-invalid", "true")
    number.fill("#1001")
    page.get_by_role("button", name="Merge", exact=True).click()
    expect(page).to_have_url(re.compile(r"/tickets/1001$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("#1001")
    wait_for_htmx(page)
    expect(page.locator("#toasts")).to_contain_text("Ticket #1002 was merged into #1001.")
    messages = page.locator("#ticket-messages > li")
    expect(messages).to_have_count(3)
    expect(messages.nth(1)).to_contain_text("Photos of the broken mug are attached.")
    expect(messages.nth(2)).to_contain_text("Ticket #1002 was merged into this ticket.")

    page.goto(f"{live_server.url}/w/{owner.slug}/tickets/1002")
    wait_for_htmx(page)
    banner = page.get_by_role("link", name="Merged into #1001")
    expect(banner).to_be_visible()
    expect(page.get_by_label("Message")).to_have_count(0)  # read-only: no reply box
    banner.click()
    expect(page).to_have_url(re.compile(r"/tickets/1001$"))
