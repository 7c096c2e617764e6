"""What a keyboard or screen-reader user meets after changes made in place (from the accessibility
audit of 2026-12-07): a status message for every change a swap makes silently (WCAG 4.1.3), the
focus on the page that Enter in the header search opens (2.4.3), and a bulk bar's wrong field
marked, described and focused (3.3.1)."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import log_in, wait_for_htmx
from tests.factories import (
    make_activity,
    make_company,
    make_company_activity,
    make_contact,
    make_duplicate_pair,
    make_purchase,
    make_workspace,
)

pytestmark = pytest.mark.browser


def open_page(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state()
    wait_for_htmx(page)


def test_a_purchase_that_changes_the_class_says_so(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    log_in(page, live_server.url, owner.email, owner.password)
    open_page(page, f"{live_server.url}/w/{owner.slug}/contacts/{ann}")
    summary = page.locator("#contact-summary")
    expect(summary).not_to_contain_text("Tier A")
    composer = page.locator("#purchase-composer")
    composer.get_by_label("Product").fill("Big order")
    composer.get_by_label("Unit price").fill("50000")
    composer.get_by_role("button", name="Add purchase").click()
    expect(summary).to_contain_text("Tier A")
    # The summary is no live region: the toast says what changed in it.
    expect(page.locator("#toasts")).to_contain_text("Purchase added. Ann Lee is now Tier A · VIP")


def test_a_purchase_that_changes_nothing_says_only_that_it_was_added(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    make_purchase(app, owner, ann, "Tea", amount=10)
    log_in(page, live_server.url, owner.email, owner.password)
    open_page(page, f"{live_server.url}/w/{owner.slug}/contacts/{ann}")
    composer = page.locator("#purchase-composer")
    composer.get_by_label("Product").fill("More tea")
    composer.get_by_label("Unit price").fill("10")
    composer.get_by_role("button", name="Add purchase").click()
    expect(page.locator("#toasts")).to_contain_text("Purchase added.")
    expect(page.locator("#toasts")).not_to_contain_text("is now")


def test_deleting_and_editing_a_purchase_say_the_new_class(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    small = make_purchase(app, owner, ann, "Tea", amount=10)
    big = make_purchase(app, owner, ann, "Big order", amount=50000)
    log_in(page, live_server.url, owner.email, owner.password)
    open_page(page, f"{live_server.url}/w/{owner.slug}/contacts/{ann}")
    summary = page.locator("#contact-summary")
    expect(summary).to_contain_text("Tier A")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#entry-purchase-{big}").get_by_role("button", name="Delete").click()
    expect(summary).not_to_contain_text("Tier A")
    expect(page.locator("#toasts")).to_contain_text("Purchase deleted. Ann Lee is now ")
    page.locator("#toasts .toast").evaluate_all("toasts => toasts.forEach(t => t.remove())")

    entry = page.locator(f"#entry-purchase-{small}")
    entry.get_by_role("link", name="Edit").click()
    price = entry.get_by_label("Unit price")
    expect(price).to_be_visible()
    wait_for_htmx(page)
    price.fill("50000")
    entry.get_by_role("button", name="Save").click()
    expect(summary).to_contain_text("Tier A")
    expect(page.locator("#toasts")).to_contain_text("Purchase saved. Ann Lee is now Tier A · VIP")
    expect(entry.get_by_role("link", name="Edit")).to_be_focused()


@pytest.mark.parametrize("where", ["contact", "company"])
def test_deleting_a_timeline_entry_is_said(app, page: Page, live_server, where):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    if where == "contact":
        record = make_contact(app, owner, "Ann Lee")
        make_activity(app, owner, record, "First call", kind="call")
        entry_id = make_activity(app, owner, record, "Second call", kind="call")
        url = f"/contacts/{record}"
    else:
        record = make_company(app, owner, "Acme Ltd")
        make_company_activity(app, owner, record, "First call", kind="call")
        entry_id = make_company_activity(app, owner, record, "Second call", kind="call")
        url = f"/companies/{record}"
    log_in(page, live_server.url, owner.email, owner.password)
    open_page(page, f"{live_server.url}/w/{owner.slug}{url}")
    page.once("dialog", lambda dialog: dialog.accept())
    entry = page.locator(f"#entry-activity-{entry_id}")
    entry.get_by_role("button", name="Delete").click()
    expect(entry).to_have_count(0)
    expect(page.locator("#toasts")).to_contain_text("Deleted.")


def test_saving_a_timeline_entry_in_place_is_said(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    call = make_activity(app, owner, ann, "Called about the lid", kind="call")
    log_in(page, live_server.url, owner.email, owner.password)
    open_page(page, f"{live_server.url}/w/{owner.slug}/contacts/{ann}")
    entry = page.locator(f"#entry-activity-{call}")
    entry.get_by_role("link", name="Edit").click()
    box = entry.get_by_label("What happened, or what to do")
    expect(box).to_be_visible()
    wait_for_htmx(page)
    box.fill("Called about the new lid")
    entry.get_by_role("button", name="Save").click()
    expect(entry).to_contain_text("Called about the new lid")
    expect(page.locator("#toasts")).to_contain_text("Saved.")
    # As after Cancel or Escape, the focus goes back to the entry's Edit link.
    expect(entry.get_by_role("link", name="Edit")).to_be_focused()


def test_not_the_same_on_duplicates_is_said(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    first = make_contact(app, owner, "Ann Lee", emails=["ann@example.com"])
    second = make_contact(app, owner, "Ann Lee", emails=["ann@example.com"])
    pair = make_duplicate_pair(app, owner, first, second)
    log_in(page, live_server.url, owner.email, owner.password)
    open_page(page, f"{live_server.url}/w/{owner.slug}/duplicates/")
    page.locator(f"#pair-{pair}").get_by_role("button", name="Not the same").click()
    expect(page.locator(f"#pair-{pair}")).to_have_count(0)
    expect(page.locator("#toasts")).to_contain_text("Marked as different people.")


def test_enter_in_the_header_search_lands_on_the_results_heading(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make_contact(app, owner, "Ann Lee")
    log_in(page, live_server.url, owner.email, owner.password)
    open_page(page, f"{live_server.url}/w/{owner.slug}/contacts/")
    box = page.locator("#global-q")
    box.fill("Ann")
    expect(page.locator("#global-search-results")).to_contain_text("Ann Lee")
    box.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/w/{owner.slug}/search/?q=Ann")
    wait_for_htmx(page)
    expect(page.get_by_role("heading", level=1, name="Search")).to_be_focused()


def test_typing_again_in_the_header_search_keeps_the_focus_when_the_page_settles(app, page: Page, live_server):
    """A page opened from the header's search settles while the member already types in its own
    header search (a slow page): the focus stays in the box, every letter in it (it used to jump to
    the heading mid-word, and the rest of the word was lost)."""
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make_contact(app, owner, "Ann Lee")
    log_in(page, live_server.url, owner.email, owner.password)
    open_page(page, f"{live_server.url}/w/{owner.slug}/contacts/")
    box = page.locator("#global-q")
    box.fill("#10")
    page.evaluate(
        """(box) => htmx.trigger(document.getElementById("main"), "htmx:afterSettle",
                                 {boosted: true, requestConfig: {elt: box.form}})""",
        box.element_handle(),
    )
    expect(box).to_be_focused()
    box.press_sequentially("01")
    expect(box).to_have_value("#1001")


def test_a_bulk_action_without_its_tag_points_at_the_field(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    make_contact(app, owner, "Bo Chen")
    log_in(page, live_server.url, owner.email, owner.password)
    open_page(page, f"{live_server.url}/w/{owner.slug}/contacts/")
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.locator(f"#select-{ann}").check()
    page.locator("#bulk-action").select_option("add_tag")
    page.locator("#bulk-form").get_by_role("button", name="Apply").click()
    expect(page.locator("#toasts")).to_contain_text("Enter a tag.")
    tag = page.locator("#bulk-tag")
    expect(tag).to_have_attribute("aria-invalid", "true")
    expect(tag).to_be_focused()
    expect(page.locator(f"#{tag.get_attribute('aria-describedby').split()[-1]}")).to_have_text("Enter a tag.")
    assert asked == []  # an incomplete request is not asked about
    # Typing a tag takes the mark away; Apply then asks and tags.
    tag.fill("vip")
    expect(tag).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#bulk-error")).to_have_count(0)
    page.locator("#bulk-form").get_by_role("button", name="Apply").click()
    expect(page.locator("#toasts")).to_contain_text("1 contact changed.")
    assert len(asked) == 1


def test_a_company_bulk_action_without_an_action_points_at_it(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    acme = make_company(app, owner, "Acme Ltd")
    log_in(page, live_server.url, owner.email, owner.password)
    open_page(page, f"{live_server.url}/w/{owner.slug}/companies/")
    page.locator(f"#select-{acme}").check()
    page.locator("#bulk-form").get_by_role("button", name="Apply").click()
    action = page.locator("#bulk-action")
    expect(action).to_have_attribute("aria-invalid", "true")
    expect(action).to_be_focused()
    expect(page.locator("#bulk-error")).to_have_text("Choose an action.")
    # The same refusal again replaces its toast rather than stacking a second one.
    page.locator("#bulk-form").get_by_role("button", name="Apply").click()
    expect(action).to_be_focused()
    expect(page.locator("#toasts .toast.error")).to_have_count(1)
    expect(page.locator("#bulk-error")).to_have_count(1)


def test_header_search_says_it_has_results_to_arrow_through(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    for name in ("Ann Lee", "Ann Chen", "Ann Park", "Anna Berg"):
        make_contact(app, owner, name)
    log_in(page, live_server.url, owner.email, owner.password)
    open_page(page, f"{live_server.url}/w/{owner.slug}/contacts/")
    box = page.get_by_role("combobox", name="Search customers, deals and tickets")
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(box).to_have_attribute("aria-autocomplete", "list")
    box.fill("Ann")
    results = page.locator(f"#{box.get_attribute('aria-controls')}")
    expect(results).to_contain_text("Anna Berg")
    expect(box).to_have_attribute("aria-expanded", "true")
    # What is read out is how many, from a live region of its own, not the list itself.
    assert results.get_attribute("aria-live") is None
    expect(page.locator("#global-search-said")).to_have_text("4 results: arrow down to them.")
    box.press("ArrowDown")
    expect(results.get_by_role("link").first).to_be_focused()
    page.keyboard.press("Escape")
    expect(box).to_be_focused()
    expect(box).to_have_attribute("aria-expanded", "false")
    box.fill("Zed")
    expect(page.locator("#global-search-said")).to_have_text("Nothing found for “Zed”.")
    expect(box).to_have_attribute("aria-expanded", "false")
