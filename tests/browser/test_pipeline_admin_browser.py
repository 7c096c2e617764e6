"""Settings → Pipelines and Lost reasons in a real browser: add a stage, move it up with its keyboard
button (the list swaps in place), and see it as a column of the board; drag a stage and a lost reason
by their handles (the order stays after a reload); retire a reason."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import assert_no_full_reload, log_in, mark_window, wait_for_htmx
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


def drag_row(page: Page, handle, target_row) -> None:
    """Mouse down on a row's handle, move over the target row's top half in steps, hold still while
    Sortable animates, release, and wait for the order post's answer."""
    expect(page.locator("[data-sortable-rows]:not([data-sortable=ready])")).to_have_count(0)
    # The mouse acts inside the viewport only: bring the whole list into it.
    handle.evaluate("handle => handle.closest('tbody').scrollIntoView({block: 'center'})")
    start, end = handle.bounding_box(), target_row.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2 - 5, steps=5)
    x, y = start["x"] + start["width"] / 2, end["y"] + end["height"] / 4
    with page.expect_response(re.compile(r"/order$")):
        page.mouse.move(x, y, steps=20)
        page.wait_for_timeout(300)
        page.mouse.move(x, y - 1)
        page.wait_for_timeout(300)
        page.mouse.up()


def test_drag_stages_and_lost_reasons_into_a_new_order(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/settings/pipelines/")
    page.get_by_role("link", name="Edit stages Sales").click()
    stage_rows = page.locator("#stage-rows tr")
    expect(stage_rows).to_have_count(4)
    wait_for_htmx(page)
    drag_row(page, stage_rows.nth(3).locator(".drag-handle"), stage_rows.nth(0))
    page.reload()
    expect(page.locator("#stage-rows tr").nth(0)).to_contain_text("Negotiation")
    expect(page.locator("#stage-rows tr").nth(1)).to_contain_text("Lead in")

    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Lost reasons").click()
    rows = page.locator("#lost-reason-rows tr")
    expect(rows).to_have_count(6)
    wait_for_htmx(page)
    drag_row(page, rows.nth(5).locator(".drag-handle"), rows.nth(0))
    page.reload()
    expect(page.locator("#lost-reason-rows tr").nth(0)).to_contain_text("Other")
    mark_window(page)
    page.get_by_role("button", name="Retire No budget").click()
    expect(page.locator("#lost-reason-rows tr").filter(has_text="No budget")).to_contain_text("Retired")
    assert_no_full_reload(page)
