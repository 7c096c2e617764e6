"""The whole complaint loop of issue 7 in two browsers: a VIP customer files a complaint on the portal
(a fresh context, not signed in) -> it lands in the Escalated queue -> staff reply -> the customer
reads the reply through the tracking link and answers -> staff resolve -> the customer rates 2 ->
the ticket is open again, escalated, and the customer's owner has a recovery task."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from crm.activities.models import Activity
from crm.contacts.models import Contact
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.browser.helpers import log_in, wait_for_htmx
from tests.factories import make_contact, make_workspace

pytestmark = pytest.mark.browser


def test_complaint_reply_answer_resolve_low_rating_reopens_escalated(
    app, browser: Browser, page: Page, live_server, mailbox
):
    shop = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    vip = make_contact(app, shop, "Vera Lin", emails=["vera@example.com"], owner_id=shop.membership_id)
    with app.app_context(), workspace_scope(shop.id):
        contact = db.session.get(Contact, vip)
        contact.level, contact.level_pinned = "vip", True
        db.session.commit()

    customer = browser.new_context()
    portal = customer.new_page()
    try:
        portal.goto(f"{live_server.url}/portal/{shop.slug}/new")
        portal.get_by_label("Your name").fill("Vera Lin")
        portal.get_by_label("Email", exact=True).fill("VERA@example.com")
        portal.get_by_label("What is it about?").select_option(label="Product quality")
        portal.get_by_label("Subject").fill("Kettle leaks")
        portal.get_by_label("Description").fill("The new kettle leaks from the base.")
        portal.get_by_role("button", name="Send the complaint").click()
        # A customer on record gets the private link by email only.
        expect(portal.get_by_role("status")).to_contain_text("We have emailed you the private link")
        (tracking,) = mailbox.links()
        assert re.search(rf"/portal/{shop.slug}/t/[A-Za-z0-9_-]{{43}}$", tracking)

        # Staff: the VIP's complaint waits in the Escalated queue.
        log_in(page, live_server.url, shop.email, shop.password)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Tickets").click()
        page.get_by_role("navigation", name="Ticket queues").get_by_role("link", name="Escalated").click()
        wait_for_htmx(page)
        page.get_by_role("link", name="Kettle leaks").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("#1001")
        wait_for_htmx(page)
        page.get_by_label("Message").fill("We are sorry. A replacement leaves today.")
        page.get_by_role("button", name="Send", exact=True).click()
        expect(page.locator("#ticket-messages")).to_contain_text("A replacement leaves today.")

        # The customer reads the reply and answers.
        portal.goto(tracking)
        expect(portal.get_by_role("region", name="Conversation")).to_contain_text("A replacement leaves today.")
        portal.get_by_label("Your reply").fill("Thank you, it arrived.")
        portal.get_by_role("button", name="Send the reply").click()
        expect(portal.get_by_role("status")).to_contain_text("Your reply is sent.")

        # Staff see the answer and resolve.
        page.reload()
        expect(page.locator("#ticket-messages")).to_contain_text("Thank you, it arrived.")
        wait_for_htmx(page)
        page.get_by_label("Status").select_option("resolved")
        expect(page.get_by_label("Status")).to_have_value("resolved")
        wait_for_htmx(page)

        # The customer rates 2: not happy.
        portal.goto(tracking)
        rating = portal.get_by_role("group", name="How satisfied are you with how we handled your complaint?")
        rating.get_by_label("2: Dissatisfied").check()
        portal.get_by_label("Comment (optional)").fill("The replacement leaks too.")
        portal.get_by_role("button", name="Send the rating").click()
        expect(portal.get_by_role("status")).to_contain_text("Thank you for your rating.")

        # Open again, escalated, with a recovery task for the customer's owner.
        page.reload()
        expect(page.get_by_label("Status")).to_have_value("open")
        expect(page.locator(".page-head .badges")).to_contain_text("Escalated")
        with app.app_context(), workspace_scope(shop.id):
            task = db.session.scalar(sa.select(Activity).where(Activity.kind == "task", Activity.contact_id == vip))
            assert task is not None and task.assignee_id == shop.membership_id
    finally:
        customer.close()
