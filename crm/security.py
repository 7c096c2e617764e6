"""Password hashing (argon2id), the security headers every response carries, form and query text
without control characters, and URL path arguments (and ids in query strings and forms) that a page
or a query can take as they are."""

import re
from urllib.parse import quote

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, Request, Response, current_app
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.routing import IntegerConverter, PathConverter, UnicodeConverter

CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Hashing a throwaway password when the email is unknown keeps the login's timing the same.
_DUMMY_PASSWORD = "not-a-real-password"  # noqa: S105


def _hasher() -> PasswordHasher:
    profile = getattr(profiles, current_app.config.get("ARGON2_PROFILE", "RFC_9106_LOW_MEMORY"))
    return PasswordHasher.from_parameters(profile)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    hasher = _hasher()
    try:
        return hasher.verify(password_hash or hasher.hash(_DUMMY_PASSWORD), password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


# C0 controls but tab, newline and carriage return, DEL and the C1 controls: no one types them,
# PostgreSQL refuses NUL in text (a 500), and HTML cannot hold them (a page that shows one is invalid).
# And the bidi embeddings and overrides (U+202A-U+202E): "Ann \u202efdp.exe" shows as "Ann exe.pdf",
# and an unclosed one turns the text after it around. The marks (U+200E, U+200F) and the isolates
# (U+2066-U+2069), which Arabic and Hebrew text uses, are kept: they turn no letters around.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e]")


def without_control_characters(text: str) -> str:
    return CONTROL_CHARACTERS.sub("", text)


# In a file name, line breaks and tabs too: no one names a file with one. And every mark that turns
# the direction of the text (embeddings, overrides, isolates, the marks): "scan\u202egnp.exe" reads
# "scanexe.png".
FILE_NAME_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def uploaded_file_name(name: str | None, limit: int = 200) -> str:
    """The name a browser gave an uploaded file, to show and store (never to name a file on disk):
    without folders (old browsers send the whole path) or control characters, at most ``limit``
    characters, and "file" when nothing is left."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return FILE_NAME_CONTROLS.sub("", name).strip()[:limit] or "file"


def content_disposition(disposition: str, filename: str) -> str:
    """The header with an ASCII name (headers are Latin-1) and the real one per RFC 6266/5987, so a
    Chinese file name survives: ``filename="___.png"; filename*=UTF-8''%E5%8F%91...``."""
    ascii_name = re.sub(r'[^\x20-\x7e]|["\\]', "_", filename) or "file"
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


class TextValues(ImmutableMultiDict):
    """A request's form or query values, each string without control characters, whatever a client
    (or a paste) sent: every form and filter gets clean text without a check of its own."""

    def __init__(self, mapping=None):
        if isinstance(mapping, MultiDict):
            mapping = mapping.items(multi=True)
        elif isinstance(mapping, dict):
            mapping = mapping.items()
        if mapping is not None:
            mapping = [(key, without_control_characters(value) if isinstance(value, str) else value)
                       for key, value in mapping]  # fmt: skip
        super().__init__(mapping)


class KehuRequest(Request):
    parameter_storage_class = TextValues


# Path arguments are matched, not cleaned: a segment with a control character (C0, DEL or C1) names
# nothing, so its URL matches no rule and is a 404 (PostgreSQL refuses NUL in a query: a 500).
PATH_CONTROLS = "\\x00-\\x1f\\x7f-\\x9f"
BIGINT_MAX = 2**63 - 1


class TextConverter(UnicodeConverter):
    """``<name>`` and ``<string:name>``: one segment without control characters."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.regex = self.regex.replace("[^/]", f"[^/{PATH_CONTROLS}]", 1)


class TextPathConverter(PathConverter):
    """``<path:name>``: segments without control characters."""

    regex = f"[^/{PATH_CONTROLS}][^{PATH_CONTROLS}]*?"  # as Werkzeug's "[^/].*?", without them


def _at_most(limit: int) -> str:
    """A pattern for the numbers from 0 to ``limit``, written without leading zeros past its length."""
    digits = str(limit)
    below = [
        f"{digits[:i]}[0-{int(digit) - 1}]\\d{{{len(digits) - i - 1}}}"
        for i, digit in enumerate(digits)
        if digit != "0"
    ]
    return "|".join([f"\\d{{1,{len(digits) - 1}}}", *below, digits])


class IdConverter(IntegerConverter):
    """``<int:name>``: a number a BIGINT column can hold; a larger one names no row (SQLite raises
    OverflowError on it, a 500). The pattern refuses it, so that the URL matches no rule (a 404):
    a number refused only after matching would be a 405 where another method's rule matches."""

    regex = f"(?:{_at_most(BIGINT_MAX)})"

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):  # Werkzeug's argument names
        super().__init__(map, fixed_digits, min, BIGINT_MAX if max is None or max > BIGINT_MAX else max, signed)


def digits(value) -> int | None:
    """A whole number written in ASCII digits (``str.isdigit`` also takes "²", which ``int``
    refuses), of any size; None for anything else. Past 100 digits it is only known to be beyond any
    id (``int`` refuses more than 4,300 digits, and a form may send them)."""
    text = value if isinstance(value, str) else ""
    if not (text.isascii() and text.isdigit()):
        return None
    return int(text) if len(text) <= 100 else BIGINT_MAX + 1


def record_id(value) -> int | None:
    """A record's id sent in a query string or a form, read as ``<int:...>`` reads one in a path: a
    number a BIGINT column holds, else None. A larger one names no row, and the database would fail
    on it (SQLite with OverflowError, PostgreSQL "out of range"): a 500."""
    number = digits(value)
    return number if number is not None and number <= BIGINT_MAX else None


def install_converters(app: Flask) -> None:
    """Every rule added from here on (all the blueprints') reads its arguments through the converters above."""
    converters = app.url_map.converters
    converters["default"] = converters["string"] = TextConverter
    converters["path"] = TextPathConverter
    converters["int"] = IdConverter


def init_app(app: Flask) -> None:
    production = app.config["KEHU_ENV"] == "production"
    app.request_class = KehuRequest

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if production:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
