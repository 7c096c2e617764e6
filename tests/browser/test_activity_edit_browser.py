"""Correcting a timeline entry in a real browser: Edit swaps the entry for its form with the text
box focused, Save puts the corrected entry back in place, Cancel gives the entry back unchanged,
with no page load. Without JavaScript (or opened in a tab of its own) the form is a page that goes
back to the record."""

import pytest
from playwright.sync_api import Browser, Page, expect

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


def test_an_entry_edited_on_a_page_of_its_own_goes_back_to_its_record(app, browser: Browser, live_server):
    """Without JavaScript the Edit link opens the form as a page: saving goes back to the contact,
    as does its link back. With JavaScript, the edit page opened in a tab of its own saves the same
    way (its form is plain there: there is no timeline to swap the entry into)."""
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    call = make_activity(app, owner, ann, "Caled about the lid", kind="call")
    contact_page = f"{live_server.url}/w/{owner.slug}/contacts/{ann}"
    for javascript in (False, True):
        context = browser.new_context(java_script_enabled=javascript)
        page = context.new_page()
        log_in(page, live_server.url, owner.email, owner.password)
        if javascript:
            page.goto(f"{contact_page}/activities/{call}/edit")
        else:
            page.goto(contact_page)
            page.locator(f"#entry-activity-{call}").get_by_role("link", name="Edit").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Edit the entry")
        expect(page.get_by_role("link", name="Back to Ann Lee")).to_have_attribute(
            "href", f"/w/{owner.slug}/contacts/{ann}"
        )
        words = "Called about the lid, with JavaScript" if javascript else "Called about the lid"
        page.get_by_label("What happened, or what to do").fill(words)
        page.get_by_role("button", name="Save").click()
        expect(page).to_have_url(contact_page)
        expect(page.locator(f"#entry-activity-{call} .note-body")).to_have_text(words)
        page.goto(f"{contact_page}/activities/{call}/edit")
        page.get_by_role("link", name="Back to Ann Lee").click()
        expect(page).to_have_url(contact_page)
        context.close()
