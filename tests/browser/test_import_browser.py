"""Importing contacts in a real browser, with the jobs in a background thread as `make run` has
them: upload, map, dry run (progress polled), import, download the bad rows, fix one, import again."""

import csv
import io

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import log_in, wait_for_htmx
from tests.factories import make_workspace

pytestmark = pytest.mark.browser

CSV_TEXT = (
    "姓名,邮箱,Phone,Remarks\n"
    "王小明,wang@example.com,+86 138 0013 8000,met at the fair\n"
    "Ann Lee,ann@example.com,,\n"
    "Bad Mail,bad-mail,,\n"
)


@pytest.fixture
def jobs_in_a_thread(app):
    app.config["JOBS_INLINE"] = False
    yield
    app.config["JOBS_INLINE"] = True


def test_upload_map_dry_run_import_fix_a_bad_row_and_import_it(
    app, page: Page, live_server, tmp_path, jobs_in_a_thread
):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    log_in(page, live_server.url, owner.email, owner.password)
    source = tmp_path / "customers.csv"
    source.write_text(CSV_TEXT, encoding="utf-8")

    page.get_by_role("navigation").get_by_role("link", name="Contacts").click()
    page.get_by_role("link", name="Import").click()
    page.get_by_label("Spreadsheet", exact=True).set_input_files(source)
    page.get_by_role("button", name="Upload").click()

    expect(page.get_by_label("姓名")).to_have_value("name")  # guessed from the Chinese header
    expect(page.get_by_label("Phone")).to_have_value("phone")
    expect(page.get_by_label("Remarks")).to_have_value("")
    page.get_by_label("Remarks").select_option("about")
    page.get_by_role("button", name="Check the file").click()

    dry_run = page.get_by_role("region", name="Dry run: what the import will do")
    expect(dry_run).to_contain_text("2 new contacts will be added")
    expect(dry_run).to_contain_text("1 row cannot be imported")
    expect(page.get_by_role("cell", name="bad-mail is not a valid email address.")).to_be_visible()
    page.get_by_role("button", name="Import 2 contacts").click()

    result = page.get_by_role("region", name="Result")
    expect(result).to_contain_text("2 new contacts added")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the rows that were not imported").click()
    rows = list(csv.reader(io.StringIO(download_info.value.path().read_text("utf-8-sig"))))
    assert rows[1][0] == "Bad Mail" and rows[1][-1].endswith("bad-mail is not a valid email address.")
    rows[1][1] = "bad.mail@example.com"
    fixed = tmp_path / "fixed.csv"
    with fixed.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows(rows)

    page.get_by_role("link", name="Import another file").click()
    page.get_by_label("Spreadsheet", exact=True).set_input_files(fixed)
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_label("Error")).to_have_value("")  # our error column is left out
    page.get_by_role("button", name="Check the file").click()
    page.get_by_role("button", name="Import 1 contact").click()
    expect(page.get_by_role("region", name="Result")).to_contain_text("1 new contact added")

    page.get_by_role("link", name="Go to contacts").click()
    rows = page.locator("#contact-rows tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#contact-rows")).to_contain_text("王小明")
    expect(page.locator("#contact-rows")).to_contain_text("Bad Mail")


def test_an_import_that_updates_a_contact_shows_on_its_page_and_so_does_its_undo(
    app, page: Page, live_server, tmp_path
):
    from tests.factories import make_contact

    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee", emails=["ann@example.com"], title="Clerk")
    log_in(page, live_server.url, owner.email, owner.password)
    source = tmp_path / "customers.csv"
    source.write_text("Name,Email,Title\nAnn Lee,ann@example.com,Director\n", encoding="utf-8")

    page.goto(f"{live_server.url}/w/{owner.slug}/imports/")
    page.get_by_label("Spreadsheet", exact=True).set_input_files(source)
    page.get_by_role("button", name="Upload").click()
    page.get_by_label("Update them with the filled cells of the file").check()
    page.get_by_role("button", name="Check the file").click()
    page.get_by_role("button", name="Import 1 contact").click()
    expect(page.get_by_role("region", name="Result")).to_be_visible()

    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/{ann}")
    change = page.locator("#timeline-list li.entry", has_text="Changed by import of customers.csv")
    expect(change).to_contain_text("Job title: Clerk → Director")
    expect(change).to_contain_text("Alice")  # who ran it, by name
    history = page.get_by_role("region", name="History")
    expect(history).to_contain_text("Changed by import of customers.csv")
    change.get_by_role("link", name="customers.csv").click()  # to the import's page, boosted
    wait_for_htmx(page)
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Undo this import").click()
    undone_toast = "Import undone: 0 contacts moved to the trash. 1 contact put back as it was."
    expect(page.get_by_text(undone_toast)).to_be_visible()
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/{ann}")
    undone = page.locator("#timeline-list li.entry", has_text="Import undone: values restored")
    expect(undone).to_contain_text("Job title: Director → Clerk")


def test_a_running_import_shows_its_end_with_and_without_javascript(app, browser, live_server):
    """Without JavaScript the page reloads itself until the import ends; with it, the progress is
    polled and the page is not reloaded until the poll finds the import ended."""
    import sqlalchemy as sa

    from crm.extensions import db
    from crm.imports.models import Import
    from crm.tenancy import workspace_scope

    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")

    def running_import() -> str:
        with app.app_context(), workspace_scope(owner.id):
            job = Import(filename="customers.csv", stored_name="gone.csv", file_format="csv", headers=["Name"],
                         mapping=["name"], status="importing", rows_total=10, rows_done=4)  # fmt: skip
            db.session.add(job)
            db.session.commit()
            return job.id

    def ends(import_id: int) -> None:
        with app.app_context(), workspace_scope(owner.id):
            db.session.execute(sa.update(Import).where(Import.id == import_id).values(status="failed"))
            db.session.commit()

    loads = []
    for javascript in (False, True):
        context = browser.new_context(java_script_enabled=javascript)
        page = context.new_page()
        log_in(page, live_server.url, owner.email, owner.password)
        import_id = running_import()
        page.goto(f"{live_server.url}/w/{owner.slug}/imports/{import_id}")
        expect(page.get_by_text("4 of 10 rows")).to_be_visible()
        loads.clear()
        page.on("load", lambda _page: loads.append(1))
        if javascript:
            with page.expect_response(lambda response: response.url.endswith("/progress")):
                pass  # polled
            page.wait_for_timeout(6000)  # longer than the reload of the page without JavaScript
            assert loads == []
        ends(import_id)
        expect(page.get_by_role("region", name="Result")).to_be_visible(timeout=10000)  # with JS: told by the poll
        context.close()
