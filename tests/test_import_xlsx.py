"""Reading XLSX workbooks as Excel shows them: Chinese date formats, merged cells, a header below
blank rows, stray cells far to the right."""

import io
import re
import time
import zipfile
from datetime import datetime

from openpyxl import Workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from crm.imports.reader import layout_of, rows
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
