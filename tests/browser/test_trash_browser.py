"""The trash in a real browser: contacts deleted in bulk by mistake come back, a few ticked, then
the rest at once, without leaving the page."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import assert_no_full_reload, log_in, mark_window, wait_for_htmx
from tests.factories import make_contact, make_workspace

pytestmark = pytest.mark.browser


def test_bring_back_contacts_deleted_in_bulk(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    for name in ("Ann Lee", "Bob Stone", "Cy Young"):
        make_contact(app, owner, name)
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/")
    page.get_by_label("Tick every contact shown").check()
    page.get_by_label("Action").select_option(label="Move to trash")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#toasts")).to_contain_text("3 contacts moved to the trash.")
    page.get_by_role("link", name="Trash").click()
    expect(page.get_by_role("heading", name="Trash")).to_be_visible()
    mark_window(page)
    rows = page.locator("#trash-rows tr")
    expect(rows).to_have_count(3)
    page.get_by_label("Select Bob Stone").check()
    page.get_by_role("button", name="Restore", exact=True).click()
    expect(page.locator("#toasts")).to_contain_text("1 contact restored.")
    expect(rows).to_have_count(2)
    expect(page.locator("#trash-rows")).not_to_contain_text("Bob Stone")
    wait_for_htmx(page)  # the form drawn again is wired up after htmx's settle step
    page.get_by_role("button", name="Restore Ann Lee").click()  # a row's own button: the trash stays
    expect(page.locator("#toasts")).to_contain_text("1 contact restored.")
    expect(rows).to_have_count(1)
    wait_for_htmx(page)
    page.get_by_label("Which").select_option(label="Every contact in the trash")
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Restore", exact=True).click()
    expect(page.locator("#toasts")).to_contain_text("1 contact restored.")
    assert questions == ["Restore 1 contact from the trash?"]
    expect(page.locator("#trash-results")).to_contain_text("No contact is in the trash.")
    assert_no_full_reload(page)
    page.get_by_role("link", name="All contacts").click()
    expect(page.locator("#contact-rows tr")).to_have_count(3)


def test_load_more_then_restore_a_row_in_place(app, page: Page, live_server):
    from datetime import timedelta

    from crm.contacts.models import Contact
    from crm.db import utcnow
    from crm.extensions import db
    from crm.tenancy import workspace_scope

    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ids = [make_contact(app, owner, f"Gone {number:02}") for number in range(51)]
    with app.app_context(), workspace_scope(owner.id):
        for number, contact_id in enumerate(ids):
            db.session.get(Contact, contact_id).deleted_at = utcnow() - timedelta(minutes=number)
        db.session.commit()
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/trash")
    page.get_by_label("Tick every row shown").check()
    page.get_by_role("link", name="Load more").click()
    expect(page.get_by_label("Select Gone 50")).to_be_focused()
    expect(page.get_by_label("Select Gone 50")).not_to_be_checked()
    expect(page.get_by_label("Tick every row shown")).not_to_be_checked()
    expect(page.get_by_label("Select Gone 00")).to_be_checked()
    # A row's own Restore takes only that row away: the rows loaded since and the ticks stay, and
    # "restore all" asks with one fewer.
    rows = page.locator("#trash-rows tr")
    page.get_by_role("button", name="Restore Gone 50").click()
    expect(page.locator("#toasts")).to_contain_text("1 contact restored.")
    expect(rows).to_have_count(50)
    expect(page.get_by_label("Select Gone 00")).to_be_checked()
    wait_for_htmx(page)
    page.get_by_label("Which").select_option(label="Every contact in the trash")
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Restore", exact=True).click()
    expect(rows).to_have_count(50)
    assert questions == ["Restore all 50 contacts in the trash?"]
