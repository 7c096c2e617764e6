"""Duplicates in a real browser: the warning while a contact is typed, the Duplicates page,
the side-by-side merge (the merged contact's ticket moving to the one kept), and its undo."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import assert_no_full_reload, log_in, mark_window, wait_for_htmx
from tests.factories import (
    make_contact,
    make_custom_field,
    make_purchase,
    make_ticket,
    make_workspace,
    set_custom_value,
)

pytestmark = pytest.mark.browser


def test_typing_warns_then_merge_side_by_side_and_undo(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee", emails=["ann@example.com"], title="Buyer")
    make_purchase(app, owner, ann, "Tea", amount=120)
    log_in(page, live_server.url, owner.email, owner.password)

    page.get_by_role("navigation").get_by_role("link", name="Contacts").click()
    page.get_by_role("link", name="Add contact").click()
    page.get_by_label("Name").fill("Annie Lee")
    page.get_by_label("Email addresses").fill("ANN@example.com")
    warning = page.locator("#duplicate-warning")
    expect(warning).to_contain_text("This may be a contact you already have")
    expect(warning.get_by_role("link", name="Ann Lee")).to_be_visible()
    page.get_by_label("Title").fill("Head buyer")
    page.get_by_role("button", name="Add contact").click()  # a warning, not a block
    expect(page.get_by_role("heading", name="Annie Lee", level=1, exact=True)).to_be_visible()
    annie = int(page.url.rstrip("/").rsplit("/", 1)[1])
    make_ticket(app, owner, annie, subject="Cup arrived broken", requester_email="ann@example.com")

    page.get_by_role("navigation").get_by_role("link", name="Contacts").click()
    page.get_by_role("link", name="Duplicates").click()
    expect(page.get_by_role("cell", name="Same email address: ann@example.com")).to_be_visible()
    page.get_by_role("link", name="Compare and merge").click()
    expect(page.get_by_role("row", name="Tickets")).to_contain_text("1 ticket")
    page.get_by_role("row", name="Keep this record").get_by_label("Ann Lee", exact=True).check()
    page.get_by_role("row", name="Title").get_by_label("Head buyer").check()
    page.get_by_role("button", name="Merge").click()

    expect(page.get_by_role("heading", name="Ann Lee", level=1, exact=True)).to_be_visible()
    expect(page.get_by_text("Head buyer").first).to_be_visible()
    expect(page.get_by_text("1 open ticket:")).to_be_visible()
    page.locator(".open-tickets").get_by_role("link", name="Cup arrived broken").click()
    expect(page.get_by_role("heading", name="Cup arrived broken")).to_be_visible()
    page.locator(".customer-name").get_by_role("link", name="Ann Lee").click()  # not the merged one, gone
    expect(page.get_by_role("heading", name="Ann Lee", level=1, exact=True)).to_be_visible()
    page.get_by_role("navigation").get_by_role("link", name="Contacts").click()
    expect(page.get_by_role("heading", name="Contacts", level=1, exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Annie Lee")).to_have_count(0)

    page.get_by_role("link", name="Duplicates").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Undo merge Annie Lee").click()
    expect(page.get_by_role("heading", name="Annie Lee", level=1, exact=True)).to_be_visible()
    expect(page.locator(".open-tickets").get_by_role("link", name="Cup arrived broken")).to_be_visible()  # back


def test_a_sensitive_value_is_revealed_on_the_merge_page_and_chosen(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    field_id = make_custom_field(app, owner, "Passport", sensitive=True)
    ann = make_contact(app, owner, "Ann Lee", emails=["ann@example.com"])
    other = make_contact(app, owner, "Ann L", emails=["ann@example.com"])
    set_custom_value(app, owner, ann, field_id, "OLD-111")
    set_custom_value(app, owner, other, field_id, "NEW-222")
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/duplicates/merge/{ann}/{other}")
    wait_for_htmx(page)
    mark_window(page)
    row = page.get_by_role("row", name="Passport")
    expect(row.get_by_label("Ann Lee's value")).to_be_checked()
    row.get_by_role("button", name="Reveal Passport, Ann L", exact=True).click()
    expect(row.get_by_label("NEW-222")).to_be_visible()  # the value in place of the name, in its label
    assert_no_full_reload(page)
    row.get_by_label("NEW-222").check()
    page.get_by_role("button", name="Merge").click()
    expect(page.get_by_role("heading", name="Ann Lee", level=1, exact=True)).to_be_visible()
    page.get_by_role("button", name="Reveal Passport").click()
    expect(page.get_by_text("NEW-222")).to_be_visible()
