"""Saving the customer tier rules of a workspace above the background threshold, in a real browser
with the run in a thread as `make run` has it: the page says the run is going on, with its progress
polled by htmx, and then when it finished and for how many customers."""

import time

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import log_in, wait_for_htmx
from tests.factories import make_contact, make_purchase, make_workspace

pytestmark = pytest.mark.browser


def test_saving_the_rules_of_a_large_workspace_shows_the_run_going_on_then_finished(app, page: Page, live_server,
                                                                                    monkeypatch):  # fmt: skip
    from crm.contacts import classification, tier_routes

    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    for thousands in (1, 2, 3, 4):
        make_purchase(app, owner, make_contact(app, owner, f"Buyer {thousands}"), amount=thousands * 1000)
    reclassify_batch = classification._reclassify_batch

    def slowly(*args):  # a customer a batch, slowly enough to be seen going
        time.sleep(0.6)
        return reclassify_batch(*args)

    monkeypatch.setattr(tier_routes, "INLINE_LIMIT", 2)
    monkeypatch.setattr(classification, "BATCH", 1)
    monkeypatch.setattr(classification, "_reclassify_batch", slowly)
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)  # in a thread, as without REDIS_URL
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/settings/customer-tiers/")
    page.get_by_role("radiogroup", name="Tiers").get_by_label("By share of customers").check()
    page.get_by_label("Tier A: the top (%)").fill("25")
    page.get_by_role("button", name="Save and classify again").click()
    expect(page.locator("#toasts")).to_contain_text("being classified again in the background")
    run = page.get_by_role("region", name="Classification")
    expect(run.get_by_label("Classifying the customers again")).to_be_visible()  # the progress bar
    expect(run).to_contain_text("of 4 customers done")
    expect(run).to_contain_text("Classified again at", timeout=15_000)  # polled until done
    expect(run).to_contain_text(": 4 customers.")
    expect(run.get_by_label("Classifying the customers again")).to_have_count(0)
    expect(run).to_contain_text("Tier A: the top 25% of customers, from $4,000.00 in the last 12 months")
    expect(page.get_by_role("status").filter(has_text="Classified again at")).to_have_count(1)  # read out once
    wait_for_htmx(page)
    polls = []
    page.on("request", lambda request: polls.append(request.url) if request.url.endswith("/run") else None)
    page.wait_for_timeout(2500)
    assert polls == []  # the polling stopped with the end
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/?tier=A")
    expect(page.locator("#contact-rows")).to_contain_text("Buyer 4")
    expect(page.locator("#contact-rows")).not_to_contain_text("Buyer 3")
