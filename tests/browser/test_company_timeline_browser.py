"""A company's timeline in a real browser: a person's purchase and the company's deal are among its
entries, "Show older" brings the next page in place, a purchase added in the Purchases section takes
its place on the timeline without a reload, and a phone-sized screen has no sideways scroll."""

from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from crm.db import utcnow
from tests.browser.helpers import assert_no_full_reload, log_in, mark_window, wait_for_htmx
from tests.factories import make_company, make_company_activity, make_contact, make_deal, make_purchase, make_workspace

pytestmark = pytest.mark.browser


def test_a_company_timeline_shows_purchases_and_deals_and_pages_on(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    acme = make_company(app, owner, "Acme Ltd", owner_id=owner.membership_id)
    ann = make_contact(app, owner, "Ann Lee", company_id=acme)
    start = utcnow() - timedelta(days=60)
    for number in range(22):
        make_company_activity(app, owner, acme, f"Old note {number:02d}", occurred_at=start + timedelta(days=number))
    make_purchase(app, owner, ann, "Tea chest", amount=1200, on=date.today() - timedelta(days=1))
    deal = make_deal(app, owner, "Spring order", value=900, company_id=acme)
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/companies/{acme}")
    timeline = page.locator("#timeline-list")
    entries = timeline.locator(".entry")
    expect(entries).to_have_count(20)
    expect(entries.first).to_contain_text("Deal created")  # newest first
    deal_link = entries.first.get_by_role("link", name="Spring order")
    expect(deal_link).to_have_attribute("href", f"/w/{owner.slug}/deals/{deal}")
    purchase = timeline.locator(".entry.purchase")
    expect(purchase).to_contain_text("Tea chest")
    expect(purchase).to_contain_text("$1,200.00")
    expect(purchase.get_by_role("link", name="Ann Lee")).to_have_attribute("href", f"/w/{owner.slug}/contacts/{ann}")
    expect(timeline).not_to_contain_text("Old note 03")
    mark_window(page)

    timeline.get_by_role("link", name="Show older").click()
    expect(entries).to_have_count(24)
    expect(entries.last).to_contain_text("Old note 00")
    expect(timeline.get_by_role("link", name="Show older")).to_have_count(0)
    assert_no_full_reload(page)

    section = page.locator("#company-purchases")
    section.get_by_label("Product").fill("Fleet service")
    section.get_by_label("Quantity").fill("2")
    section.get_by_label("Unit price").fill("250")
    section.get_by_role("button", name="Add purchase").click()
    expect(timeline.locator(".entry.purchase").first).to_contain_text("Fleet service")  # drawn again in place
    wait_for_htmx(page)
    expect(entries).to_have_count(20)  # the first page again
    assert_no_full_reload(page)

    page.set_viewport_size({"width": 375, "height": 812})
    page.reload()
    expect(timeline.locator(".entry.purchase").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
