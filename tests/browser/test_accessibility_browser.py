"""WCAG checks that need a browser: the page's language after boosted navigation (3.1.1), reflow
at 320 px (1.4.10), a list's result count read out from a region that stays (4.1.3), and toasts
that wait for the member (2.2.1) and keep out of the focused control's way (2.4.11)."""

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from crm.auth.models import User
from crm.contacts.models import Contact
from crm.contacts.service import delete_contact
from crm.extensions import db
from crm.imports.models import Import
from crm.tenancy import workspace_scope
from tests.browser.helpers import log_in, log_out, wait_for_htmx
from tests.factories import make_contact, make_ticket, make_workspace

pytestmark = pytest.mark.browser


def html_lang(page: Page) -> str:
    return page.evaluate("() => document.documentElement.lang")


def test_the_page_language_follows_a_boosted_sign_in_and_sign_out(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    with app.app_context():
        db.session.scalar(sa.select(User).where(User.email == owner.email)).locale = "zh_Hans"
        db.session.commit()
    page.goto(f"{live_server.url}/login")
    assert html_lang(page) == "en"
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password", exact=True).fill(owner.password)
    page.get_by_role("button", name="Log in").click()  # a boosted form: only the body is swapped
    expect(page.get_by_role("link", name="联系人")).to_be_visible()
    assert html_lang(page) == "zh-Hans"
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("link", name="Log in").first).to_be_visible()
    assert html_lang(page) == "en"


def test_a_ticket_page_fits_320_pixels(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make_ticket(app, owner, make_contact(app, owner, "Ann Lee"), "The lid was cracked")
    log_in(page, live_server.url, owner.email, owner.password)
    page.set_viewport_size({"width": 320, "height": 700})
    page.goto(f"{live_server.url}/w/{owner.slug}/tickets/1001")
    expect(page.get_by_label("Assignee")).to_be_visible()
    widths = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth})"
    )
    assert widths["scroll"] <= widths["client"], widths


def test_a_search_that_finds_nothing_is_read_out_by_the_same_status_region(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make_contact(app, owner, "Ann Lee")
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/")
    status = page.locator("#contacts-status")
    expect(status).to_have_text("1 contact")
    status.evaluate("element => { element.dataset.first = 'yes'; }")
    page.get_by_label("Search", exact=True).fill("zebra")
    expect(page.locator("#contact-results")).to_contain_text("No contact matches")
    expect(status).to_have_text("0 contacts")
    assert status.get_attribute("data-first") == "yes"  # updated in place: screen readers read it out
    expect(status).to_have_attribute("role", "status")


def test_an_error_toast_stays_until_dismissed_and_toasts_keep_clear_of_the_focus(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make_ticket(app, owner, make_contact(app, owner, "Ann Lee"), "The lid was cracked")
    page.set_viewport_size({"width": 390, "height": 844})
    page.clock.install()
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/tickets/")
    page.get_by_role("button", name="Apply to the chosen tickets").click()  # nothing chosen: an error
    error = page.locator("#toasts .toast.error")
    expect(error).to_contain_text("Choose tickets")
    wait_for_htmx(page)
    page.clock.run_for(10_000)
    expect(error).to_be_visible()  # still there: errors wait for the member

    # The footer's language buttons sit under the toasts on a phone: focusing one moves the toasts.
    english = page.get_by_role("button", name="English")
    english.focus()
    field, toasts = english.bounding_box(), page.locator("#toasts").bounding_box()
    overlap = (
        field["x"] < toasts["x"] + toasts["width"]
        and toasts["x"] < field["x"] + field["width"]
        and field["y"] < toasts["y"] + toasts["height"]
        and toasts["y"] < field["y"] + field["height"]
    )
    assert not overlap, (field, toasts)

    error.get_by_role("button", name="Dismiss").click()
    expect(error).to_have_count(0)
    log_out(page)


def test_an_imports_progress_is_read_out_by_the_same_status_region(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/imports/")
    page.get_by_label("Spreadsheet", exact=True).set_input_files(
        files=[{"name": "customers.csv", "mimeType": "text/csv", "buffer": b"Name\nAnn Lee\n"}]
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import of customers.csv")
    import_id = int(page.url.rstrip("/").split("/")[-1])

    def progress(done: int, status: str = "importing") -> None:
        with app.app_context(), workspace_scope(owner.id):
            job = db.session.get(Import, import_id)
            job.status, job.rows_total, job.rows_done = status, 1000, done
            db.session.commit()

    progress(100)
    page.reload()
    status = page.locator("#import-progress-said")
    expect(status).to_have_text("100 of 1,000 rows")
    status.evaluate("element => { element.dataset.first = 'yes'; }")
    progress(600)
    expect(status).to_have_text("600 of 1,000 rows")  # polled every second
    expect(page.locator("#import-progress-bar")).to_have_attribute("value", "60")
    assert status.get_attribute("data-first") == "yes"  # the same element: screen readers read it out
    expect(status).to_have_attribute("role", "status")


def test_a_list_wider_than_a_phone_scrolls_from_the_keyboard(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make_contact(app, owner, "Ann Lee", emails=["ann.lee@a-rather-long-domain.example.com"])
    log_in(page, live_server.url, owner.email, owner.password)
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/")
    region = page.get_by_role("region", name="Contacts", exact=True)
    expect(region).to_have_attribute("tabindex", "0")
    assert region.evaluate("element => element.scrollWidth > element.clientWidth")  # it does scroll
    page.get_by_label("Tick every contact shown").focus()  # the table's first control
    page.keyboard.press("Shift+Tab")
    expect(region).to_be_focused()
    style = region.evaluate(
        "element => [getComputedStyle(element).outlineStyle, getComputedStyle(element).outlineWidth]"
    )
    assert style == ["solid", "3px"]
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.activeElement.scrollLeft > 0")


def test_a_contacts_composers_fit_inside_the_timeline_at_320_pixels(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    log_in(page, live_server.url, owner.email, owner.password)
    page.set_viewport_size({"width": 320, "height": 700})
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/{ann}")
    timeline = page.get_by_role("region", name="Timeline").bounding_box()
    right_edge = timeline["x"] + timeline["width"]
    for button in ("Save", "Add purchase"):  # the note's composer and the purchase's
        form = page.locator("form", has=page.get_by_role("button", name=button, exact=True)).bounding_box()
        assert form["x"] + form["width"] <= right_edge, (button, form, timeline)


def test_a_button_in_a_table_keeps_its_words_on_one_line_on_a_phone(app, page: Page, live_server):
    """Chinese breaks between any two characters: in a narrow table "恢复" stood one character a line."""
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    with app.app_context():
        db.session.scalar(sa.select(User).where(User.email == owner.email)).locale = "zh_Hans"
        db.session.commit()
    gone = make_contact(app, owner, "Carl Old")
    with app.app_context(), workspace_scope(owner.id):
        delete_contact(db.session.get(Contact, gone))
        db.session.commit()
    log_in(page, live_server.url, owner.email, owner.password)  # the sign-in page is in the browser's English
    page.set_viewport_size({"width": 320, "height": 700})
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/trash")
    restore = page.get_by_role("button", name="恢复 Carl Old")
    font_size = float(restore.evaluate("element => getComputedStyle(element).fontSize").removesuffix("px"))
    assert restore.bounding_box()["height"] < 2 * font_size, restore.bounding_box()
