"""Password hashing (argon2id), the security headers every response carries, and form and query
text without control characters."""

import re

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, Request, Response, current_app
from werkzeug.datastructures import ImmutableMultiDict, MultiDict

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


# C0 controls but tab, newline and carriage return, and DEL: no one types them, PostgreSQL refuses NUL
# in text (a 500), and HTML cannot hold them (a page that shows one is invalid).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def without_control_characters(text: str) -> str:
    return CONTROL_CHARACTERS.sub("", text)


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
