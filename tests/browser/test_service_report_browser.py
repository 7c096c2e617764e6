"""The Service report in a real browser: reached from the Sales report's tab (a boosted page change),
its charts drawn by the vendored Chart.js under the app's Content-Security-Policy; a longer period
redraws chart and table in place."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from crm.db import utcnow
from tests.browser.helpers import assert_no_full_reload, log_in, mark_window
from tests.factories import make_contact, make_workspace
from tests.test_service_report import add_ticket

pytestmark = pytest.mark.browser


def chart_values(page: Page, key: str) -> list:
    return page.evaluate(
        f"window.Chart.getChart(document.querySelector('canvas[data-key={key}]')).data.datasets[0].data"
    )


def test_open_the_report_and_change_the_period(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    now = utcnow()
    add_ticket(app, owner, ann, category="Delivery", created_at=now - timedelta(days=10))
    add_ticket(app, owner, ann, category="Delivery", created_at=now - timedelta(days=200))
    add_ticket(app, owner, ann, category="Billing", created_at=now - timedelta(days=300))
    problems = []
    # Script errors and CSP refusals (the favicon's 404 is no concern of this page).
    page.on("console", lambda message: problems.append(message.text) if "Security Policy" in message.text else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    log_in(page, live_server.url, owner.email, owner.password)
    mark_window(page)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    page.get_by_role("navigation", name="Reports").get_by_role("link", name="Service report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Service report")
    categories = page.get_by_role("table", name="Tickets by category")
    expect(categories.get_by_role("row", name=re.compile("Delivery"))).to_contain_text("1")
    chart = page.get_by_role("img", name=re.compile("Tickets by category"))
    expect(chart).to_have_attribute("data-drawn", "true")
    assert chart_values(page, "categories") == [1.0]

    since = (now - timedelta(days=365)).date().isoformat()
    with page.expect_response(re.compile(r"/reports/service\?")):
        page.get_by_label("From").fill(since)
    expect(categories.get_by_role("row", name=re.compile("Delivery"))).to_contain_text("2")
    expect(categories.get_by_role("row", name=re.compile("Billing"))).to_be_visible()
    expect(chart).to_have_attribute("data-drawn", "true")
    assert chart_values(page, "categories") == [2.0, 1.0]
    expect(page).to_have_url(re.compile(f"from={since}"))
    assert_no_full_reload(page)
    # A year goes by month; the swapped-out charts were freed (one chart per table).
    expect(page.get_by_role("table", name="Tickets by month")).to_be_visible()
    assert page.evaluate("Object.keys(window.Chart.instances).length === document.querySelectorAll('canvas').length")
    assert problems == []
