import unicodedata
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, make_response, redirect, render_template, request, session, url_for
from flask_babel import get_timezone, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from crm.audit import service as audit
from crm.auth import queries, service, two_factor
from crm.auth.forms import (
    ChangePasswordForm,
    ConfirmPasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
    ResetPasswordForm,
    SignupForm,
    TwoFactorLoginForm,
    TwoFactorSetupForm,
)
from crm.auth.models import User
from crm.extensions import db, limiter, login_manager
from crm.htmx import is_boosted, is_htmx
from crm.i18n import LANGUAGES
from crm.tenancy import bind_user, bind_workspace
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
    # On a workspace page, the user comes with their membership there in one query (kept in g for
    # the workspace wall, crm/workspaces/routes.py); elsewhere, alone.
    member = workspaces.signed_in_member(int(user_id), g.get("workspace_slug"))
    user = member.user if member is not None else db.session.get(User, int(user_id))
    if user is None or user.session_version != int(version):
        bind_user(None)
        bind_workspace(None)
        return None
    bind_user(user.id)
    g.signed_in_member = member
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
        user, workspace = workspaces.committed_with_free_slug(
            lambda: workspaces.sign_up(
                name=form.name.data,
                email=form.email.data,
                password=form.password.data,
                business_name=form.business_name.data,
                timezone=form.timezone.data,
                locale=locale,
            )
        )
    except service.EmailTaken:
        db.session.rollback()
        form.email.errors.append(_("An account with this email already exists. Log in or reset your password."))
        return render_template("auth/signup.html", form=form), 422
    except ValueError:
        db.session.rollback()
        form.email.errors.append(_("Enter a valid email address."))
        return render_template("auth/signup.html", form=form), 422
    service.start_session(user)
    flash(_("Welcome to Kehu! Your workspace %(name)s is ready.", name=workspace.name), "success")
    return redirect(url_for("ws.home", workspace_slug=workspace.slug), 303)


@bp.get("/login")
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")) or workspaces.home_url_for(current_user))
    return render_template("auth/login.html", form=LoginForm())


def _login_email_key() -> str:
    """The per-address limit counts an address however it is spelt: in capitals, or in the full-width
    letters a Chinese input method types (as the account is found, ``normalize_email``)."""
    typed = request.form.get("email", "")
    try:
        address = service.normalize_email(typed)
    except ValueError:
        address = unicodedata.normalize("NFKC", typed).strip().lower()
    return "login-email:" + address


@bp.post("/login")
@limiter.limit("10 per minute;60 per hour")
@limiter.limit("20 per hour", key_func=_login_email_key)
def create_session():
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 422
    account = service.user_for_login(form.email.data)
    if account is None and (minutes := service.address_locked_minutes_left(form.email.data)):
        return _locked_login_page(minutes)
    if account is not None and service.locked_minutes_left(account):
        # Refused even with the right password, which is not checked at all.
        _failed_attempt(account, counts=False)
        return _locked_login_page(service.locked_minutes_left(account))
    user = service.authenticate(form.email.data, form.password.data)
    if user is None:
        # A wrong password for a real account is counted and logged in that account's workspaces;
        # an unknown address belongs to nobody: it is counted and locked out alike in the shared
        # store, so that neither the message nor the lock-out tells the two apart.
        if account is not None and _failed_attempt(account):
            return _locked_login_page(service.locked_minutes_left(account))
        if account is None and service.record_failed_address(form.email.data):
            return _locked_login_page(service.address_locked_minutes_left(form.email.data))
        form.form_errors.append(_("That email and password do not match an account."))
        return render_template("auth/login.html", form=form), 422
    next_url = _safe_next(request.args.get("next"))
    if user.two_factor_enabled:
        db.session.commit()  # a rehashed password
        service.await_second_factor(user, remember=form.remember.data, next_url=next_url)
        return redirect(url_for("auth.login_two_factor"), 303)
    return _finish_sign_in(user, form.remember.data, next_url)


def _failed_attempt(user: User, counts: bool = True) -> bool:
    """Records a refused sign-in (history and audit) and, when ``counts``, counts it toward the
    lock-out; True when this attempt locked the account."""
    locked = service.record_failed_attempt(user) if counts else False
    service.record_sign_in(user, succeeded=False)
    audit.record_account_event(user, "auth.login_failed")
    if locked:
        audit.record_account_event(user, "auth.locked")
    db.session.commit()
    return locked


def _locked_login_page(minutes: int | None):
    minutes = minutes or 1
    form = LoginForm(formdata=None)
    form.form_errors.append(
        ngettext(
            "Too many failed attempts. Try again in %(num)d minute or reset your password.",
            "Too many failed attempts. Try again in %(num)d minutes or reset your password.",
            minutes,
        )
    )
    return render_template("auth/login.html", form=form), 422


def _finish_sign_in(user: User, remember: bool, next_url: str | None, notice: str | None = None):
    service.signed_in(user)
    audit.record_account_event(user, "auth.login")
    db.session.commit()
    service.start_session(user, remember=remember)
    if notice:
        flash(notice, "warning")
    return redirect(next_url or workspaces.home_url_for(user), 303)


@bp.get("/login/two-factor")
def login_two_factor():
    if current_user.is_authenticated:
        return redirect(workspaces.home_url_for(current_user))
    if service.pending_two_factor() is None:
        return redirect(url_for("auth.login"))
    return render_template("auth/login_two_factor.html", form=TwoFactorLoginForm())


def _two_factor_user_key() -> str:
    pending = session.get(service.PENDING_KEY)
    return f"two-factor-user:{pending.get('user') if isinstance(pending, dict) else ''}"


@bp.post("/login/two-factor")
@limiter.limit("10 per minute;60 per hour")
@limiter.limit("20 per hour", key_func=_two_factor_user_key)
def verify_two_factor():
    pending = service.pending_two_factor()
    if pending is None:
        service.forget_pending_two_factor()
        flash(_("Your sign-in timed out. Log in again."), "info")
        return redirect(url_for("auth.login"), 303)
    user, state = pending
    if service.locked_minutes_left(user):
        service.forget_pending_two_factor()
        _failed_attempt(user, counts=False)
        return _locked_login_page(service.locked_minutes_left(user))
    form = TwoFactorLoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login_two_factor.html", form=form), 422
    method = two_factor.verify(user, form.code.data)
    if method is None:
        if _failed_attempt(user):
            service.forget_pending_two_factor()
            return _locked_login_page(service.locked_minutes_left(user))
        form.code.errors.append(
            _("That code is not right. Try the newest code in your app, or one of your recovery codes.")
        )
        return render_template("auth/login_two_factor.html", form=form), 422
    notice = None
    if method == "recovery_code":
        audit.record_account_event(user, "auth.recovery_code_used")
        left = two_factor.remaining_recovery_codes(user)
        notice = ngettext(
            "You used a recovery code. %(num)d is left: make new ones on your account page.",
            "You used a recovery code. %(num)d are left: make new ones on your account page.",
            left,
        )
    return _finish_sign_in(user, state["remember"], state["next"], notice)


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        audit.record_account_event(current_user._get_current_object(), "auth.logout")
        db.session.commit()
    # Clear first: logout_user() leaves a flag in the session that deletes the remember-me cookie.
    session.clear()
    logout_user()
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
    audit.record_account_event(user, "auth.password_reset")
    db.session.commit()
    if user.two_factor_enabled:
        # The link proves access to the mailbox only: the second factor is still asked for.
        service.await_second_factor(user)
        flash(_("Your password is changed. Enter a code from your authenticator app to sign in."), "success")
        return redirect(url_for("auth.login_two_factor"), 303)
    service.start_session(user)
    flash(_("Your password is changed. Other devices have been signed out."), "success")
    return redirect(workspaces.home_url_for(user), 303)


def _account_page(profile: ProfileForm | None = None, password: ChangePasswordForm | None = None, status=200):
    return render_template(
        "auth/account.html",
        profile=profile or ProfileForm(obj=current_user, locale=current_user.locale or ""),
        password=password or ChangePasswordForm(),
        sign_ins=db.session.scalars(queries.recent_sign_ins(current_user.id)).all(),
        timezone=str(get_timezone()),
    ), status


@bp.get("/account")
@login_required
def account():
    return _account_page()


@bp.post("/account")
@login_required
def update_account():
    profile = ProfileForm()
    if not profile.validate_on_submit():
        return _account_page(profile=profile, status=422)
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
        return _account_page(password=form, status=422)
    service.set_password(current_user, form.new_password.data)
    audit.record_account_event(current_user._get_current_object(), "auth.password_changed")
    db.session.commit()
    service.start_session(current_user._get_current_object())
    flash(_("Your password is changed. Other devices have been signed out."), "success")
    return redirect(url_for("auth.account"), 303)


@bp.post("/account/sessions/end")
@login_required
def end_other_sessions():
    service.end_all_sessions(current_user)
    audit.record_account_event(current_user._get_current_object(), "auth.sessions_ended")
    db.session.commit()
    service.start_session(current_user._get_current_object())
    flash(_("All your other sessions are signed out."), "success")
    return redirect(url_for("auth.account"), 303)


def _two_factor_page(setup=None, disable=None, regenerate=None, status: int = 200):
    user = current_user._get_current_object()
    secret = two_factor.pending_secret(user)
    context = {
        "setup": setup or TwoFactorSetupForm(),
        "disable": disable or ConfirmPasswordForm(prefix="disable"),
        "regenerate": regenerate or ConfirmPasswordForm(prefix="codes"),
        "secret": secret,
        "remaining": two_factor.remaining_recovery_codes(user) if user.two_factor_enabled else None,
    }
    if secret:
        context["qr"] = two_factor.qr_svg(
            two_factor.provisioning_uri(user, secret), _("QR code to scan with your authenticator app")
        )
        context["secret_groups"] = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return _no_store(make_response(render_template("auth/two_factor.html", **context), status))


def _recovery_codes_page(codes: list[str], first_time: bool = False):
    return _no_store(make_response(render_template("auth/recovery_codes.html", codes=codes, first_time=first_time)))


def _no_store(response):
    # Secrets and recovery codes on the page: no copy in a cache or in the back button.
    response.headers["Cache-Control"] = "no-store"
    return response


# The endpoint is "auth.two_factor" (linked from other features); the function name would shadow
# the two_factor module.
@bp.get("/account/two-factor", endpoint="two_factor")
@login_required
def two_factor_settings():
    return _two_factor_page()


@bp.post("/account/two-factor/setup")
@login_required
def start_two_factor():
    user = current_user._get_current_object()
    if user.two_factor_enabled:
        flash(_("Two-factor authentication is already on."), "info")
    else:
        two_factor.start_enrolment(user)
        db.session.commit()
    return redirect(url_for("auth.two_factor"), 303)


@bp.post("/account/two-factor/cancel")
@login_required
def cancel_two_factor():
    two_factor.cancel_enrolment(current_user._get_current_object())
    db.session.commit()
    return redirect(url_for("auth.two_factor"), 303)


@bp.post("/account/two-factor")
@login_required
@limiter.limit("30 per hour")
def enable_two_factor():
    user = current_user._get_current_object()
    if two_factor.pending_secret(user) is None:
        flash(_("Start the set-up again: scan the new QR code, then enter its code."), "info")
        return redirect(url_for("auth.two_factor"), 303)
    form = TwoFactorSetupForm()
    if not _password_confirmed(form):
        return _two_factor_page(setup=form, status=422)
    codes = two_factor.confirm_enrolment(user, form.code.data)
    if codes is None:
        form.code.errors.append(_("That code is not right. Check the time on your phone, then try the newest code."))
        return _two_factor_page(setup=form, status=422)
    audit.record_account_event(user, "auth.two_factor_enabled")
    db.session.commit()
    return _recovery_codes_page(codes, first_time=True)


def _password_confirmed(form: ConfirmPasswordForm | TwoFactorSetupForm) -> bool:
    if not form.validate_on_submit():
        return False
    if not service.verify_password(current_user.password_hash, form.current_password.data):
        form.current_password.errors.append(_("That is not your current password."))
        return False
    return True


@bp.post("/account/two-factor/disable")
@login_required
@limiter.limit("10 per hour")
def disable_two_factor():
    form = ConfirmPasswordForm(prefix="disable")
    user = current_user._get_current_object()
    if not user.two_factor_enabled:
        return redirect(url_for("auth.two_factor"), 303)
    if not _password_confirmed(form):
        return _two_factor_page(disable=form, status=422)
    two_factor.disable(user)
    audit.record_account_event(user, "auth.two_factor_disabled")
    db.session.commit()
    flash(_("Two-factor authentication is off. Your recovery codes no longer work."), "success")
    return redirect(url_for("auth.two_factor"), 303)


@bp.post("/account/two-factor/recovery-codes")
@login_required
@limiter.limit("10 per hour")
def regenerate_recovery_codes():
    form = ConfirmPasswordForm(prefix="codes")
    user = current_user._get_current_object()
    if not user.two_factor_enabled:
        return redirect(url_for("auth.two_factor"), 303)
    if not _password_confirmed(form):
        return _two_factor_page(regenerate=form, status=422)
    codes = two_factor.new_recovery_codes(user)
    audit.record_account_event(user, "auth.recovery_codes_regenerated")
    db.session.commit()
    return _recovery_codes_page(codes)


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
