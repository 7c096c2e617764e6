"""Reading import files: encodings and delimiters detected, XLSX cells as text, blank rows
skipped, our own formula guard undone; the mapping guessed from English and Chinese headers."""

import time
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from crm.custom_fields.service import FieldDef
from crm.extensions import db
from crm.imports.contact_rows import Invalid, country_cell, parse_date
from crm.imports.fields import guess
from crm.imports.models import Import
from crm.imports.reader import UnreadableFile, count_rows, layout_of, rows
from crm.tenancy import workspace_scope
from tests.test_imports import import_id_of, job_of, upload

TEXT = "姓名;公司\n王小明;上海贸易有限公司\nJosé Müller;Café Zürich\n"


def read(path, file_format="csv"):
    layout = layout_of(path, file_format)
    return layout, list(rows(path, layout))


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030"), ("utf-16", "utf-16")],
)
def test_encodings_are_detected(app, tmp_path, encoding, expected):
    path = tmp_path / "people.csv"
    path.write_bytes(TEXT.encode(encoding))
    with app.app_context():
        layout, found = read(path)
    assert (layout.encoding, layout.delimiter, layout.headers) == (expected, ";", ["姓名", "公司"])
    assert found == [(2, ["王小明", "上海贸易有限公司"]), (3, ["José Müller", "Café Zürich"])]


def test_latin1_is_not_mistaken_for_chinese(app, tmp_path):
    """Latin-1 bytes also decode as GB18030 (é then a letter is a valid pair)."""
    path = tmp_path / "people.csv"
    path.write_bytes("Name,City\nJosé Müller,Zürich\nRenée Lefèvre,Besançon\n".encode("latin-1"))
    with app.app_context():
        layout, found = read(path)
    assert layout.encoding in ("cp1252", "latin-1")
    assert found[0][1] == ["José Müller", "Zürich"]


def test_tabs_quotes_blank_rows_and_the_formula_guard(app, tmp_path):
    path = tmp_path / "people.tsv"
    path.write_text('Name\tPhone\tNote\n"Lee, Ann"\t\'+44 20 7946 0958\t"two\nlines"\n\t\t\nBo\t\'=1+1\t\n', "utf-8")
    with app.app_context():
        layout, found = read(path)
    assert layout.delimiter == "\t"
    assert found == [(2, ["Lee, Ann", "+44 20 7946 0958", "two\nlines"]), (4, ["Bo", "=1+1", ""])]


def test_control_characters_are_left_out_of_headers_and_cells(app, tmp_path):
    """A binary file named .csv, or a paste with a stray control character: nothing a page cannot show,
    and no override that shows "\u202efdp.exe" as "exe.pdf". Right-to-left marks and isolates stay."""
    path = tmp_path / "people.csv"
    hebrew = "\u2067\u05d3\u05e0\u05d4\u2069 \u200f"
    path.write_text(
        f"Na\x00me,\x07Phone,Note\nAnn\x1b Lee\x85,+44 20\x7f 7946 0958,\u202efdp.exe\u202c {hebrew}\n", "utf-8"
    )
    with app.app_context():
        layout, found = read(path)
    assert layout.headers == ["Name", "Phone", "Note"]
    assert found == [(2, ["Ann Lee", "+44 20 7946 0958", f"fdp.exe {hebrew}"])]
    book = Workbook()
    book.active.append(["Name\u202d", "Note"])
    book.active.append(["Bo\x9f Chen", "\u202bx\u202c"])
    book.save(tmp_path / "people.xlsx")
    with app.app_context():
        layout, found = read(tmp_path / "people.xlsx", "xlsx")
    assert layout.headers == ["Name", "Note"] and found == [(2, ["Bo Chen", "x"])]


def test_xlsx_cells_become_text(app, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "Phone", "Birthday", "Spend"])
    sheet.append(["Ann Lee", 13800138000, datetime(1990, 5, 1), 12.5])
    sheet.append([None, None, None, None])
    sheet.append(["Bo", None, date(2001, 2, 3), 7])
    path = tmp_path / "people.xlsx"
    book.save(path)
    with app.app_context():
        layout, found = read(path, "xlsx")
    assert layout.headers == ["Name", "Phone", "Birthday", "Spend"]
    assert found == [(2, ["Ann Lee", "13800138000", "1990-05-01", "12.5"]), (4, ["Bo", "", "2001-02-03", "7"])]


def test_empty_and_broken_files_are_refused(app, tmp_path):
    empty, broken = tmp_path / "empty.csv", tmp_path / "broken.xlsx"
    empty.write_text("\n\n", "utf-8")
    broken.write_bytes(b"PK\x03\x04 not really")
    with app.test_request_context():
        with pytest.raises(UnreadableFile, match="empty"):
            layout_of(empty, "csv")
        with pytest.raises(UnreadableFile, match="XLSX"):
            layout_of(broken, "xlsx")


def test_headers_are_guessed_in_english_and_chinese(app):
    industry = FieldDef(1, "contact", "industry", "Industry", "text", (), False, False)
    headers = [
        "客户姓名",
        "E-mail",
        "手机号码",
        "电话",
        "Company Name",
        "Tags",
        "Industry",
        "Name",
        "Error",
        "Whatever",
    ]
    with app.app_context():
        mapping = guess(headers, [industry])
    assert mapping == ["name", "email", "phone", "phone", "company", "tags", "cf:industry", "", "", ""]


@pytest.mark.parametrize(
    ("raw", "day_first", "expected"),
    [
        ("2025-03-04", True, date(2025, 3, 4)),
        ("2025/3/4", False, date(2025, 3, 4)),
        ("2025年3月4日", True, date(2025, 3, 4)),
        ("2025-03-04 00:00:00", True, date(2025, 3, 4)),
        ("03/04/2025", True, date(2025, 4, 3)),
        ("03/04/2025", False, date(2025, 3, 4)),
        ("25/12/2025", False, date(2025, 12, 25)),
        ("20250304", True, date(2025, 3, 4)),
        ("45000", True, date(2023, 3, 15)),  # Excel's serial number of the day
        ("32874.5", False, date(1990, 1, 1)),  # ... and a time of that day
    ],
)
def test_dates_in_common_forms(app, raw, day_first, expected):
    assert parse_date(raw, day_first) == expected


@pytest.mark.parametrize("raw", ["2025-02-30", "31/31/2020", "yesterday", "2025", "1990", "20251304", "450001"])
def test_bad_dates_are_invalid(app, raw):
    with app.test_request_context(), pytest.raises(Invalid):
        parse_date(raw, True)


def test_a_long_date_cell_is_read_in_time_linear_in_its_length(app):
    """Spaces after the day could go to "\\s*" or to "[ T].*" in n ways: a cell of 20,000 spaces and a
    line break cost seconds of CPU before it was refused."""
    started = time.process_time()
    with app.test_request_context(), pytest.raises(Invalid):
        parse_date("2025-03-04" + " " * 20000 + "\nx", True)
    assert time.process_time() - started < 0.5
    assert parse_date("2025年3月4日 10:00", True) == parse_date("2025-03-04  10:00", True) == date(2025, 3, 4)


def test_countries_are_those_the_contact_form_accepts(app):
    assert country_cell("fi") == "FI" and country_cell("CN") == "CN"
    for raw in ("ZZ", "XX", "UK", "EU"):  # unknown, not assigned, the wrong code for Britain, a grouping
        with pytest.raises(Invalid):
            country_cell(raw)


NEVER_CLOSED = "Row 3 opens a quote that is never closed"


@pytest.mark.parametrize("rows_after", [3, 1_000, 60_000])
def test_a_quote_never_closed_is_refused_with_its_row(app, tmp_path, rows_after):
    """Left alone, the quote swallowed every row after it into one cell (silently, or past the csv
    module's field limit with an error nobody caught)."""
    path = tmp_path / "people.csv"
    after = "".join(f"P{index},p{index}@example.com\n" for index in range(rows_after))
    path.write_text(f'Name,Email\nBo Chen,bo@example.com\n"Ann Lee,ann@example.com\n{after}', "utf-8")
    with app.test_request_context():
        layout = layout_of(path, "csv")
        with pytest.raises(UnreadableFile, match=NEVER_CLOSED) as refused:
            list(rows(path, layout))
        assert str(refused.value.message) == (
            "Row 3 opens a quote that is never closed (a cell may hold at most 50 lines and 10,000 characters)."
            " Close or remove the quote and upload the file again."
        )
        with pytest.raises(UnreadableFile, match=NEVER_CLOSED):
            count_rows(path, layout)


def test_a_quoted_cell_over_the_characters_allowed_is_refused(app, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(f'Name,Note\nBo,ok\nAnn,"x\n{"y" * 5_000}\n{"z" * 5_001}"\n', "utf-8")
    with app.test_request_context(), pytest.raises(UnreadableFile, match=NEVER_CLOSED):
        list(rows(path, layout_of(path, "csv")))


def test_quoted_cells_over_many_lines_up_to_the_limit_are_read(app, tmp_path):
    note = "\n".join(f"line {index}" for index in range(50))
    path = tmp_path / "people.csv"
    path.write_text(f'Name,Note\nAnn,"{note}"\nBo,"a\r\nb"\n', "utf-8")
    with app.test_request_context():
        layout, found = read(path)
        assert count_rows(path, layout) == 2
    assert found == [(2, ["Ann", note]), (3, ["Bo", "a\r\nb"])]


def test_any_other_csv_error_names_the_row(app, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(f"Name,Note\nAnn,ok\nBo,{'x' * ((1 << 20) + 1)}\n", "utf-8")
    with app.test_request_context(), pytest.raises(UnreadableFile, match="Row 3 cannot be read as CSV"):
        list(rows(path, layout_of(path, "csv")))


def test_a_header_cell_with_a_line_break_keeps_the_columns_after_it(app, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text('"姓名\n(必填)",邮箱,手机\n王小明,w@example.com,13800138000\n', "utf-8")
    with app.test_request_context():
        layout, found = read(path)
        mapping = guess(layout.headers, [])
    assert layout.headers == ["姓名 (必填)", "邮箱", "手机"]
    assert mapping == ["name", "email", "phone"]
    assert found == [(2, ["王小明", "w@example.com", "13800138000"])]


def test_the_delimiter_is_that_of_the_header_even_over_lines(app, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text('"Full\nname";"Note, short"\nAnn Lee;"a, b, c"\n', "utf-8")
    with app.test_request_context():
        layout, found = read(path)
    assert (layout.delimiter, layout.headers) == (";", ["Full name", "Note, short"])
    assert found == [(2, ["Ann Lee", "a, b, c"])]


def test_the_header_is_the_first_row_with_something_in_it(app, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(" , ,\n\n姓名,邮箱,手机\n王小明,w@example.com,13800138000\n", "utf-8")
    with app.test_request_context():
        layout, found = read(path)
        mapping = guess(layout.headers, [])
        assert count_rows(path, layout) == 1
    assert layout.headers == ["姓名", "邮箱", "手机"] and mapping == ["name", "email", "phone"]
    assert found == [(4, ["王小明", "w@example.com", "13800138000"])]


def test_a_csv_file_of_more_than_200_columns_is_refused(app, client, auth, ws_a):
    """A 169 KB header of 20,000 columns was taken, and every view of the import page then had 20,000
    selects (25 MB of HTML, 15 s)."""
    auth.login(ws_a.email, ws_a.password)
    wide = ",".join(f"c{index}" for index in range(20_000)) + "\n" + ",".join("x" for _ in range(20_000)) + "\n"
    started = time.perf_counter()
    response = upload(client, ws_a, wide)
    assert time.perf_counter() - started < 3
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert ("This file has 20,000 columns; an import reads at most 200. Delete the columns you do not need and "
            "upload the file again.") in page  # fmt: skip
    two_hundred = ",".join(f"Field {index}" for index in range(1, 201)) + "\nAnn\n"
    assert len(job_of(app, ws_a, import_id_of(upload(client, ws_a, two_hundred))).headers) == 200
    one_more = ",".join(f"Field {index}" for index in range(1, 201)) + "\nAnn" + "," * 199 + ",x\n"  # under no header
    assert upload(client, ws_a, one_more).status_code == 303  # cells past the header are never read
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count(Import.id))) == 2


def test_csv_columns_blank_to_the_right_are_left_out(app, tmp_path):
    """As in a sheet: a header ending in 20,000 delimiters is two columns, not 20,002."""
    path = tmp_path / "people.csv"
    path.write_text("Name,Email" + "," * 20_000 + "\nAnn,ann@example.com,,note\nBo,bo@example.com\n", "utf-8")
    with app.test_request_context():
        layout, found = read(path)
    assert layout.headers == ["Name", "Email", "Column 3", "Column 4"]
    assert found[1] == (3, ["Bo", "bo@example.com"])
    path.write_text("Name,Email" + "," * 20_000 + "\n" + "x," * 20_000 + "\n", "utf-8")
    with app.test_request_context(), pytest.raises(UnreadableFile, match="This file has 20,000 columns"):
        layout_of(path, "csv")


def test_a_line_of_millions_of_delimiters_is_refused_without_reading_it_whole(app, client, auth, ws_a):
    """A 50 MB line with no line break was read whole and made 26 million cells (20 s, 700 MB)."""
    auth.login(ws_a.email, ws_a.password)
    started = time.perf_counter()
    response = upload(client, ws_a, "a," * 1_100_000)
    assert time.perf_counter() - started < 3
    assert response.status_code == 422
    assert ("Row 1 is longer than 2,097,152 characters, too long to be a row of a table. Check the file in a "
            "spreadsheet program and upload it again.") in response.get_data(as_text=True)  # fmt: skip
    long_note = "Name,Note\nAnn," + "x" * 1_000_000 + "\n"  # long, but a cell the csv module takes
    assert upload(client, ws_a, long_note).status_code == 303
