"""What an accessibility audit of the contact pages asked for, in a real browser: a name changed in
place renames the page's heading, title and the buttons named after it; logging an activity or
adding a purchase says so in a toast (a live region); Escape or Cancel in an entry's edit form gives
the entry back with the focus on its Edit link."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import assert_no_full_reload, log_in, mark_window, wait_for_htmx
from tests.factories import make_activity, make_company, make_contact, make_purchase, make_workspace

pytestmark = pytest.mark.browser


def open_page(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state()
    wait_for_htmx(page)
    mark_window(page)


def test_a_name_changed_in_place_renames_the_heading_title_and_buttons(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    acme = make_company(app, owner, "Acme Ltd")
    log_in(page, live_server.url, owner.email, owner.password)
    open_page(page, f"{live_server.url}/w/{owner.slug}/contacts/{ann}")
    expect(page).to_have_title("Ann Lee · Kehu CRM")
    details = page.locator("#contact-details")
    details.get_by_role("link", name="Edit").click()
    details.get_by_label("Name", exact=True).fill("Ann Lee-Wong")
    details.get_by_role("button", name="Save").click()
    expect(details.get_by_role("link", name="Edit Ann Lee-Wong")).to_be_focused()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ann Lee-Wong")
    expect(page).to_have_title("Ann Lee-Wong · Kehu CRM")
    for name in ("New deal for Ann Lee-Wong", "New ticket for Ann Lee-Wong"):
        expect(page.get_by_role("link", name=name)).to_be_visible()
    expect(page.get_by_role("button", name="Delete Ann Lee-Wong")).to_be_visible()
    assert_no_full_reload(page)

    open_page(page, f"{live_server.url}/w/{owner.slug}/companies/{acme}")
    details = page.locator("#company-details")
    details.get_by_role("link", name="Edit").click()
    details.get_by_label("Company name").fill("Acme Group")
    details.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Group")
    expect(page).to_have_title("Acme Group · Kehu CRM")
    expect(page.get_by_role("link", name="New deal for Acme Group")).to_be_visible()
    expect(page.get_by_role("button", name="Delete Acme Group")).to_be_visible()
    assert_no_full_reload(page)


def test_logging_an_activity_or_adding_a_purchase_is_said_in_a_toast(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    log_in(page, live_server.url, owner.email, owner.password)
    open_page(page, f"{live_server.url}/w/{owner.slug}/contacts/{ann}")
    composer = page.locator("#activity-composer")
    composer.get_by_label("Type").select_option("call")
    composer.get_by_label("What happened, or what to do").fill("Called about the lid")
    composer.get_by_role("button", name="Save").click()
    toasts = page.locator("#toasts")
    expect(toasts).to_contain_text("Call logged.")
    expect(toasts).to_have_attribute("role", "status")
    expect(composer.get_by_label("What happened, or what to do")).to_be_focused()
    expect(composer.get_by_label("What happened, or what to do")).to_have_value("")

    purchase = page.locator("#purchase-composer")
    expect(purchase.get_by_label("Quantity")).to_have_value("1")  # not "1.000", a thousand in many places
    purchase.get_by_label("Product").fill("Tea chest")
    purchase.get_by_label("Unit price").fill("12")
    purchase.get_by_role("button", name="Add purchase").click()
    expect(toasts).to_contain_text("Purchase added.")
    expect(page.locator("#timeline-list")).to_contain_text("Tea chest")
    assert_no_full_reload(page)


def test_escape_or_cancel_in_an_entry_edit_puts_the_focus_back_on_its_edit_link(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    call = make_activity(app, owner, ann, "Called about the lid", kind="call")
    tea = make_purchase(app, owner, ann, "Tea chest", amount=60)
    log_in(page, live_server.url, owner.email, owner.password)
    open_page(page, f"{live_server.url}/w/{owner.slug}/contacts/{ann}")
    for entry_id, box in (
        (f"entry-activity-{call}", "What happened, or what to do"),
        (f"entry-purchase-{tea}", "Product"),
    ):
        entry = page.locator(f"#{entry_id}")
        entry.get_by_role("link", name="Edit").click()
        field = entry.get_by_label(box)
        expect(field).to_be_visible()
        wait_for_htmx(page)
        field.focus()
        field.fill("Changed my mind")
        page.keyboard.press("Escape")
        edit = entry.get_by_role("link", name="Edit")
        expect(edit).to_be_focused()
        expect(entry).not_to_contain_text("Changed my mind")
        edit.press("Enter")  # the keyboard opens it again; Cancel does what Escape did
        expect(entry.get_by_label(box)).to_be_visible()
        wait_for_htmx(page)
        entry.get_by_role("link", name="Cancel").click()
        expect(entry.get_by_role("link", name="Edit")).to_be_focused()
    assert_no_full_reload(page)


def ring(page: Page) -> list:
    return page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [document.activeElement.type, s.outlineStyle, s.outlineWidth, s.outlineColor]; }"
    )


def test_date_and_time_fields_show_the_focus_ring(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    log_in(page, live_server.url, owner.email, owner.password)
    open_page(page, f"{live_server.url}/w/{owner.slug}/contacts/{ann}")
    # A click on the next field, then Shift+Tab: the focus lands in the date's last part (the year).
    page.locator("#purchase-composer").get_by_label("Product").click()
    page.keyboard.press("Shift+Tab")
    assert ring(page) == ["date", "solid", "3px", "rgb(180, 83, 9)"]
    save = page.locator("#activity-composer").get_by_role("button", name="Save").bounding_box()
    page.mouse.move(save["x"] + 5, save["y"] + 5)
    page.mouse.down()  # the button takes the focus; no click, nothing is sent
    page.keyboard.press("Shift+Tab")
    page.mouse.move(0, 0)
    page.mouse.up()
    assert ring(page) == ["datetime-local", "solid", "3px", "rgb(180, 83, 9)"]
