"""Streamed CSV downloads that spreadsheets open safely: UTF-8 with a BOM (Excel then reads
Chinese text right), and cells that would run as formulas prefixed with ' (CSV injection)."""

import csv
import io
from collections.abc import Iterable, Iterator

from flask import Response, stream_with_context

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def neutralised(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_row(cells) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([neutralised(cell) for cell in cells])
    return buffer.getvalue()


def csv_download(lines: Iterable[str], filename: str) -> Response:
    """``lines`` (a generator: nothing is held in memory) as an attachment, inside the request's context."""

    def with_bom() -> Iterator[str]:
        yield BOM
        yield from lines

    return Response(
        stream_with_context(with_bom()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
