"""Two-factor authentication: enrolment with a QR code and a first code, sign-in asking for a
code or a recovery code, replay refusal, turning it off, new recovery codes, audit entries."""

import hashlib
import re
import time
from types import SimpleNamespace

import pyotp
import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.auth import two_factor
from crm.auth.models import RecoveryCode, SignIn, User
from crm.extensions import db
from crm.secrets import decrypt
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.test_pages import assert_valid_page

CODES = re.compile(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>")


@pytest.fixture(autouse=True)
def clock(app, monkeypatch):
    """A stopped clock in the middle of a 30-second step, so a code computed here is still the
    server's current one when the request arrives (used codes are forgotten between tests: conftest)."""
    now = SimpleNamespace(value=(time.time() // 30) * 30 + 15)
    monkeypatch.setattr(two_factor, "_now", lambda: now.value)
    return now


def code_at(secret: str, clock, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(clock.value + 30 * steps)


def user_row(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def stored_secret(app, user_id: int) -> str:
    with app.app_context():
        return decrypt(db.session.get(User, user_id).totp_secret)


def recovery_rows(app, user_id: int) -> list[RecoveryCode]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(RecoveryCode).where(RecoveryCode.user_id == user_id)))
        db.session.expunge_all()
        return rows


def audit_actions(app, ws) -> list[str]:
    with app.app_context(), workspace_scope(ws.id):
        return list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


def enrol(app, client, auth, ws, clock) -> SimpleNamespace:
    """Signs ``ws``'s owner in and turns two-factor on; returns the secret and recovery codes."""
    auth.login(ws.email, ws.password)
    assert post(client, "/account/two-factor/setup", {}).status_code == 303
    secret = stored_secret(app, ws.user_id)
    response = post(client, "/account/two-factor", {"code": code_at(secret, clock), "current_password": ws.password})
    assert response.status_code == 200
    codes = CODES.findall(response.get_data(as_text=True))
    return SimpleNamespace(secret=secret, codes=codes, page=response)


def enrolled(app, client, auth, ws, clock) -> SimpleNamespace:
    """Two-factor on, then signed out, with the step used for enrolment behind us."""
    account = enrol(app, client, auth, ws, clock)
    auth.logout()
    clock.value += 30
    return account


def sign_in_with_code(client, auth, ws, code: str):
    first = auth.login(ws.email, ws.password)
    assert first.status_code == 303
    assert first.headers["Location"] == "/login/two-factor"
    return post(client, "/login/two-factor", {"code": code})


# --- enrolment -----------------------------------------------------------------------------------


def test_account_page_offers_two_factor(client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    account = client.get("/account").get_data(as_text=True)
    assert "Two-factor authentication" in account
    assert 'href="/account/two-factor"' in account
    page = client.get("/account/two-factor")
    assert page.status_code == 200
    assert "Set up two-factor authentication" in page.get_data(as_text=True)


def test_two_factor_pages_need_login(client):
    assert client.get("/account/two-factor").headers["Location"].startswith("/login")
    for url in ("/account/two-factor/setup", "/account/two-factor", "/account/two-factor/disable"):
        assert post(client, url, {}).headers["Location"].startswith("/login")


def test_enrolment_shows_an_inline_svg_qr_code_and_the_key_encrypted_at_rest(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    response = post(client, "/account/two-factor/setup", {})
    assert response.headers["Location"] == "/account/two-factor"

    page = client.get("/account/two-factor")
    html = page.get_data(as_text=True)
    secret = stored_secret(app, ws_a.user_id)
    assert re.search(r'<svg xmlns="http://www.w3.org/2000/svg"[^>]*class="qr"', html)
    assert "data:image" not in html
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in html
    assert page.headers["Cache-Control"] == "no-store"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]

    user = user_row(app, ws_a.user_id)
    assert secret not in user.totp_secret  # only the encrypted form is stored
    assert user.totp_enabled_at is None and not user.two_factor_enabled


def test_wrong_code_does_not_turn_it_on(app, client, auth, ws_a, clock):
    auth.login(ws_a.email, ws_a.password)
    post(client, "/account/two-factor/setup", {})
    secret = stored_secret(app, ws_a.user_id)
    wrong = code_at(secret, clock, steps=5)
    response = post(client, "/account/two-factor", {"code": wrong, "current_password": ws_a.password})
    assert response.status_code == 422
    assert "That code is not right." in response.get_data(as_text=True)
    assert not user_row(app, ws_a.user_id).two_factor_enabled
    assert recovery_rows(app, ws_a.user_id) == []


def test_turning_it_on_needs_the_password(app, client, auth, ws_a, clock):
    """Someone who finds the account signed in cannot put their own phone in front of its owner."""
    auth.login(ws_a.email, ws_a.password)
    post(client, "/account/two-factor/setup", {})
    secret = stored_secret(app, ws_a.user_id)
    for password, message in (
        ("", "Enter your current password."),
        ("not it at all", "That is not your current password."),
    ):
        response = post(client, "/account/two-factor", {"code": code_at(secret, clock), "current_password": password})
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    assert not user_row(app, ws_a.user_id).two_factor_enabled
    assert recovery_rows(app, ws_a.user_id) == []
    # The code was not spent on the refused attempts: it still turns it on with the password.
    form = {"code": code_at(secret, clock), "current_password": ws_a.password}
    assert post(client, "/account/two-factor", form).status_code == 200
    assert user_row(app, ws_a.user_id).two_factor_enabled


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("", "Enter the 6-digit code shown in your authenticator app."),
        ("abcdef", "The code is 6 digits, for example 123456."),
        ("12345", "The code is 6 digits, for example 123456."),
        ("1234567", "The code is 6 digits, for example 123456."),
    ],
)
def test_enrolment_bad_input_is_explained_and_saves_nothing(app, client, auth, ws_a, code, message):
    auth.login(ws_a.email, ws_a.password)
    post(client, "/account/two-factor/setup", {})
    response = post(client, "/account/two-factor", {"code": code, "current_password": ws_a.password})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert 'aria-invalid="true"' in html
    assert_valid_page(html, "/account/two-factor (422)")
    assert not user_row(app, ws_a.user_id).two_factor_enabled
    assert recovery_rows(app, ws_a.user_id) == []
    assert "auth.two_factor_enabled" not in audit_actions(app, ws_a)


def test_right_code_turns_it_on_and_shows_ten_recovery_codes_once(app, client, auth, ws_a, clock):
    account = enrol(app, client, auth, ws_a, clock)
    assert account.page.headers["Cache-Control"] == "no-store"
    assert len(account.codes) == len(set(account.codes)) == 10
    user = user_row(app, ws_a.user_id)
    assert user.two_factor_enabled and decrypt_in(app, user.totp_secret) == account.secret
    rows = recovery_rows(app, ws_a.user_id)
    hashes = {hashlib.sha256(code.replace("-", "").encode()).hexdigest() for code in account.codes}
    assert {row.code_hash for row in rows} == hashes
    assert all(row.used_at is None for row in rows)

    settings = client.get("/account/two-factor").get_data(as_text=True)
    assert "10 unused recovery codes left." in settings
    assert not CODES.search(settings)  # never shown again
    assert "<svg" not in settings
    assert "auth.two_factor_enabled" in audit_actions(app, ws_a)


def decrypt_in(app, token: str) -> str:
    with app.app_context():
        return decrypt(token)


def test_starting_again_replaces_the_pending_key_and_cancel_drops_it(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    post(client, "/account/two-factor/setup", {})
    first = stored_secret(app, ws_a.user_id)
    post(client, "/account/two-factor/setup", {})
    assert stored_secret(app, ws_a.user_id) != first
    assert post(client, "/account/two-factor/cancel", {}).status_code == 303
    assert user_row(app, ws_a.user_id).totp_secret is None
    response = post(client, "/account/two-factor", {"code": "123456", "current_password": ws_a.password})
    assert response.status_code == 303  # nothing pending: back to the start


def test_a_pending_set_up_does_not_change_sign_in(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    post(client, "/account/two-factor/setup", {})
    auth.logout()
    response = auth.login(ws_a.email, ws_a.password)
    assert response.headers["Location"] == f"/w/{ws_a.slug}/"


# --- signing in ----------------------------------------------------------------------------------


def test_sign_in_asks_for_the_code_after_the_password(app, client, auth, ws_a, clock):
    account = enrolled(app, client, auth, ws_a, clock)
    response = auth.login(ws_a.email, ws_a.password)
    assert response.status_code == 303
    assert response.headers["Location"] == "/login/two-factor"
    assert client.get(f"/w/{ws_a.slug}/").status_code == 302  # not signed in yet
    page = client.get("/login/two-factor")
    assert page.status_code == 200
    assert_valid_page(page.get_data(as_text=True), "/login/two-factor")

    wrong = post(client, "/login/two-factor", {"code": code_at(account.secret, clock, steps=4)})
    assert wrong.status_code == 422
    assert "That code is not right." in wrong.get_data(as_text=True)
    assert client.get(f"/w/{ws_a.slug}/").status_code == 302

    right = post(client, "/login/two-factor", {"code": code_at(account.secret, clock)})
    assert right.status_code == 303
    assert right.headers["Location"] == f"/w/{ws_a.slug}/"
    assert client.get(f"/w/{ws_a.slug}/").status_code == 200
    assert user_row(app, ws_a.user_id).failed_logins == 0


def test_codes_of_the_neighbouring_steps_work_and_older_ones_do_not(app, client, auth, ws_a, clock):
    account = enrolled(app, client, auth, ws_a, clock)
    clock.value += 30  # the enrolment's step is now two behind
    assert sign_in_with_code(client, auth, ws_a, code_at(account.secret, clock, steps=-2)).status_code == 422
    assert sign_in_with_code(client, auth, ws_a, code_at(account.secret, clock, steps=-1)).status_code == 303
    auth.logout()
    assert sign_in_with_code(client, auth, ws_a, code_at(account.secret, clock, steps=1)).status_code == 303


def test_a_code_cannot_be_used_twice(app, client, auth, ws_a, clock):
    account = enrolled(app, client, auth, ws_a, clock)
    code = code_at(account.secret, clock)
    assert sign_in_with_code(client, auth, ws_a, code).status_code == 303
    auth.logout()
    other_device = app.test_client()
    post(other_device, "/login", {"email": ws_a.email, "password": ws_a.password})
    replay = post(other_device, "/login/two-factor", {"code": code})
    assert replay.status_code == 422
    assert other_device.get(f"/w/{ws_a.slug}/").status_code == 302


def test_the_enrolment_code_cannot_sign_in(app, client, auth, ws_a, clock):
    account = enrol(app, client, auth, ws_a, clock)
    auth.logout()
    assert sign_in_with_code(client, auth, ws_a, code_at(account.secret, clock)).status_code == 422


def test_remember_me_and_next_survive_the_second_step(app, client, auth, ws_a, clock):
    account = enrolled(app, client, auth, ws_a, clock)
    post(
        client,
        f"/login?next=/w/{ws_a.slug}/settings",
        {"email": ws_a.email, "password": ws_a.password, "remember": "y"},
    )
    response = post(client, "/login/two-factor", {"code": code_at(account.secret, clock)})
    assert response.headers["Location"] == f"/w/{ws_a.slug}/settings"
    assert any(c.startswith("remember_token=") for c in response.headers.getlist("Set-Cookie"))


def test_a_half_way_sign_in_signs_out_whoever_was_signed_in(app, client, auth, ws_a, ws_b, clock):
    enrolled(app, client, auth, ws_a, clock)
    auth.login(ws_b.email, ws_b.password, remember=True)
    assert auth.login(ws_a.email, ws_a.password).headers["Location"] == "/login/two-factor"
    assert client.get_cookie("remember_token") is None
    assert client.get(f"/w/{ws_b.slug}/").status_code == 302
    assert client.get("/login/two-factor").status_code == 200


def test_recovery_code_works_once(app, client, auth, ws_a, clock):
    account = enrolled(app, client, auth, ws_a, clock)
    code = account.codes[3]
    typed = code.upper().replace("-", " ")  # as read aloud or copied from paper
    response = sign_in_with_code(client, auth, ws_a, typed)
    assert response.status_code == 303
    home = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You used a recovery code. 9 are left" in home
    used = [row for row in recovery_rows(app, ws_a.user_id) if row.used_at is not None]
    assert len(used) == 1
    auth.logout()

    again = sign_in_with_code(client, auth, ws_a, code)
    assert again.status_code == 422
    assert client.get(f"/w/{ws_a.slug}/").status_code == 302
    assert sign_in_with_code(client, auth, ws_a, account.codes[4]).status_code == 303
    assert audit_actions(app, ws_a).count("auth.recovery_code_used") == 2


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("", "Enter the code from your authenticator app, or a recovery code."),
        ("abc", "Enter the 6 digits from your app, or a recovery code such as abcde-fghjk."),
        ("12 34", "Enter the 6 digits from your app, or a recovery code such as abcde-fghjk."),
    ],
)
def test_sign_in_code_bad_input_is_explained_and_changes_nothing(app, client, auth, ws_a, clock, code, message):
    enrolled(app, client, auth, ws_a, clock)
    auth.login(ws_a.email, ws_a.password)
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(SignIn))
    response = post(client, "/login/two-factor", {"code": code})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert_valid_page(html, "/login/two-factor (422)")
    assert user_row(app, ws_a.user_id).failed_logins == 0
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SignIn)) == before
    assert client.get(f"/w/{ws_a.slug}/").status_code == 302


def test_boosted_wrong_code_gets_the_full_page_with_422(app, client, auth, ws_a, clock):
    account = enrolled(app, client, auth, ws_a, clock)
    auth.login(ws_a.email, ws_a.password)
    headers = {"HX-Request": "true", "HX-Boosted": "true"}
    response = post(client, "/login/two-factor", {"code": code_at(account.secret, clock, steps=7)}, headers=headers)
    assert response.status_code == 422
    assert "<main" in response.get_data(as_text=True)


def test_the_second_step_without_a_password_goes_back_to_login(client, ws_a):
    assert client.get("/login/two-factor").headers["Location"] == "/login"
    response = post(client, "/login/two-factor", {"code": "123456"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"


def test_the_second_step_times_out(app, client, auth, ws_a, clock, monkeypatch):
    account = enrolled(app, client, auth, ws_a, clock)
    monkeypatch.setitem(app.config, "TWO_FACTOR_PENDING_SECONDS", -1)
    auth.login(ws_a.email, ws_a.password)
    response = post(client, "/login/two-factor", {"code": code_at(account.secret, clock)})
    assert response.headers["Location"] == "/login"
    assert client.get(f"/w/{ws_a.slug}/").status_code == 302


def test_wrong_codes_count_toward_the_lock_out(app, client, auth, ws_a, clock):
    account = enrolled(app, client, auth, ws_a, clock)
    with app.app_context():
        db.session.get(User, ws_a.user_id).failed_logins = 9
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    response = post(client, "/login/two-factor", {"code": code_at(account.secret, clock, steps=9)})
    assert response.status_code == 422
    assert "Too many failed attempts. Try again in 15 minutes or reset your password." in response.get_data(
        as_text=True
    )
    assert user_row(app, ws_a.user_id).locked_until is not None
    # The half-way sign-in is gone, and the right code no longer helps.
    assert post(client, "/login/two-factor", {"code": code_at(account.secret, clock)}).headers["Location"] == "/login"
    assert "auth.locked" in audit_actions(app, ws_a)


def test_the_second_step_is_rate_limited(app, client, auth, ws_a, clock):
    enrolled(app, client, auth, ws_a, clock)
    auth.login(ws_a.email, ws_a.password)
    statuses = [post(client, "/login/two-factor", {"code": "nonsense"}).status_code for _ in range(11)]
    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429


def test_password_reset_still_asks_for_the_code(app, client, mailbox, ws_a, clock, auth):
    account = enrolled(app, client, auth, ws_a, clock)
    post(client, "/password/forgot", {"email": ws_a.email})
    path = re.sub(r"^https?://[^/]+", "", mailbox.links()[0])
    response = post(client, path, {"password": "my new long password", "confirm": "my new long password"})
    assert response.headers["Location"] == "/login/two-factor"
    assert client.get(f"/w/{ws_a.slug}/").status_code == 302
    response = post(client, "/login/two-factor", {"code": code_at(account.secret, clock)})
    assert response.headers["Location"] == f"/w/{ws_a.slug}/"
    assert client.get(f"/w/{ws_a.slug}/").status_code == 200


# --- managing it ---------------------------------------------------------------------------------


def test_turning_it_off_needs_the_password(app, client, auth, ws_a, clock):
    enrol(app, client, auth, ws_a, clock)
    for password, message in (("", "Enter your current password."), ("wrong", "That is not your current password.")):
        response = post(client, "/account/two-factor/disable", {"disable-current_password": password})
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert message in html
        assert_valid_page(html, "/account/two-factor/disable (422)")
        assert user_row(app, ws_a.user_id).two_factor_enabled
        assert len(recovery_rows(app, ws_a.user_id)) == 10

    response = post(client, "/account/two-factor/disable", {"disable-current_password": ws_a.password})
    assert response.status_code == 303
    user = user_row(app, ws_a.user_id)
    assert not user.two_factor_enabled and user.totp_secret is None
    assert recovery_rows(app, ws_a.user_id) == []
    assert "auth.two_factor_disabled" in audit_actions(app, ws_a)
    auth.logout()
    assert auth.login(ws_a.email, ws_a.password).headers["Location"] == f"/w/{ws_a.slug}/"


def test_new_recovery_codes_replace_the_old_ones(app, client, auth, ws_a, clock):
    account = enrol(app, client, auth, ws_a, clock)
    refused = post(client, "/account/two-factor/recovery-codes", {"codes-current_password": "wrong"})
    assert refused.status_code == 422
    assert "That is not your current password." in refused.get_data(as_text=True)
    assert {r.code_hash for r in recovery_rows(app, ws_a.user_id)} == {
        hashlib.sha256(c.replace("-", "").encode()).hexdigest() for c in account.codes
    }

    response = post(client, "/account/two-factor/recovery-codes", {"codes-current_password": ws_a.password})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    fresh = CODES.findall(response.get_data(as_text=True))
    assert len(fresh) == 10 and not set(fresh) & set(account.codes)
    assert "auth.recovery_codes_regenerated" in audit_actions(app, ws_a)
    auth.logout()
    assert sign_in_with_code(client, auth, ws_a, account.codes[0]).status_code == 422
    assert sign_in_with_code(client, auth, ws_a, fresh[0]).status_code == 303


def test_sign_in_history_records_both_steps(app, client, auth, ws_a, clock):
    account = enrolled(app, client, auth, ws_a, clock)
    sign_in_with_code(client, auth, ws_a, code_at(account.secret, clock, steps=5))
    post(client, "/login/two-factor", {"code": code_at(account.secret, clock)})
    with app.app_context():
        rows = list(db.session.scalars(sa.select(SignIn.succeeded).order_by(SignIn.id)))
    assert rows[-2:] == [False, True]


def test_two_factor_pages_are_valid_html(app, client, auth, ws_a, clock):
    auth.login(ws_a.email, ws_a.password)
    assert_valid_page(client.get("/account/two-factor").get_data(as_text=True), "two-factor (off)")
    post(client, "/account/two-factor/setup", {})
    assert_valid_page(client.get("/account/two-factor").get_data(as_text=True), "two-factor (set-up)")
    secret = stored_secret(app, ws_a.user_id)
    form = {"code": code_at(secret, clock), "current_password": ws_a.password}
    codes_page = post(client, "/account/two-factor", form).get_data(as_text=True)
    assert_valid_page(codes_page, "recovery codes")
    assert_valid_page(client.get("/account/two-factor").get_data(as_text=True), "two-factor (on)")
    assert_valid_page(client.get("/account").get_data(as_text=True), "/account (two-factor on)")
