"""Date inputs that take days from 1900 to today, in a real browser: the picker's year steps round
inside those years instead of offering one to come, a typed day after today is out of range before
anything is sent, and the server still refuses it with its message."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import log_in, wait_for_htmx
from tests.factories import make_company, make_contact, make_workspace

pytestmark = pytest.mark.browser


def press_on_year(page: Page, field, key: str) -> None:
    """``key`` on the year of a date input written month/day/year (en-US)."""
    field.blur()  # focused again, it starts at the month
    field.focus()
    field.press("ArrowRight")
    field.press("ArrowRight")
    field.press(key)


def test_a_purchase_date_cannot_be_picked_after_today(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    acme = make_company(app, owner, "Acme Ltd")
    today = datetime.now(UTC).date()  # the workspace's zone is UTC
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/{ann}")
    composer = page.locator("#purchase-composer")
    day = composer.get_by_label("Date")
    expect(day).to_have_value(today.isoformat())
    wait_for_htmx(page)

    first = today.replace(day=1)  # a day of this month that 1900 has too
    day.fill(first.isoformat())
    press_on_year(page, day, "ArrowUp")  # no year to come: round to the first one taken
    expect(day).to_have_value(first.replace(year=1900).isoformat())
    day.press("ArrowDown")  # and back from 1900 to this year, not 1899
    expect(day).to_have_value(first.isoformat())

    tomorrow = (today + timedelta(days=1)).isoformat()
    day.fill(tomorrow)  # typed: the browser knows it is out of range before the form is sent
    assert day.evaluate("input => input.validity.rangeOverflow && input.matches(':out-of-range')")
    composer.get_by_label("Product").fill("Green tea")
    composer.get_by_label("Unit price").fill("12")
    composer.get_by_role("button", name="Add purchase").click()
    expect(composer.get_by_text("A purchase cannot be dated in the future.")).to_be_visible()
    expect(composer.get_by_label("Date")).to_have_attribute("max", today.isoformat())

    page.goto(f"{live_server.url}/w/{owner.slug}/companies/{acme}")
    page.locator("#company-details").get_by_role("link", name="Edit").click()  # inline, swapped in by htmx
    since = page.locator("#company-details").get_by_label("Customer since")
    expect(since).to_have_attribute("max", today.isoformat())
    expect(since).to_have_attribute("min", "1900-01-01")
