from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from crm.auth import service
from crm.auth.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
    ResetPasswordForm,
    SignupForm,
)
from crm.auth.models import User
from crm.extensions import db, limiter, login_manager
from crm.htmx import is_boosted, is_htmx
from crm.i18n import LANGUAGES
from crm.tenancy import bind_user
from crm.workspaces import service as workspaces

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = None


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Session cookies carry "<id>:<session version>"; an old version is a revoked session."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_version != int(version):
        return None
    bind_user(user.id)
    return user


@login_manager.unauthorized_handler
def unauthorized():
    target = url_for("auth.login", next=request.full_path.rstrip("?"))
    if is_htmx() and not is_boosted():
        return "", 401, {"HX-Redirect": target}
    return redirect(target)


def _safe_next(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return None
    return url


def _start_session(user: User, remember: bool = False) -> None:
    locale = session.get("locale")
    session.clear()  # a fresh session id on sign-in: no fixation
    if locale:
        session["locale"] = locale
    login_user(user, remember=remember)
    bind_user(user.id)


@bp.get("/signup")
def signup():
    if current_user.is_authenticated:
        return redirect(workspaces.home_url_for(current_user))
    return render_template("auth/signup.html", form=SignupForm())


@bp.post("/signup")
@limiter.limit("10 per hour")
def create_account():
    form = SignupForm()
    if not form.validate_on_submit():
        return render_template("auth/signup.html", form=form), 422
    locale = session.get("locale")
    try:
        user, workspace = workspaces.sign_up(
            name=form.name.data,
            email=form.email.data,
            password=form.password.data,
            business_name=form.business_name.data,
            timezone=form.timezone.data,
            locale=locale,
        )
    except service.EmailTaken:
        db.session.rollback()
        form.email.errors.append(_("An account with this email already exists. Log in or reset your password."))
        return render_template("auth/signup.html", form=form), 422
    except ValueError:
        db.session.rollback()
        form.email.errors.append(_("Enter a valid email address."))
        return render_template("auth/signup.html", form=form), 422
    db.session.commit()
    _start_session(user)
    flash(_("Welcome to Kehu! Your workspace %(name)s is ready.", name=workspace.name), "success")
    return redirect(url_for("ws.home", workspace_slug=workspace.slug), 303)


@bp.get("/login")
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")) or workspaces.home_url_for(current_user))
    return render_template("auth/login.html", form=LoginForm())


def _login_email_key() -> str:
    return "login-email:" + request.form.get("email", "").strip().lower()


@bp.post("/login")
@limiter.limit("10 per minute;60 per hour")
@limiter.limit("20 per hour", key_func=_login_email_key)
def create_session():
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 422
    user = service.authenticate(form.email.data, form.password.data)
    if user is None:
        form.form_errors.append(_("That email and password do not match an account."))
        return render_template("auth/login.html", form=form), 422
    db.session.commit()
    _start_session(user, remember=form.remember.data)
    return redirect(_safe_next(request.args.get("next")) or workspaces.home_url_for(user), 303)


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("site.index"), 303)


@bp.get("/password/forgot")
def forgot_password():
    return render_template("auth/forgot_password.html", form=ForgotPasswordForm())


@bp.post("/password/forgot")
@limiter.limit("5 per 15 minutes;20 per day")
def send_reset_link():
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/forgot_password.html", form=form), 422
    service.send_password_reset(
        form.email.data, lambda token: url_for("auth.reset_password", token=token, _external=True)
    )
    flash(
        _(
            "If an account exists for that address, we have emailed it a link to reset the password."
            " The link works once, for one hour."
        ),
        "info",
    )
    return redirect(url_for("auth.login"), 303)


@bp.get("/password/reset/<token>")
def reset_password(token: str):
    if service.user_for_reset_token(token) is None:
        return render_template("auth/reset_invalid.html"), 400
    return render_template("auth/reset_password.html", form=ResetPasswordForm(), token=token)


@bp.post("/password/reset/<token>")
@limiter.limit("10 per hour")
def update_forgotten_password(token: str):
    user = service.user_for_reset_token(token)
    if user is None:
        return render_template("auth/reset_invalid.html"), 400
    form = ResetPasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/reset_password.html", form=form, token=token), 422
    service.set_password(user, form.password.data)
    db.session.commit()
    _start_session(user)
    flash(_("Your password is changed. Other devices have been signed out."), "success")
    return redirect(workspaces.home_url_for(user), 303)


@bp.get("/account")
@login_required
def account():
    profile = ProfileForm(obj=current_user, locale=current_user.locale or "")
    return render_template("auth/account.html", profile=profile, password=ChangePasswordForm())


@bp.post("/account")
@login_required
def update_account():
    profile = ProfileForm()
    if not profile.validate_on_submit():
        return render_template("auth/account.html", profile=profile, password=ChangePasswordForm()), 422
    current_user.name = profile.name.data.strip()
    current_user.locale = profile.locale.data or None
    db.session.commit()
    flash(_("Your profile is saved."), "success")
    return redirect(url_for("auth.account"), 303)


@bp.post("/account/password")
@login_required
@limiter.limit("10 per hour")
def change_password():
    form = ChangePasswordForm()
    valid = form.validate_on_submit()
    if valid and not service.verify_password(current_user.password_hash, form.current_password.data):
        form.current_password.errors.append(_("That is not your current password."))
        valid = False
    if not valid:
        profile = ProfileForm(obj=current_user, locale=current_user.locale or "")
        return render_template("auth/account.html", profile=profile, password=form), 422
    service.set_password(current_user, form.new_password.data)
    db.session.commit()
    _start_session(current_user._get_current_object())
    flash(_("Your password is changed. Other devices have been signed out."), "success")
    return redirect(url_for("auth.account"), 303)


@bp.post("/account/sessions/end")
@login_required
def end_other_sessions():
    service.end_all_sessions(current_user)
    db.session.commit()
    _start_session(current_user._get_current_object())
    flash(_("All your other sessions are signed out."), "success")
    return redirect(url_for("auth.account"), 303)


@bp.post("/language")
def set_language():
    locale = request.form.get("locale", "")
    if locale not in LANGUAGES:
        return redirect(url_for("site.index"), 303)
    session["locale"] = locale
    if current_user.is_authenticated:
        current_user.locale = locale
        db.session.commit()
    return redirect(_safe_next(request.form.get("next")) or url_for("site.index"), 303)
