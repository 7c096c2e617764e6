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


def test_and_n_more_opens_the_customers_queue_and_the_picker_changes_it(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    acme = make_company(app, owner, "Acme Ltd")
    ann = make_contact(app, owner, "Ann Lee", company_id=acme)
    bo = make_contact(app, owner, "Bo Chen", company_id=acme)
    for number in range(6):
        make_ticket(app, owner, ann, f"Ann's complaint {number}")
    make_ticket(app, owner, bo, "Bo's complaint")
    make_ticket(app, owner, make_contact(app, owner, "Cy Wu"), "Cy's complaint")
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/{ann}")
    page.get_by_role("region", name="6 open tickets:").get_by_role("link", name="and 1 more").click()

    rows = page.locator("#ticket-results tbody tr")
    expect(rows).to_have_count(6)
    picker = page.get_by_role("combobox", name="Customer", exact=True)
    expect(picker).to_have_value("Ann Lee")
    picker.fill("Acme")
    expect(page.get_by_role("option", name="Acme Ltd Company")).to_be_visible()
    picker.press("ArrowUp")  # the last option: the company, after its people
    picker.press("Enter")
    wait_for_htmx(page)
    expect(rows).to_have_count(7)  # Ann's six and Bo's: the company's people
    expect(page.locator("#ticket-results")).to_contain_text("Bo's complaint")
    expect(page.locator("#ticket-results")).not_to_contain_text("Cy's complaint")
    assert f"customer=company%3A{acme}" in page.url or f"customer=company:{acme}" in page.url
