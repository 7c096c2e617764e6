"""The deals board in a real browser: drag a card to the next column and within one (it stays after
a reload), move a card with its keyboard button, mark a deal won and another lost with a reason."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import assert_no_full_reload, log_in, mark_window
from tests.factories import default_pipeline, make_contact, make_deal, make_workspace

pytestmark = pytest.mark.browser


def column(page: Page, name: str):
    return page.locator(".board-column").filter(has=page.get_by_role("heading", name=re.compile(f"^{name}")))


def drag(page: Page, card, target, near_top: bool = False) -> None:
    """Mouse down on the card, move over the target (its middle, or just below its top edge) in small
    steps, release (Sortable listens to pointer events, which Playwright's single-jump drag_to can
    miss). Waits first until every column of the board (re-rendered after each move) takes drags."""
    expect(page.locator(".board-cards:not([data-sortable=ready])")).to_have_count(0)
    page.evaluate("window.__boardBeforeDrag = document.getElementById('deal-board')")
    card.scroll_into_view_if_needed()  # as a person scrolls to the card first: the mouse stays in the window
    start = card.bounding_box()
    end = target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + 10)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 5, start["y"] + 15, steps=5)
    x, y = end["x"] + end["width"] / 2, end["y"] + (8 if near_top else end["height"] / 2)
    page.mouse.move(x, y, steps=20)
    # Hold still as a person does: Sortable animates the cards out of the way (150 ms) and places
    # the card by where the pointer is once they have moved; releasing mid-animation is a race.
    page.wait_for_timeout(300)
    page.mouse.move(x, y + 1)
    page.wait_for_timeout(300)
    page.mouse.up()
    # The server answers with the whole board, swapped in place of the dragged one: wait for it, so
    # the next step does not act on the old board (which Sortable already shows in the new order).
    for _attempt in range(200):  # wait_for_function evaluates a string, which the CSP forbids
        if page.evaluate("document.getElementById('deal-board') !== window.__boardBeforeDrag"):
            return
        page.wait_for_timeout(25)
    raise AssertionError("the board was not re-rendered after the drag")


def test_drag_a_card_to_the_next_column_and_reorder_within_one(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    sales = default_pipeline(app, owner)
    make_deal(app, owner, "Tea chests", sales.stages["Lead in"], 1200)
    make_deal(app, owner, "Cups", sales.stages["Qualified"], 300)
    make_deal(app, owner, "Saucers", sales.stages["Qualified"], 200)
    log_in(page, live_server.url, owner.email, owner.password)
    page.get_by_role("navigation").get_by_role("link", name="Deals").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Deals")
    mark_window(page)

    qualified = column(page, "Qualified")
    with page.expect_response(re.compile(r"/order$")):
        lead = column(page, "Lead in")
        drag(page, lead.locator(".deal-card", has_text="Tea chests"), qualified.locator(".board-cards"))
    expect(qualified.locator(".deal-card")).to_have_count(3)
    expect(column(page, "Lead in").locator(".deal-card")).to_have_count(0)
    expect(qualified.locator(".column-totals")).to_contain_text("$1,700.00")  # 1,200 + 300 + 200
    assert_no_full_reload(page)

    # Within the column: Saucers above Cups.
    cards = qualified.locator(".deal-card")
    with page.expect_response(re.compile(r"/order$")):
        drag(page, cards.filter(has_text="Saucers"), cards.filter(has_text="Cups"), near_top=True)
    expect(qualified.locator(".deal-title").first).to_have_text("Saucers")
    page.reload()
    order = column(page, "Qualified").locator(".deal-title").all_inner_texts()
    assert "Tea chests" in order and order.index("Saucers") < order.index("Cups")
    expect(column(page, "Lead in").locator(".deal-card")).to_have_count(0)


def test_move_with_the_keyboard_then_win_and_lose(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    sales = default_pipeline(app, owner)
    ann = make_contact(app, owner, "Ann Lee")
    make_deal(app, owner, "Tea chests", sales.stages["Lead in"], 12000, contact_id=ann)
    make_deal(app, owner, "Cups", sales.stages["Lead in"], 300)
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/deals/")
    mark_window(page)

    move = page.get_by_role("button", name="Move Tea chests to Qualified")
    move.focus()
    page.keyboard.press("Enter")
    expect(column(page, "Qualified").locator(".deal-card")).to_contain_text(["Tea chests"])
    # Focus stays on the moved card: its next move button is reachable at once.
    expect(page.get_by_role("button", name="Move Tea chests to Proposal")).to_be_visible()
    assert_no_full_reload(page)

    column(page, "Qualified").get_by_role("link", name="Tea chests").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Tea chests")
    page.get_by_label("Record the deal's value as a purchase of the customer").check()
    page.get_by_role("button", name="Mark as won").click()
    expect(page.locator(".deal-status")).to_contain_text("Won")
    expect(page.get_by_role("button", name="Reopen the deal")).to_be_visible()
    page.get_by_role("link", name="Ann Lee").click()
    expect(page.locator("#contact-summary")).to_contain_text("Tier A")
    expect(page.locator("#contact-summary")).to_contain_text("$12,000.00")

    page.goto(f"{live_server.url}/w/{owner.slug}/deals/")
    page.get_by_role("link", name="Cups").click()
    page.get_by_role("button", name="Mark as lost").click()
    expect(page.get_by_text("Choose why the deal was lost.")).to_be_visible()
    page.get_by_label("Why was it lost?").select_option(label="Went with a competitor")
    page.get_by_label("Details (optional)").fill("Found a cheaper supplier")
    page.get_by_role("button", name="Mark as lost").click()
    expect(page.locator(".deal-status")).to_contain_text("Lost")
    expect(page.locator("#deal-details").get_by_text("Went with a competitor")).to_be_visible()
    expect(page.locator("#deal-details").get_by_text("Found a cheaper supplier")).to_be_visible()


def test_on_a_phone_the_board_scrolls_sideways_not_the_page(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    sales = default_pipeline(app, owner)
    for number, stage in enumerate(sales.open):
        make_deal(app, owner, f"Deal with a long enough title {number}", stage, 1000 * number)
    page.set_viewport_size({"width": 375, "height": 740})
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/deals/")
    widths = page.evaluate(
        "({page: document.documentElement.scrollWidth, screen: document.documentElement.clientWidth,"
        " board: document.querySelector('.board-wrap').scrollWidth,"
        " shown: document.querySelector('.board-wrap').clientWidth})"
    )
    assert widths["page"] <= widths["screen"], widths
    assert widths["board"] > widths["shown"], widths
    last = page.get_by_role("link", name="Deal with a long enough title 3")
    last.scroll_into_view_if_needed()
    expect(last).to_be_in_viewport()
