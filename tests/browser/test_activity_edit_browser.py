"""Correcting a timeline entry in a real browser: Edit swaps the entry for its form with the text
box focused, Save puts the corrected entry back in place, Cancel gives the entry back unchanged,
with no page load."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import assert_no_full_reload, log_in, mark_window
from tests.factories import make_activity, make_contact, make_workspace

pytestmark = pytest.mark.browser


def test_edit_an_entry_in_place_and_cancel_another_edit(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    call = make_activity(app, owner, ann, "Caled about the lid", kind="call")
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/{ann}")
    mark_window(page)
    entry = page.locator(f"#entry-activity-{call}")
    entry.get_by_role("link", name="Edit").click()
    text = entry.get_by_label("What happened, or what to do")
    expect(text).to_be_focused()
    expect(text).to_have_value("Caled about the lid")
    text.fill("Called about the lid")
    entry.get_by_label("When").fill("2026-01-05T10:15")
    entry.get_by_role("button", name="Save").click()
    expect(entry.locator(".note-body")).to_have_text("Called about the lid")
    expect(entry.locator("time")).to_have_attribute("datetime", "2026-01-05T10:15:00+00:00")

    entry.get_by_role("link", name="Edit").click()
    entry.get_by_label("What happened, or what to do").fill("Something else")
    entry.get_by_role("link", name="Cancel").click()
    expect(entry.locator(".note-body")).to_have_text("Called about the lid")
    expect(entry.get_by_role("link", name="Edit")).to_be_visible()
    assert_no_full_reload(page)
