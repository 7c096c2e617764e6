"""Two-factor authentication: TOTP (RFC 6238, what authenticator apps speak) and one-time
recovery codes.

* Enrolment keeps the pending secret in the user row, encrypted (crm.secrets), with
  ``totp_enabled_at`` still NULL; only a first right code sets ``totp_enabled_at``. Starting again
  replaces the pending secret; sign-in ignores a secret that was never confirmed.
* Codes of the previous, current and next 30-second step are accepted (clock drift). A code that
  worked once is refused for the rest of its window: used steps are remembered in the rate-limit
  store (Redis in production, so every process sees them; memory otherwise), since the schema
  has no column for the last used step.
* Recovery codes: ten random codes shown once; only their SHA-256 is stored, and a code is spent
  by a conditional UPDATE, so two requests cannot both use it.
"""

import hashlib
import hmac
import re
import secrets
import time
from io import BytesIO

import pyotp
import segno
import sqlalchemy as sa
from markupsafe import Markup

from crm.auth.models import RecoveryCode, User
from crm.auth.shared_store import shared_store
from crm.db import utcnow
from crm.extensions import db
from crm.secrets import decrypt, encrypt

ISSUER = "Kehu CRM"
STEP_SECONDS = 30
RECOVERY_CODE_COUNT = 10
# No 0/o, 1/l/i: codes are copied from paper. 31 symbols ** 10 ≈ 2**49.5 per code.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_LENGTH = 10
TOTP_CODE = re.compile(r"^\d{6}$")
_SEPARATORS = re.compile(r"[\s-]+")


class TwoFactorError(ValueError):
    """The account is not in the state this step needs (already enabled, nothing pending...)."""


def normalize(code: str) -> str:
    """Spaces and dashes dropped, lower case: "123 456" and "ABCDE-FGHJK" are accepted as typed."""
    return _SEPARATORS.sub("", code or "").lower()


def looks_like_totp(code: str) -> bool:
    return bool(TOTP_CODE.match(normalize(code)))


def looks_like_recovery_code(code: str) -> bool:
    value = normalize(code)
    return len(value) == RECOVERY_LENGTH and all(c in RECOVERY_ALPHABET for c in value)


# --- enrolment -----------------------------------------------------------------------------------


def start_enrolment(user: User) -> str:
    """A new pending secret for ``user`` (replacing any earlier pending one); returns it."""
    if user.two_factor_enabled:
        raise TwoFactorError("two-factor authentication is already on")
    secret = pyotp.random_base32()
    user.totp_secret = encrypt(secret)
    return secret


def pending_secret(user: User) -> str | None:
    if user.two_factor_enabled or not user.totp_secret:
        return None
    return decrypt(user.totp_secret)


def cancel_enrolment(user: User) -> None:
    if not user.two_factor_enabled:
        user.totp_secret = None


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(data: str, title: str) -> Markup:
    """Inline SVG (no data: URL, no script): black modules on a white quiet zone, so dark themes
    and the strict CSP both hold."""
    out = BytesIO()
    segno.make(data, error="m").save(
        out, kind="svg", xmldecl=False, svgns=True, scale=4, dark="#000", light="#fff", title=title, svgclass="qr"
    )
    return Markup(out.getvalue().decode())  # noqa: S704  (segno's own markup; the title is escaped by segno)


def confirm_enrolment(user: User, code: str) -> list[str] | None:
    """Turns two-factor on when ``code`` is right for the pending secret; returns the new
    recovery codes (plain, to show once), or None for a wrong code."""
    secret = pending_secret(user)
    if secret is None:
        raise TwoFactorError("no two-factor set-up is pending")
    if not _accept_totp(user, secret, code):
        return None
    user.totp_enabled_at = utcnow()
    return new_recovery_codes(user)


def disable(user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


# --- checking codes at sign-in -------------------------------------------------------------------


def verify(user: User, code: str) -> str | None:
    """How ``user`` proved the second factor with ``code`` ("totp" or "recovery_code"), or None
    when it is not a right, unused code."""
    if not user.two_factor_enabled or not user.totp_secret:
        return None
    if looks_like_totp(code):
        return "totp" if _accept_totp(user, decrypt(user.totp_secret), code) else None
    if looks_like_recovery_code(code):
        return "recovery_code" if _spend_recovery_code(user, code) else None
    return None


def _accept_totp(user: User, secret: str, code: str) -> bool:
    step = _matching_step(secret, normalize(code))
    return step is not None and _first_use(user, step)


def _now() -> float:
    return time.time()  # one place for tests to stop the clock


def _matching_step(secret: str, code: str) -> int | None:
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(_now() // STEP_SECONDS)
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _first_use(user: User, step: int) -> bool:
    # A code is accepted during three steps at most (90 s); one more step of margin.
    key = f"totp-used/{user.id}/{step}"
    return shared_store().incr(key, expiry=4 * STEP_SECONDS) == 1


# --- recovery codes ------------------------------------------------------------------------------


def _hash(code: str) -> str:
    return hashlib.sha256(normalize(code).encode()).hexdigest()


def _new_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def new_recovery_codes(user: User) -> list[str]:
    """Ten fresh codes; every earlier code of the user stops working."""
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_code() for _ in range(RECOVERY_CODE_COUNT)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(code)) for code in codes)
    return codes


def remaining_recovery_codes(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


def _spend_recovery_code(user: User, code: str) -> bool:
    result = db.session.execute(
        sa.update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
