"""Settings → Pipelines in a real browser: add a stage, move it up with its keyboard button (the list
swaps in place), and see it as a column of the board."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import assert_no_full_reload, log_in, mark_window
from tests.factories import make_workspace

pytestmark = pytest.mark.browser


def test_add_a_stage_and_see_it_on_the_board(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/settings")
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Pipelines").click()
    page.get_by_role("link", name="Edit stages Sales").click()
    expect(page.get_by_role("heading", level=2, name="Sales")).to_be_visible()

    page.get_by_label("Stage name").fill("Demo booked")
    page.get_by_label("Win probability (%)").fill("120")
    page.get_by_role("button", name="Add stage").click()
    expect(page.get_by_label("Win probability (%)")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#stage-probability-error")).to_have_text("Enter a whole number from 0 to 100.")
    page.get_by_label("Win probability (%)").fill("45")
    page.get_by_label("Rotting after (days)").fill("14")
    page.get_by_role("button", name="Add stage").click()
    expect(page.locator("#stage-probability-error")).to_have_count(0)
    rows = page.locator("#stage-list tbody tr")
    expect(rows.nth(4)).to_contain_text("Demo booked")
    expect(rows.nth(4)).to_contain_text("45%")

    mark_window(page)
    move_up = page.get_by_role("button", name="Move up Demo booked")
    move_up.focus()
    with page.expect_response(re.compile(r"/move$")):
        page.keyboard.press("Enter")
    expect(rows.nth(3)).to_contain_text("Demo booked")
    # Focus stays on the button (same id in the swapped list): Enter again moves it further.
    expect(page.get_by_role("button", name="Move up Demo booked")).to_be_focused()
    assert_no_full_reload(page)

    page.get_by_role("link", name="Open the board").click()
    headings = page.locator(".board-column h2")
    expect(headings.nth(3)).to_contain_text("Demo booked")
    expect(headings.nth(4)).to_contain_text("Negotiation")
