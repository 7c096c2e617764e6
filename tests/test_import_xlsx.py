"""Reading XLSX workbooks as Excel shows them: Chinese date formats, merged cells, a header below
blank rows, stray cells far to the right."""

import io
import os
import re
import time
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from crm.extensions import db
from crm.imports.models import Import
from crm.imports.reader import Layout, UnreadableFile, layout_of, rows
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.test_imports import check, contacts_of, import_id_of, imports_url, job_of


def read(path):
    layout = layout_of(path, "xlsx")
    return layout, list(rows(path, layout))


def saved(book: Workbook, path):
    book.save(path)
    return path


def with_builtin_format(source, target, builtin_id: int):
    """The file as Chinese Excel writes it: the cell's style points at a built-in format id, with no
    format code in the file (openpyxl itself always writes the code of a format it does not know)."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as changed:
        for item in original.infolist():
            data = original.read(item.filename)
            if item.filename == "xl/styles.xml":
                data = re.sub(rb"<numFmts[^>]*>.*?</numFmts>", b"", data, flags=re.S)
                data = re.sub(rb'numFmtId="16[4-9]"', f'numFmtId="{builtin_id}"'.encode(), data)
            changed.writestr(item, data)
    return target


def dated_book(value, number_format, epoch=None):
    book = Workbook()
    if epoch:
        book.epoch = epoch
    book.active.append(["姓名", "生日"])
    book.active.append(["王小明", value])
    book.active["B2"].number_format = number_format
    return book


def upload_book(client, ws, buffer: io.BytesIO, filename: str):
    data = {"file": (io.BytesIO(buffer.getvalue()), filename), "entity": "contacts"}
    return post(client, imports_url(ws), data, content_type="multipart/form-data")


def test_chinese_excel_long_dates_are_dates(app, tmp_path):
    """Built-in format 31 is zh-CN Excel's long date (yyyy"年"m"月"d"日"); 32 its time (h"时"mm"分")."""
    for epoch in (None, CALENDAR_MAC_1904):
        source = saved(dated_book(datetime(1990, 5, 1), 'yyyy"年"m"月"d"日"', epoch), tmp_path / "source.xlsx")
        with app.app_context():
            _layout, found = read(with_builtin_format(source, tmp_path / "zh.xlsx", 31))
        assert found == [(2, ["王小明", "1990-05-01"])], epoch
    source = saved(dated_book(datetime(1990, 5, 1, 10, 30), 'h"时"mm"分"'), tmp_path / "source.xlsx")
    with app.app_context():
        _layout, found = read(with_builtin_format(source, tmp_path / "zh.xlsx", 32))
    assert found == [(2, ["王小明", "1990-05-01 10:30:00"])]


def merged_book():
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "联系方式", None, "公司"])
    sheet.append(["王小明", "w1@example.com", "13800138000", "上海贸易"])
    sheet.append(["李雷", "w2@example.com", None, None])
    sheet.append(["韩梅梅", "w3@example.com", None, None])
    sheet.append(["Ann", "ann@example.com", None, "Acme"])
    sheet.merge_cells("B1:C1")
    sheet.merge_cells("D2:D4")
    return book


def test_a_merged_cell_belongs_to_every_row_and_column_it_covers(app, tmp_path):
    with app.app_context():
        layout, found = read(saved(merged_book(), tmp_path / "merged.xlsx"))
    assert layout.headers == ["姓名", "联系方式", "联系方式", "公司"]
    assert found == [
        (2, ["王小明", "w1@example.com", "13800138000", "上海贸易"]),
        (3, ["李雷", "w2@example.com", "", "上海贸易"]),
        (4, ["韩梅梅", "w3@example.com", "", "上海贸易"]),
        (5, ["Ann", "ann@example.com", "", "Acme"]),
    ]


def test_people_under_a_merged_company_all_join_it(app, client, auth, ws_a):
    book = merged_book()
    book.active.unmerge_cells("B1:C1")
    book.active["B1"], book.active["C1"], book.active["C2"] = "邮箱", "备注", "老客户"
    buffer = io.BytesIO()
    book.save(buffer)
    auth.login(ws_a.email, ws_a.password)
    response = upload_book(client, ws_a, buffer, "客户.xlsx")
    import_id = import_id_of(response)
    check(client, app, ws_a, import_id)
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    companies = {name: contact.company.name for name, contact in contacts_of(app, ws_a).items()}
    assert companies == {"王小明": "上海贸易", "李雷": "上海贸易", "韩梅梅": "上海贸易", "Ann": "Acme"}


def test_the_header_is_the_first_row_with_something_in_it(app, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet["B2"], sheet["C2"] = "姓名", "邮箱"
    sheet["B3"], sheet["C3"] = "王小明", "w@example.com"
    blank_first_row = Workbook()
    blank_first_row.active.append([None, None])
    blank_first_row.active.append(["姓名", "邮箱"])
    blank_first_row.active.append(["王小明", "w@example.com"])
    with app.app_context():
        layout, found = read(saved(book, tmp_path / "b2.xlsx"))
        assert layout.headers == ["Column 1", "姓名", "邮箱"]
        assert found == [(3, ["", "王小明", "w@example.com"])]
        layout, found = read(saved(blank_first_row, tmp_path / "blank.xlsx"))
        assert layout.headers == ["姓名", "邮箱"]
        assert found == [(3, ["王小明", "w@example.com"])]


def test_columns_blank_to_the_right_are_left_out(app, tmp_path):
    """A whole row formatted in Excel stores empty cells to column XFD: 16,384 columns on the mapping page."""
    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "Email"])
    sheet.append(["Ann", "ann@example.com", None, "a note"])
    sheet.append(["Bo", "bo@example.com"])
    sheet["XFD1"].number_format = "0.00"  # styled, no value
    with app.app_context():
        layout, found = read(saved(book, tmp_path / "wide.xlsx"))
    assert layout.headers == ["Name", "Email", "Column 3", "Column 4"]
    assert found == [(2, ["Ann", "ann@example.com", "", "a note"]), (3, ["Bo", "bo@example.com", "", ""])]


def test_a_sheet_too_wide_is_refused_quickly_with_the_column_to_look_at(app, client, auth, ws_a):
    book = Workbook()
    book.active.append(["Name", "Email"])
    book.active.append(["Ann", "ann@example.com"])
    book.active["XFD1"] = "x"
    buffer = io.BytesIO()
    book.save(buffer)
    auth.login(ws_a.email, ws_a.password)
    started = time.perf_counter()
    response = upload_book(client, ws_a, buffer, "wide.xlsx")
    assert time.perf_counter() - started < 5
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "This sheet has something in column XFD, so 16384 columns; an import reads at most 200." in page
    assert "Delete the columns you do not need and upload the file again." in page
    narrow = Workbook()
    narrow.active.append([f"Field {number}" for number in range(1, 201)])
    narrow.active.append(["Ann"])
    buffer = io.BytesIO()
    narrow.save(buffer)
    response = upload_book(client, ws_a, buffer, "narrow.xlsx")
    narrow_id = import_id_of(response)
    assert len(job_of(app, ws_a, narrow_id).headers) == 200
    assert "Read from the sheet" not in client.get(imports_url(ws_a, str(narrow_id))).get_data(as_text=True)


def test_the_sheet_read_is_the_one_open_when_saved_else_the_first_with_a_value(app, client, auth, ws_a, tmp_path):
    book = Workbook()
    book.active.title = "说明"
    book.active.append(["请在“客户”表中填写，每行一位客户。"])
    customers = book.create_sheet("客户")
    customers.append(["姓名", "邮箱"])
    customers.append(["王小明", "w@example.com"])
    book.create_sheet("空白")
    book.active = book.index(customers)
    buffer = io.BytesIO()
    book.save(buffer)
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload_book(client, ws_a, buffer, "客户.xlsx"))
    page = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert "Read from the sheet “客户”; the other sheets of the workbook are left out." in page
    check(client, app, ws_a, import_id)
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    assert contacts_of(app, ws_a)["王小明"].emails == ["w@example.com"]

    book.move_sheet("说明", offset=2)  # blank and open, then customers, then instructions
    book.move_sheet("空白", offset=-1)
    book.active = 0
    assert book.sheetnames == ["空白", "客户", "说明"]
    with app.app_context():
        layout, found = read(saved(book, tmp_path / "blank-open.xlsx"))
    assert (layout.sheet, layout.headers, found) == ("客户", ["姓名", "邮箱"], [(2, ["王小明", "w@example.com"])])


def titled_book(blank_row: bool = False, title_rows: int = 1):
    """A customer list as people send it: a title merged across the table, maybe a blank row, then
    the header, and a company merged down the rows of its people."""
    book = Workbook()
    sheet = book.active
    sheet["A1"] = "客户名单 2026"
    sheet.merge_cells(start_row=1, start_column=1, end_row=title_rows, end_column=4)
    header_row = title_rows + 1 + blank_row
    for row in (["姓名", "邮箱", "电话", "公司"], ["王小明", "w1@example.com", "+8613800138000", "上海贸易"],
                ["李雷", "w2@example.com", None, None], ["Ann", "ann@example.com", None, "Acme"]):  # fmt: skip
        for column, value in enumerate(row, start=1):
            sheet.cell(header_row, column, value)
        header_row += 1
    sheet.merge_cells(start_row=title_rows + 2 + blank_row, start_column=4, end_row=title_rows + 3 + blank_row,
                      end_column=4)  # fmt: skip
    return book


def test_a_title_merged_across_the_top_is_not_the_header(app, tmp_path):
    for blank_row, title_rows in ((False, 1), (True, 1), (False, 2)):
        with app.app_context():
            layout, found = read(saved(titled_book(blank_row, title_rows), tmp_path / "titled.xlsx"))
        first = title_rows + 2 + blank_row  # the first person's row
        assert layout.headers == ["姓名", "邮箱", "电话", "公司"], (blank_row, title_rows)
        assert found == [
            (first, ["王小明", "w1@example.com", "+8613800138000", "上海贸易"]),
            (first + 1, ["李雷", "w2@example.com", "", "上海贸易"]),  # the merge down still reaches him
            (first + 2, ["Ann", "ann@example.com", "", "Acme"]),
        ], (blank_row, title_rows)


def test_a_titled_sheet_has_its_header_guessed_and_imports(app, client, auth, ws_a):
    buffer = io.BytesIO()
    titled_book(blank_row=True).save(buffer)
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload_book(client, ws_a, buffer, "客户名单.xlsx"))
    job = job_of(app, ws_a, import_id)
    assert job.headers == ["姓名", "邮箱", "电话", "公司"]
    assert job.mapping == ["name", "email", "phone", "company"]
    page = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert "客户名单 2026" not in page
    check(client, app, ws_a, import_id)
    assert job_of(app, ws_a, import_id).invalid_count == 0
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    contacts = contacts_of(app, ws_a)
    assert sorted(contacts) == ["Ann", "李雷", "王小明"]  # the title is no one
    assert {name: contact.company.name for name, contact in contacts.items()} == {
        "王小明": "上海贸易", "李雷": "上海贸易", "Ann": "Acme"
    }  # fmt: skip


def test_a_merged_row_with_no_table_below_it_stays_the_header(app, tmp_path):
    """One column whose header cell is merged wider (only one cell below it is filled), or nothing
    but a title: the row is read as before, the header."""
    widened = Workbook()
    widened.active.append(["邮箱"])
    widened.active.append(["w1@example.com"])
    widened.active.append(["w2@example.com"])
    widened.active.merge_cells("A1:C1")
    title_only = Workbook()
    title_only.active["A1"] = "客户名单 2026"
    title_only.active.merge_cells("A1:D1")
    with app.app_context():
        layout, found = read(saved(widened, tmp_path / "widened.xlsx"))
        assert layout.headers[0] == "邮箱" and [number for number, _cells in found] == [2, 3]
        layout, found = read(saved(title_only, tmp_path / "title.xlsx"))
        assert layout.headers == ["客户名单 2026"] * 4 and found == []


def _rewritten(book: Workbook, sheet_xml=None, extra_parts=()) -> bytes:
    """The workbook saved, its first sheet's XML changed by ``sheet_xml`` and parts added (name, bytes)."""
    buffer, out = io.BytesIO(), io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml" and sheet_xml:
                data = sheet_xml(data)
            dst.writestr(item.filename, data)
        for name, data in extra_parts:
            dst.writestr(name, data)
    return out.getvalue()


def people_book() -> Workbook:
    book = Workbook()
    book.active.append(["Name", "Email"])
    book.active.append(["Ann", "ann@example.com"])
    return book


def test_a_dimension_claiming_16384_columns_is_not_read_cell_by_cell(app, client, auth, ws_a, monkeypatch):
    """A 5 KB file whose <dimension> says A1:XFD3000 had openpyxl make 16,384 cells of each of its 3,000
    rows in the upload request (49 million; a million rows ~20 min), and again in the check and the import."""
    import crm.imports.reader as reader

    def claims(data: bytes) -> bytes:
        data = re.sub(rb'<dimension ref="[^"]*" ?/>', b'<dimension ref="A1:XFD3000"/>', data)
        row = b'<row r="3000"><c r="A3000" t="inlineStr"><is><t>Bo</t></is></c></row>'
        return data.replace(b"</sheetData>", row + b"</sheetData>")

    data = _rewritten(people_book(), claims)
    assert len(data) < 6_000
    calls = 0
    original = reader._cell_text

    def counted(value):
        nonlocal calls
        calls += 1
        return original(value)

    monkeypatch.setattr(reader, "_cell_text", counted)
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload_book(client, ws_a, io.BytesIO(data), "claims.xlsx"))
    assert job_of(app, ws_a, import_id).headers == ["Name", "Email"]
    assert calls < 1_000
    check(client, app, ws_a, import_id)
    assert job_of(app, ws_a, import_id).rows_total == 2
    assert calls < 2_000
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    assert set(contacts_of(app, ws_a)) == {"Ann", "Bo"}


def test_rows_past_excels_last_are_not_read(app, tmp_path):
    """A row numbered 2,000,000,000 had the header's sample (and the import) walk two billion missing rows."""
    row = b'<row r="2000000000"><c r="A2000000000" t="inlineStr"><is><t>Bo</t></is></c></row>'
    data = _rewritten(people_book(), lambda xml: xml.replace(b"</sheetData>", row + b"</sheetData>"))
    path = tmp_path / "far.xlsx"
    path.write_bytes(data)
    started = time.perf_counter()
    with app.app_context():
        layout, found = read(path)
    assert time.perf_counter() - started < 5
    assert (layout.headers, found) == (["Name", "Email"], [(2, ["Ann", "ann@example.com"])])


STRINGS_TYPE = (b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')  # fmt: skip
STRINGS_RELATION = (b'<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    b'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')  # fmt: skip


def with_shared_strings(entries: list[bytes], level: int = 6) -> bytes:
    """A workbook whose A1 and B1 are its shared strings 0 and 1 (Name, Email), then ``entries``; a row
    of two numbers below them (a file of its header alone is refused)."""
    buffer, out = io.BytesIO(), io.BytesIO()
    book = Workbook()
    book.active.append(["x", "y"])
    book.active.append([1, 2])
    book.save(buffer)
    table = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    table += b"<si><t>Name</t></si><si><t>Email</t></si>" + b"".join(entries) + b"</sst>"
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", STRINGS_TYPE)
            if item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", STRINGS_RELATION)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<c r="A1" t="inlineStr"><is><t>x</t></is></c>', b'<c r="A1" t="s"><v>0</v></c>', data)
                data = re.sub(rb'<c r="B1" t="inlineStr"><is><t>y</t></is></c>', b'<c r="B1" t="s"><v>1</v></c>', data)
            dst.writestr(item.filename, data)
        dst.writestr("xl/sharedStrings.xml", table)
    return out.getvalue()


def refused_upload(client, ws, data: bytes, message: str):
    response = upload_book(client, ws, io.BytesIO(data), "customers.xlsx")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def stored_files(app) -> list:
    folder = Path(app.config["UPLOAD_DIR"]) / "imports"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_workbook_that_unpacks_to_far_more_than_it_weighs_is_refused(app, client, auth, ws_a):
    """Read-only openpyxl still reads the shared strings whole: a 50 KB upload held a million of them
    (17 MB of XML, 20 s), a 1.65 MB one 1 GB (+1.1 GB of memory), in the upload request."""
    import openpyxl.reader.excel as excel

    bomb = with_shared_strings([b"<si><t>aa</t></si>" * 1_000_000], level=9)
    assert len(bomb) < 60_000
    auth.login(ws_a.email, ws_a.password)
    before = stored_files(app)
    read = []
    original = excel.read_string_table
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(excel, "read_string_table", lambda source: read.append(1) or original(source))
        refused_upload(client, ws_a, bomb, "This file is too large once unpacked (18 MB); save it as CSV or split it.")
    assert read == []
    assert stored_files(app) == before
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count(Import.id))) == 0
    with_strings = with_shared_strings([b"<si><t>Ann</t></si>"])
    import_id = import_id_of(upload_book(client, ws_a, io.BytesIO(with_strings), "customers.xlsx"))
    assert job_of(app, ws_a, import_id).headers == ["Name", "Email"]


def test_the_unpacked_size_and_the_count_of_texts_have_limits(app, client, auth, ws_a, tmp_path, monkeypatch):
    import crm.imports.reader as reader

    auth.login(ws_a.email, ws_a.password)
    entries = [b"<si><t>%d</t></si>" % number for number in range(998)]  # 1,000 with Name and Email
    monkeypatch.setattr(reader, "SHARED_STRINGS_MAX", 1_000)
    assert upload_book(client, ws_a, io.BytesIO(with_shared_strings(entries)), "ok.xlsx").status_code == 303
    too_many = with_shared_strings([*entries, b"<x:si/>"])  # counted with a namespace prefix too
    message = ("This file holds more than 1,000 different texts; an import reads at most that many from an XLSX "
               "file. Save it as CSV or split it.")  # fmt: skip
    refused_upload(client, ws_a, too_many, message)
    path = tmp_path / "many.xlsx"
    path.write_bytes(too_many)
    with app.test_request_context(), pytest.raises(UnreadableFile, match="more than 1,000 different texts"):
        list(rows(path, Layout("xlsx", ["Name", "Email"])))  # the check and the import read it again

    book = people_book()
    monkeypatch.setattr(reader, "UNPACKED_BYTES_MAX", 3 * 1024 * 1024)
    big = _rewritten(book, extra_parts=[("docProps/custom.xml", os.urandom(3 * 1024 * 1024))])
    refused_upload(client, ws_a, big, "This file is too large once unpacked (4 MB); save it as CSV or split it.")


def test_an_amount_excel_worked_out_is_read_as_excel_shows_it(app, client, auth, ws_a):
    """A formula's result is kept as the nearest binary number (12.3 x 3 is 36.900000000000006), which
    Excel shows to 15 digits: 36.9. Read to the last digit, the amount had "more than 2 decimals"."""
    from tests.factories import make_contact

    make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"])
    book = Workbook()
    book.active.append(["Email", "Date", "Product", "Quantity", "Unit price", "Amount"])
    book.active.append(["ann@example.com", datetime(2025, 3, 5), "Tea", 3, 12.3, 12.3 * 3])
    book.active.append(["ann@example.com", datetime(2025, 3, 6), "Cups", 0.1 + 0.2, 1, 1.15 * 100])
    buffer = io.BytesIO()
    book.save(buffer)
    auth.login(ws_a.email, ws_a.password)
    data = {"file": (io.BytesIO(buffer.getvalue()), "orders.xlsx"), "entity": "purchases"}
    import_id = import_id_of(post(client, imports_url(ws_a), data, content_type="multipart/form-data"))
    check(client, app, ws_a, import_id)
    job = job_of(app, ws_a, import_id)
    assert (job.created_count, job.invalid_count) == (2, 0)
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    with app.app_context(), workspace_scope(ws_a.id):
        from crm.purchases.models import Purchase

        bought = db.session.execute(sa.select(Purchase.product, Purchase.quantity, Purchase.amount)).all()
    assert sorted((product, str(quantity), str(amount)) for product, quantity, amount in bought) == [
        ("Cups", "0.300", "115.00"), ("Tea", "3.000", "36.90")]  # fmt: skip
