"""Downloading the contacts list as XLSX in a real browser: the link is not boosted (a download,
not a page), and after filtering in place it exports what the list now shows."""

import io

import openpyxl
import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import log_in
from tests.factories import make_contact, make_workspace

pytestmark = pytest.mark.browser


def test_download_the_filtered_list_as_xlsx(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    make_contact(app, owner, "王小明", tags=["fair"])
    make_contact(app, owner, "Bob Stone")
    log_in(page, live_server.url, owner.email, owner.password)

    page.get_by_role("navigation").get_by_role("link", name="Contacts").click()
    page.get_by_text("More filters").first.click()
    page.locator("#tag").fill("fair")
    expect(page.locator("#contact-rows tr")).to_have_count(1)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export XLSX").click()
    download = download_info.value
    assert download.suggested_filename == f"contacts-{owner.slug}.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(download.path().read_bytes()), read_only=True).active
    names = [row[0] for row in sheet.iter_rows(values_only=True)]
    assert names == ["Name", "王小明"]
    expect(page.get_by_role("heading", level=1)).to_have_text("Contacts")  # still on the list
