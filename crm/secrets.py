"""Secrets at rest (TOTP secrets; later any stored credential such as a workspace's SMTP password).

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under the keys of ``ENCRYPTION_KEYS``:
a comma-separated list whose first key encrypts and whose other keys only decrypt. Rotation:
put a new key first, keep the old ones after it, run ``flask crm reencrypt-secrets``, then drop
the old keys. A value that none of the keys can read raises ``SecretUnreadable``, never garbage,
and the app refuses to start when a stored secret is unreadable (``check_stored_secrets``).
"""

import base64
import hashlib
import logging
from functools import lru_cache

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app

log = logging.getLogger(__name__)

GENERATE_HINT = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'


class SecretUnreadable(RuntimeError):
    """A stored secret that none of the configured keys decrypts."""


def parse_keys(value: str) -> list[str]:
    """The keys of an ``ENCRYPTION_KEYS`` value; raises ValueError naming the bad one (by position,
    never by its text, which would put key material into logs)."""
    keys = [key.strip() for key in value.split(",") if key.strip()]
    if not keys:
        raise ValueError("no key given")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError) as error:
            raise ValueError(
                f"key {position} of {len(keys)} is not a Fernet key (32 url-safe base64-encoded bytes); "
                f"generate one with: {GENERATE_HINT}"
            ) from error
    return keys


def derived_key(secret_key: str) -> str:
    """A stable key for development and test, derived from SECRET_KEY, so `make run` needs no setup."""
    digest = hashlib.sha256(b"kehu-encryption-keys:" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


@lru_cache(maxsize=8)
def _multi_fernet(keys: str) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in parse_keys(keys)])


def _fernet() -> MultiFernet:
    return _multi_fernet(current_app.config["ENCRYPTION_KEYS"])


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as error:
        raise SecretUnreadable(
            "a stored secret was encrypted with a key that is not in ENCRYPTION_KEYS "
            "(a key was replaced instead of rotated, or lost): put the old key back after the new one"
        ) from error


def reencrypt(token: str) -> str:
    """The same secret encrypted with the first key (for rotation); raises SecretUnreadable."""
    try:
        return _fernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError) as error:
        raise SecretUnreadable("a stored secret was encrypted with a key that is not in ENCRYPTION_KEYS") from error


def stored_secret_columns():
    """Every column holding a value encrypted here; rotation and the start-up check walk them."""
    from crm.auth.models import User

    return [User.__table__.c.totp_secret]


def reencrypt_all() -> int:
    """Moves every stored secret to the first key (``flask crm reencrypt-secrets``), so the keys
    after it can be dropped; one transaction. Returns how many values were rewritten."""
    from crm.extensions import db

    count = 0
    for column in stored_secret_columns():
        table = column.table
        rows = db.session.execute(sa.select(table.c.id, column).where(column.is_not(None))).all()
        for row_id, token in rows:
            db.session.execute(sa.update(table).where(table.c.id == row_id).values({column.name: reencrypt(token)}))
            count += 1
    db.session.commit()
    return count


def check_stored_secrets(app: Flask) -> None:
    """Refuse to start when the newest stored secret of any kind cannot be read: a lost or replaced
    key shows up at start-up, not as failing sign-ins later. A database that is unreachable or not
    migrated yet is skipped (``flask db upgrade`` must still run)."""
    from crm.config import ConfigError
    from crm.extensions import db

    with app.app_context():
        for column in stored_secret_columns():
            query = sa.select(column).where(column.is_not(None)).order_by(column.table.c.id.desc()).limit(1)
            try:
                with db.engine.connect() as connection:
                    token = connection.scalar(query)
            except sa.exc.DBAPIError as error:
                log.debug("not checking stored secrets: %s", error)
                return
            if token is None:
                continue
            try:
                decrypt(token)
            except SecretUnreadable as error:
                raise ConfigError(
                    f"ENCRYPTION_KEYS cannot decrypt {column.table.name}.{column.name}: {error}"
                    " (in development and test the key is derived from SECRET_KEY when ENCRYPTION_KEYS is unset)"
                ) from error
