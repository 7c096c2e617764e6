"""XLSX downloads in constant memory: rows go into openpyxl's write-only workbook (which keeps each
sheet in a temporary file of its own, not in memory), the workbook is saved to a temporary file,
and that file is sent in chunks and deleted once the response is closed.

"Streamed" means constant memory here, not bytes on the wire while rows are still being read: an
XLSX file is a ZIP whose directory comes last, so the whole file exists on disk before its first
byte is sent. In return the download has a Content-Length and an error while writing gives an error
page, not a cut-off file.

Text cells are neutralised as CSV cells are (crm.csv_stream.neutralised: a cell starting with
= + - @ gets a leading '), so a spreadsheet never runs a customer's name as a formula; numbers stay
numbers. Text that is only a number's characters (a phone "+86 138...", "-5") is left as it is: in an
XLSX file it is a text cell, which no spreadsheet runs, and an apostrophe would only spoil it."""

import os
import re
import tempfile
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from flask import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from crm.csv_stream import attachment, neutralised

MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 64 * 1024
MAX_CELL_TEXT = 32_767  # Excel's limit; longer text makes it "repair" the file
SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
NUMBER_LIKE = re.compile(r"[+-]?[\d .()]+")  # a phone number or a signed number: no formula in it
TIME_FORMAT = "yyyy-mm-dd hh:mm"


def xlsx_value(value):
    """A cell's value: numbers as numbers, days as dates (shown yyyy-mm-dd), times as the time on the
    clock where they were given (a spreadsheet has no time zones; the export gives them in the
    workspace's), anything else as neutralised text without the control characters XML cannot hold
    (openpyxl refuses them)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return value
    # Control characters go first: stripped after the check, they could uncover a formula's "=".
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    return (text if NUMBER_LIKE.fullmatch(text) else neutralised(text))[:MAX_CELL_TEXT]


def write_workbook(path: Path, rows: Iterable[list], sheet_title: str) -> None:
    """One sheet: the first row (the header) in bold and frozen, then the others."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_TITLE_FORBIDDEN.sub(" ", sheet_title)[:31] or "Sheet")
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    for number, row in enumerate(rows):
        if number == 0:
            cells = []
            for value in row:
                cell = WriteOnlyCell(sheet, value=xlsx_value(value))
                cell.font = bold
                cells.append(cell)
            sheet.append(cells)
        else:
            sheet.append([_cell(sheet, xlsx_value(value)) for value in row])
    workbook.save(path)


def _cell(sheet, value):
    """A time to the minute, as the list and the CSV give it (openpyxl's own format has seconds); the
    rest as it is (a day gets openpyxl's yyyy-mm-dd)."""
    if not isinstance(value, datetime):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = TIME_FORMAT
    return cell


def xlsx_download(rows: Iterable[list], filename: str, sheet_title: str) -> Response:
    """Writes ``rows`` (the header first) to a temporary file and answers with it as an attachment;
    the file is deleted when the response is closed, however the download ends."""
    handle, name = tempfile.mkstemp(prefix="kehu-export-", suffix=".xlsx")
    os.close(handle)
    path = Path(name)
    try:
        write_workbook(path, rows, sheet_title)
        size = path.stat().st_size
    except BaseException:
        path.unlink(missing_ok=True)
        raise

    def chunks():
        try:
            with path.open("rb") as stream:
                while chunk := stream.read(CHUNK):
                    yield chunk
        finally:
            path.unlink(missing_ok=True)

    response = Response(
        chunks(),
        mimetype=MIMETYPE,
        headers={"Content-Disposition": attachment(filename), "Content-Length": str(size)},
        direct_passthrough=True,
    )
    response.call_on_close(lambda: path.unlink(missing_ok=True))
    return response
