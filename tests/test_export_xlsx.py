"""Contacts export as XLSX (and the columns both exports share): read back with openpyxl, the
list's filters and chosen columns, Chinese text, formula cells neutralised, sensitive values
masked, permission, audit, another workspace's list, and the temporary file gone afterwards."""

import csv
import io
import re
import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import openpyxl
import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.contacts import company_export, export
from crm.contacts.models import Company, Contact
from crm.extensions import db
from crm.imports.fields import guess
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import (
    assign_role,
    make_company,
    make_contact,
    make_custom_field,
    make_member,
    make_purchase,
    make_role,
    make_saved_mapping,
    set_custom_value,
)
from tests.test_imports import check, import_id_of, job_of, upload

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def url(ws, rest: str = "export.xlsx") -> str:
    return f"/w/{ws.slug}/contacts/{rest}"


def sheet_rows(response) -> list[list]:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == XLSX
    workbook = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True)
    rows = [["" if value is None else value for value in row] for row in workbook.active.iter_rows(values_only=True)]
    width = len(rows[0])  # empty cells at the end of a row are not stored
    return [row + [""] * (width - len(row)) for row in rows]


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).removeprefix("\ufeff"))))


def test_xlsx_has_the_filtered_list_in_chinese_with_formulas_neutralised(app, client, auth, ws_a, monkeypatch,
                                                                          tmp_path):  # fmt: skip
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # to see that the file is deleted
    acme = make_company(app, ws_a, "上海贸易有限公司")
    make_contact(app, ws_a, '=HYPERLINK("http://evil.example","click")', tags=["fair"], emails=["x@example.com"])
    # A control character XML cannot hold, then a formula: the writer drops the character, not the guard.
    make_contact(app, ws_a, '\x01=HYPERLINK("http://evil.example","again")', tags=["fair"])
    make_contact(app, ws_a, " @SUM(1+1)", tags=["fair"])  # behind a space
    wang = make_contact(app, ws_a, "王小明", tags=["fair", "vip list"], company_id=acme, owner_id=ws_a.membership_id,
                        phones=["+8613800138000"], city="北京")  # fmt: skip
    make_purchase(app, ws_a, wang, "茶叶", amount=1234.5)
    make_contact(app, ws_a, "Not at the fair")
    auth.login(ws_a.email, ws_a.password)

    response = client.get(url(ws_a), query_string={"tag": "fair"})
    rows = sheet_rows(response)
    assert response.headers["Content-Disposition"] == f'attachment; filename="contacts-{ws_a.slug}.xlsx"'
    assert int(response.headers["Content-Length"]) == len(response.get_data())
    header, body = rows[0], {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert header[0] == "Name" and {"Tags", "Phone numbers", "City", "Company", "Owner"} <= set(header)
    assert set(body) == {
        '\'=HYPERLINK("http://evil.example","click")',
        '\'=HYPERLINK("http://evil.example","again")',
        "' @SUM(1+1)",
        "王小明",
    }  # text, not formulas
    wang_row = body["王小明"]
    assert wang_row["Company"] == "上海贸易有限公司" and wang_row["City"] == "北京"
    assert wang_row["Tags"] == "fair, vip list" and wang_row["Owner"] == "Alice"
    assert wang_row["Phone numbers"] == "+8613800138000"  # a text cell: nothing in it to run, so no apostrophe
    assert wang_row["Lifetime value"] == Decimal("1234.5")  # a number, not text
    assert list(tmp_path.glob("kehu-export-*")) == []

    with app.app_context(), workspace_scope(ws_a.id):
        entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "contact.exported")).one()
        assert entry.changes == {"filters": [None, {"tag": ["fair"]}], "format": [None, "xlsx"]}
    assert "Exported contacts" in client.get(f"/w/{ws_a.slug}/settings/audit/").get_data(as_text=True)


def test_both_exports_follow_the_chosen_columns(app, client, auth, ws_a):
    segment = make_custom_field(app, ws_a, "Segment")
    make_custom_field(app, ws_a, "Not chosen")
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com", "ann@home.example"], source="Fair",
                       phones=["+16502530000"])  # fmt: skip
    set_custom_value(app, ws_a, ann, segment, "Retail")
    auth.login(ws_a.email, ws_a.password)
    chosen = {"cols": ["email", "phone", "source", "cf_segment"]}
    expected = [["Name", "Email addresses", "Phone numbers", "Source", "Segment"],
                ["Ann Lee", "ann@example.com; ann@home.example", "'+16502530000", "Fair", "Retail"]]  # fmt: skip
    assert csv_rows(client.get(url(ws_a, "export.csv"), query_string=chosen)) == expected
    expected[1][2] = "+16502530000"  # the same, but for the phone's text cell: no apostrophe needed there
    assert sheet_rows(client.get(url(ws_a), query_string=chosen)) == expected
    page = client.get(url(ws_a, ""), query_string=chosen).get_data(as_text=True)
    assert "export.xlsx?cols=email&amp;cols=phone&amp;cols=source&amp;cols=cf_segment" in page


def test_sensitive_values_are_left_out_or_masked_without_the_permission(app, client, auth, ws_a):
    secret = make_custom_field(app, ws_a, "ID number", sensitive=True)
    ann = make_contact(app, ws_a, "Ann", phones=["+16502530000"], street="1 Main St")
    set_custom_value(app, ws_a, ann, secret, "110101199001011234")
    exporter = make_member(app, ws_a, "exporter@alpha.example.com", role="sales")
    assign_role(app, ws_a, exporter.membership_id,
                make_role(app, ws_a, "Exporter", permissions=["contacts.read", "contacts.export"]))  # fmt: skip
    auth.login(exporter.email, exporter.password)
    rows = sheet_rows(client.get(url(ws_a)))
    assert "Phone numbers" not in rows[0] and "Street" not in rows[0]
    assert dict(zip(rows[0], rows[1], strict=True))["ID number"] == "••••••"
    assert "+16502530000" not in str(rows) and "110101199001011234" not in str(rows)
    phone_chosen = sheet_rows(client.get(url(ws_a), query_string={"cols": ["phone", "cf_id_number"]}))
    assert phone_chosen == [["Name", "ID number"], ["Ann", "••••••"]]
    auth.logout()
    auth.login(ws_a.email, ws_a.password)  # the owner sees everything
    rows = sheet_rows(client.get(url(ws_a)))
    assert dict(zip(rows[0], rows[1], strict=True))["ID number"] == "110101199001011234"


def test_xlsx_needs_contacts_export_and_another_workspace_gets_404(app, client, auth, ws_a, ws_b):
    make_contact(app, ws_a, "Alpha customer")
    make_contact(app, ws_b, "Beta customer")
    sales = make_member(app, ws_a, "sales@alpha.example.com", role="sales")  # no contacts.export
    auth.login(sales.email, sales.password)
    assert client.get(url(ws_a)).status_code == 403
    assert "Export XLSX" not in client.get(url(ws_a, "")).get_data(as_text=True)
    refused = post(client, url(ws_a, "bulk"), {"scope": "all", "action": "export_xlsx"})
    assert refused.status_code == 403
    auth.logout()
    auth.login(ws_b.email, ws_b.password)
    assert client.get(url(ws_a)).status_code == 404
    rows = sheet_rows(client.get(url(ws_b)))
    assert [row[0] for row in rows[1:]] == ["Beta customer"]


def test_ticked_rows_as_xlsx_from_the_bulk_bar(app, client, auth, ws_a):
    ann, _bob, cy = (make_contact(app, ws_a, name) for name in ("Ann", "Bob", "Cy"))
    auth.login(ws_a.email, ws_a.password)
    page = client.get(url(ws_a, "")).get_data(as_text=True)
    assert '<option value="export_xlsx">Export XLSX</option>' in page
    response = post(client, url(ws_a, "bulk"), {"scope": "selected", "ids": [str(ann), str(cy)],
                                                 "action": "export_xlsx"})  # fmt: skip
    assert sorted(row[0] for row in sheet_rows(response)[1:]) == ["Ann", "Cy"]


def test_rows_are_read_in_batches_and_odd_text_still_makes_a_valid_file(app, client, auth, ws_a, monkeypatch):
    monkeypatch.setattr(export, "BATCH", 2)
    for number in range(5):
        make_contact(app, ws_a, f"Person {number}", title="-5 is not a formula", source="@twitter")
    make_contact(app, ws_a, "Bell\x07 and tab\tinside", title="+1+1")
    auth.login(ws_a.email, ws_a.password)
    rows = sheet_rows(client.get(url(ws_a)))
    names = [row[0] for row in rows[1:]]
    assert names == ["Bell and tab\tinside", *(f"Person {number}" for number in range(4, -1, -1))]  # newest first
    header = rows[0]
    assert {row[header.index("Job title")] for row in rows[1:]} == {"'-5 is not a formula", "'+1+1"}
    assert rows[2][header.index("Source")] == "'@twitter"


def test_the_export_links_follow_the_filters_changed_in_place(app, client, auth, ws_a):
    make_contact(app, ws_a, "Ann", tags=["fair"])
    auth.login(ws_a.email, ws_a.password)
    page = client.get(url(ws_a, "")).get_data(as_text=True)
    assert f'href="/w/{ws_a.slug}/contacts/export.xlsx" data-hx-boost="false" download>' in page
    results = {"HX-Request": "true", "HX-Target": "contact-results"}
    fragment = client.get(url(ws_a, ""), query_string={"tag": "fair"}, headers=results).get_data(as_text=True)
    assert '<span id="export-links" class="export-links" data-hx-swap-oob="true">' in fragment
    assert f"/w/{ws_a.slug}/contacts/export.xlsx?tag=fair" in fragment
    assert f"/w/{ws_a.slug}/contacts/export.csv?tag=fair" in fragment


def test_companies_export_as_csv_and_xlsx_with_the_list_filters(app, client, auth, ws_a, ws_b):
    field = make_custom_field(app, ws_a, "Tax number", entity="company", sensitive=True)
    trade = make_company(app, ws_a, "上海贸易", industry="Trade", website="trade.cn", owner_id=ws_a.membership_id)
    make_company(app, ws_a, '=HYPERLINK("http://evil")', website="evil-trade.com")
    make_company(app, ws_a, "Acme Ltd", industry="Tools")
    make_company(app, ws_b, "Beta Foods Trade")
    set_custom_value(app, ws_a, trade, field, "91310000X")
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/companies/", query_string={"q": "trade"}).get_data(as_text=True)
    assert "/companies/export.xlsx?q=trade" in page
    rows = sheet_rows(client.get(f"/w/{ws_a.slug}/companies/export.xlsx", query_string={"owner": "me"}))
    assert rows[0][:3] == ["Company name", "Industry", "Size (staff)"] and rows[0][-1] == "Tax number"
    assert [row[0] for row in rows[1:]] == ["上海贸易"]
    assert rows[1][-1] == "91310000X"  # the owner may see sensitive values
    lines = csv_rows(client.get(f"/w/{ws_a.slug}/companies/export.csv", query_string={"q": "trade"}))
    assert sorted(line[0] for line in lines[1:]) == ['\'=HYPERLINK("http://evil")', "上海贸易"]
    with app.app_context(), workspace_scope(ws_a.id):
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "company.exported")
                                  .order_by(AuditEntry.id.desc()))  # fmt: skip
        assert entry.changes["filters"] == [None, {"q": "trade"}]  # what narrowed the file
    viewer = make_member(app, ws_a, "viewer@alpha.example.com", role="viewer")
    auth.logout()
    auth.login(viewer.email, viewer.password)
    assert client.get(f"/w/{ws_a.slug}/companies/export.csv").status_code == 403
    role = make_role(app, ws_a, "Exporter", permissions=("contacts.read", "contacts.export"))
    exporter = make_member(app, ws_a, "exporter@alpha.example.com")
    assign_role(app, ws_a, exporter.membership_id, role)
    auth.logout()
    auth.login(exporter.email, exporter.password)
    rows = sheet_rows(client.get(f"/w/{ws_a.slug}/companies/export.xlsx", query_string={"q": "上海"}))
    assert rows[1][0] == "上海贸易" and rows[1][-1] != "91310000X"  # masked without contacts.sensitive


def test_exported_days_and_times_are_the_workspaces_as_the_list_shows_them(app, client, auth, ws_a):
    from datetime import UTC, datetime

    from crm.contacts.models import Company, Contact
    from crm.workspaces.models import Workspace

    late_evening = datetime(2026, 12, 6, 20, 30, tzinfo=UTC)  # 04:30 on 7 December in Shanghai
    ann = make_contact(app, ws_a, "Ann Lee")
    acme = make_company(app, ws_a, "Acme Ltd")
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Workspace, ws_a.id).timezone = "Asia/Shanghai"
        contact = db.session.get(Contact, ann)
        contact.created_at = contact.last_activity_at = late_evening
        db.session.get(Company, acme).created_at = late_evening
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    row = dict(zip(*csv_rows(client.get(url(ws_a, "export.csv")))[:2], strict=True))
    assert (row["Added"], row["Last activity"]) == ("2026-12-07", "2026-12-07T04:30+08:00")
    row = dict(zip(*sheet_rows(client.get(url(ws_a)))[:2], strict=True))
    assert (row["Added"], row["Last activity"]) == (datetime(2026, 12, 7), datetime(2026, 12, 7, 4, 30))  # Shanghai's
    companies = csv_rows(client.get(f"/w/{ws_a.slug}/companies/export.csv"))
    assert dict(zip(companies[0], companies[1], strict=True))["Added"] == "2026-12-07"
    companies = sheet_rows(client.get(f"/w/{ws_a.slug}/companies/export.xlsx"))
    assert dict(zip(companies[0], companies[1], strict=True))["Added"] == datetime(2026, 12, 7)


def test_the_companies_export_follows_the_lists_sort_a_batch_at_a_time(app, client, auth, ws_a, monkeypatch):

    monkeypatch.setattr(company_export, "BATCH", 2)  # several keyset pages
    names = ["Delta Tea", "alpha Tea", "Charlie Tea", "Bravo Tea", "Echo Tea"]  # in the order they were added
    made = [make_company(app, ws_a, name) for name in names]
    with app.app_context(), workspace_scope(ws_a.id):
        start = datetime(2026, 1, 1, tzinfo=UTC)
        for number, company_id in enumerate(made):  # added a day apart, but ids and days in another order
            db.session.get(Company, company_id).created_at = start + timedelta(days=(number * 3) % 5)
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    by_added = [name for _day, name in sorted(((number * 3) % 5, name) for number, name in enumerate(names))]
    expected = {
        "": by_added[::-1],  # newest first, the list's default
        "oldest": by_added,
        "name": ["alpha Tea", "Bravo Tea", "Charlie Tea", "Delta Tea", "Echo Tea"],  # as people read names
    }
    for sort, order in expected.items():
        listed = client.get(f"/w/{ws_a.slug}/companies/", query_string={"sort": sort}).get_data(as_text=True)
        shown = [name for name in re.findall(r'<a href="/w/[^"]+/companies/\d+">([^<]+)</a>', listed) if "Tea" in name]
        assert shown == order, sort  # what the list shows...
        for file_format, read in (("csv", csv_rows), ("xlsx", sheet_rows)):
            response = client.get(f"/w/{ws_a.slug}/companies/export.{file_format}", query_string={"sort": sort})
            assert [row[0] for row in read(response)[1:]] == order, (sort, file_format)  # ...the file has
        searched = csv_rows(client.get(f"/w/{ws_a.slug}/companies/export.csv", query_string={"sort": sort, "q": "tea"}))
        assert [row[0] for row in searched[1:]] == order, sort  # searched (the FTS order hint on SQLite) too
    ticks = {"action": "export", "sort": "name", "scope": "selected", "ids": [str(made[i]) for i in (0, 3, 4)]}
    ticked = post(client, f"/w/{ws_a.slug}/companies/bulk", ticks)
    assert [row[0] for row in csv_rows(ticked)[1:]] == ["Bravo Tea", "Delta Tea", "Echo Tea"]


def test_the_companies_export_has_the_country_code_and_its_name_and_imports_back(app, client, auth, ws_a, ws_b):
    make_company(app, ws_a, "上海贸易", country="CN", city="上海")
    make_company(app, ws_a, "Acme Ltd", country="US")
    make_company(app, ws_a, "Nowhere Ltd")
    auth.login(ws_a.email, ws_a.password)
    for response in (client.get(f"/w/{ws_a.slug}/companies/export.csv", query_string={"sort": "name"}),
                     client.get(f"/w/{ws_a.slug}/companies/export.xlsx", query_string={"sort": "name"})):  # fmt: skip
        rows = csv_rows(response) if response.mimetype == "text/csv" else sheet_rows(response)
        header = rows[0]
        assert header[header.index("Postal code") + 1 : header.index("Notes")] == ["Country code", "Country"]
        cells = {row[0]: (row[header.index("Country code")], row[header.index("Country")]) for row in rows[1:]}
        assert cells == {"Acme Ltd": ("US", "United States"), "Nowhere Ltd": ("", ""), "上海贸易": ("CN", "China")}
    chinese = sheet_rows(
        client.get(f"/w/{ws_a.slug}/companies/export.xlsx", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    )
    named = {row[0]: row[chinese[0].index("国家或地区")] for row in chinese[1:]}
    assert named["上海贸易"] == "中国" and named["Acme Ltd"] == "美国"  # the list's names, in the member's language
    exported = client.get(f"/w/{ws_a.slug}/companies/export.csv").get_data(as_text=True)
    auth.logout()

    auth.login(ws_b.email, ws_b.password)
    import_id = import_id_of(upload(client, ws_b, exported.removeprefix("\ufeff"), entity="companies"))
    job = job_of(app, ws_b, import_id)
    header = next(csv.reader([exported.removeprefix("\ufeff").splitlines()[0]]))
    assert job.mapping[header.index("Country code")] == "country" and job.mapping[header.index("Country")] == ""
    check(client, app, ws_b, import_id)
    assert job_of(app, ws_b, import_id).invalid_count == 0
    post(client, f"/w/{ws_b.slug}/imports/{import_id}/run", {})

    with app.app_context(), workspace_scope(ws_b.id):
        countries = dict(db.session.execute(sa.select(Company.name, Company.country)).all())
    assert countries == {"上海贸易": "CN", "Acme Ltd": "US", "Nowhere Ltd": None}

    with app.app_context():  # the Chinese headers (国家或地区代码 once translated) come back the same way
        assert guess(["公司名称", "国家或地区代码", "国家或地区"], [], "companies") == ["name", "country", ""]


def test_the_contacts_export_has_the_country_code_and_its_name_and_imports_back(app, client, auth, ws_a, ws_b):
    make_contact(app, ws_a, "王小明", emails=["wang@example.cn"], country="CN", city="北京")
    make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], country="US")
    make_contact(app, ws_a, "Bo Nowhere", emails=["bo@example.com"])
    auth.login(ws_a.email, ws_a.password)
    for response in (client.get(url(ws_a, "export.csv"), query_string={"sort": "name"}),
                     client.get(url(ws_a), query_string={"sort": "name"})):  # fmt: skip
        rows = csv_rows(response) if response.mimetype == "text/csv" else sheet_rows(response)
        header = rows[0]
        assert header[header.index("Postal code") + 1 : header.index("Postal code") + 3] == ["Country code", "Country"]
        cells = {row[0]: (row[header.index("Country code")], row[header.index("Country")]) for row in rows[1:]}
        assert cells == {"Ann Lee": ("US", "United States"), "Bo Nowhere": ("", ""), "王小明": ("CN", "China")}
    chinese = sheet_rows(client.get(url(ws_a), headers={"Accept-Language": "zh-CN,zh;q=0.9"}))
    code, name = chinese[0].index("国家或地区代码"), chinese[0].index("国家或地区")
    named = {row[0]: (row[code], row[name]) for row in chinese[1:]}
    assert named["王小明"] == ("CN", "中国") and named["Ann Lee"] == ("US", "美国")  # in the member's language
    exported = client.get(url(ws_a, "export.csv")).get_data(as_text=True).removeprefix("\ufeff")
    auth.logout()

    auth.login(ws_b.email, ws_b.password)
    import_id = import_id_of(upload(client, ws_b, exported))
    header = next(csv.reader([exported.splitlines()[0]]))
    mapping = job_of(app, ws_b, import_id).mapping
    assert mapping[header.index("Country code")] == "country" and mapping[header.index("Country")] == ""
    assert check(client, app, ws_b, import_id).status_code == 303  # no mapping error
    assert job_of(app, ws_b, import_id).invalid_count == 0
    post(client, f"/w/{ws_b.slug}/imports/{import_id}/run", {})
    with app.app_context(), workspace_scope(ws_b.id):
        countries = dict(db.session.execute(sa.select(Contact.name, Contact.country)).all())
    assert countries == {"王小明": "CN", "Ann Lee": "US", "Bo Nowhere": None}

    with app.app_context():  # the Chinese headers come back the same way
        assert guess(["姓名", "国家或地区代码", "国家或地区"], [], "contacts") == ["name", "country", ""]


def test_choices_saved_from_an_export_before_the_country_code_still_check(app, client, auth, ws_a):
    make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], country="US")
    # Saved from an export whose "Country" column held the code.
    make_saved_mapping(app, ws_a, "Kehu export", {"name": "name", "email addresses": "email", "country": "country"})
    auth.login(ws_a.email, ws_a.password)
    exported = client.get(url(ws_a, "export.csv"), query_string={"cols": ["email"]}).get_data(as_text=True)
    text = exported.removeprefix("\ufeff").replace("Email addresses\r\n", "Email addresses,Country code,Country\r\n")
    text = text.replace("ann@example.com\r\n", "ann@example.com,US,United States\r\n")
    import_id = import_id_of(upload(client, ws_a, text))
    assert job_of(app, ws_a, import_id).mapping == ["name", "email", "country", ""]  # the code, not the name
    checked = check(client, app, ws_a, import_id, mode="update")
    assert checked.status_code == 303, checked.get_data(as_text=True)
    assert job_of(app, ws_a, import_id).invalid_count == 0


def test_custom_numbers_and_dates_are_numbers_and_dates_in_xlsx_and_plain_in_csv(app, client, auth, ws_a):
    from datetime import date

    from crm.auth.models import User

    budget = make_custom_field(app, ws_a, "Budget", kind="number")
    since = make_custom_field(app, ws_a, "Member since", kind="date")
    secret = make_custom_field(app, ws_a, "Signed on", kind="date", sensitive=True)
    staff = make_custom_field(app, ws_a, "Staff", kind="number", entity="company")
    founded = make_custom_field(app, ws_a, "Founded", kind="date", entity="company")
    ann, bo = make_contact(app, ws_a, "Ann Lee"), make_contact(app, ws_a, "Bo Chen")
    for contact, (amount, day) in ((ann, ("25000.50", date(2026, 3, 1))), (bo, ("-5", None))):
        set_custom_value(app, ws_a, contact, budget, Decimal(amount))
        set_custom_value(app, ws_a, contact, since, day)
    set_custom_value(app, ws_a, ann, secret, date(2025, 12, 24))
    acme = make_company(app, ws_a, "Acme")
    set_custom_value(app, ws_a, acme, staff, Decimal("0.0000001"))
    set_custom_value(app, ws_a, acme, founded, date(1999, 5, 3))
    chosen = {"cols": ["cf_budget", "cf_member_since", "cf_signed_on"], "sort": "name"}
    companies = f"/w/{ws_a.slug}/companies/export"

    def exports() -> tuple[list, list, list, list]:
        return (sheet_rows(client.get(url(ws_a), query_string=chosen)),
                csv_rows(client.get(url(ws_a, "export.csv"), query_string=chosen)),
                sheet_rows(client.get(f"{companies}.xlsx"))[1][-2:],
                csv_rows(client.get(f"{companies}.csv"))[1][-2:])  # fmt: skip

    auth.login(ws_a.email, ws_a.password)
    sheet, lines, company_sheet, company_line = exports()
    assert sheet == [["Name", "Budget", "Member since", "Signed on"],
                     ["Ann Lee", 25000.5, datetime(2026, 3, 1), datetime(2025, 12, 24)],
                     ["Bo Chen", -5, "", ""]]  # fmt: skip
    assert lines[1:] == [["Ann Lee", "25000.5", "2026-03-01", "2025-12-24"], ["Bo Chen", "-5", "", ""]]
    assert company_sheet == [1e-07, datetime(1999, 5, 3)] and company_line == ["0.0000001", "1999-05-03"]
    workbook = openpyxl.load_workbook(io.BytesIO(client.get(url(ws_a), query_string=chosen).get_data()))
    assert workbook.active["C2"].number_format == "yyyy-mm-dd" and workbook.active["B2"].data_type == "n"

    with app.app_context(), workspace_scope(ws_a.id):  # the list shows 2026年3月1日; the files stay machine-readable
        db.session.get(User, ws_a.user_id).locale = "zh_Hans"
        db.session.commit()
    chinese_sheet, chinese_lines, chinese_company_sheet, chinese_company_line = exports()
    assert chinese_sheet[0][0] == "姓名" and chinese_sheet[1:] == sheet[1:] and chinese_lines[1:] == lines[1:]
    assert (chinese_company_sheet, chinese_company_line) == (company_sheet, company_line)

    exporter = make_member(app, ws_a, "exporter@alpha.example.com", role="sales")
    assign_role(app, ws_a, exporter.membership_id,
                make_role(app, ws_a, "Exporter", permissions=["contacts.read", "contacts.export"]))  # fmt: skip
    auth.logout()
    auth.login(exporter.email, exporter.password)
    masked = sheet_rows(client.get(url(ws_a), query_string={**chosen, "cols": ["cf_signed_on"]}))
    assert masked[1:] == [["Ann Lee", "••••••"], ["Bo Chen", ""]]
    masked = csv_rows(client.get(url(ws_a, "export.csv"), query_string={**chosen, "cols": ["cf_signed_on"]}))
    assert masked[1:] == [["Ann Lee", "••••••"], ["Bo Chen", ""]]


def test_built_in_days_and_times_are_date_cells_in_xlsx_and_iso_text_in_csv(app, client, auth, ws_a, ws_b):
    """Birthday, customer since, last purchase, added and last activity, as the custom dates are: a
    spreadsheet sorts and filters them as dates. The CSV file keeps its text."""
    from datetime import date

    stamp = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)
    acme = make_company(app, ws_a, "Acme Ltd", customer_since=date(2020, 1, 15))
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], birthday=date(1990, 5, 1), company_id=acme)
    make_contact(app, ws_a, "Bo Chen", emails=["bo@example.com"])  # no dates: empty cells
    make_purchase(app, ws_a, ann, "Tea", on=date(2026, 2, 20))
    with app.app_context(), workspace_scope(ws_a.id):
        contact = db.session.get(Contact, ann)
        contact.created_at = contact.last_activity_at = stamp
        db.session.get(Company, acme).created_at = stamp
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)

    def cells(response, name: str) -> dict:
        assert response.status_code == 200 and response.mimetype == XLSX
        sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
        header = [cell.value for cell in sheet[1]]
        row = next(row for row in sheet.iter_rows(min_row=2) if row[0].value == name)
        return dict(zip(header, row, strict=False))

    def shown(cell) -> tuple:
        return cell.value, cell.is_date, cell.number_format

    days = {"Birthday": datetime(1990, 5, 1), "Last purchase": datetime(2026, 2, 20), "Added": datetime(2026, 3, 2)}
    row = cells(client.get(url(ws_a), query_string={"sort": "name"}), "Ann Lee")
    for column, value in days.items():
        assert shown(row[column]) == (value, True, "yyyy-mm-dd"), column
    # On the workspace's clock (UTC here), to the minute.
    assert shown(row["Last activity"]) == (datetime(2026, 3, 2, 9, 5), True, "yyyy-mm-dd hh:mm")
    empty = cells(client.get(url(ws_a)), "Bo Chen")
    assert [empty[column].value for column in ("Birthday", "Last purchase", "Last activity")] == [None] * 3
    company = cells(client.get(f"/w/{ws_a.slug}/companies/export.xlsx"), "Acme Ltd")
    assert shown(company["Customer since"]) == (datetime(2020, 1, 15), True, "yyyy-mm-dd")
    assert shown(company["Added"]) == (datetime(2026, 3, 2), True, "yyyy-mm-dd")

    contact_lines = csv_rows(client.get(url(ws_a, "export.csv"), query_string={"sort": "name"}))
    line = dict(zip(contact_lines[0], contact_lines[1], strict=True))
    assert [line[column] for column in (*days, "Last activity")] == [
        "1990-05-01", "2026-02-20", "2026-03-02", "2026-03-02T09:05+00:00"
    ]  # fmt: skip
    lines = csv_rows(client.get(f"/w/{ws_a.slug}/companies/export.csv"))
    line = dict(zip(lines[0], lines[1], strict=True))
    assert (line["Customer since"], line["Added"]) == ("2020-01-15", "2026-03-02")

    exported = client.get(url(ws_a)).get_data()  # the XLSX file imports back, its birthdays as they were
    auth.logout()
    auth.login(ws_b.email, ws_b.password)
    data = {"file": (io.BytesIO(exported), "contacts.xlsx"), "entity": "contacts"}
    import_id = import_id_of(post(client, f"/w/{ws_b.slug}/imports/", data, content_type="multipart/form-data"))
    assert job_of(app, ws_b, import_id).mapping[contact_lines[0].index("Birthday")] == "birthday"
    check(client, app, ws_b, import_id)
    assert job_of(app, ws_b, import_id).invalid_count == 0
    post(client, f"/w/{ws_b.slug}/imports/{import_id}/run", {})
    with app.app_context(), workspace_scope(ws_b.id):
        assert db.session.scalar(sa.select(Contact.birthday).where(Contact.name == "Ann Lee")) == date(1990, 5, 1)


def test_a_chinese_companies_export_imports_back_with_the_day_each_became_a_customer(app, client, auth, ws_a, ws_b):
    """“成为客户日期”, the Chinese heading of Customer since, was no heading the import knew: the column
    was left out and every company came back without it."""
    make_company(app, ws_a, "上海贸易", customer_since=datetime(2021, 6, 1).date(), industry="贸易")
    auth.login(ws_a.email, ws_a.password)
    chinese = {"Accept-Language": "zh-CN,zh;q=0.9"}
    exported = client.get(f"/w/{ws_a.slug}/companies/export.csv", headers=chinese).get_data(as_text=True)
    auth.logout()
    auth.login(ws_b.email, ws_b.password)
    import_id = import_id_of(upload(client, ws_b, exported.removeprefix("\ufeff"), entity="companies"))
    header = next(csv.reader([exported.removeprefix("\ufeff").splitlines()[0]]))
    assert job_of(app, ws_b, import_id).mapping[header.index("成为客户日期")] == "customer_since"
    check(client, app, ws_b, import_id)
    post(client, f"/w/{ws_b.slug}/imports/{import_id}/run", {})
    with app.app_context(), workspace_scope(ws_b.id):
        company = db.session.scalar(sa.select(Company))
        assert (company.name, company.industry, company.customer_since) == (
            "上海贸易",
            "贸易",
            datetime(2021, 6, 1).date(),
        )
