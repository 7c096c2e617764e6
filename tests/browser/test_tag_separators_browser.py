"""Tags typed the way a Chinese input method types them, in a real browser: "北京，vip" (a full-width
comma) in the list's tag filter is two tags, one ``tag`` argument each in the address, and in the
bulk bar adds the two tags to the ticked contacts; a tag too long is refused with the reason, the
ticks kept. At 375 px, as on a phone."""

from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import assert_no_full_reload, log_in, mark_window, wait_for_htmx
from tests.factories import make_contact, make_workspace

pytestmark = pytest.mark.browser


def test_type_beijing_and_vip_with_a_full_width_comma_in_the_filter_and_the_bulk_bar(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make_contact(app, owner, "Bo Beijing", tags=["北京"])
    make_contact(app, owner, "Vera Vip", tags=["vip"])
    make_contact(app, owner, "Sam Shanghai", tags=["上海"])
    make_contact(app, owner, "Ned New")
    errors = []
    page.on("pageerror", lambda error: errors.append(error.message))
    page.set_viewport_size({"width": 375, "height": 800})
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/")
    wait_for_htmx(page)
    mark_window(page)
    rows = page.locator("#contact-rows tr")
    expect(rows).to_have_count(4)

    page.locator("#contact-filters-panel > summary").click()  # folded at 375 px
    page.get_by_text("More filters").click()
    tags = page.get_by_role("search").get_by_label("Tags", exact=True)
    tags.focus()
    expect(page.locator("#tag-options option")).to_have_count(3)
    tags.press_sequentially("北京，", delay=20)
    # After the full-width comma the field offers the other tags after what is typed.
    expect(page.locator("#tag-more-options option")).to_have_count(2)
    expect(page.locator("#tag-more-options option").first).to_have_attribute("value", "北京, vip")
    tags.press_sequentially("vip", delay=20)
    expect(rows).to_have_count(2)
    expect(page.locator("#contact-rows")).to_contain_text("Bo Beijing")
    expect(page.locator("#contact-rows")).to_contain_text("Vera Vip")
    wait_for_htmx(page)
    query = parse_qs(urlparse(page.url).query)
    assert query["tag"] == ["北京", "vip"], page.url

    # The bulk bar: both tags to the two contacts listed, at once.
    page.get_by_label("Tick every contact shown").check()
    page.get_by_label("Action").select_option(label="Add tag")
    bulk_tags = page.locator("#bulk-form").get_by_label("Tags", exact=True)
    bulk_tags.fill("x" * 51)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#toasts")).to_contain_text("A tag has at most 50 characters")
    expect(page.get_by_label("Select Bo Beijing")).to_be_checked()  # nothing swapped: the ticks stay
    bulk_tags.fill("")
    bulk_tags.press_sequentially("北京，vip", delay=20)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#toasts")).to_contain_text("2 contacts changed.")
    wait_for_htmx(page)

    page.get_by_label("Contacts with").select_option(label="All of these tags")
    expect(rows).to_have_count(2)  # each now has both
    tags.fill("vip")
    expect(rows).to_have_count(2)
    expect(page.locator("#contact-rows")).not_to_contain_text("北京，vip")
    assert_no_full_reload(page)
    assert errors == []
