"""The staff side of tickets in a real browser: open the Escalated queue, find a VIP customer's
complaint by searching as you type, reply to the customer, add an internal note and resolve the
ticket, all in place (htmx), with the note marked internal in the conversation."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import assert_no_full_reload, log_in, mark_window, wait_for_htmx
from tests.factories import make_contact, make_ticket, make_workspace
from tests.test_tickets_service import customer

pytestmark = pytest.mark.browser


def test_work_a_vip_complaint_from_the_escalated_queue(app, page: Page, live_server, mailbox):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ordinary = make_contact(app, owner, "Otto Ordinary")
    vip = customer(app, owner, "Vera Important", level="vip")
    make_ticket(app, owner, ordinary, "Loose lid")
    make_ticket(app, owner, vip, "Teapot arrived cracked", requester_email="vera@example.com")
    make_ticket(app, owner, vip, "Invoice has the wrong address", requester_email="vera@example.com")
    log_in(page, live_server.url, owner.email, owner.password)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tickets").click()
    expect(page.get_by_role("heading", name="Tickets", exact=True)).to_be_visible()
    page.get_by_role("navigation", name="Ticket queues").get_by_role("link", name="Escalated").click()
    expect(page).to_have_url(re.compile(r"tab=escalated"))
    expect(page.locator("#ticket-rows tr")).to_have_count(2)  # not the ordinary customer's
    wait_for_htmx(page)
    mark_window(page)
    page.get_by_role("searchbox", name="Search", exact=True).press_sequentially("teapot", delay=30)
    expect(page).to_have_url(re.compile(r"q=teapot"))
    expect(page.locator("#ticket-rows tr")).to_have_count(1)
    row = page.locator("#ticket-rows tr").first
    expect(row).to_contain_text("Vera Important")
    expect(row).to_contain_text("VIP")
    assert_no_full_reload(page)

    row.get_by_role("link", name="Teapot arrived cracked").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("#1002")
    wait_for_htmx(page)
    mark_window(page)
    page.get_by_label("Message").fill("We are sorry. A new teapot leaves today.")
    page.get_by_role("button", name="Send").click()
    messages = page.locator("#ticket-messages > li")
    expect(messages).to_have_count(2)
    expect(page.get_by_label("Message")).to_have_value("")  # the form is fresh
    expect(page.get_by_label("Status")).to_have_value("open")  # answered: no longer new

    page.get_by_label("Internal note").check()
    page.get_by_label("Message").fill("Second breakage this month: talk to the courier.")
    page.get_by_role("button", name="Send").click()
    expect(messages).to_have_count(3)
    note = messages.nth(2)
    expect(note).to_have_class(re.compile(r"message-internal"))
    expect(note).to_contain_text("Internal note — the customer does not see this")
    expect(note).to_contain_text("talk to the courier")
    expect(messages.nth(1)).not_to_contain_text("Internal note")

    wait_for_htmx(page)  # the details form was swapped in out of band with the note: listened to once settled
    page.get_by_label("Status").select_option("resolved")
    expect(page.locator("#toasts")).to_contain_text("Ticket #1002 updated.")
    expect(page.get_by_label("Status")).to_have_value("resolved")
    assert_no_full_reload(page)

    page.reload()
    expect(page).to_have_url(re.compile(r"/tickets/1002$"))
    expect(page.locator("#ticket-messages > li")).to_have_count(3)
    expect(page.locator("#ticket-messages > li.message-internal")).to_have_count(1)
    expect(page.get_by_label("Status")).to_have_value("resolved")
    subjects = [message["Subject"] for message in mailbox.messages]
    assert len(subjects) == 2 and "Resolved" in subjects[1]  # the reply and the resolution, not the note
