"""Accounts: sign-up, sign-in, passwords, password reset, session revocation, lock-out after
repeated failures, the sign-in history and the half-way state of a two-factor sign-in."""

import hashlib
import math
import time
import unicodedata
from datetime import timedelta

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_request_context, render_template, request, session
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from crm.auth.models import SignIn, User
from crm.auth.shared_store import shared_store
from crm.db import utcnow
from crm.extensions import db
from crm.mail import send_mail
from crm.security import hash_password, needs_rehash, verify_password
from crm.tenancy import bind_user

RESET_SALT = "password-reset"
PENDING_KEY = "two_factor_pending"


class EmailTaken(ValueError):
    pass


def normalize_email(raw: str) -> str:
    """Lower-cased, IDNA-normalised address; raises ValueError with a user-facing message. Full-width
    characters (typed with a Chinese input method) are read as the ASCII ones they stand for (NFKC)."""
    try:
        return validate_email(unicodedata.normalize("NFKC", raw).strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise ValueError(_email_problem(error)) from error


def _email_problem(error: EmailNotValidError) -> str:
    """email-validator explains what is wrong in English only: other languages get our sentence."""
    locale = get_locale() if has_request_context() else None
    if locale is None or locale.language == "en":
        return str(error)
    return _("Not a valid email address (for example name@example.com).")


def user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email))


def create_user(name: str, email: str, password: str, locale: str | None = None) -> User:
    email = normalize_email(email)
    if user_by_email(email) is not None:
        raise EmailTaken(email)
    user = User(name=name.strip(), email=email, password_hash=hash_password(password), locale=locale)
    db.session.add(user)
    db.session.flush()
    return user


def user_for_login(email: str) -> User | None:
    try:
        return user_by_email(normalize_email(email))
    except ValueError:
        return None


def authenticate(email: str, password: str) -> User | None:
    """The user for these credentials, or None, taking as long either way. Only the password is
    checked: the caller still checks the lock-out and the second factor."""
    user = user_for_login(email)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def start_session(user: User, remember: bool = False) -> None:
    _fresh_session()
    login_user(user, remember=remember)
    bind_user(user.id)


def _fresh_session() -> None:
    locale = session.get("locale")
    session.clear()  # a fresh session id on sign-in: no fixation
    if locale:
        session["locale"] = locale


# --- lock-out and sign-in history ----------------------------------------------------------------


def locked_minutes_left(user: User) -> int | None:
    """Whole minutes (rounded up) until a locked account opens again; None when it is not locked."""
    if user.locked_until is None or user.locked_until <= utcnow():
        return None
    return max(1, math.ceil((user.locked_until - utcnow()).total_seconds() / 60))


def record_failed_attempt(user: User) -> bool:
    """Counts a wrong password or code. The attempt that reaches LOGIN_LOCKOUT_ATTEMPTS locks the
    account for LOGIN_LOCKOUT_MINUTES (whatever the IP) and starts the count again; returns True
    then. The increment happens in SQL so concurrent attempts are all counted."""
    user.failed_logins = User.failed_logins + 1
    db.session.flush()
    if user.failed_logins < current_app.config["LOGIN_LOCKOUT_ATTEMPTS"]:
        return False
    user.failed_logins = 0
    user.locked_until = utcnow() + timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
    return True


# An address with no account is locked out as an account is, so that the lock-out message does not
# tell which addresses have one: its wrong attempts are counted in the shared store (a day at most).
def _address_keys(email: str) -> tuple[str, str]:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"login-failed/{digest}", f"login-locked/{digest}"


def address_locked_minutes_left(email: str) -> int | None:
    """As ``locked_minutes_left``, for an address that has no account."""
    _count, lock = _address_keys(email)
    if not shared_store().get(lock):
        return None
    return max(1, math.ceil((shared_store().get_expiry(lock) - time.time()) / 60))


def record_failed_address(email: str) -> bool:
    """As ``record_failed_attempt``, for an address that has no account."""
    count, lock = _address_keys(email)
    if shared_store().incr(count, expiry=86_400) < current_app.config["LOGIN_LOCKOUT_ATTEMPTS"]:
        return False
    shared_store().clear(count)
    shared_store().incr(lock, expiry=current_app.config["LOGIN_LOCKOUT_MINUTES"] * 60)
    return True


def unlock(user: User) -> None:
    user.failed_logins = 0
    user.locked_until = None


def signed_in(user: User) -> None:
    """Bookkeeping of a complete sign-in (password and, when on, the second factor)."""
    unlock(user)
    user.last_login_at = utcnow()
    record_sign_in(user, succeeded=True)


def record_sign_in(user: User, succeeded: bool) -> None:
    """One row of the user's "recent sign-ins"; rows older than SIGN_IN_HISTORY_DAYS go."""
    db.session.add(
        SignIn(
            user_id=user.id,
            succeeded=succeeded,
            ip=(request.remote_addr or "")[:45] or None,
            user_agent=(request.user_agent.string or "")[:255] or None,
        )
    )
    cutoff = utcnow() - timedelta(days=current_app.config["SIGN_IN_HISTORY_DAYS"])
    db.session.execute(sa.delete(SignIn).where(SignIn.user_id == user.id, SignIn.created_at < cutoff))


# --- the half-way state of a two-factor sign-in ---------------------------------------------------


def await_second_factor(user: User, remember: bool = False, next_url: str | None = None) -> None:
    """The password was right and the account has two-factor on: nobody is signed in yet; the
    (signed) session cookie remembers whose code to ask for, for TWO_FACTOR_PENDING_SECONDS. The
    session version inside ends it if the password changes meanwhile."""
    _fresh_session()
    logout_user()  # after the clear: it marks a remember-me cookie of anyone else for deletion
    session[PENDING_KEY] = {
        "user": user.id,
        "version": user.session_version,
        "remember": bool(remember),
        "next": next_url,
        "until": int(time.time()) + current_app.config["TWO_FACTOR_PENDING_SECONDS"],
    }


def pending_two_factor() -> tuple[User, dict] | None:
    """(user, pending state) of a sign-in waiting for its second factor, or None."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or pending.get("until", 0) < time.time():
        return None
    user = db.session.get(User, pending.get("user"))
    if user is None or user.session_version != pending.get("version") or not user.two_factor_enabled:
        return None
    return user, pending


def forget_pending_two_factor() -> None:
    session.pop(PENDING_KEY, None)


def set_password(user: User, password: str) -> None:
    """New password; every existing session of the user ends (the caller signs this one in again),
    and a lock-out ends: the guesses it stopped were for the old password."""
    user.password_hash = hash_password(password)
    unlock(user)
    end_all_sessions(user)


def end_all_sessions(user: User) -> None:
    user.session_version += 1


def reset_token(user: User) -> str:
    # The session version inside makes the link single-use: setting the password bumps it.
    return _serializer().dumps({"user": user.id, "version": user.session_version})


def user_for_reset_token(token: str) -> User | None:
    try:
        data = _serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except (SignatureExpired, BadSignature):
        return None
    user = db.session.get(User, data.get("user"))
    if user is None or user.session_version != data.get("version"):
        return None
    return user


def send_password_reset(email: str, link_for) -> None:
    """Mail a reset link if the address has an account; say nothing either way."""
    try:
        user = user_by_email(normalize_email(email))
    except ValueError:
        return
    if user is None:
        return
    with force_locale(user.locale or str(get_locale())):
        subject = _("Reset your Kehu password")
        text = render_template("auth/email/reset_password.txt", user=user, link=link_for(reset_token(user)))
    send_mail(user.email, subject, text)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)
