"""A customer's tickets in a real browser: the contact's page names its open ticket under the title
and on the timeline; following the link opens the ticket; once the ticket is resolved, the page no
longer lists it as open and the timeline says Resolved. The company's page lists it while open."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import log_in, wait_for_htmx
from tests.factories import make_company, make_contact, make_ticket, make_workspace

pytestmark = pytest.mark.browser


def test_a_contacts_open_ticket_is_on_its_page_until_it_is_resolved(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    acme = make_company(app, owner, "Acme Ltd")
    ann = make_contact(app, owner, "Ann Lee", company_id=acme)
    make_ticket(app, owner, ann, "The lid was cracked")
    log_in(page, live_server.url, owner.email, owner.password)
    contact_page = f"{live_server.url}/w/{owner.slug}/contacts/{ann}"
    page.goto(contact_page)
    open_tickets = page.get_by_role("region", name="1 open ticket:")
    expect(open_tickets).to_contain_text("The lid was cracked (New)")
    expect(page.locator("#timeline-list .entry.ticket")).to_contain_text("The lid was cracked · New")

    open_tickets.get_by_role("link", name="The lid was cracked").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("The lid was cracked")
    page.get_by_label("Status").first.select_option(label="Resolved")
    page.get_by_role("button", name="Save").first.click()
    wait_for_htmx(page)

    page.goto(contact_page)
    expect(page.get_by_role("region", name="1 open ticket:")).to_have_count(0)
    expect(page.locator("#timeline-list .entry.ticket")).to_contain_text("The lid was cracked · Resolved")
    page.goto(f"{live_server.url}/w/{owner.slug}/companies/{acme}")
    expect(page.get_by_role("region", name="1 open ticket:")).to_have_count(0)
