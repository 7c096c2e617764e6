"""Reading an uploaded spreadsheet a row at a time (constant memory): CSV in any common encoding
and delimiter, detected, or a sheet of an XLSX workbook (openpyxl, read-only)."""

import codecs
import csv
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import islice
from pathlib import Path

from flask_babel import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.cell import get_column_letter, range_boundaries

from crm.i18n import lazy_gettext as _l
from crm.i18n import lazy_number
from crm.security import without_control_characters

CHUNK = 1 << 20
SAMPLE = 1 << 16
DELIMITERS = (",", ";", "\t")
# A GB18030 decode of Latin-1 text also succeeds (é followed by a letter is a valid pair); real
# Chinese text is almost all in the GB2312 set, the misread Latin-1 almost never.
GB2312_SHARE = 0.8
FORMULA_GUARDED = ("=", "+", "-", "@")
# A quoted cell may hold line breaks (an address, a note); one running on longer than this is a quote
# never closed, which would otherwise swallow the rest of the file into one cell.
QUOTED_LINES_MAX = 50
QUOTED_CHARACTERS_MAX = 10_000
LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")
# The built-in number formats Chinese, Japanese and Korean Excel give their dates and times (31 is
# the zh-CN long date, yyyy"年"m"月"d"日"); openpyxl knows only the English ones.
EAST_ASIAN_DATE_FORMATS = frozenset((*range(27, 37), *range(50, 59)))
MAX_COLUMNS = 200
WIDTH_SAMPLE = 50  # rows below the header that decide how many columns the sheet has
TITLE_ROWS_MAX = 10  # rows (titles and blank ones) looked through for a header below a title
MERGE_CELL = re.compile(rb"<(?:[\w.-]+:)?mergeCell\s[^>]*?\bref\s*=\s*[\"']([A-Za-z]+[0-9]+(?::[A-Za-z]+[0-9]+)?)[\"']")

csv.field_size_limit(1 << 20)


class UnreadableFile(ValueError):
    """A file that is not a spreadsheet we can read, with a message for the person who sent it
    (``message``: a lazy text, which an import keeps for each reader's language)."""

    @property
    def message(self):
        return self.args[0]


@dataclass(frozen=True)
class Layout:
    file_format: str  # "csv" or "xlsx"
    headers: list[str]
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None  # the sheet read, in a workbook of several; else the first


def format_of(filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    if suffix == ".xlsx":
        return "xlsx"
    raise UnreadableFile(_l("Upload a CSV or XLSX (Excel) file."))


def layout_of(path: Path, file_format: str) -> Layout:
    """The encoding, delimiter and header row of a stored upload."""
    if file_format == "xlsx":
        return _xlsx_layout(path)
    encoding = detect_encoding(path)
    with path.open(encoding=encoding, newline="") as stream:
        delimiter = _delimiter_of(stream.read(SAMPLE))
    with path.open(encoding=encoding, newline="") as stream:
        header = next((cells for cells in _csv_cells(stream, delimiter) if any(cells)), None)  # as rows() skips
    if header is None:
        raise UnreadableFile(_l("The file is empty."))
    return Layout("csv", _headers(header), encoding, delimiter)


def rows(path: Path, layout: Layout) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) for every non-blank row after the header; row 1 is the header."""
    source = _xlsx_rows(path, layout) if layout.file_format == "xlsx" else _csv_rows(path, layout)
    header_seen = False
    for number, cells in enumerate(source, start=1):
        if not any(cells):
            continue
        if not header_seen:
            header_seen = True
            continue
        yield number, cells


def count_rows(path: Path, layout: Layout) -> int:
    """How many rows ``rows`` yields. For a CSV file counted without making the cells (a cell is blank
    after the formula guard is taken off exactly when it is blank before): twice as fast."""
    if layout.file_format == "xlsx":
        return sum(1 for _row in rows(path, layout))
    with path.open(encoding=layout.encoding, newline="") as stream:
        filled = sum(1 for cells in _records(stream, layout.delimiter) if any(map(str.strip, cells)))
    return max(filled - 1, 0)  # the header


def detect_encoding(path: Path) -> str:
    with path.open("rb") as stream:
        head = stream.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # Excel's "Unicode text"
    if _decodes(path, "utf-8"):
        return "utf-8"
    if _decodes(path, "gb18030") and _looks_chinese(path):
        return "gb18030"
    return "cp1252" if _decodes(path, "cp1252") else "latin-1"


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _looks_chinese(path: Path) -> bool:
    with path.open("rb") as stream:
        sample = stream.read(SAMPLE).decode("gb18030", errors="ignore")
    wide = [char for char in sample if ord(char) > 127]
    if not wide:
        return True
    in_gb2312 = sum(1 for char in wide if _encodes(char, "gb2312"))
    return in_gb2312 / len(wide) >= GB2312_SHARE


def _encodes(char: str, encoding: str) -> bool:
    try:
        char.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _delimiter_of(sample: str) -> str:
    """The delimiter most used outside quotes in the first record with something in it: the header
    (a record, not a line: a quoted header cell may hold a line break)."""
    counts, quoted, filled = dict.fromkeys(DELIMITERS, 0), False, False
    for char in sample:
        if char == '"':
            quoted = not quoted
        elif quoted:
            filled = True
        elif char in counts:
            counts[char] += 1
        elif char in "\r\n":
            if filled:
                break
            counts = dict.fromkeys(DELIMITERS, 0)  # a blank line, or one of delimiters only
        elif not char.isspace():
            filled = True
    return max(DELIMITERS, key=counts.get)


def _headers(cells: list[str]) -> list[str]:
    cells = [LINE_BREAKS.sub(" ", without_control_characters(cell).strip()) for cell in cells]
    return [cell or _("Column %(number)d", number=index) for index, cell in enumerate(cells, start=1)]


def _csv_rows(path: Path, layout: Layout) -> Iterator[list[str]]:
    with path.open(encoding=layout.encoding, newline="") as stream:
        yield from _csv_cells(stream, layout.delimiter)


def _csv_cells(stream, delimiter: str) -> Iterator[list[str]]:
    for cells in _records(stream, delimiter):
        yield [_without_guard(without_control_characters(cell).strip()) for cell in cells]


class _QuoteRunsOn(Exception):
    pass


def _records(stream, delimiter: str) -> Iterator[list[str]]:
    """csv.reader's records (row 1 the first), refused with the row's number at a quote never closed
    (a quoted cell running on over too many lines, or to the end of the file) or anything else the
    csv module cannot read."""
    record = [0, 0, False]  # the record's lines so far, its characters after its first line; the end of the file
    number = 0  # the records read
    try:
        for cells in csv.reader(_lines(stream, record), delimiter=delimiter):
            number += 1
            if record[2]:  # a record still open when the lines ran out: inside a quote
                raise _QuoteRunsOn
            record[0] = record[1] = 0
            yield cells
    except _QuoteRunsOn:
        raise UnreadableFile(_quote_never_closed(number if record[2] else number + 1)) from None
    except csv.Error as error:
        raise UnreadableFile(_l("Row %(number)d cannot be read as CSV. Check it in a spreadsheet program and "
                                "upload the file again.", number=number + 1)) from error  # fmt: skip


def _lines(stream, record: list) -> Iterator[str]:
    for line in stream:
        if record[0]:
            record[1] += len(line)
            if record[0] >= QUOTED_LINES_MAX or record[1] > QUOTED_CHARACTERS_MAX:
                raise _QuoteRunsOn
        record[0] += 1
        yield line
    record[2] = True


def _quote_never_closed(number: int):
    return _l("Row %(number)d opens a quote that is never closed (a cell may hold at most %(lines)d lines and "
              "%(characters)s characters). Close or remove the quote and upload the file again.", number=number,
              lines=QUOTED_LINES_MAX, characters=lazy_number(QUOTED_CHARACTERS_MAX))  # fmt: skip


def _without_guard(cell: str) -> str:
    """Our CSV files put ' before a cell that a spreadsheet would run as a formula (+86 138...);
    such a file coming back gets its value as it was."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] in FORMULA_GUARDED else cell


def _xlsx_layout(path: Path) -> Layout:
    workbook = _workbook(path)
    try:
        sheet = _sheet_to_read(workbook)
        header = _xlsx_header(_sheet_rows(workbook, sheet))
        several = len(workbook.worksheets) > 1
    finally:
        workbook.close()
    return Layout("xlsx", _headers(header), sheet=sheet.title if several else None)


def _sheet_to_read(workbook):
    """The sheet open when the file was saved if it has something in it, else the first one that has
    (a sheet of instructions often comes first)."""
    sheets = workbook.worksheets
    candidates = [workbook.active, *sheets]
    chosen = next((sheet for sheet in candidates if sheet in sheets and _has_a_value(sheet)), None)
    if chosen is None:
        raise UnreadableFile(_l("The file is empty."))
    return chosen


def _has_a_value(sheet) -> bool:
    return any(_cell_text(value) for values in sheet.iter_rows(values_only=True) for value in values)


def _xlsx_header(sheet_rows: Iterator[list[str]]) -> list[str]:
    """The first row with something in it, as wide as the last column filled in it or in the rows
    just below (a stray cell far to the right would otherwise make thousands of columns)."""
    filled = (cells for cells in sheet_rows if any(cells))
    header = next(filled, None)
    if header is None:
        raise UnreadableFile(_l("The file is empty."))
    width = max(_width(cells) for cells in (header, *islice(filled, WIDTH_SAMPLE)))
    if width > MAX_COLUMNS:
        raise UnreadableFile(
            _l(
                "This sheet has something in column %(column)s, so %(count)d columns; an import reads at most "
                "%(limit)d. Delete the columns you do not need and upload the file again.",
                column=get_column_letter(width), count=width, limit=MAX_COLUMNS,
            )
        )  # fmt: skip
    return header[:width]


def _width(cells: list[str]) -> int:
    return next((index for index in range(len(cells), 0, -1) if cells[index - 1]), 0)


def _xlsx_rows(path: Path, layout: Layout) -> Iterator[list[str]]:
    workbook = _workbook(path)
    try:
        sheet = workbook[layout.sheet] if layout.sheet else workbook.worksheets[0]
        yield from _sheet_rows(workbook, sheet, len(layout.headers))
    finally:
        workbook.close()


def _workbook(path: Path):
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise UnreadableFile(_l("This is not an XLSX file that can be read.")) from error
    _read_east_asian_dates(workbook)
    return workbook


def _sheet_rows(workbook, sheet, width: int | None = None) -> Iterator[list[str]]:
    """Every row of the sheet from row 1 (blank ones too), a merged range's value in each of its cells,
    a title above the header read as a blank row."""
    values = sheet.iter_rows(min_row=1, max_col=width, values_only=True)
    source = ([_cell_text(value) for value in row] for row in values)
    yield from _titles_blanked(_with_merged_cells(source, _merged_ranges(workbook, sheet)))


def _read_east_asian_dates(workbook) -> None:
    """Have openpyxl read the cells of an East Asian date format as dates (with the workbook's epoch,
    1900 or 1904), as it does those of the formats it knows. Its index of date styles is private."""
    east_asian = {
        index for index, style in enumerate(workbook._cell_styles) if style.numFmtId in EAST_ASIAN_DATE_FORMATS
    }
    workbook._date_formats = set(workbook._date_formats) | east_asian


def _merged_ranges(workbook, sheet) -> list[tuple[int, int, int, int]]:
    """(first column, first row, last column, last row) of each merged range. Read-only openpyxl does not
    read them; they are <mergeCell ref="C2:C4"/> after the rows, found faster by a scan of the XML's bytes
    than by parsing it (an XML attribute or text has no raw "<", so a tag is never cut at one)."""
    refs, tail = [], b""
    with workbook._archive.open(sheet._worksheet_path) as source:
        while chunk := source.read(CHUNK):
            text = tail + chunk
            end = text.rfind(b"<") if b"<" in text else len(text)
            refs += [match[1] for match in MERGE_CELL.finditer(text, 0, end)]
            tail = text[end:]
    refs += [match[1] for match in MERGE_CELL.finditer(tail)]
    return [range_boundaries(ref.decode().upper()) for ref in refs]


def _with_merged_cells(source: Iterable[list[str]], merged: list) -> Iterator[tuple[list[str], bool]]:
    """Excel shows a merged range's value in all its cells but stores it in the top left one only:
    a company merged over the rows of its three people belongs to each of them. With each row, whether
    it is a title: all it holds is one value merged across columns ("客户名单 2026" over the table)."""
    waiting = sorted(merged, key=lambda bounds: bounds[1], reverse=True)
    open_ranges = []
    for number, cells in enumerate(source, start=1):
        while waiting and waiting[-1][1] <= number:
            first_column, *_rest = bounds = waiting.pop()
            open_ranges.append((bounds, cells[first_column - 1] if first_column <= len(cells) else ""))
        open_ranges = [(bounds, value) for bounds, value in open_ranges if bounds[3] >= number]
        for (first_column, _first_row, last_column, _last_row), value in open_ranges:
            stop = min(last_column, len(cells))
            cells[first_column - 1 : stop] = [value] * max(stop - first_column + 1, 0)
        yield cells, bool(open_ranges) and _is_title(cells, open_ranges)


def _is_title(cells: list[str], open_ranges: list) -> bool:
    filled = [index for index, cell in enumerate(cells, start=1) if cell]
    return bool(filled) and any(
        value and first_column < last_column and first_column <= filled[0] and filled[-1] <= last_column
        for (first_column, _first_row, last_column, _last_row), value in open_ranges
    )


def _titles_blanked(source: Iterable[tuple[list[str], bool]]) -> Iterator[list[str]]:
    """The rows, a title above the header (and the blank rows between) read as blank: the header is
    then the row below it, found and guessed as one below blank rows is; every column would otherwise
    have the title for its header. Kept as they are when no header of two cells or more follows within
    TITLE_ROWS_MAX rows: a sheet of one column whose header cell is merged wider, a sheet of titles only."""
    source = iter(source)
    held = []
    for cells, title in source:
        if title or (held and not any(cells)):
            held.append(cells)
            if len(held) == TITLE_ROWS_MAX:
                break
            continue
        if not any(cells):  # blank, above everything
            yield cells
            continue
        if held and sum(1 for cell in cells if cell) > 1:  # the header, below a title
            held = [[""] * len(row) for row in held]
        held.append(cells)
        break
    yield from held
    yield from (cells for cells, _title in source)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone number typed as a number
    return without_control_characters(str(value)).strip()
