"""Accounts: sign-up, sign-in, passwords, password reset and session revocation."""

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app, render_template
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from crm.auth.models import User
from crm.db import utcnow
from crm.extensions import db
from crm.mail import send_mail
from crm.security import hash_password, needs_rehash, verify_password

RESET_SALT = "password-reset"


class EmailTaken(ValueError):
    pass


def normalize_email(raw: str) -> str:
    """Lower-cased, IDNA-normalised address; raises ValueError with a user-facing message."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise ValueError(str(error)) from error


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


def authenticate(email: str, password: str) -> User | None:
    """The user for these credentials, or None, taking as long either way."""
    try:
        user = user_by_email(normalize_email(email))
    except ValueError:
        user = None
    if not verify_password(user.password_hash if user else None, password) or user is None:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def set_password(user: User, password: str) -> None:
    """New password; every existing session of the user ends (the caller signs this one in again)."""
    user.password_hash = hash_password(password)
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
