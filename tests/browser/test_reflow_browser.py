"""WCAG 1.4.10 Reflow and 1.4.12 Text spacing on a person's page at 320 px: an entry's edit form and
the composers fit the screen (a fieldset keeps min-width: min-content unless told otherwise, and the
date-and-time box made the page 335 px wide), with the text-spacing settings too."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import log_in, wait_for_htmx
from tests.factories import make_activity, make_contact, make_workspace

pytestmark = pytest.mark.browser


def open_page(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state()
    wait_for_htmx(page)


def page_scrolls_sideways(page: Page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth > document.documentElement.clientWidth")


def test_entry_edit_form_fits_a_320px_screen(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    call = make_activity(app, owner, ann, "Called about the lid", kind="call")
    page.set_viewport_size({"width": 320, "height": 740})
    log_in(page, live_server.url, owner.email, owner.password)
    open_page(page, f"{live_server.url}/w/{owner.slug}/contacts/{ann}")
    assert not page_scrolls_sideways(page)
    entry = page.locator(f"#entry-activity-{call}")
    entry.get_by_role("link", name="Edit").click()
    expect(entry.get_by_label("What happened, or what to do")).to_be_visible()
    wait_for_htmx(page)
    # scrollWidth is 335 at 320 px: the fieldset keeps min-width: min-content (the datetime-local box).
    assert not page_scrolls_sideways(page), page.evaluate("() => document.documentElement.scrollWidth")


def test_activity_composer_fits_320px_with_text_spacing(app, browser, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    context = browser.new_context(viewport={"width": 320, "height": 740}, bypass_csp=True)
    page = context.new_page()
    log_in(page, live_server.url, owner.email, owner.password)
    open_page(page, f"{live_server.url}/w/{owner.slug}/contacts/{ann}")
    assert not page_scrolls_sideways(page)
    page.add_style_tag(
        content="* { line-height: 1.5 !important; letter-spacing: .12em !important;"
        " word-spacing: .16em !important; } p { margin-bottom: 2em !important; }"
    )
    assert not page_scrolls_sideways(page), page.evaluate("() => document.documentElement.scrollWidth")
    context.close()
