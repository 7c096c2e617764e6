"""The deals list and the customer picker in a real browser: switch from the board to the list, sort
by a column both ways, filter by status and by a customer picked by typing, export the list; create
a deal choosing its contact by typing, with the keyboard."""

import csv
import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import assert_no_full_reload, log_in, mark_window
from tests.factories import default_pipeline, make_company, make_contact, make_deal, make_workspace

pytestmark = pytest.mark.browser


def row_titles(page: Page) -> list[str]:
    return page.locator("#deal-list-rows th[scope=row]").all_inner_texts()


def test_switch_to_the_list_sort_filter_and_export(app, page: Page, live_server, tmp_path):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    sales = default_pipeline(app, owner)
    acme = make_company(app, owner, "Acme Ltd")
    make_deal(app, owner, "Tea chests", sales.stages["Lead in"], 1200, company_id=acme)
    make_deal(app, owner, "Cups", sales.stages["Qualified"], 300)
    make_deal(app, owner, "Saucers", sales.stages["Proposal"], 700, company_id=acme)
    log_in(page, live_server.url, owner.email, owner.password)
    page.get_by_role("navigation").get_by_role("link", name="Deals").click()
    page.get_by_role("navigation", name="Show deals as").get_by_role("link", name="List").click()
    expect(page).to_have_url(re.compile(r"/deals/pipelines/\d+/list"))
    expect(page.locator("#deal-list-rows tr")).to_have_count(3)
    mark_window(page)

    page.get_by_role("link", name="Value", exact=True).click()  # highest first
    expect(page).to_have_url(re.compile(r"sort=-value"))
    expect(page.locator("th[aria-sort=descending]")).to_have_text(re.compile("Value"))
    assert row_titles(page) == ["Tea chests", "Saucers", "Cups"]
    page.get_by_role("link", name=re.compile("^Value")).click()  # and back
    expect(page).to_have_url(re.compile(r"sort=value"))
    expect(page.locator("#deal-list-rows th[scope=row]").first).to_have_text("Cups")
    assert row_titles(page) == ["Cups", "Saucers", "Tea chests"]

    customer = page.get_by_role("combobox", name="Customer", exact=True)
    customer.press_sequentially("acm", delay=40)
    option = page.get_by_role("option", name=re.compile("Acme Ltd"))
    expect(option).to_be_visible()
    expect(page.locator("#deal-list-rows tr")).to_have_count(3)  # typing alone does not filter
    option.click()
    expect(page).to_have_url(re.compile(r"customer=company%3A\d+"))
    expect(page.locator("#deal-list-rows tr")).to_have_count(2)
    assert row_titles(page) == ["Saucers", "Tea chests"]  # the sort is kept
    expect(customer).to_have_value("Acme Ltd")
    board_link = page.get_by_role("navigation", name="Show deals as").get_by_role("link", name="Board")
    expect(board_link).to_have_attribute("href", re.compile(r"customer=company%3A\d+"))

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    path = tmp_path / "deals.csv"
    download_info.value.save_as(path)
    with path.open(encoding="utf-8-sig") as stream:
        rows = list(csv.reader(stream))
    assert rows[0][0] == "Title" and sorted(row[0] for row in rows[1:]) == ["Saucers", "Tea chests"]
    assert_no_full_reload(page)

    board_link.click()
    expect(page.locator(".deal-card")).to_have_count(2)  # the board keeps the customer filter
    expect(page.get_by_role("combobox", name="Customer", exact=True)).to_have_value("Acme Ltd")


def test_create_a_deal_choosing_the_contact_by_typing(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    acme = make_company(app, owner, "Acme Ltd")
    make_contact(app, owner, "Ann Lee", company_id=acme)
    make_contact(app, owner, "Anna Berg")
    make_contact(app, owner, "Bob Ray")
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/deals/")
    page.get_by_role("link", name="Add deal").click()  # the board's: its pipeline's first stage
    expect(page.get_by_label("Stage")).to_have_value(re.compile(r"\d+"))
    page.get_by_label("Title").fill("Tea chests")
    page.get_by_label("Value").fill("1200")

    contact = page.get_by_role("combobox", name="Contact")
    contact.press_sequentially("ann", delay=40)
    expect(page.get_by_role("listbox", name="Contact").get_by_role("option")).to_have_count(2)
    expect(contact).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("status").filter(has_text="2 results")).to_have_count(1)
    contact.press("ArrowDown")
    contact.press("ArrowDown")
    active = contact.get_attribute("aria-activedescendant")
    expect(page.locator(f"#{active}")).to_have_attribute("aria-selected", "true")
    chosen = page.locator(f"#{active}").get_attribute("data-label")
    contact.press("Enter")  # chooses; does not submit the form
    expect(contact).to_have_value(chosen)
    expect(contact).to_have_attribute("aria-expanded", "false")
    expect(page).to_have_url(re.compile(r"/deals/new\?pipeline=\d+$"))

    contact.fill("bo")  # typed but not chosen: leaving the box keeps the chosen contact
    page.get_by_label("Title").focus()
    expect(contact).to_have_value(chosen)

    page.get_by_role("button", name="Add deal").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Tea chests")
    expect(page.locator("main")).to_contain_text(chosen)
