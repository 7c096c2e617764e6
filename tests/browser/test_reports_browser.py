"""The Sales report in a real browser: opened from the navigation (a boosted page change), its charts
drawn by the vendored Chart.js under the app's Content-Security-Policy; a longer period redraws
chart and table in place."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import assert_no_full_reload, log_in, mark_window
from tests.factories import default_pipeline, make_workspace
from tests.test_reports import add_deal

pytestmark = pytest.mark.browser


def days_ago(days: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=days)).isoformat()


def chart_values(page: Page, key: str) -> list:
    return page.evaluate(
        f"window.Chart.getChart(document.querySelector('canvas[data-key={key}]')).data.datasets[0].data"
    )


def test_open_the_report_and_change_the_period(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    sales = default_pipeline(app, owner)
    lead, won = sales.stages["Lead in"], sales.stages["Won"]
    add_deal(app, owner, "Recent win", 1000, [(lead, days_ago(20)), (won, days_ago(10))], status="won",
             closed_on=days_ago(10), owner_id=owner.membership_id)  # fmt: skip
    add_deal(app, owner, "Old win", 5000, [(lead, days_ago(220)), (won, days_ago(200))], status="won",
             closed_on=days_ago(200), owner_id=owner.membership_id)  # fmt: skip
    problems = []
    # Script errors and CSP refusals (the favicon's 404 is no concern of this page).
    page.on("console", lambda message: problems.append(message.text) if "Security Policy" in message.text else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    log_in(page, live_server.url, owner.email, owner.password)
    mark_window(page)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sales report")
    owners = page.get_by_role("table", name="By owner")
    expect(owners.get_by_role("row", name=re.compile("Alice"))).to_contain_text("$1,000.00")
    chart = page.get_by_role("img", name=re.compile("By owner"))
    expect(chart).to_have_attribute("data-drawn", "true")
    assert chart_values(page, "owners") == [1000.0]

    with page.expect_response(re.compile(r"/reports/sales\?")):
        page.get_by_label("From").fill(days_ago(365))
    expect(owners.get_by_role("row", name=re.compile("Alice"))).to_contain_text("$6,000.00")
    expect(chart).to_have_attribute("data-drawn", "true")
    assert chart_values(page, "owners") == [6000.0]
    expect(page).to_have_url(re.compile(f"from={days_ago(365)}"))
    assert_no_full_reload(page)
    # Conversion, time in stage and owners (no deal is open or lost): the swapped-out charts were freed.
    assert page.evaluate(
        "[Object.keys(window.Chart.instances).length, document.querySelectorAll('canvas').length]"
    ) == [3, 3]
    assert problems == []
