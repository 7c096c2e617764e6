"""The backup file: a ZIP written as it streams, read back with its checks, and the JSON form of
column values.

Writing: ``zipfile`` writes into ``Pipe``, which only collects what it is given; the generator
hands that on after every batch of rows, so the response never holds more than a batch (zipfile
needs no seeking: on a stream that cannot seek it puts each entry's sizes after its data).

Reading: a restore opens the uploaded ZIP and checks, before anything is written, that it is a
ZIP, that its manifest is ours and of this schema version, and that it does not unpack to more
than allowed (a small ZIP can hold gigabytes of zeros).
"""

import base64
import json
import zipfile
from datetime import date, datetime
from decimal import Decimal
from typing import IO

import sqlalchemy as sa
from flask_babel import gettext as _

FORMAT = "kehu-workspace-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
WORKSPACE = "workspace.json"
USERS_FILE = "data/users.jsonl"


def data_file(table: str) -> str:
    return f"data/{table}.jsonl"


def file_entry(folder: str, name: str) -> str:
    return f"files/{folder}/{name}"


class InvalidBackup(ValueError):
    """The file is not a backup this server can restore; the message says why, for the person."""


class Pipe:
    """A write-only stream that keeps what is written until ``drain`` hands it on."""

    def __init__(self):
        self._chunks: list[bytes] = []

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def encode(value):
    """A column value as JSON: times and dates in ISO 8601, money as a decimal string (never a
    float), binary data in base64."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def json_line(row: dict) -> bytes:
    return json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def decoder(column: sa.Column):
    """The function turning a JSON value back into ``column``'s Python value; raises ValueError or
    TypeError on a value of the wrong kind."""
    kind = column.type
    if isinstance(kind, sa.types.TypeDecorator):  # UTCDateTime is read as the type it decorates
        kind = kind.impl
    if isinstance(kind, sa.JSON):
        return lambda value: value
    if isinstance(kind, sa.DateTime):
        return _typed(str, datetime.fromisoformat)
    if isinstance(kind, sa.Date):
        return _typed(str, date.fromisoformat)
    if isinstance(kind, sa.Numeric):
        return _typed(str, Decimal)
    if isinstance(kind, sa.LargeBinary):
        return _typed(str, lambda text: base64.b64decode(text, validate=True))
    if isinstance(kind, sa.Boolean):
        return _typed(bool, bool)
    if isinstance(kind, sa.Integer):
        return _typed(int, int)
    return _typed(str, str)


def _typed(expected: type, convert):
    def decode(value):
        if value is None:
            return None
        # bool is an int in Python; an id or a count must not be true or false.
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise TypeError(f"{value!r} is not a {expected.__name__}")
        return convert(value)

    return decode


# Bounds on what one entry or line may unpack to, whatever the upload's size (a zip bomb of a
# few hundred kilobytes otherwise unpacked a single line of gigabytes into memory).
MAX_SMALL_ENTRY = 8 * 1024 * 1024  # manifest.json, workspace.json (with the logo)
MAX_LINE = 4 * 1024 * 1024  # one record of data/*.jsonl
MAX_ENTRIES = 100_000


def open_backup(stream: IO[bytes], max_unpacked: int | None) -> tuple[zipfile.ZipFile, dict]:
    """The ZIP and its manifest; raises InvalidBackup with a message for the person."""
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InvalidBackup(_("This is not a ZIP file. Choose a backup downloaded from Kehu.")) from None
    if len(archive.infolist()) > MAX_ENTRIES:
        raise InvalidBackup(_("This ZIP file holds too many files to be a backup made by Kehu."))
    unpacked = sum(info.file_size for info in archive.infolist())
    if max_unpacked is not None and unpacked > max_unpacked:
        raise InvalidBackup(
            _("This backup unpacks to more than %(size)d MB, more than a restore here accepts.",
              size=max_unpacked // (1024 * 1024))
        )  # fmt: skip
    try:
        manifest = json.loads(read_member(archive, MANIFEST))
    except KeyError:
        raise InvalidBackup(_("This ZIP file has no manifest.json: it is not a backup made by Kehu.")) from None
    except ValueError:
        raise InvalidBackup(_("The manifest.json of this backup cannot be read.")) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InvalidBackup(_("This ZIP file is not a workspace backup made by Kehu."))
    if manifest.get("format_version") != FORMAT_VERSION or not isinstance(manifest.get("tables"), dict):
        raise InvalidBackup(_("This backup was made in a format this version of Kehu does not read."))
    return archive, manifest


def read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    """A whole (small) entry; KeyError when absent, InvalidBackup when damaged or too big to be
    one of ours (zipfile never unpacks more than an entry's declared size)."""
    if archive.getinfo(name).file_size > MAX_SMALL_ENTRY:
        raise InvalidBackup(_("The backup is damaged: %(entry)s is too big.", entry=name))
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError):
        raise InvalidBackup(_("The backup is damaged: %(entry)s cannot be read.", entry=name)) from None


def json_lines(archive: zipfile.ZipFile, name: str):
    """The rows of a JSON Lines entry, one at a time (the entry is never read whole)."""
    try:
        with archive.open(name) as entry:
            for number, line in enumerate(iter(lambda: entry.readline(MAX_LINE + 1), b""), start=1):
                if len(line) > MAX_LINE:
                    raise InvalidBackup(
                        _("The backup is damaged: line %(line)d of %(entry)s is too long.", line=number, entry=name)
                    )
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError:
                    raise InvalidBackup(
                        _("The backup is damaged: line %(line)d of %(entry)s is not JSON.", line=number, entry=name)
                    ) from None
                if not isinstance(row, dict):
                    raise InvalidBackup(
                        _("The backup is damaged: line %(line)d of %(entry)s is not a record.", line=number,
                          entry=name)
                    )  # fmt: skip
                yield number, row
    except KeyError:
        raise InvalidBackup(_("The backup is incomplete: %(entry)s is missing.", entry=name)) from None
    except (zipfile.BadZipFile, OSError, EOFError):
        raise InvalidBackup(_("The backup is damaged: %(entry)s cannot be read.", entry=name)) from None
