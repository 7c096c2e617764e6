"""Settings -> Custom fields on a phone: each field is a card whose badges, type and actions all
fit the screen (no scroll box to swipe), reachable by the keyboard in reading order; on a wide
screen it stays a table."""

import os

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import log_in
from tests.factories import make_custom_field, make_workspace

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}

# Every visible element of the page's main content whose box reaches past the screen's right
# edge, or that clips what it holds (a scroll box, a badge cut to "Re"), as "tag.class: text".
# Text kept for screen readers only (clipped to a pixel, as .visually-hidden) is left out.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const forReaders = element => {
    for (let node = element; node; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.position === 'absolute' && style.clip !== 'auto') return true;
    }
    return false;
  };
  const found = [];
  for (const element of document.querySelectorAll('main *')) {
    const box = element.getBoundingClientRect();
    if (!box.width || !box.height || forReaders(element)) continue;
    const clips = element.scrollWidth > element.clientWidth + 1 && getComputedStyle(element).overflowX !== 'visible';
    if (box.right > width + 0.5 || box.left < -0.5 || clips) {
      found.push(`${element.tagName.toLowerCase()}.${element.className}: ${element.textContent.trim().slice(0, 40)}`);
    }
  }
  return found;
}"""


def test_custom_fields_fit_a_phone_as_cards_and_stay_a_table_when_wide(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make_custom_field(app, owner, "Identity card number of the contact person", sensitive=True, required=True)
    make_custom_field(app, owner, "Segment", kind="multi_select", options=["Retail", "Wholesale"], required=True)
    make_custom_field(app, owner, "Preferred delivery window", kind="long_text")
    # Made before labels of built-in fields were refused: a third badge says so, and wraps.
    make_custom_field(app, owner, "Company", required=True, sensitive=True)
    log_in(page, live_server.url, owner.email, owner.password)
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/w/{owner.slug}/settings/custom-fields/")
    contacts = page.locator("section").filter(has=page.get_by_role("heading", name="Contacts"))
    first = contacts.locator("tbody tr").first
    expect(first.get_by_role("link", name="Identity card number of the contact person", exact=True)).to_be_visible()
    if os.environ.get("SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOTS"], "custom-fields-375.png"), full_page=True)
        contacts.locator("table").screenshot(
            path=os.path.join(os.environ["SCREENSHOTS"], "custom-fields-375-table.png")
        )

    assert page.evaluate(OVERFLOWING) == []

    # Both badges are whole and every action is on the screen, without scrolling sideways.
    def across(locator) -> tuple[float, float]:
        box = locator.bounding_box()
        return box["x"], box["x"] + box["width"]

    for badge in ("Required", "Sensitive"):
        left, right = across(first.get_by_text(badge, exact=True))
        assert left >= 0 and right <= PHONE["width"]
    for role, action in (("button", "Move down"), ("link", "Delete")):
        left, right = across(first.get_by_role(role, name=f"{action} Identity card number of the contact person"))
        assert left >= 0 and right <= PHONE["width"]
    # A card: the actions sit under the label, not in a column beside it.
    label_box = first.get_by_role("link", name="Identity card number of the contact person", exact=True).bounding_box()
    delete_box = first.get_by_role("link", name="Delete Identity card number of the contact person").bounding_box()
    assert delete_box["y"] >= label_box["y"] + label_box["height"]

    # The keyboard reaches a card's controls in reading order: its label, then its actions.
    first.get_by_role("link", name="Identity card number of the contact person", exact=True).focus()
    page.keyboard.press("Tab")
    expect(first.get_by_role("button", name="Move down Identity card number of the contact person")).to_be_focused()
    page.keyboard.press("Tab")
    expect(first.get_by_role("link", name="Delete Identity card number of the contact person")).to_be_focused()

    # On a wide screen it is a table with its column headings.
    page.set_viewport_size({"width": 1200, "height": 800})
    expect(contacts.get_by_role("columnheader", name="Actions")).to_be_visible()
    assert first.evaluate("row => getComputedStyle(row).display") == "table-row"
