"""The customer database in a real browser: add a contact, find it as you type, edit it inline,
log a note and add a purchase that changes the tier."""

import re
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Browser, Page, expect

from crm.contacts.queries import PER_PAGE
from tests.browser.helpers import assert_no_full_reload, log_in, mark_window, wait_for_htmx
from tests.factories import make_contact, make_deal, make_member, make_ticket, make_workspace

pytestmark = pytest.mark.browser


def test_add_a_contact_find_it_as_you_type_and_edit_it_inline(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make_contact(app, owner, "Bob Stone", emails=["bob@stone.example"])
    log_in(page, live_server.url, owner.email, owner.password)

    page.get_by_role("navigation").get_by_role("link", name="Contacts").click()
    page.get_by_role("link", name="Add contact").click()
    # htmx focuses the form's first field once it has settled: typing before that could land there.
    expect(page.get_by_label("Email addresses")).to_be_visible()
    wait_for_htmx(page)
    page.get_by_label("Email addresses").fill("not an address")
    page.get_by_role("button", name="Add contact").click()
    expect(page.get_by_text("Enter a name.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/contacts/new$"))  # still the form's page: a reload shows it
    page.get_by_label("Name", exact=True).fill("Ann Lee")
    page.get_by_label("Email addresses").fill("Ann@Example.com")
    page.get_by_label("Phone numbers").fill("650 253 0000")
    page.get_by_label("Tags").fill("fair 2026")
    page.get_by_role("button", name="Add contact").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ann Lee")
    expect(page.get_by_role("link", name="(650) 253-0000")).to_be_visible()

    page.get_by_role("link", name="All contacts").click()
    mark_window(page)
    rows = page.locator("#contact-rows tr")
    expect(rows).to_have_count(2)
    page.get_by_label("Search", exact=True).press_sequentially("253 00", delay=30)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Ann Lee")
    query = parse_qs(urlparse(page.url).query, keep_blank_values=True)
    assert query["q"] == ["253 00"] and "owner" not in query and all("" not in values for values in query.values())
    assert_no_full_reload(page)

    rows.first.get_by_role("link", name="Ann Lee").click()
    # Wait for the contact's page to be wired up before marking it: clicking Edit before htmx has
    # processed the page (a slow machine) follows the link's plain href instead.
    expect(page.get_by_role("heading", level=1)).to_have_text("Ann Lee")
    page.wait_for_load_state()
    wait_for_htmx(page)
    mark_window(page)
    details = page.locator("#contact-details")
    details.get_by_role("link", name="Edit").click()
    title = details.get_by_label("Job title")
    expect(title).to_be_visible()
    details.get_by_label("Name", exact=True).fill("")
    details.get_by_role("button", name="Save").click()
    expect(details.get_by_text("Enter a name.")).to_be_visible()
    details.get_by_label("Name", exact=True).fill("Ann Lee-Wong")
    title.fill("Head buyer")
    details.get_by_role("button", name="Save").click()
    expect(details.get_by_text("Head buyer")).to_be_visible()
    expect(details.locator(".contact-name")).to_have_text("Ann Lee-Wong")
    expect(details.get_by_role("link", name="Edit")).to_be_focused()  # focus comes back where it was
    assert_no_full_reload(page)
    details.get_by_role("link", name="Edit").click()
    details.get_by_label("Job title").fill("Changed my mind")
    wait_for_htmx(page)  # the form's Cancel wired up (before, a click on it follows its plain link)
    page.keyboard.press("Escape")  # cancels the edit
    expect(details.get_by_text("Head buyer")).to_be_visible()
    expect(details.get_by_role("link", name="Edit")).to_be_focused()
    assert_no_full_reload(page)

    # Log a note and add a purchase that makes Ann a tier A customer, all on the same page.
    composer = page.locator("#activity-composer")
    timeline = page.locator("#timeline-list")
    expect(timeline).to_contain_text("Head buyer")  # the edit is on the timeline at once, without a reload
    expect(page.get_by_text("Nothing yet: log a call or a purchase above.")).to_be_hidden()
    composer.get_by_label("What happened, or what to do").fill("Met at the fair; wants a quote")
    composer.get_by_role("button", name="Save").click()
    expect(timeline.locator(".note-body")).to_have_text(["Met at the fair; wants a quote"])
    expect(composer.get_by_label("What happened, or what to do")).to_be_focused()  # ready for the next one
    summary = page.locator("#contact-summary")
    expect(summary).not_to_contain_text("Tier")
    purchase = page.locator("#purchase-composer")
    purchase.get_by_label("Product").fill("Tea chest")
    purchase.get_by_label("Quantity").fill("3")
    purchase.get_by_label("Unit price").fill("4000")
    purchase.get_by_role("button", name="Add purchase").click()
    expect(summary).to_contain_text("Tier A")
    expect(summary).to_contain_text("$12,000.00")
    expect(timeline.locator(".purchase")).to_contain_text("Tea chest")
    expect(purchase.get_by_label("Product")).to_have_value("")
    assert_no_full_reload(page)


def test_header_search_opens_a_contact_from_any_page(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make_contact(app, owner, "Bob Stone", emails=["bob@stone.example"])
    log_in(page, live_server.url, owner.email, owner.password)
    search = page.get_by_label("Search customers, deals and tickets")
    search.press_sequentially("stone", delay=30)
    result = page.locator("#global-search-results").get_by_role("link", name="Bob Stone")
    expect(result).to_be_visible()
    expect(result).to_have_css("color", "rgb(29, 78, 216)")  # blue on the white panel, not the header's white
    page.keyboard.press("Tab")
    expect(result).to_be_focused()
    page.keyboard.press("Escape")  # closes the results, back in the search box
    expect(result).to_be_hidden()
    expect(search).to_be_focused()
    search.press_sequentially(" ", delay=30)
    search.press("Backspace")
    expect(result).to_be_visible()
    page.locator("h1").click()  # elsewhere: the results close
    expect(result).to_be_hidden()
    search.press_sequentially(" ", delay=30)
    search.press("Backspace")
    expect(result).to_be_visible()
    wait_for_htmx(page)  # under load a slow typist sends two searches: the last one's results stay
    search.press("ArrowDown")  # from the box into the results
    expect(result).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bob Stone")
    switcher = page.locator("details.switcher")
    switcher.locator("summary").click()
    workspaces = switcher.get_by_role("navigation", name="Your workspaces")
    expect(workspaces).to_be_visible()
    # The menu loads its list when opened: let that request finish, or the test's end empties the
    # tables under it (a deadlock with TRUNCATE on PostgreSQL).
    expect(switcher.locator("#workspace-list")).not_to_have_attribute("data-hx-get", re.compile("."))
    wait_for_htmx(page)
    page.keyboard.press("Escape")
    expect(workspaces).to_be_hidden()
    expect(switcher.locator("summary")).to_be_focused()


def test_tick_two_contacts_and_tag_them_at_once(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    for name in ("Ann Lee", "Bob Stone", "Cy Young"):
        make_contact(app, owner, name)
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/")
    mark_window(page)
    bulk_bar = page.get_by_role("form", name="Change several contacts at once")  # a landmark to jump to
    page.get_by_label("Tick every contact shown").check()  # all three, then one less
    expect(page.get_by_label("Select Bob Stone")).to_be_checked()
    expect(bulk_bar.get_by_role("status")).to_have_text("3 contacts ticked")
    page.get_by_label("Select Bob Stone").uncheck()
    expect(bulk_bar.get_by_role("status")).to_have_text("2 contacts ticked")
    page.get_by_label("Action").select_option(label="Add tag")
    page.locator("#bulk-form").get_by_label("Tags", exact=True).fill("spring fair")
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#toasts")).to_contain_text("2 contacts changed.")
    assert questions == ['Apply "Add tag" to the 2 ticked contacts?']
    page.get_by_text("More filters").click()
    tag_filter = page.get_by_role("search").get_by_label("Tags", exact=True)
    tag_filter.fill("spring fair")
    tag_filter.press("Enter")
    expect(page.locator("#contact-rows tr")).to_have_count(2)
    expect(page.locator("#contact-rows")).not_to_contain_text("Bob Stone")
    assert_no_full_reload(page)


def test_assign_an_owner_in_bulk_after_being_asked(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make_member(app, owner, "sam@alpha.example.com")
    for name in ("Ann Lee", "Bob Stone"):
        make_contact(app, owner, name)
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/")
    mark_window(page)
    rows = page.locator("#contact-rows tr")
    page.get_by_label("Select Ann Lee").check()
    page.get_by_label("Action").select_option(label="Assign owner")
    new_owner = page.get_by_label("New owner")
    expect(new_owner.locator("option")).to_have_count(4)  # choose, nobody, Alice, Sam: loaded into the bar
    expect(rows).to_have_count(2)  # the list is still there
    new_owner.select_option(label="Test User")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_label("Select Ann Lee")).to_be_checked()  # said no: nothing sent
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#toasts")).to_contain_text("1 contact changed.")
    expect(rows.filter(has_text="Ann Lee")).to_contain_text("Test User")
    expect(rows.filter(has_text="Bob Stone")).not_to_contain_text("Test User")
    assert_no_full_reload(page)


def test_assign_an_owner_in_bulk_without_javascript(app, browser: Browser, live_server):
    """Without JavaScript the bar's owner list never loads: Apply asks for the owner on a page of
    its own, which carries the ticked rows, and then the list comes back with the owner set."""
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make_member(app, owner, "sam@alpha.example.com")  # "Test User"
    for name in ("Ann Lee", "Bob Stone"):
        make_contact(app, owner, name)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/")
    page.get_by_label("Select Ann Lee").check()
    page.get_by_label("Action").select_option(label="Assign owner")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("heading", name="Choose the new owner")).to_be_visible()
    expect(page.get_by_text("For the 1 ticked contact.")).to_be_visible()
    page.get_by_label("New owner").select_option(label="Test User")
    page.get_by_role("button", name="Assign owner").click()
    expect(page.locator("#toasts")).to_contain_text("1 contact changed.")
    rows = page.locator("#contact-rows tr")
    expect(rows.filter(has_text="Ann Lee")).to_contain_text("Test User")
    expect(rows.filter(has_text="Bob Stone")).not_to_contain_text("Test User")
    context.close()


def open_tagged_list(app, page: Page, live_server, query: str = ""):
    """Signs in to a workspace of Fair Ann (tag fair) and Web Bob (tag web), opens the contacts list
    (``query`` appended) with "More filters" open; returns the tag filter and the list's rows."""
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make_contact(app, owner, "Fair Ann", tags=["fair"])
    make_contact(app, owner, "Web Bob", tags=["web"])
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/{query}")
    page.get_by_text("More filters").click()
    return page.get_by_role("search").get_by_label("Tags", exact=True), page.locator("#contact-rows tr")


def filter_by_tag(tag_filter, rows, tag: str) -> None:
    tag_filter.fill(tag)
    tag_filter.press("Enter")
    expect(rows).to_have_count(1)


def test_a_second_view_saves_the_filters_of_the_moment(app, page: Page, live_server):
    tag_filter, rows = open_tagged_list(app, page, live_server)
    for tag, view in (("fair", "Fair leads"), ("web", "Web leads")):
        filter_by_tag(tag_filter, rows, tag)
        if view == "Fair leads":
            page.get_by_text("Saved views", exact=True).click()
        page.get_by_label("Save this list as").fill(view)
        page.get_by_role("button", name="Save view").click()
        expect(page.get_by_role("link", name=view, exact=True)).to_be_visible()
    page.get_by_role("link", name="Web leads", exact=True).click()
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Web Bob")


def test_save_the_current_list_as_a_view(app, page: Page, live_server):
    tag_filter, rows = open_tagged_list(app, page, live_server)
    filter_by_tag(tag_filter, rows, "fair")
    page.get_by_text("Saved views", exact=True).click()
    page.get_by_label("Save this list as").fill("Fair leads")
    page.get_by_role("button", name="Save view").click()
    page.get_by_role("link", name="Clear").click()
    expect(page.locator("#contact-rows tr")).to_have_count(2)
    page.get_by_text("Saved views", exact=True).click()
    page.get_by_role("link", name="Fair leads", exact=True).click()
    expect(page.locator("#contact-rows tr")).to_have_count(1)
    expect(page.locator("#contact-rows")).to_contain_text("Fair Ann")


def test_home_shows_customer_care_and_a_task_can_be_finished(app, page: Page, live_server):
    from datetime import timedelta

    from crm.db import utcnow
    from tests.factories import make_activity

    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee", owner_id=owner.membership_id)
    make_activity(app, owner, ann, "Send the price list", kind="task", due_at=utcnow() - timedelta(days=1),
                  assignee_id=owner.membership_id)  # fmt: skip
    log_in(page, live_server.url, owner.email, owner.password)
    care = page.locator("#care-lists")
    expect(care).to_contain_text("Send the price list")
    care.get_by_role("link", name="All my tasks").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My tasks")
    page.get_by_role("button", name="Mark done Send the price list").click()
    done = page.locator("section.done")
    expect(done).to_contain_text("Send the price list")


def test_an_admin_adds_a_custom_field_and_staff_fill_it_in(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/settings/custom-fields/")
    contacts = page.locator("section").filter(has=page.get_by_role("heading", name="Contacts"))
    contacts.get_by_label("Label").fill("Segment")
    contacts.get_by_label("Type").select_option(label="One of a list")
    contacts.get_by_label("Choices").fill("Retail\nWholesale")
    contacts.get_by_role("button", name="Add field").click()
    expect(page.get_by_text("Field Segment added.")).to_be_visible()
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/{ann}")
    details = page.locator("#contact-details")
    details.get_by_role("link", name="Edit").click()
    details.get_by_label("Segment").select_option("Wholesale")
    details.get_by_role("button", name="Save").click()
    expect(details).to_contain_text("Wholesale")


def test_a_company_records_its_own_purchase_and_one_by_its_contact(app, page: Page, live_server):
    from tests.factories import make_company

    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    acme = make_company(app, owner, "Acme Ltd")
    make_contact(app, owner, "Ann Lee", company_id=acme)
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/companies/{acme}")
    mark_window(page)
    composer = page.locator("#company-purchase-composer")
    composer.get_by_label("Product").fill("Fleet service")
    composer.get_by_label("Unit price").fill("2500")
    composer.get_by_role("button", name="Add purchase").click()
    purchases = page.locator("#company-purchases")
    expect(purchases.get_by_role("row", name="Fleet service")).to_contain_text("The company itself")
    expect(purchases.locator(".figures")).to_contain_text("$2,500.00")
    composer = page.locator("#company-purchase-composer")
    composer.get_by_label("Bought by").select_option(label="Ann Lee")
    composer.get_by_label("Product").fill("Tea chest")
    composer.get_by_label("Unit price").fill("12000")
    composer.get_by_role("button", name="Add purchase").click()
    expect(purchases.locator(".figures")).to_contain_text("$14,500.00")
    assert_no_full_reload(page)
    purchases.get_by_role("link", name="Ann Lee").click()
    expect(page.locator("#contact-summary")).to_contain_text("Tier A")


def test_an_admin_switches_tiers_to_shares_of_customers(app, page: Page, live_server):
    from tests.factories import make_purchase

    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    for thousands in (1, 2, 3, 4):
        make_purchase(app, owner, make_contact(app, owner, f"Buyer {thousands}"), amount=thousands * 1000)
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/settings/customer-tiers/")
    expect(page.get_by_label("Tier A from")).to_be_visible()
    expect(page.get_by_label("Tier A: the top (%)")).to_be_hidden()
    page.get_by_role("radiogroup", name="Tiers").get_by_label("By share of customers").check()
    expect(page.get_by_label("Tier A from")).to_be_hidden()
    page.get_by_label("Tier A: the top (%)").fill("25")
    page.get_by_role("button", name="Save and classify again").click()
    expect(page.locator("#toasts")).to_contain_text("classified by them now")
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/?tier=A")
    expect(page.locator("#contact-rows")).to_contain_text("Buyer 4")
    expect(page.locator("#contact-rows")).not_to_contain_text("Buyer 3")


def test_switching_language_keeps_the_filters_changed_in_place(app, page: Page, live_server):
    tag_filter, rows = open_tagged_list(app, page, live_server, "?sort=name")
    filter_by_tag(tag_filter, rows, "web")
    page.get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Web Bob")
    assert parse_qs(urlparse(page.url).query)["tag"] == ["web"]
    page.get_by_role("button", name="English").click()  # back, for the other tests' sessions
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_load_more_with_the_keyboard_moves_focus_to_the_first_new_row(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    for number in range(PER_PAGE + 1):
        make_contact(app, owner, f"Customer {number:02d}")
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/?sort=name")
    more = page.get_by_role("link", name="Load more contacts")
    more.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#contact-rows tr")).to_have_count(PER_PAGE + 1)
    expect(page.get_by_role("link", name=f"Customer {PER_PAGE:02d}", exact=True)).to_be_focused()
    expect(page.locator("#contacts-status")).to_have_text(f"{PER_PAGE + 1} contacts")  # not "the first 50"


def test_marking_a_task_done_with_the_keyboard_keeps_the_focus_on_it(app, page: Page, live_server):
    from crm.db import utcnow
    from tests.factories import make_activity

    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    make_activity(app, owner, ann, "Send the price list", kind="task", due_at=utcnow(), assignee_id=owner.membership_id)
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/{ann}")
    wait_for_htmx(page)
    page.get_by_role("button", name="Mark done Send the price list").focus()
    page.keyboard.press("Enter")
    reopen = page.get_by_role("button", name="Reopen Send the price list")
    expect(reopen).to_be_focused()


def test_revealing_a_sensitive_value_shows_it_and_moves_the_focus_to_it(app, page: Page, live_server):
    from tests.factories import make_custom_field, set_custom_value

    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    field_id = make_custom_field(app, owner, "ID number", sensitive=True)
    set_custom_value(app, owner, ann, field_id, "110101199001011234")
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/{ann}")
    details = page.locator("#contact-details")
    expect(details).not_to_contain_text("110101199001011234")
    details.get_by_role("button", name="Reveal ID number").click()
    revealed = details.get_by_text("110101199001011234")
    expect(revealed).to_be_visible()
    expect(revealed).to_be_focused()  # the button it replaced had the focus


def test_the_edit_page_of_its_own_saves_and_goes_back_to_the_record(app, page: Page, live_server):
    from tests.factories import make_company

    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    acme = make_company(app, owner, "Acme Ltd")
    ann = make_contact(app, owner, "Ann Lee")
    log_in(page, live_server.url, owner.email, owner.password)
    # As after opening an Edit link in a new tab.
    page.goto(f"{live_server.url}/w/{owner.slug}/companies/{acme}/edit")
    page.get_by_label("Industry").fill("Tea")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"/companies/{acme}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Ltd")
    expect(page.locator("#company-details")).to_contain_text("Tea")
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/{ann}/edit")
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(re.compile(rf"/contacts/{ann}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Ann Lee")


def test_the_focus_stays_on_the_timeline_when_entries_change(app, page: Page, live_server):
    """Editing or deleting an entry and "Show older" replace the focused control: the focus goes to
    what took its place, never back to the top of the page."""
    from tests.factories import make_activity, make_purchase

    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    make_activity(app, owner, ann, "Gone soon")
    make_purchase(app, owner, ann, "Tea chest", amount=600)
    bob = make_contact(app, owner, "Bob Stone")
    for number in range(21):  # one more than a page of the timeline
        make_activity(app, owner, bob, f"Note {number:02}")
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/{ann}")
    page.on("dialog", lambda dialog: dialog.accept())  # "Delete this note?"
    focused_tag = "() => document.activeElement.tagName"

    page.get_by_role("link", name="Edit Tea chest").click()
    expect(page.locator("#timeline-list form input:visible").first).to_be_focused()
    page.get_by_role("button", name="Save").last.click()
    expect(page.locator("#timeline-list input[type=date]")).to_have_count(0)  # the edit form is gone
    page.wait_for_timeout(300)
    assert page.evaluate(focused_tag) != "BODY"

    gone = page.locator("#timeline-list li", has_text="Gone soon")
    gone.get_by_role("button", name=re.compile("^Delete")).click()
    expect(gone).to_have_count(0)
    page.wait_for_timeout(300)
    assert page.evaluate(focused_tag) != "BODY"

    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/{bob}")
    page.get_by_role("link", name="Show older").click()
    expect(page.locator(".note-body", has_text="Note 00")).to_be_visible()
    page.wait_for_timeout(300)
    assert page.evaluate("() => document.activeElement.closest('#timeline-list') !== null")


def test_header_search_opens_a_deal_and_a_ticket(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    deal_id = make_deal(app, owner, "Walnut desks", contact_id=ann)
    make_ticket(app, owner, ann, "Walnut veneer peeling")
    log_in(page, live_server.url, owner.email, owner.password)
    search = page.get_by_label("Search customers, deals and tickets")
    search.press_sequentially("walnut", delay=30)
    results = page.locator("#global-search-results")
    expect(results.get_by_role("link", name="Walnut desks")).to_be_visible()
    expect(results.get_by_role("link", name="#1001 Walnut veneer peeling")).to_be_visible()
    wait_for_htmx(page)  # under load a slow typist sends two searches: the last one's results stay
    search.press("ArrowDown")
    expect(results.get_by_role("link", name="Walnut desks")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/deals/{deal_id}$"))
    search = page.get_by_label("Search customers, deals and tickets")
    search.press_sequentially("#1001", delay=30)
    wait_for_htmx(page)  # the quick results of the typing are in before Enter, as above
    search.press("Enter")  # the search page
    expect(page.get_by_role("heading", level=1)).to_have_text("Search")
    wait_for_htmx(page)
    page.get_by_role("region", name="Tickets").get_by_role("link", name="#1001 Walnut veneer peeling").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Walnut veneer peeling")


def test_a_large_bulk_change_goes_on_in_the_background_and_its_panel_follows_it(app, page: Page, live_server,
                                                                                 monkeypatch):  # fmt: skip
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make_member(app, owner, "sam@alpha.example.com")  # "Test User"
    for n in range(4):
        make_contact(app, owner, f"Fair {n}", tags=["fair"])
    from crm.contacts import batch

    set_owner = batch.set_owner

    def slowly(model, ids, owner_id):  # a batch at a time, slowly enough to be seen going
        time.sleep(0.4)
        return set_owner(model, ids, owner_id)

    monkeypatch.setattr("crm.contacts.bulk.MAX_AT_ONCE", 2)
    monkeypatch.setattr(batch, "BATCH", 1)
    monkeypatch.setattr(batch, "set_owner", slowly)
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)  # in a thread, as without REDIS_URL
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/?tag=fair")
    mark_window(page)
    page.get_by_label("Which").select_option(label="All contacts matching this list")
    page.get_by_label("Action").select_option(label="Assign owner")
    new_owner = page.get_by_label("New owner")
    new_owner.scroll_into_view_if_needed()  # its choices load when it is seen
    new_owner.select_option(label="Test User")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Apply").click()
    panel = page.locator("#bulk-job")
    expect(panel).to_contain_text("In the background: Assign owner")
    expect(panel.get_by_label("In the background: Assign owner")).to_be_visible()  # the progress bar
    expect(panel).to_contain_text("4 contacts changed.", timeout=15_000)  # polled until done
    expect(page.get_by_role("status").filter(has_text="4 contacts changed.")).to_have_count(1)  # read out once
    panel.get_by_role("link", name="Show the list again").click()
    expect(page.locator("#contact-rows tr").filter(has_text="Test User")).to_have_count(4)


def signed_in_with_ann(app, page: Page, live_server, **fields):
    """Alpha Trading's owner signed in, and its contact Ann Lee (with ``fields``)."""
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee", **fields)
    log_in(page, live_server.url, owner.email, owner.password)
    return owner, ann


def test_two_people_editing_one_contact_the_later_save_does_not_undo_the_first(app, page: Page, live_server):
    owner, ann = signed_in_with_ann(app, page, live_server, title="Buyer")
    url = f"{live_server.url}/w/{owner.slug}/contacts/{ann}"
    other = page.context.new_page()  # as a colleague, or another tab
    for tab in (page, other):
        tab.goto(url)
        wait_for_htmx(tab)
        tab.locator("#contact-details").get_by_role("link", name="Edit").click()
        # The form has taken the focus (its autofocus), and htmx has settled it, before anything is
        # typed into it (the settle step moves the focus to the form's first field).
        expect(tab.locator("#contact-details").get_by_label("Name", exact=True)).to_be_focused()
        wait_for_htmx(tab)
    other.locator("#contact-details").get_by_label("Job title").fill("CEO")
    other.locator("#contact-details").get_by_role("button", name="Save").click()
    expect(other.locator("#contact-details").get_by_role("link", name="Edit")).to_be_visible()
    expect(other.locator("#contact-details")).to_contain_text("CEO")
    details = page.locator("#contact-details")
    details.get_by_label("Tags").fill("fair")
    details.get_by_role("button", name="Save").click()
    expect(details.get_by_role("alert")).to_contain_text("Job title")
    title = details.get_by_label("Job title")
    expect(title).to_be_focused()  # the field marked, with who changed it
    expect(details).to_contain_text("Changed by Alice since you opened this form.")
    title.fill("CEO")  # keeps the colleague's title, and the tag of this form
    details.get_by_role("button", name="Save").click()
    expect(details.get_by_role("link", name="Edit")).to_be_visible()
    expect(details).to_contain_text("CEO")
    expect(details).to_contain_text("fair")


def test_a_purchase_in_another_currency_counts_its_worth(app, page: Page, live_server):
    owner, ann = signed_in_with_ann(app, page, live_server)
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/{ann}")
    wait_for_htmx(page)
    composer = page.locator("#purchase-composer")
    composer.get_by_label("Product").fill("Tea chest")
    composer.get_by_label("Unit price").fill("10000")
    expect(composer.get_by_label("Currency")).to_be_hidden()  # folded away until needed
    composer.get_by_text("In another currency", exact=True).click()
    composer.get_by_label("Currency").select_option("EUR")
    composer.get_by_role("button", name="Add purchase").click()
    worth = composer.get_by_label("Worth in USD")
    expect(worth).to_be_focused()  # the refusal says what is missing, where
    worth.fill("11000")
    composer.get_by_role("button", name="Add purchase").click()
    expect(page.locator("#timeline-list .purchase")).to_contain_text("€10,000.00 (worth $11,000.00)")
    expect(page.locator("#contact-summary")).to_contain_text("Tier A")


def test_the_tag_filter_offers_the_workspaces_tags(app, page: Page, live_server):
    owner, _ann = signed_in_with_ann(app, page, live_server, tags=["trade fair"])
    make_contact(app, owner, "Bo Chen", tags=["wholesale"])
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/")
    wait_for_htmx(page)
    page.get_by_text("More filters").click()
    tag = page.get_by_role("combobox", name="Tags", exact=True)
    tag.focus()
    expect(page.locator("#tag-options option")).to_have_count(2)  # loaded when first needed
    tag.fill("wholesale")
    expect(page.locator("#contact-rows tr")).to_have_count(1)
    expect(page.locator("#contact-rows")).to_contain_text("Bo Chen")


def test_sort_the_list_by_who_has_been_out_of_touch_longest(app, page: Page, live_server):
    from crm.contacts.models import Contact
    from crm.db import utcnow
    from crm.extensions import db
    from crm.tenancy import workspace_scope

    owner, ann = signed_in_with_ann(app, page, live_server)
    bo = make_contact(app, owner, "Bo Chen")
    make_contact(app, owner, "Cy Never")
    with app.app_context(), workspace_scope(owner.id):
        for contact_id, days in ((ann, 2), (bo, 40)):
            db.session.get(Contact, contact_id).last_activity_at = utcnow() - timedelta(days=days)
        db.session.commit()
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/")
    wait_for_htmx(page)
    page.get_by_label("Sort").select_option(label="Longest out of touch")
    names = page.locator("#contact-rows th a")
    expect(names).to_have_text(["Cy Never", "Bo Chen", "Ann Lee"])
    expect(page).to_have_url(re.compile(r"sort=quiet"))  # kept in the address, to share or reload
