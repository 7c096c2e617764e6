"""Backing up and restoring in a real browser: download the backup from Settings → Backup, create
a new workspace, restore the file there, find the customers in it."""

import zipfile

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import log_in
from tests.factories import make_company, make_contact, make_workspace

pytestmark = pytest.mark.browser


def test_download_a_backup_and_restore_it_into_a_new_workspace(app, page: Page, live_server, tmp_path):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    company = make_company(app, owner, "上海贸易")
    make_contact(app, owner, "王小明", emails=["wang@example.com"], company_id=company, tags=["展会"])
    make_contact(app, owner, "Ann Lee", emails=["ann@example.com"])
    log_in(page, live_server.url, owner.email, owner.password)

    page.get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Backup").click()
    expect(page.get_by_role("heading", name="Download a backup")).to_be_visible()
    expect(page.get_by_role("region", name="Restore a backup")).to_contain_text("Create a new workspace")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download backup").click()
    backup = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(backup)
    assert backup.name.startswith("kehu-backup-alpha-trading-") and zipfile.is_zipfile(backup)

    page.goto(f"{live_server.url}/workspaces/new")
    page.get_by_label("Business name").fill("Alpha Restored")
    page.get_by_role("button", name="Create workspace").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Alpha Restored")
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Backup").click()
    page.get_by_label("Backup file").set_input_files(backup)
    page.get_by_role("button", name="Restore backup").click()

    expect(page.locator("#toasts")).to_contain_text("The backup of Alpha Trading is restored")
    restore_section = page.get_by_role("region", name="Restore a backup")
    expect(restore_section).to_contain_text("Last restore")
    expect(restore_section).to_contain_text("Alpha Trading (alpha-trading)")

    page.get_by_role("navigation").get_by_role("link", name="Contacts").click()
    expect(page).to_have_url(f"{live_server.url}/w/alpha-restored/contacts/")
    rows = page.locator("#contact-rows tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#contact-rows")).to_contain_text("王小明")
    expect(page.locator("#contact-rows")).to_contain_text("上海贸易")
