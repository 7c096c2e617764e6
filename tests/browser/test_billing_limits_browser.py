"""Plan limits in a real browser: on a workspace at its contacts limit, adding a contact through
the boosted form shows the limit and the way to upgrade, in place, with what was typed kept."""

import copy
import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from crm.db import utcnow
from tests.browser.helpers import log_in, wait_for_htmx
from tests.factories import make_contact, make_workspace
from tests.test_billing_limits import set_billing

pytestmark = pytest.mark.browser


@pytest.fixture
def billing_on(app):
    """Billing on for the live server (the session's app), Free allowing 2 contacts; restored after."""
    saved = {key: app.config[key] for key in ("STRIPE_SECRET_KEY", "BILLING_PLANS")}
    plans = copy.deepcopy(app.config["BILLING_PLANS"])
    plans["free"]["max_contacts"] = 2
    app.config.update(STRIPE_SECRET_KEY="sk_test_x", BILLING_PLANS=plans)
    yield
    app.config.update(saved)


def test_adding_a_contact_over_the_limit_shows_the_upgrade_link(app, page: Page, live_server, billing_on):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    set_billing(app, owner, trial_ends_at=utcnow() - timedelta(days=1))  # the trial is over: Free
    make_contact(app, owner, "Bob Stone")
    make_contact(app, owner, "Cy Chen")
    log_in(page, live_server.url, owner.email, owner.password)

    page.get_by_role("navigation").get_by_role("link", name="Contacts").click()
    page.get_by_role("link", name="Add contact").click()
    wait_for_htmx(page)
    page.get_by_label("Name", exact=True).fill("Ann Lee")
    page.get_by_role("button", name="Add contact").click()

    notice = page.locator("#limit-error")
    expect(notice).to_contain_text("The Free plan allows 2 contacts and all are used.")
    upgrade = notice.get_by_role("link", name="Upgrade the plan")
    expect(upgrade).to_have_attribute("href", re.compile(rf"/w/{owner.slug}/settings/billing/$"))
    expect(page.get_by_label("Name", exact=True)).to_have_value("Ann Lee")
    expect(page).to_have_url(re.compile(r"/contacts/(new)?$"))

    upgrade.click()
    wait_for_htmx(page)
    expect(page).to_have_url(re.compile(rf"/w/{owner.slug}/settings/billing/$"))
