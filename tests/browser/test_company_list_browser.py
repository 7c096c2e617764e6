"""The companies list in a real browser: a size filter, a custom field column, a built-in column and
the days added change the list in place and stay in the address; a reload keeps them."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import assert_no_full_reload, log_in, mark_window, wait_for_htmx
from tests.factories import make_company, make_custom_field, make_member, make_workspace, set_custom_value

pytestmark = pytest.mark.browser


def test_filter_companies_by_size_and_show_a_custom_column(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    segment = make_custom_field(app, owner, "Segment", kind="select", entity="company", options=["Retail", "Trade"])
    acme = make_company(app, owner, "Acme Tea", size="11-50")
    make_company(app, owner, "Zen Tea", size="1-10")
    set_custom_value(app, owner, acme, segment, "Trade")
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/companies/")
    mark_window(page)
    rows = page.locator("#company-rows tr")
    expect(rows).to_have_count(2)
    page.get_by_role("combobox", name="Size (staff)").select_option("11-50")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Acme Tea")
    page.get_by_text("Columns", exact=True).click()
    page.get_by_label("Segment", exact=True).last.check()  # the column box, after the filter's select
    expect(page.locator("#company-results thead")).to_contain_text("Segment")
    expect(rows.first).to_contain_text("Trade")
    assert_no_full_reload(page)
    assert "size=11-50" in page.url and "cols=cf_segment" in page.url
    page.reload()
    expect(rows).to_have_count(1)
    expect(page.locator("#company-results thead")).to_contain_text("Segment")


def test_show_the_phone_column_and_filter_by_the_day_added(app, page: Page, live_server):
    from crm.contacts.models import Company
    from crm.extensions import db
    from crm.tenancy import workspace_scope
    from crm.workspaces.models import Workspace

    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    acme = make_company(app, owner, "Acme Tea", phone="+14155550123")
    zen = make_company(app, owner, "Zen Tea", phone="+14155550188")
    with app.app_context(), workspace_scope(owner.id):
        db.session.get(Workspace, owner.id).timezone = "Asia/Shanghai"
        db.session.get(Company, acme).created_at = datetime(2026, 12, 6, 20, 30, tzinfo=UTC)  # 7 Dec there
        db.session.get(Company, zen).created_at = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)  # 6 Dec there
        db.session.commit()
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/companies/")
    mark_window(page)
    rows = page.locator("#company-rows tr")
    expect(rows).to_have_count(2)
    page.get_by_text("Columns", exact=True).click()
    page.get_by_label("Phone", exact=True).check()
    expect(page.locator("#company-results thead")).to_contain_text("Phone")
    expect(rows.filter(has_text="Acme Tea")).to_contain_text("(415) 555-0123")
    page.get_by_label("Added from").fill("2026-12-07")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Acme Tea")
    expect(page.locator("#company-filters-summary")).to_have_text("Filters (1 active)")
    assert_no_full_reload(page)
    assert "cols=phone" in page.url and "created_from=2026-12-07" in page.url
    page.reload()
    expect(rows).to_have_count(1)
    expect(page.locator("#company-results thead")).to_contain_text("Phone")
    expect(page.get_by_label("Added from")).to_have_value("2026-12-07")


def test_tick_companies_and_give_them_an_owner_then_trash_one(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make_member(app, owner, "sam@alpha.example.com")
    for name in ("Acme Tea", "Bolt Hardware", "Zen Tea"):
        make_company(app, owner, name)
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/companies/")
    mark_window(page)
    rows = page.locator("#company-rows tr")
    page.get_by_label("Tick every company shown").check()
    page.get_by_label("Select Bolt Hardware").uncheck()
    page.get_by_label("Action").select_option(label="Assign owner")
    page.get_by_label("New owner").select_option(label="Test User")
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#toasts")).to_contain_text("2 companies changed.")
    assert questions == ['Apply "Assign owner" to the 2 ticked companies?']
    expect(rows.filter(has_text="Acme Tea")).to_contain_text("Test User")
    expect(rows.filter(has_text="Bolt Hardware")).not_to_contain_text("Test User")
    wait_for_htmx(page)  # the bar drawn again is wired up after htmx's settle step
    page.get_by_label("Which").select_option(label="All companies matching this list")
    expect(page.locator("#bulk-count")).to_have_text("3 companies match this list.")
    page.get_by_label("Action").select_option(label="Move to trash")
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#bulk-count")).to_have_text("3 companies match this list.")
    assert questions[-1] == 'Apply "Move to trash" to all 3 companies?'
    expect(rows).to_have_count(3)  # said no: nothing sent
    page.get_by_label("Which").select_option(label="The ticked companies")
    expect(page.locator("#bulk-count")).to_have_text("")
    page.get_by_label("Select Zen Tea").check()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#toasts")).to_contain_text("1 company moved to the trash.")
    expect(rows).to_have_count(2)
    assert_no_full_reload(page)


def test_save_the_filtered_companies_as_a_shared_view_and_open_it_again(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make_company(app, owner, "Acme Tea", size="11-50")
    make_company(app, owner, "Zen Tea", size="1-10")
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/companies/")
    rows = page.locator("#company-rows tr")
    page.get_by_role("combobox", name="Size (staff)").select_option("1-10")
    expect(rows).to_have_count(1)
    page.get_by_text("Saved views", exact=True).click()
    page.get_by_label("Save this list as").fill("Small firms")
    page.get_by_label("Share with the team").check()
    page.get_by_role("button", name="Save view").click()
    expect(page.locator("#toasts")).to_contain_text("View Small firms saved.")
    page.get_by_role("link", name="Clear").click()
    expect(rows).to_have_count(2)
    page.get_by_text("Saved views", exact=True).click()
    page.get_by_role("link", name="Small firms", exact=True).click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Zen Tea")
    assert "size=1-10" in page.url


def test_export_the_ticked_companies_from_the_bulk_bar(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    for name in ("Acme Tea", "Bolt Hardware", "Zen Tea"):
        make_company(app, owner, name)
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/companies/")
    mark_window(page)
    page.get_by_label("Select Zen Tea").check()
    page.get_by_label("Select Acme Tea").check()
    page.get_by_label("Action").select_option(label="Export CSV")
    with page.expect_download() as download:
        page.get_by_role("button", name="Apply").click()  # no question for an export
    lines = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert sorted(line.split(",")[0] for line in lines[1:]) == ["Acme Tea", "Zen Tea"]
    expect(page.get_by_label("Select Zen Tea")).to_be_checked()  # the list stays as it was
    assert_no_full_reload(page)


def test_an_export_of_too_many_ticked_rows_is_refused_in_place(app, page: Page, live_server):
    """More ticked rows than an export takes: refused with the reason, the page and its ticks stay
    (a plain form post would have left the page)."""
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make_company(app, owner, "Acme Tea")
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/companies/")
    mark_window(page)
    page.get_by_label("Select Acme Tea").check()
    # As if 1,000 more rows had been loaded with "Load more" and ticked.
    page.evaluate("""() => {
        const box = document.createElement("div");
        box.innerHTML = Array.from({length: 1000}, (_, i) =>
            `<input type="checkbox" name="ids" value="${900000 + i}" form="bulk-form" checked hidden>`).join("");
        document.querySelector("#company-rows").after(box);
    }""")
    page.get_by_label("Action").select_option(label="Export CSV")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#toasts .toast.error")).to_contain_text("Select at most 1000 companies.")
    expect(page.get_by_label("Select Acme Tea")).to_be_checked()
    assert_no_full_reload(page)
