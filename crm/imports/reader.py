"""Reading an uploaded spreadsheet a row at a time (constant memory): CSV in any common encoding
and delimiter, detected, or a sheet of an XLSX workbook (openpyxl, read-only)."""

import codecs
import csv
import re
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from itertools import islice
from pathlib import Path

from flask_babel import gettext as _
from openpyxl import load_workbook
from openpyxl.packaging.manifest import Manifest
from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.xml.constants import ARC_CONTENT_TYPES, SHARED_STRINGS
from openpyxl.xml.functions import fromstring

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
EXCEL_TEXT = re.compile(r'="((?:[^"]|"")*)"')  # a formula that is only a text: ="0012345"
# A quoted cell may hold line breaks (an address, a note); one running on longer than this is a quote
# never closed, which would otherwise swallow the rest of the file into one cell.
QUOTED_LINES_MAX = 50
QUOTED_CHARACTERS_MAX = 10_000
LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")
# The built-in number formats Chinese, Japanese and Korean Excel give their dates and times (31 is
# the zh-CN long date, yyyy"年"m"月"d"日"); openpyxl knows only the English ones.
EAST_ASIAN_DATE_FORMATS = frozenset((*range(27, 37), *range(50, 59)))
MAX_COLUMNS = 200
EXCEL_DIGITS = 15  # the significant digits Excel shows and computes a number to
# A line longer than this is no row of a customer list (200 columns of 10,000 characters; twice the
# longest cell the csv module takes, below): read whole, a 50 MB line of delimiters only took 20 s and
# 700 MB to make 26 million cells before the header could be checked.
LINE_CHARACTERS_MAX = 1 << 21
SHEET_ROWS_MAX = 1_048_576  # Excel's last row: a row numbered beyond it is none Excel wrote
# What an XLSX may unpack to. openpyxl streams the sheets (time, not memory) but reads the shared
# strings (every distinct text of the workbook) whole, at ~20 µs and up to ~100 bytes an entry,
# each time the file is opened: the upload, every view of the import page, the check and the import.
# 500 MB is ten times the default 50 MB upload limit: an XLSX of real data unpacks to 3-10 times its
# size, so a file refused holds more than a 50 MB CSV could. 500,000 distinct texts (a list of about
# 100,000 customers) take ~10 s to read, a third of a web worker's 30 s.
UNPACKED_BYTES_MAX = 500 * 1024 * 1024
SHARED_STRINGS_BYTES_MAX = 100 * 1024 * 1024
SHARED_STRINGS_MAX = 500_000
# Real spreadsheet data compresses 5-20 to 1, a part written to be unpacked (a zip bomb) ~1,000 to 1;
# a small part may compress as it likes (a sheet of one repeated row, a style table).
RATIO_MAX = 100
RATIO_FROM_BYTES = 10 * 1024 * 1024
SHARED_STRING = re.compile(rb"<(?:[\w.-]+:)?si[\s/>]")
WIDTH_SAMPLE = 50  # rows below the header that decide how many columns the sheet has
WIDTH_ROWS = 1_000  # ... found among so many rows below it
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
        filled = (cells for cells in _csv_titled(_csv_cells(stream, delimiter)) if any(cells))  # as rows() skips
        header = next(filled, None)
        if header is None:
            raise UnreadableFile(_l("The file is empty."))
        # As in a sheet: columns blank in the header and in the rows just below are left out (a row
        # of delimiters only would otherwise be thousands of columns); cells past the header are never read.
        width = _width(header)
        with suppress(UnreadableFile):  # a row below that cannot be read is told when the rows are
            for cells in islice(filled, WIDTH_SAMPLE):
                width = max(width, min(_width(cells), len(header)))
    if width > MAX_COLUMNS:  # no column letters: past XFD (16,384) Excel has none, and a CSV may go further
        raise UnreadableFile(_l("This file has %(count)s columns; an import reads at most %(limit)d. Delete the "
                                "columns you do not need and upload the file again.",
                                count=lazy_number(width), limit=MAX_COLUMNS))  # fmt: skip
    return Layout("csv", _headers(header[:width]), encoding, delimiter)


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
        yield from _csv_titled(_csv_cells(stream, layout.delimiter))


def _csv_titled(source: Iterable[list[str]]) -> Iterator[list[str]]:
    """The rows, a title above the header read as a blank row, as in a sheet (``_titles_blanked``): a sheet
    saved as CSV keeps its title ("客户名单 2026", then commas) but not that it was merged across the
    columns. Here a title is a row of one cell, the first, that is no heading the import knows."""
    from crm.imports.fields import known_heading

    return _titles_blanked(
        (cells, bool(cells and cells[0]) and not any(cells[1:]) and not known_heading(cells[0])) for cells in source
    )


def _csv_cells(stream, delimiter: str) -> Iterator[list[str]]:
    for cells in _records(stream, delimiter):
        yield [_without_guard(_unwrapped(without_control_characters(cell).strip())) for cell in cells]


def _unwrapped(cell: str) -> str:
    """The text of a cell written ="0012345": many systems (online shops, banks, Chinese ERPs) export
    an ID, a phone or a postal code so, which Excel shows as 0012345, leading zeros and all digits kept."""
    if cell[:2] != '="' or (match := EXCEL_TEXT.fullmatch(cell)) is None:
        return cell
    return match[1].replace('""', '"').strip()


class _QuoteRunsOn(Exception):
    pass


class _LineTooLong(Exception):
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
    except _LineTooLong:
        raise UnreadableFile(_l("Row %(number)d is longer than %(characters)s characters, too long to be a row of a "
                                "table. Check the file in a spreadsheet program and upload it again.",
                                number=number + 1, characters=lazy_number(LINE_CHARACTERS_MAX))) from None  # fmt: skip
    except csv.Error as error:
        raise UnreadableFile(_l("Row %(number)d cannot be read as CSV. Check it in a spreadsheet program and "
                                "upload the file again.", number=number + 1)) from error  # fmt: skip


def _lines(stream, record: list) -> Iterator[str]:
    """The stream's lines; a line is read at most LINE_CHARACTERS_MAX + 1 characters at a time, so one
    with no end (50 MB of delimiters) is refused without being held whole."""
    while line := stream.readline(LINE_CHARACTERS_MAX + 1):
        if len(line) > LINE_CHARACTERS_MAX:
            raise _LineTooLong
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
        header = _xlsx_header(sheet, _sheet_rows(workbook, sheet, MAX_COLUMNS + 1))
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
    values = sheet.iter_rows(max_row=SHEET_ROWS_MAX, max_col=MAX_COLUMNS + 1, values_only=True)
    return any(row.count(None) != len(row) and any(map(_cell_text, row)) for row in values)


def _xlsx_header(sheet, sheet_rows: Iterator[list[str]]) -> list[str]:
    """The first row with something in it, as wide as the last column filled in it or in the rows
    just below (a stray cell far to the right would otherwise make thousands of columns). The rows
    come MAX_COLUMNS + 1 wide; those of them going further are read again, alone, to tell which
    column to look at."""
    numbered = enumerate(sheet_rows, start=1)
    header = next(((number, cells) for number, cells in numbered if any(cells)), None)
    if header is None:
        raise UnreadableFile(_l("The file is empty."))
    below = islice(numbered, WIDTH_ROWS)  # not to the end of the sheet for a row a million rows down
    sample = [header, *islice(((number, cells) for number, cells in below if any(cells)), WIDTH_SAMPLE)]
    width = max(_width(cells) for _number, cells in sample)
    numbers = {number for number, _cells in sample}
    first, last = sample[0][0], sample[-1][0]
    wide = (
        _width(_texts(row))
        for number, row in enumerate(sheet.iter_rows(min_row=first, max_row=last, values_only=True), start=first)
        if number in numbers and len(row) > MAX_COLUMNS
    )
    _check_width(max(width, max(wide, default=0)))
    return header[1][:width]


def _check_width(width: int) -> None:
    if width > MAX_COLUMNS:
        raise UnreadableFile(
            _l(
                "This sheet has something in column %(column)s, so %(count)d columns; an import reads at most "
                "%(limit)d. Delete the columns you do not need and upload the file again.",
                column=get_column_letter(width), count=width, limit=MAX_COLUMNS,
            )
        )  # fmt: skip


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
        _check_unpacked(path)
        workbook = load_workbook(path, read_only=True, data_only=True)
    except UnreadableFile:
        raise
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, SyntaxError) as error:  # SyntaxError: bad XML
        raise UnreadableFile(_l("This is not an XLSX file that can be read.")) from error
    for sheet in workbook.worksheets:
        # Read-only openpyxl makes every row as wide and the sheet as long as its <dimension> says,
        # which the file itself claims: A1:XFD1048576 would be 16,384 cells in each of a million rows.
        # Without it each row is as wide as its last cell, and reading stops at the last row.
        sheet.reset_dimensions()
    _read_east_asian_dates(workbook)
    return workbook


def _check_unpacked(path: Path) -> None:
    """Refuses a workbook that unpacks to far more than it weighs, before openpyxl reads any of it
    (its shared strings whole, in memory). The sizes are the ones the zip declares; zipfile never
    unpacks a part beyond its declared size."""
    with zipfile.ZipFile(path) as archive:
        parts = archive.infolist()
        unpacked = sum(part.file_size for part in parts)
        if unpacked > UNPACKED_BYTES_MAX or any(
            part.file_size > RATIO_FROM_BYTES and part.file_size > RATIO_MAX * part.compress_size for part in parts
        ):
            raise UnreadableFile(_too_large(unpacked))
        strings = Manifest.from_tree(fromstring(archive.read(ARC_CONTENT_TYPES))).find(SHARED_STRINGS)
        if strings is None:
            return
        part = archive.getinfo(strings.PartName[1:])
        if part.file_size > SHARED_STRINGS_BYTES_MAX:
            raise UnreadableFile(_too_large(unpacked))
        if _entries(archive, part) > SHARED_STRINGS_MAX:
            raise UnreadableFile(_l("This file holds more than %(limit)s different texts; an import reads at most "
                                    "that many from an XLSX file. Save it as CSV or split it.",
                                    limit=lazy_number(SHARED_STRINGS_MAX)))  # fmt: skip


def _too_large(unpacked: int):
    return _l("This file is too large once unpacked (%(size)s MB); save it as CSV or split it.",
              size=lazy_number(-(-unpacked // (1024 * 1024))))  # fmt: skip


def _entries(archive: zipfile.ZipFile, part: zipfile.ZipInfo) -> int:
    """The <si> entries of the shared strings, counted from the bytes (a tag is never cut at a "<",
    as in _merged_ranges), up to one more than SHARED_STRINGS_MAX."""
    count, tail = 0, b""
    with archive.open(part) as source:
        while (chunk := source.read(CHUNK)) and count <= SHARED_STRINGS_MAX:
            text = tail + chunk
            end = text.rfind(b"<") if b"<" in text else len(text)
            count += len(SHARED_STRING.findall(text, 0, end))
            tail = text[end:]
    return count + len(SHARED_STRING.findall(tail))


def _sheet_rows(workbook, sheet, width: int | None = None) -> Iterator[list[str]]:
    """Every row of the sheet from row 1 (blank ones too), a merged range's value in each of its cells,
    a title above the header read as a blank row."""
    values = sheet.iter_rows(min_row=1, max_row=SHEET_ROWS_MAX, max_col=width, values_only=True)
    merged = _merged_ranges(workbook, sheet)
    # A blank row as [] when no merged range can fill it: each of a million blank rows (a sheet whose
    # header or last row is row 1,048,576) is then looked at in no time.
    source = (_texts(row) for row in values) if merged else (_texts(row, blank=[]) for row in values)
    yield from _titles_blanked(_with_merged_cells(source, merged))


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
    if not merged:  # most sheets: nothing to do for each of their rows
        yield from ((cells, False) for cells in source)
        return
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


def _texts(row: tuple, blank: list | None = None) -> list[str]:
    """The cells' texts; a row with no value (or one openpyxl makes up for a row missing from the
    file) as ``blank`` if given, without a call for each cell."""
    if row.count(None) == len(row):
        return [""] * len(row) if blank is None else blank
    return [_cell_text(value) for value in row]


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone number typed as a number
    if isinstance(value, float):
        # As Excel shows it, to 15 significant digits: a formula's 12.3 x 3 is kept as 36.900000000000006,
        # which read to the last digit had "more than 2 decimals". Never in exponent notation (1e-07).
        return format(Decimal(format(value, f".{EXCEL_DIGITS}g")), "f")
    return without_control_characters(str(value)).strip()
