"""The data quality report in a real browser, with the job in a background thread as `make run`
has it: open Data quality from the contacts list, run the check (progress polled by htmx), see
the findings of one kind, and follow a finding to its contact."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import log_in
from tests.factories import make_workspace
from tests.test_data_quality import legacy_contact

pytestmark = pytest.mark.browser


@pytest.fixture
def jobs_in_a_thread(app):
    app.config["JOBS_INLINE"] = False
    yield
    app.config["JOBS_INLINE"] = True


def test_run_the_check_see_the_findings_and_open_a_contact(app, page: Page, live_server, jobs_in_a_thread):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    legacy_contact(app, owner, "Ann Lee", ["ann@example.com"], ["+16502530000"])
    legacy_contact(app, owner, "王小明", ["wang@example"])
    legacy_contact(app, owner, "Nobody Reach")
    log_in(page, live_server.url, owner.email, owner.password)

    page.get_by_role("navigation").get_by_role("link", name="Contacts").click()
    page.get_by_role("link", name="Data quality").click()
    expect(page.get_by_role("heading", name="No check has run yet")).to_be_visible()
    page.get_by_role("button", name="Run the check now").click()

    summary = page.get_by_role("region", name="Summary")
    expect(summary).to_contain_text("3 contacts looked at")
    expect(summary).to_contain_text("Run by Alice.")
    findings = page.locator("#findings")  # the first kind with findings
    expect(findings.get_by_role("region", name="Invalid email addresses")).to_be_visible()  # its table, named
    expect(findings.get_by_role("row")).to_have_count(2)  # the header and 王小明
    expect(findings).to_contain_text("Not a valid email address: wang@example")

    page.get_by_role("link", name="No way to reach them (2)").click()
    findings = page.locator("#findings")
    expect(findings.get_by_role("region", name="No way to reach them")).to_be_visible()
    expect(findings).to_contain_text("No email address or phone number")
    expect(findings).to_contain_text("Only invalid email addresses or phone numbers")
    assert "kind=unreachable" in page.url  # the kind lives in the URL
    findings.get_by_role("link", name="Nobody Reach").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nobody Reach")
