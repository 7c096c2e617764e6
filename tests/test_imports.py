"""Importing contacts from a spreadsheet: upload, guessed mapping, dry run, import, the invalid
rows file, re-import, update mode, undo; bad input and permissions. Jobs run in the request
(JOBS_INLINE), so each POST returns after the work is done. Reading files: test_import_reader."""

import csv
import io
import re
from datetime import date, timedelta

import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.contacts.models import Company, Contact, ContactIdentity
from crm.db import utcnow
from crm.extensions import db
from crm.imports.models import Import
from crm.tenancy import workspace_scope
from crm.workspaces.models import Workspace
from tests.conftest import post
from tests.factories import assign_role, make_company, make_contact, make_custom_field, make_member, make_role
from tests.test_pages import assert_valid_page

CSV = (
    "姓名,邮箱,手机,公司,标签,生日,负责人\n"
    "王小明,Wang@Example.com,+86 138 0013 8000,上海贸易,vip; 展会,1990-05-01,\n"
    "Ann Lee,ann@example.com,,Acme Ltd,,3/4/1985,{owner}\n"
    "Bad Mail,not-an-email,,,,,\n"
    ",nameless@example.com,,,,,\n"
    "Wang Again,wang@example.com,,,,,\n"
    "Bad Date,bd@example.com,,,,31/31/2020,\n"
    "Stranger,stranger@example.com,,,,,nobody@example.com\n"
)


def imports_url(ws, rest: str = "") -> str:
    return f"/w/{ws.slug}/imports/{rest}"


def upload(client, ws, text: str, filename: str = "customers.csv", encoding: str = "utf-8", entity: str = "contacts"):
    data = {"file": (io.BytesIO(text.encode(encoding)), filename), "entity": entity}
    return post(client, imports_url(ws), data, content_type="multipart/form-data")


def import_id_of(response) -> int:
    return int(re.search(r"/imports/(\d+)", response.headers["Location"]).group(1))


def job_of(app, ws, import_id: int) -> Import:
    with app.app_context(), workspace_scope(ws.id):
        job = db.session.get(Import, import_id)
        db.session.expunge(job)
        return job


def contacts_of(app, ws) -> dict[str, Contact]:
    with app.app_context(), workspace_scope(ws.id):
        contacts = list(db.session.scalars(sa.select(Contact).where(Contact.deleted_at.is_(None))))
        for contact in contacts:
            _ = contact.company, contact.tags
        db.session.expunge_all()
        return {contact.name: contact for contact in contacts}


def mapping_data(job: Import, mode: str = "create", match_by: str = "email", **changes) -> dict:
    data = {f"column_{index}": key for index, key in enumerate(job.mapping)}
    data.update(changes)
    return {**data, "mode": mode, "match_by": match_by}


def check(client, app, ws, import_id: int, **kwargs):
    job = job_of(app, ws, import_id)
    return post(client, imports_url(ws, f"{import_id}/check"), mapping_data(job, **kwargs))


def test_a_birthday_or_purchase_after_today_is_a_bad_row(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    later = date.today() + timedelta(days=2)
    import_id = import_id_of(upload(client, ws_a, f"Name,Email,Birthday\nAnn Lee,ann@example.com,{later}\n"))
    check(client, app, ws_a, import_id)
    assert job_of(app, ws_a, import_id).invalid_count == 1
    page = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert f"{later} is in the future: a birthday cannot be." in page


def test_upload_guesses_chinese_and_english_headers(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    response = upload(client, ws_a, CSV.format(owner=ws_a.email))
    assert response.status_code == 303
    job = job_of(app, ws_a, import_id_of(response))
    assert job.mapping == ["name", "email", "phone", "company", "tags", "birthday", "owner"]
    page = client.get(imports_url(ws_a, str(job.id))).get_data(as_text=True)
    assert '<option selected value="phone">' in page
    assert "+86 138 0013 8000" in page  # the first rows beside the mapping
    assert contacts_of(app, ws_a) == {}


def test_a_template_with_a_blank_first_row_and_a_two_line_heading_keeps_its_columns(app, client, auth, ws_a):
    """Chinese templates often say which columns are required under the heading, in the same cell;
    before, the heading's line break ended the header (every column after it lost) and a first row of
    empty cells was taken for the header (no names, and the real one read as "the header")."""
    auth.login(ws_a.email, ws_a.password)
    response = upload(client, ws_a, ',,\n"姓名\n（必填）",邮箱,手机\n王小明,w@example.com,13800138000\n')
    job = job_of(app, ws_a, import_id_of(response))
    assert (job.headers, job.mapping) == (["姓名 （必填）", "邮箱", "手机"], ["name", "email", "phone"])
    page = client.get(imports_url(ws_a, str(job.id))).get_data(as_text=True)
    assert "姓名 （必填）" in page and "王小明" in page and "13800138000" in page


def test_dry_run_reports_every_row_and_saves_nothing(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, CSV.format(owner=ws_a.email)))
    response = check(client, app, ws_a, import_id)
    assert response.status_code == 303
    job = job_of(app, ws_a, import_id)
    assert job.status == "checked"
    assert (job.created_count, job.updated_count, job.skipped_count, job.invalid_count) == (2, 0, 1, 4)
    assert job.companies_created == 2
    page = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert "not-an-email is not a valid email address." in page
    assert "A name is needed." in page
    assert "31/31/2020 is not a date" in page
    assert "No member of this workspace has the email address nobody@example.com." in page
    assert "Same email address as row 2." in page
    assert contacts_of(app, ws_a) == {}
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count(Company.id))) == 0


def test_import_saves_the_good_rows_normalised(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, CSV.format(owner=ws_a.email)))
    check(client, app, ws_a, import_id)
    assert post(client, imports_url(ws_a, f"{import_id}/run"), {}).status_code == 303
    job = job_of(app, ws_a, import_id)
    assert (job.status, job.created_count, job.invalid_count, job.skipped_count) == ("done", 2, 4, 1)
    contacts = contacts_of(app, ws_a)
    assert set(contacts) == {"王小明", "Ann Lee"}
    wang, ann = contacts["王小明"], contacts["Ann Lee"]
    assert wang.emails == ["wang@example.com"] and wang.phones == ["+8613800138000"]
    assert wang.company.name == "上海贸易" and sorted(tag.name for tag in wang.tags) == ["vip", "展会"]
    assert wang.birthday == date(1990, 5, 1) and wang.birthday_md == 501
    assert ann.birthday == date(1985, 3, 4)  # the workspace's region is the US: month first
    assert ann.owner_id is not None and ann.company.name == "Acme Ltd"
    with app.app_context(), workspace_scope(ws_a.id):
        found = db.session.scalars(sa.select(ContactIdentity.value).where(ContactIdentity.kind == "email"))
        assert sorted(found) == ["ann@example.com", "wang@example.com"]
        actions = list(db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.record_type == "import")))
        assert sorted(actions) == ["import.completed", "import.started"]
    # Found by search at once.
    assert "王小明" in client.get(f"/w/{ws_a.slug}/contacts/?q=13800138000").get_data(as_text=True)


def test_invalid_rows_download_fixed_and_imported_again(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, CSV.format(owner=ws_a.email)))
    check(client, app, ws_a, import_id)
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    response = client.get(imports_url(ws_a, f"{import_id}/invalid-rows.csv"))
    assert response.status_code == 200
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert lines[0] == ["姓名", "邮箱", "手机", "公司", "标签", "生日", "负责人", "Error"]
    assert [line[0] for line in lines[1:]] == ["Bad Mail", "", "Bad Date", "Stranger"]
    assert lines[1][-1] == "邮箱: not-an-email is not a valid email address."
    fixed = [lines[0]] + [line for line in lines[1:] if line[0] == "Bad Mail"]
    fixed[1][1] = "bad.mail@example.com"
    buffer = io.StringIO()
    csv.writer(buffer).writerows(fixed)
    second = import_id_of(upload(client, ws_a, buffer.getvalue(), "customers-invalid-rows.csv"))
    assert job_of(app, ws_a, second).mapping[-1] == ""  # the Error column is not imported
    check(client, app, ws_a, second)
    post(client, imports_url(ws_a, f"{second}/run"), {})
    assert contacts_of(app, ws_a)["Bad Mail"].emails == ["bad.mail@example.com"]


def test_existing_contacts_are_skipped_when_creating_only(app, client, auth, ws_a):
    make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"])
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, "Name,Email,Title\nAnnie,ANN@example.com,Boss\nBo,bo@example.com,\n"))
    check(client, app, ws_a, import_id)
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    job = job_of(app, ws_a, import_id)
    assert (job.created_count, job.skipped_count) == (1, 1)
    contacts = contacts_of(app, ws_a)
    assert set(contacts) == {"Ann Lee", "Bo"} and contacts["Ann Lee"].title is None
    assert "Already in Kehu: ann@example.com." in client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)


def test_rows_of_companies_already_in_kehu_join_them(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, "Name,Company\nJon Smith,ACME LTD\nMary Jones,Acme Ltd\n"))
    check(client, app, ws_a, import_id)
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    job = job_of(app, ws_a, import_id)
    assert (job.status, job.created_count, job.companies_created) == ("done", 2, 0)
    assert {contact.company_id for contact in contacts_of(app, ws_a).values()} == {acme}


def test_update_mode_changes_matching_contacts_and_undo_puts_everything_back(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], title="Clerk", tags=["old"])
    auth.login(ws_a.email, ws_a.password)
    text = (
        "Name,Email,Phone,Title,Tags\n"
        "Ann Lee,ann@example.com,+44 20 7946 0958,Director,fair\n"
        "New Person,new@example.com,,,\n"
    )
    import_id = import_id_of(upload(client, ws_a, text))
    check(client, app, ws_a, import_id, mode="update")
    job = job_of(app, ws_a, import_id)
    assert (job.created_count, job.updated_count) == (1, 1)
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    updated = contacts_of(app, ws_a)["Ann Lee"]
    assert updated.id == ann and updated.title == "Director" and updated.phones == ["+442079460958"]
    assert sorted(tag.name for tag in updated.tags) == ["fair", "old"]

    response = post(client, imports_url(ws_a, f"{import_id}/undo"), {})
    assert response.status_code == 303
    contacts = contacts_of(app, ws_a)
    assert set(contacts) == {"Ann Lee"}  # New Person is in the trash
    restored = contacts["Ann Lee"]
    assert (restored.title, restored.phones, [t.name for t in restored.tags]) == ("Clerk", [], ["old"])
    with app.app_context(), workspace_scope(ws_a.id):
        phones = db.session.scalars(sa.select(ContactIdentity.value).where(ContactIdentity.kind == "phone"))
        assert list(phones) == []
    assert job_of(app, ws_a, import_id).status == "undone"
    again = post(client, imports_url(ws_a, f"{import_id}/undo"), {}, follow_redirects=True)
    assert "can no longer be undone" in again.get_data(as_text=True)


def test_undo_is_refused_after_seven_days(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, "Name\nAnn Lee\n"))
    check(client, app, ws_a, import_id)
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Import, import_id).finished_at = utcnow() - timedelta(days=7, minutes=1)
        db.session.commit()
    post(client, imports_url(ws_a, f"{import_id}/undo"), {})
    assert set(contacts_of(app, ws_a)) == {"Ann Lee"}


def test_names_from_first_and_last_name_columns(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, "First name,Last name\nAnn,Lee\n小明,王\n"))
    check(client, app, ws_a, import_id)
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    assert set(contacts_of(app, ws_a)) == {"Ann Lee", "王小明"}


def test_custom_fields_are_mapped_by_label_and_validated(app, client, auth, ws_a):
    make_custom_field(app, ws_a, "Industry", kind="select", options=["Retail", "Food"], required=True)
    make_custom_field(app, ws_a, "Employees", kind="number")
    auth.login(ws_a.email, ws_a.password)
    text = 'Name,Industry,Employees\nAnn Lee,retail,"1,200"\nBo,Mining,3\nCy,,4\n'
    import_id = import_id_of(upload(client, ws_a, text))
    job = job_of(app, ws_a, import_id)
    assert job.mapping[1].startswith("cf:") and job.mapping[2].startswith("cf:")
    check(client, app, ws_a, import_id)
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    contacts = contacts_of(app, ws_a)
    assert set(contacts) == {"Ann Lee"}
    assert sorted(contacts["Ann Lee"].custom.values(), key=str) == [1200, "Retail"]
    page = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert "Mining is not one of: Retail, Food." in page
    assert "Industry is required." in page


def test_a_choice_with_a_comma_is_read_whole_as_the_export_writes_it(app, client, auth, ws_a):
    make_custom_field(app, ws_a, "Channels", kind="multi_select", options=["Wholesale, export", "Retail", "Online"])
    make_custom_field(app, ws_a, "Terms", kind="select", options=["Net 30, prepaid", "Cash"])
    auth.login(ws_a.email, ws_a.password)
    text = ('Name,Channels,Terms\nAnn,"Wholesale, export, Retail","net 30, prepaid"\n'
            'Bo,"retail；wholesale, export",Cash\nCy,"Wholesale, Retail",Cash\n')  # fmt: skip
    import_id = import_id_of(upload(client, ws_a, text))
    check(client, app, ws_a, import_id)
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    contacts = contacts_of(app, ws_a)
    assert {name: contact.custom for name, contact in contacts.items()} == {
        "Ann": {"channels": ["Wholesale, export", "Retail"], "terms": "Net 30, prepaid"},
        "Bo": {"channels": ["Retail", "Wholesale, export"], "terms": "Cash"},
    }
    page = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert "Wholesale is not one of: Wholesale, export, Retail, Online." in page


def test_custom_numbers_are_read_as_their_form_reads_them(app, client, auth, ws_a):
    from crm.auth.models import User

    make_custom_field(app, ws_a, "Budget", kind="number")
    make_custom_field(app, ws_a, "Staff", kind="number", entity="company")
    auth.login(ws_a.email, ws_a.password)
    text = ('Name,Budget\nAnn,"25,000"\nBo,25\u202f000.5\nCy,"-1,234,567.25"\nDi,"1,5"\nEd,1e3\n'
            'Flo,12345678901234567890\nGus,"¥1,234.50"\n')  # fmt: skip
    import_id = import_id_of(upload(client, ws_a, text))
    check(client, app, ws_a, import_id)
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    contacts = contacts_of(app, ws_a)
    assert {name: contact.custom for name, contact in contacts.items()} == {
        "Ann": {"budget": 25000}, "Bo": {"budget": 25000.5}, "Cy": {"budget": -1234567.25}}  # fmt: skip
    page = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert "Write decimals with a point, such as 1.5." in page and "Enter a number." in page
    assert "Enter a number between -999,999,999,999 and 999,999,999,999." in page
    # A currency sign is no decimal comma: it was told to write decimals with a point, which it did.
    invalid = client.get(imports_url(ws_a, f"{import_id}/invalid-rows.csv")).get_data(as_text=True)
    assert 'Gus,"¥1,234.50",Budget: Enter a number.' in invalid

    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(User, ws_a.user_id).locale = "zh_Hans"
        db.session.commit()
    import_id = import_id_of(upload(client, ws_a, 'Name,Staff\nAcme,"1,200"\nGlobex,"3,5"\n', entity="companies"))
    check(client, app, ws_a, import_id)
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    with app.app_context(), workspace_scope(ws_a.id):
        assert dict(db.session.execute(sa.select(Company.name, Company.custom)).all()) == {"Acme": {"staff": 1200}}
    page = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert "小数请用小数点书写，例如 1.5。" in page


def test_mapping_without_a_name_column_is_refused(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, "Name,Email\nAnn,ann@example.com\n"))
    response = check(client, app, ws_a, import_id, column_0="")
    assert response.status_code == 422
    assert "Choose the column that holds the name" in response.get_data(as_text=True)
    assert job_of(app, ws_a, import_id).status == "uploaded"


def test_a_field_chosen_twice_and_update_without_its_key_are_refused(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, "Name,Title,Role\nAnn,Boss,CEO\n"))
    response = check(client, app, ws_a, import_id, column_2="title", mode="update")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Already chosen for the column Title." in page
    assert "To update contacts, import a column as this value." in page


def test_running_before_the_dry_run_is_refused(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, "Name\nAnn\n"))
    response = post(client, imports_url(ws_a, f"{import_id}/run"), {}, follow_redirects=True)
    assert "Check the file before importing it." in response.get_data(as_text=True)
    assert contacts_of(app, ws_a) == {}


NO_ROWS = "This file has no rows below its header row: there is nothing to import."


def _header_only_book() -> bytes:
    from openpyxl import Workbook

    book, buffer = Workbook(), io.BytesIO()
    book.active.append(["Name", "Email"])
    book.save(buffer)
    return buffer.getvalue()


def test_bad_uploads_get_a_clear_message(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    cases = [
        (b"%PDF-1.4", "scan.pdf", "Upload a CSV or XLSX (Excel) file."),
        (b"", "empty.csv", "The file is empty."),
        (b"not a zip", "book.xlsx", "This is not an XLSX file that can be read."),
        ("姓名,邮箱\r\n,\r\n".encode("gb18030"), "header.csv", NO_ROWS),  # its header alone (and a row of blanks)
        (_header_only_book(), "header.xlsx", NO_ROWS),
    ]
    for content, name, message in cases:
        response = post(client, imports_url(ws_a), {"file": (io.BytesIO(content), name)},
                        content_type="multipart/form-data")  # fmt: skip
        assert response.status_code == 422, name
        assert message in response.get_data(as_text=True)
    response = post(client, imports_url(ws_a), {}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose a file to upload." in response.get_data(as_text=True)
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count(Import.id))) == 0


def test_the_file_name_is_kept_without_its_folders_or_control_characters(app, client, auth, ws_a):
    """PostgreSQL refused a NUL in the name (a 500); a BEL reached the page's title and the history."""
    auth.login(ws_a.email, ws_a.password)
    response = upload(
        client, ws_a, "Name,Email\nAnn,ann@example.com\n", filename="/home/ann/cust\x00\x07om\x85ers\u202evsc.csv"
    )
    assert response.status_code == 303
    import_id = import_id_of(response)
    assert job_of(app, ws_a, import_id).filename == "customersvsc.csv"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "customersvsc.csv" in page and "/home/" not in page
    assert_valid_page(page, "an import of a file whose name had control characters")
    for name, message in (("\x07", "Upload a CSV or XLSX (Excel) file."), ("notes.csv\x00.exe", "Upload a CSV")):
        refused = post(client, imports_url(ws_a), {"file": (io.BytesIO(b"Name\nAnn\n"), name)},
                       content_type="multipart/form-data")  # fmt: skip
        assert refused.status_code == 422 and message in refused.get_data(as_text=True), name


def test_too_large_an_upload_is_refused(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    limit = app.config["IMPORT_MAX_BYTES"]
    app.config["IMPORT_MAX_BYTES"] = 1000
    try:
        response = upload(client, ws_a, "Name\n" + "Ann Lee\n" * 200)
    finally:
        app.config["IMPORT_MAX_BYTES"] = limit
    assert response.status_code == 413


def test_cancel_removes_an_import_that_has_not_run(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, "Name\nAnn\n"))
    assert post(client, imports_url(ws_a, f"{import_id}/delete"), {}).status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Import, import_id) is None


def test_importing_needs_the_import_permission(app, client, auth, ws_a):
    sales = make_member(app, ws_a, "sam@alpha.example.com", role="sales")
    auth.login(sales.email, sales.password)
    assert client.get(imports_url(ws_a)).status_code == 403
    assert upload(client, ws_a, "Name\nAnn\n").status_code == 403
    assert "/imports/" not in client.get(f"/w/{ws_a.slug}/contacts/").get_data(as_text=True)


def test_a_role_limited_to_its_own_records_imports_new_contacts_it_owns(app, client, auth, ws_a):
    make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], title="Clerk")
    role = make_role(app, ws_a, "Own importer", permissions=("contacts.read", "contacts.import"), record_scope="own")
    member = make_member(app, ws_a, "olga@alpha.example.com")
    assign_role(app, ws_a, member.membership_id, role)
    auth.login(member.email, member.password)
    import_id = import_id_of(
        upload(client, ws_a, "Name,Email,Title\nAnn Lee,ann@example.com,CEO\nBo,bo@example.com,\n")
    )
    response = check(client, app, ws_a, import_id, mode="update")
    assert response.status_code == 422 and "import new contacts only" in response.get_data(as_text=True)
    check(client, app, ws_a, import_id)
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    contacts = contacts_of(app, ws_a)
    assert contacts["Ann Lee"].title == "Clerk"
    assert contacts["Bo"].owner_id == member.membership_id


def test_a_role_limited_to_its_own_records_sees_and_undoes_only_its_own_imports(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    owners = import_id_of(upload(client, ws_a, "Name,Email\nAlice Good,alice@example.com\nBad,bob@@example\n"))
    check(client, app, ws_a, owners)
    post(client, imports_url(ws_a, f"{owners}/run"), {})
    auth.logout()
    role = make_role(app, ws_a, "Own importer", permissions=("contacts.read", "contacts.import"), record_scope="own")
    member = make_member(app, ws_a, "olga@alpha.example.com")
    assign_role(app, ws_a, member.membership_id, role)
    auth.login(member.email, member.password)
    mine = import_id_of(upload(client, ws_a, "Name,Email\nBo,bo@example.com\n", "mine.csv"))
    listing = client.get(imports_url(ws_a)).get_data(as_text=True)
    assert "mine.csv" in listing and "customers.csv" not in listing
    for path in ("", "/progress", "/invalid-rows.csv"):
        assert client.get(imports_url(ws_a, f"{owners}{path}")).status_code == 404, path
    assert post(client, imports_url(ws_a, f"{owners}/undo"), {}).status_code == 404
    assert client.get(imports_url(ws_a, str(mine))).status_code == 200
    assert contacts_of(app, ws_a)["Alice Good"].deleted_at is None


def test_another_workspace_cannot_see_or_run_an_import(app, client, auth, ws_a, ws_b):
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, "Name,Email\nSecret Person,secret@example.com\n"))
    check(client, app, ws_a, import_id)
    auth.logout()
    auth.login(ws_b.email, ws_b.password)
    for path in ("", "/progress", "/invalid-rows.csv"):
        assert client.get(imports_url(ws_b, f"{import_id}{path}")).status_code == 404
    assert post(client, imports_url(ws_b, f"{import_id}/run"), {}).status_code == 404
    assert "Secret" not in client.get(imports_url(ws_b)).get_data(as_text=True)
    assert contacts_of(app, ws_a) == {}


def test_a_running_imports_progress_updates_its_live_region_in_place(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, "Name,Email\nAnn Lee,ann@example.com\n"))
    with app.app_context(), workspace_scope(ws_a.id):
        job = db.session.get(Import, import_id)
        job.status, job.rows_total, job.rows_done = "importing", 2000, 500
        db.session.commit()
    page = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    panel = page.split('<div id="import-progress" class="panel">')[1]
    assert '<p role="status" id="import-progress-said">500 of 2,000 rows</p>' in panel
    meter = panel.split('<div id="import-progress-meter"')[1].split("</div>")[0]
    assert f'data-hx-get="/w/{ws_a.slug}/imports/{import_id}/progress" data-hx-trigger="every 1s"' in meter
    assert 'role="status"' not in meter  # the polled part holds no live region
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Import, import_id).rows_done = 1500
        db.session.commit()
    polled = client.get(imports_url(ws_a, f"{import_id}/progress"), headers={"HX-Request": "true"})
    body = polled.get_data(as_text=True)
    # The bar is swapped; the status keeps its place and gets its words out of band.
    assert body.lstrip().startswith('<div id="import-progress-meter"') and 'value="75"' in body
    assert '<p id="import-progress-said" data-hx-swap-oob="innerHTML">1,500 of 2,000 rows</p>' in body
    assert 'id="import-progress"' not in body and body.count("<p ") == 1


def test_saved_choices_are_applied_to_the_next_file_with_those_columns(app, client, auth, ws_a, ws_b):
    auth.login(ws_a.email, ws_a.password)
    first = import_id_of(upload(client, ws_a, "Kundenname,Mail,Notiz\nAnn Lee,ann@example.com,hi\n"))
    assert job_of(app, ws_a, first).mapping == ["", "email", ""]  # nothing guessed for the German headers
    mapping = {"column_0": "name", "column_1": "email", "column_2": "about", "save_as": "  Old shop system "}
    check(client, app, ws_a, first, **mapping)
    again = upload(client, ws_a, "Notiz,Kundenname,Mail,Extra\nhello,Bo,bo@example.com,x\n")
    assert job_of(app, ws_a, import_id_of(again)).mapping == ["about", "name", "email", ""]  # by name, any order
    assert "Old shop system" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert "Old shop system" in client.get(imports_url(ws_a)).get_data(as_text=True)
    other = import_id_of(upload(client, ws_a, "Name,Email\nCy,cy@example.com\n"))
    assert job_of(app, ws_a, other).mapping == ["name", "email"]  # a file it does not know is guessed
    auth.logout()
    auth.login(ws_b.email, ws_b.password)  # another workspace has its own saved mappings
    theirs = import_id_of(upload(client, ws_b, "Kundenname,Mail,Notiz\nDe,de@example.com,hi\n"))
    assert job_of(app, ws_b, theirs).mapping == ["", "email", ""]


def test_saved_choices_applied_by_hand_and_deleted(app, client, auth, ws_a):
    from tests.factories import make_saved_mapping

    saved = make_saved_mapping(app, ws_a, "CRM export", {"kundenname": "name", "x": "no_such_field"})
    auth.login(ws_a.email, ws_a.password)
    job = import_id_of(upload(client, ws_a, "Kundenname,Email,Telefon,Stadt\nAnn,ann@example.com,1,Köln\n"))
    assert job_of(app, ws_a, job).mapping == ["", "email", "", ""]  # a quarter known: not applied by itself
    post(client, imports_url(ws_a, f"{job}/mapping"), {"saved": saved})
    assert job_of(app, ws_a, job).mapping == ["name", "email", "", ""]
    assert post(client, imports_url(ws_a, f"{job}/mapping"), {"saved": "nope"}).status_code == 303
    too_long = check(client, app, ws_a, job, save_as="x" * 81)
    assert too_long.status_code == 422 and job_of(app, ws_a, job).status == "uploaded"
    post(client, imports_url(ws_a, f"mappings/{saved}/delete"), {})
    client.get(imports_url(ws_a))  # shows the flash message once
    assert "CRM export" not in client.get(imports_url(ws_a)).get_data(as_text=True)


def test_a_companies_import_takes_an_exports_mask_for_no_value(app, client, auth, ws_a):
    make_custom_field(app, ws_a, "Bank account", entity="company", sensitive=True)
    auth.login(ws_a.email, ws_a.password)
    text = "Name,Bank account\nAcme,••••••\nGlobex,DE89 3704 0044\n"  # an export of a member who saw the mask
    import_id = import_id_of(upload(client, ws_a, text, entity="companies"))
    check(client, app, ws_a, import_id)
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    with app.app_context(), workspace_scope(ws_a.id):
        from crm.custom_fields.service import definitions, display

        field = definitions(db.session.get(Workspace, ws_a.id), "company")[0]
        stored = dict(db.session.execute(sa.select(Company.name, Company.custom)).all())
        assert {name: display(field, custom.get(field.key), reveal=True) for name, custom in stored.items()} == {
            "Acme": "", "Globex": "DE89 3704 0044"}  # fmt: skip


def test_companies_import_adds_new_ones_and_skips_known_names(app, client, auth, ws_a):
    make_company(app, ws_a, "Acme Ltd")
    make_custom_field(app, ws_a, "Tier", kind="select", options=["Gold", "Silver"], entity="company")
    text = ("公司名称,行业,网站,电话,Tier,规模\n"
            "上海贸易,Trade,shanghai-trade.cn,+86 21 6123 4567,gold,11-50\n"
            "ACME LTD,Tools,,,,\n"
            "Bad Web,,not a site,,,\n"
            "Bad Size,,,,,huge\n"
            "上海贸易,Again,,,,\n")  # fmt: skip
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, text, entity="companies"))
    job = job_of(app, ws_a, import_id)
    assert job.mapping == ["name", "industry", "website", "phone", f"cf:{job.mapping[4][3:]}", "size"]
    page = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert 'name="mode"' not in page and "Companies whose name is already in Kehu are skipped." in page
    check(client, app, ws_a, import_id)
    job = job_of(app, ws_a, import_id)
    assert (job.created_count, job.skipped_count, job.invalid_count) == (1, 2, 2)
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    with app.app_context(), workspace_scope(ws_a.id):
        companies = {c.name: c for c in db.session.scalars(sa.select(Company).where(Company.deleted_at.is_(None)))}
        assert set(companies) == {"Acme Ltd", "上海贸易"}
        trade = companies["上海贸易"]
        assert (trade.industry, trade.website, trade.phone, trade.size) == (
            "Trade",
            "shanghai-trade.cn",
            "+862161234567",
            "11-50",
        )
        assert list(trade.custom.values()) == ["Gold"] and trade.owner_id == ws_a.membership_id
    results = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert "Already in Kehu: ACME LTD." in results and "Same name as row 2." in results
    assert "上海贸易" in client.get(f"/w/{ws_a.slug}/companies/", query_string={"q": "贸易"}).get_data(as_text=True)
    post(client, imports_url(ws_a, f"{import_id}/undo"), {})
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count()).where(Company.deleted_at.is_(None))) == 1


def test_purchases_import_finds_customers_and_classifies_them(app, client, auth, ws_a):
    from crm.purchases.models import Purchase

    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], company_id=acme)
    bo = make_contact(app, ws_a, "Bo Chen", emails=["bo@example.com"])
    today = date.today()
    text = ("日期,客户邮箱,产品,数量,单价,金额,公司\n"
            f"{today.isoformat()},ANN@example.com,Tea,2,15.5,,\n"
            f"{today.isoformat()},bo@example.com,Cups,,,30,\n"
            f"{today.isoformat()},,Chairs,1,,900,acme ltd\n"
            f"{today.isoformat()},nobody@example.com,Tea,1,1,,\n"
            "31/31/2020,ann@example.com,Tea,1,1,,\n"
            f"{today.isoformat()},ann@example.com,,1,1,,\n"
            f"{today.isoformat()},ann@example.com,Tea,-1,1,,\n"
            f"{today + timedelta(days=2)},ann@example.com,Tea,1,1,,\n")  # fmt: skip
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, text, entity="purchases"))
    job = job_of(app, ws_a, import_id)
    assert job.mapping == ["purchased_on", "email", "product", "quantity", "unit_price", "amount", "company"]
    check(client, app, ws_a, import_id)
    job = job_of(app, ws_a, import_id)
    assert (job.created_count, job.invalid_count) == (3, 5)
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count(Purchase.id))) == 0  # a dry run saves nothing
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    with app.app_context(), workspace_scope(ws_a.id):
        bought = {p.product: p for p in db.session.scalars(sa.select(Purchase))}
        assert (bought["Tea"].contact_id, bought["Tea"].company_id, bought["Tea"].amount) == (ann, acme, 31)
        assert (bought["Cups"].quantity, bought["Cups"].unit_price) == (1, 30)
        assert (bought["Chairs"].contact_id, bought["Chairs"].company_id) == (None, acme)
        assert db.session.get(Contact, ann).lifetime_value == 31 and db.session.get(Contact, bo).lifetime_value == 30
    problems = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert "No contact has nobody@example.com." in problems and "A product is needed." in problems
    assert f"{today + timedelta(days=2)} is in the future: a purchase cannot be dated after today." in problems
    post(client, imports_url(ws_a, f"{import_id}/undo"), {})
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count(Purchase.id))) == 0
        assert (
            db.session.get(Contact, ann).lifetime_value == 0 and db.session.get(Contact, ann).last_purchase_at is None
        )


def test_a_purchases_mapping_needs_a_date_a_product_an_amount_and_a_customer(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(
        upload(client, ws_a, "When,What,Who\n2025-01-01,Tea,ann@example.com\n", entity="purchases")
    )
    response = check(client, app, ws_a, import_id, column_0="", column_1="product", column_2="")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "the date and the product" in page and "the amount (or the unit price)" in page
    assert "so each purchase finds its customer" in page
    assert job_of(app, ws_a, import_id).status == "uploaded"


def test_a_role_limited_to_its_own_records_adds_purchases_to_its_own_customers_only(app, client, auth, ws_a):
    from crm.purchases.models import Purchase

    role = make_role(app, ws_a, "Own importer", permissions=("contacts.read", "contacts.write", "contacts.import"),
                     record_scope="own")  # fmt: skip
    member = make_member(app, ws_a, "own@alpha.example.com")
    assign_role(app, ws_a, member.membership_id, role)
    mine = make_contact(app, ws_a, "Mine", emails=["mine@example.com"], owner_id=member.membership_id)
    make_contact(app, ws_a, "Not mine", emails=["other@example.com"])
    auth.login(member.email, member.password)
    text = "Date,Email,Product,Amount\n2025-01-02,mine@example.com,Tea,10\n2025-01-02,other@example.com,Tea,5000\n"
    import_id = import_id_of(upload(client, ws_a, text, entity="purchases"))
    check(client, app, ws_a, import_id)
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    with app.app_context(), workspace_scope(ws_a.id):
        assert list(db.session.execute(sa.select(Purchase.contact_id, Purchase.amount)).all()) == [(mine, 10)]
    page = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert "No contact has other@example.com." in page  # as for an address nobody has


def test_a_job_whose_worker_died_is_shown_as_stopped(app, client, auth, ws_a):
    """Without Redis a job runs in a thread of the web process; a restart ends it mid-way."""
    auth.login(ws_a.email, ws_a.password)
    checking = import_id_of(upload(client, ws_a, "Name\nAnn\n"))
    importing = import_id_of(upload(client, ws_a, "Name\nBo\n"))
    with app.app_context(), workspace_scope(ws_a.id):
        for import_id, status in ((checking, "checking"), (importing, "importing")):
            job = db.session.get(Import, import_id)
            job.status = status
            db.session.flush()
            db.session.execute(sa.update(Import).where(Import.id == import_id)
                               .values(updated_at=utcnow() - timedelta(minutes=11)))  # fmt: skip
        db.session.commit()
    page = client.get(imports_url(ws_a, str(checking))).get_data(as_text=True)
    assert "The check stopped before the end." in page and job_of(app, ws_a, checking).status == "uploaded"
    page = client.get(imports_url(ws_a, str(importing))).get_data(as_text=True)
    assert "The import stopped before the end" in page and job_of(app, ws_a, importing).status == "failed"
    assert "Undo this import" in page


def test_the_bulk_inserts_refuse_rows_of_another_workspace(app, ws_a, ws_b):
    """Imports write with Core INSERTs, past the ORM's flush check: they check the rows themselves."""
    import pytest

    from crm.contacts.models import Tag
    from crm.imports.work import insert_rows
    from crm.tenancy import CrossWorkspaceWrite

    with app.app_context(), workspace_scope(ws_a.id), pytest.raises(CrossWorkspaceWrite):
        insert_rows(Tag, [{"workspace_id": ws_a.id, "name": "mine"}, {"workspace_id": ws_b.id, "name": "theirs"}])
    with app.app_context(), workspace_scope(ws_b.id):
        assert db.session.scalar(sa.select(sa.func.count(Tag.id))) == 0


def test_a_reimported_export_keeps_sensitive_values_and_only_those_who_see_them_fill_them(app, client, auth, ws_a):
    from tests.factories import set_custom_value

    id_number = make_custom_field(app, ws_a, "ID number", sensitive=True)
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], birthday=date(1990, 5, 1))
    set_custom_value(app, ws_a, ann, id_number, "110101199001011234")
    text = "Name,Email,ID number,Birthday,Title\nAnn Lee,ann@example.com,••••••,1991-01-01,Director\n"
    # A member without contacts.sensitive: the sensitive columns are not theirs to fill.
    rid = make_role(app, ws_a, "Importer", permissions=["contacts.read", "contacts.write", "contacts.import"])
    member = make_member(app, ws_a, "importer@alpha.example.com")
    assign_role(app, ws_a, member.membership_id, rid)
    auth.login(member.email, member.password)
    import_id = import_id_of(upload(client, ws_a, text))
    assert job_of(app, ws_a, import_id).mapping == ["name", "email", "", "", "title"]
    mapping = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert 'value="birthday"' not in mapping and "ID number</option>" not in mapping
    forced = check(client, app, ws_a, import_id, mode="update", column_2="cf_id_number", column_3="birthday")
    assert forced.status_code == 422 and "Choose one of the fields listed." in forced.get_data(as_text=True)
    check(client, app, ws_a, import_id, mode="update")
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    ann_now = contacts_of(app, ws_a)["Ann Lee"]
    assert (ann_now.title, ann_now.birthday) == ("Director", date(1990, 5, 1))
    # The owner may fill them; an export's mask is never a value.
    auth.logout()
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, text.replace("Director", "Head")))
    check(client, app, ws_a, import_id, mode="update")
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    ann_now = contacts_of(app, ws_a)["Ann Lee"]
    assert (ann_now.title, ann_now.birthday) == ("Head", date(1991, 1, 1))
    with app.app_context(), workspace_scope(ws_a.id):
        from crm.custom_fields.service import definitions, display

        field = next(f for f in definitions(db.session.get(Workspace, ws_a.id), "contact") if f.sensitive)
        assert display(field, ann_now.custom[field.key], reveal=True) == "110101199001011234"


def test_undo_puts_back_only_what_still_holds_the_imports_values(app, client, auth, ws_a):
    from tests.factories import make_purchase, set_custom_value

    territory = make_custom_field(app, ws_a, "Territory")
    grade = make_custom_field(app, ws_a, "Grade")
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], title="Clerk", source="web", tags=["old"])
    auth.login(ws_a.email, ws_a.password)
    text = ("Name,Email,Title,Source,Tags,Territory\n"
            "Ann Lee,ann@example.com,Director,fair,fair,North\n"
            "New Buyer,buyer@example.com,,,,\n")  # fmt: skip
    import_id = import_id_of(upload(client, ws_a, text))
    check(client, app, ws_a, import_id, mode="update")
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    # Since the import: a colleague changes the title, adds a tag and a grade; the new buyer buys.
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Contact, ann).title = "Head buyer"
        db.session.commit()
    set_custom_value(app, ws_a, ann, grade, "Gold")
    with app.app_context(), workspace_scope(ws_a.id):
        from crm.contacts.service import set_tags

        set_tags(db.session.get(Contact, ann), ["old", "fair", "vip"])
        db.session.commit()
    make_purchase(app, ws_a, contacts_of(app, ws_a)["New Buyer"].id, amount=50)
    undone = post(client, imports_url(ws_a, f"{import_id}/undo"), {}, follow_redirects=True).get_data(as_text=True)
    assert "1 contact it added was kept: it has purchases, deals, tickets or activities since." in undone
    contacts = contacts_of(app, ws_a)
    back = contacts["Ann Lee"]
    assert (back.title, back.source) == ("Head buyer", "web")  # the edit since stays; the import's source goes
    assert sorted(tag.name for tag in back.tags) == ["old", "vip"]
    with app.app_context(), workspace_scope(ws_a.id):
        from crm.custom_fields.service import definitions

        keys = {f.label: f.key for f in definitions(db.session.get(Workspace, ws_a.id), "contact")}
    assert keys["Territory"] not in back.custom and back.custom[keys["Grade"]] == "Gold"
    assert "New Buyer" in contacts and territory and grade  # kept: it has a purchase


def test_kehus_own_export_imports_back_with_its_headers_and_owner_names(app, client, auth, ws_a):
    make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], phones=["+16502530000"], region="CA",
                 owner_id=ws_a.membership_id, tags=["fair"])  # fmt: skip
    auth.login(ws_a.email, ws_a.password)
    exported = client.get(f"/w/{ws_a.slug}/contacts/export.csv", query_string={
        "cols": ["email", "phone", "owner"]}).get_data(as_text=True).lstrip("\ufeff")  # fmt: skip
    header = exported.splitlines()[0]
    assert "Email addresses" in header and "Phone numbers" in header and "Owner" in header
    renamed = exported.replace("Ann Lee", "Ann Lee-Wong").replace(",'+1", ",+1")
    import_id = import_id_of(upload(client, ws_a, renamed))
    job = job_of(app, ws_a, import_id)
    assert {"email", "phone", "owner"} <= set(job.mapping)
    check(client, app, ws_a, import_id, mode="update")
    job = job_of(app, ws_a, import_id)
    assert (job.updated_count, job.invalid_count) == (1, 0)  # the owner, "Alice", is a member's name


def test_a_full_width_address_is_read_as_the_one_it_stands_for(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, "Name,Email\nAnn Lee,\uff41\uff4e\uff4e\uff20example.com\n"))
    check(client, app, ws_a, import_id)
    assert job_of(app, ws_a, import_id).invalid_count == 0
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    assert contacts_of(app, ws_a)["Ann Lee"].emails == ["ann@example.com"]


def test_imported_purchase_and_customer_since_dates_run_from_1900_to_today(app, client, auth, ws_a):
    from crm.purchases.models import Purchase

    make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"])
    today = date.today()
    text = ("Date,Email,Product,Quantity,Unit price\n"
            "0001-01-01,ann@example.com,Year one,1,1\n"
            "1899-12-31,ann@example.com,Last century,1,1\n"
            "1900-01-01,ann@example.com,First day,1,1\n"
            f"{today.isoformat()},ann@example.com,Today,1,1\n")  # fmt: skip
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, text, entity="purchases"))
    check(client, app, ws_a, import_id)
    assert job_of(app, ws_a, import_id).invalid_count == 2
    problems = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert "0001-01-01 is before 1900: not a purchase date." in problems
    assert "1899-12-31 is before 1900: not a purchase date." in problems
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    with app.app_context(), workspace_scope(ws_a.id):
        assert set(db.session.scalars(sa.select(Purchase.product))) == {"First day", "Today"}

    text = ("Company name,Customer since\n"
            "Year One Ltd,0001-01-01\n"
            "Old Ltd,1899-12-31\n"
            f"Future Ltd,{today + timedelta(days=1)}\n"
            "First Ltd,1900-01-01\n"
            f"Today Ltd,{today.isoformat()}\n")  # fmt: skip
    import_id = import_id_of(upload(client, ws_a, text, entity="companies"))
    assert job_of(app, ws_a, import_id).mapping == ["name", "customer_since"]
    check(client, app, ws_a, import_id)
    assert job_of(app, ws_a, import_id).invalid_count == 3
    problems = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert "0001-01-01 is before 1900: not a “customer since” date." in problems
    assert "1899-12-31 is before 1900: not a “customer since” date." in problems
    assert f"{today + timedelta(days=1)} is in the future: “customer since” cannot be after today." in problems
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    with app.app_context(), workspace_scope(ws_a.id):
        since = dict(db.session.execute(sa.select(Company.name, Company.customer_since)).all())
    assert since == {"First Ltd": date(1900, 1, 1), "Today Ltd": today}


def test_several_emails_or_phones_in_a_cell_may_be_separated_as_tags_are(app, client, auth, ws_a):
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Workspace, ws_a.id).phone_region = "CN"
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    text = ("姓名,邮箱,手机\n"
            "王小明,a@example.com，b@example.com、c@example.com；d@example.com,138 0013 8000、13900139000\n"
            '李喆,"e@example.com\nf@example.com","13700137000\n13600136000，13500135000；13400134000"\n')  # fmt: skip
    import_id = import_id_of(upload(client, ws_a, text))
    check(client, app, ws_a, import_id)
    assert job_of(app, ws_a, import_id).invalid_count == 0
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    contacts = contacts_of(app, ws_a)
    assert contacts["王小明"].emails == ["a@example.com", "b@example.com", "c@example.com", "d@example.com"]
    assert contacts["王小明"].phones == ["+8613800138000", "+8613900139000"]
    assert contacts["李喆"].emails == ["e@example.com", "f@example.com"]
    assert contacts["李喆"].phones == ["+8613700137000", "+8613600136000", "+8613500135000", "+8613400134000"]


def test_a_bad_company_size_lists_the_sizes_smallest_first(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, "Company name,Size\nAcme Ltd,huge\n", entity="companies"))
    check(client, app, ws_a, import_id)
    page = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert "Write one of: 1-10, 11-50, 51-200, 201-1000, 1000+." in page


def test_dates_as_excel_numbers_or_run_together_are_read(app, client, auth, ws_a):
    """A date column formatted as a number in Excel comes as its serial number (32874 is 1990-01-01),
    and many Chinese systems export 19900101: both were bad rows ("not a date")."""
    auth.login(ws_a.email, ws_a.password)
    text = "姓名,邮箱,生日\n王小明,w@example.com,32874\nAnn Lee,ann@example.com,19851224\nBo Chen,bo@example.com,1990\n"
    import_id = import_id_of(upload(client, ws_a, text))
    check(client, app, ws_a, import_id)
    page = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert "1990 is not a date; write it as 2025-03-31." in page
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    contacts = contacts_of(app, ws_a)
    assert (contacts["王小明"].birthday, contacts["Ann Lee"].birthday) == (date(1990, 1, 1), date(1985, 12, 24))
    assert "Bo Chen" not in contacts


def test_a_long_heading_with_a_bad_value_below_it_is_a_bad_row(app, client, auth, ws_a):
    """Templates explain a column in its heading: PostgreSQL refused a problem's column longer than 200
    characters, and the check stopped unexpectedly (on SQLite, which keeps any length, it passed)."""
    auth.login(ws_a.email, ws_a.password)
    heading = "邮箱（必填：" + "请填写客户常用的电子邮箱地址，" * 20 + "）"
    import_id = import_id_of(upload(client, ws_a, f'姓名,"{heading}"\n王小明,not-an-email\n李雷,li@example.com\n'))
    check(client, app, ws_a, import_id)
    job = job_of(app, ws_a, import_id)
    assert (job.status, job.created_count, job.invalid_count) == ("checked", 1, 1)
    page = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert "not-an-email is not a valid email address." in page


def test_cells_written_as_excel_text_formulas_are_read_as_excel_shows_them(app, client, auth, ws_a):
    """Online shops and ERPs export IDs, phones and postal codes as ="0012345" so that Excel keeps their
    leading zeros; the import kept the formula: an ID of ="0012345" that no later file matched."""
    auth.login(ws_a.email, ws_a.password)
    text = 'Name,Phone,ID,Postal code,City\nAnn Lee,="+44 20 7946 0958",="0012345",="01234","=""Big"" Town"\n'
    import_id = import_id_of(upload(client, ws_a, text))
    check(client, app, ws_a, import_id)
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    ann = contacts_of(app, ws_a)["Ann Lee"]
    assert (ann.phones, ann.external_id, ann.postal_code) == (["+442079460958"], "0012345", "01234")
    assert ann.city == '="Big" Town'  # not a text formula as a whole: kept as it was


def test_the_invalid_rows_of_a_file_with_a_chinese_name_download_under_that_name(app, client, auth, ws_a):
    """The download was named in its header as the upload was, in characters a header cannot hold
    (Latin-1 only): gunicorn failed the response."""
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, "Name,Email\nAnn,not-an-email\n", "客户名单 “2026”.csv"))
    check(client, app, ws_a, import_id)
    response = client.get(imports_url(ws_a, f"{import_id}/invalid-rows.csv"))
    disposition = response.headers["Content-Disposition"]
    disposition.encode("latin-1")  # what a WSGI server sends
    assert disposition == ('attachment; filename="____ _2026_-invalid-rows.csv"; filename*=UTF-8\'\'%E5%AE%A2%E6%88%B7'
                           "%E5%90%8D%E5%8D%95%20%E2%80%9C2026%E2%80%9D-invalid-rows.csv")  # fmt: skip
    assert "not-an-email" in response.get_data(as_text=True)


def test_a_sheet_saved_as_csv_with_its_title_above_the_header_is_read_from_the_header(app, client, auth, ws_a):
    """A title merged across the top of a sheet (read below it in an XLSX file) comes to a CSV file as a
    row of one cell and commas: it was taken for the header, and the real header for the first row."""
    auth.login(ws_a.email, ws_a.password)
    text = "客户名单 2026,,\n,,\n姓名,邮箱,手机\n王小明,w@example.com,\n李雷,li@example.com,\n"
    import_id = import_id_of(upload(client, ws_a, text, encoding="gb18030"))
    job = job_of(app, ws_a, import_id)
    assert (job.headers, job.mapping) == (["姓名", "邮箱", "手机"], ["name", "email", "phone"])
    check(client, app, ws_a, import_id)
    assert (job_of(app, ws_a, import_id).created_count, job_of(app, ws_a, import_id).invalid_count) == (2, 0)
    # A heading of one cell stays the header: a field's, or that of a file of one column.
    for kept in ("Name,,\nAnn Lee,ann@example.com,\n", "Notes\nCall back\n", "微信\nwx123\nwx456\n"):
        job = job_of(app, ws_a, import_id_of(upload(client, ws_a, kept)))
        assert job.headers[0] == kept.split(",")[0].split("\n")[0]
