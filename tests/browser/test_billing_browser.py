"""The whole upgrade loop in a real browser, against the fake Stripe: Settings → Billing → Upgrade
to Team → the fake's Checkout page → Pay → its signed webhooks reach the live server → back on the
billing page the plan is Team and the member limit Team's. Then the Customer Portal cancels it."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.billing_helpers import set_columns, state
from tests.browser.helpers import log_in, wait_for_htmx
from tests.factories import make_workspace

pytestmark = pytest.mark.browser


def test_upgrade_to_team_through_checkout_and_cancel_in_the_portal(app, page: Page, live_server, stripe_billing,
                                                                   monkeypatch):  # fmt: skip
    monkeypatch.setattr(stripe_billing, "webhook_url", f"{live_server.url}/billing/webhook")
    shop = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    set_columns(app, shop, trial_ends_at=None)  # past the free trial: on Free
    problems = []
    page.on("console", lambda message: problems.append(message.text) if "Security Policy" in message.text else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    log_in(page, live_server.url, shop.email, shop.password)
    page.get_by_role("link", name="Settings").click()
    wait_for_htmx(page)
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Billing").click()
    expect(page).to_have_url(f"{live_server.url}/w/{shop.slug}/settings/billing/")
    wait_for_htmx(page)
    expect(page.locator("#current-plan")).to_have_text("Free")
    members = page.locator("#usage-members td")
    expect(members.nth(1)).to_have_text("2")

    page.get_by_role("button", name="Upgrade to Team").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(stripe_billing.url)}/checkout/cs_test_"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Checkout")
    expect(page.get_by_role("main")).to_contain_text("Team")
    page.get_by_role("button", name="Pay").click()

    expect(page).to_have_url(f"{live_server.url}/w/{shop.slug}/settings/billing/?checkout=success")
    wait_for_htmx(page)
    expect(page.locator("#current-plan")).to_have_text("Team")
    expect(members.nth(1)).to_have_text("25")
    expect(page.get_by_role("status").filter(has_text="Thank you")).to_contain_text("on the Team plan")
    [invoice] = stripe_billing.invoices.values()
    expect(page.locator("#invoices")).to_contain_text(invoice["number"])
    expect(page.locator("#invoices")).to_contain_text("$15.00")
    assert {status for _, status in stripe_billing.deliveries} == {200}
    assert state(app, shop).plan == "team"

    page.get_by_role("button", name="Manage card, cancel or download invoices").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(stripe_billing.url)}/portal/bps_"))
    page.get_by_role("button", name="Cancel plan").click()
    expect(page.get_by_role("main")).to_contain_text("cancels at period end")
    page.get_by_role("link", name="Return to Kehu").click()
    wait_for_htmx(page)
    expect(page.locator("#period-end")).to_contain_text("Cancels at the end of the period")
    expect(page.locator("#current-plan")).to_have_text("Team")
    assert problems == []
