"""Streamed CSV downloads that spreadsheets open safely: UTF-8 with a BOM (Excel then reads
Chinese text right), and cells that would run as formulas prefixed with ' (CSV injection)."""

import csv
import io
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal

from flask import Response, stream_with_context

from crm.security import content_disposition

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Spaces and control characters a spreadsheet (or our own XLSX writer) may drop before it reads a formula.
SKIPPED_LEAD = "".join(chr(code) for code in range(0x21)) + "\x7f"
BOM = "\ufeff"
PLAIN_NAME = re.compile(r'[^"\\\x00-\x1f\x7f-\U0010ffff]+')  # printable ASCII, no quote or backslash


def neutralised(value) -> str:
    """The cell's text, with a leading ' when it would start a formula, even behind spaces or control characters.
    A number is written plainly (-5, and 0.0000001 rather than 1E-7): it runs no formula, and a
    program reading the file takes it as it is."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    text = "" if value is None else str(value)
    starts_formula = text.startswith(FORMULA_STARTS) or text.lstrip(SKIPPED_LEAD).startswith(FORMULA_STARTS)
    return "'" + text if starts_formula else text


def csv_row(cells) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([neutralised(cell) for cell in cells])
    return buffer.getvalue()


def attachment(filename: str) -> str:
    """The Content-Disposition of a download: its name as it is when a header can hold it, else with
    the real one per RFC 6266 (a header holds Latin-1 only: an import's invalid rows of 客户.csv made
    gunicorn fail the response)."""
    if PLAIN_NAME.fullmatch(filename):
        return f'attachment; filename="{filename}"'
    return content_disposition("attachment", filename)


def csv_download(lines: Iterable[str], filename: str) -> Response:
    """``lines`` (a generator: nothing is held in memory) as an attachment, inside the request's context."""

    def with_bom() -> Iterator[str]:
        yield BOM
        yield from lines

    return Response(
        stream_with_context(with_bom()),
        mimetype="text/csv",
        headers={"Content-Disposition": attachment(filename)},
    )
