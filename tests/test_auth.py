import re

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from crm import create_app
from crm.auth.models import User
from crm.config import ConfigError, load_config
from crm.contacts.models import Contact
from crm.extensions import db
from crm.tenancy import workspace_scope
from crm.workspaces.models import Workspace
from tests.conftest import post
from tests.factories import PASSWORD

SIGNUP = {
    "name": "Mei Lin",
    "email": "Mei@Shop.example.com",
    "password": "a long enough pass",
    "business_name": "Mei's Tea House",
    "timezone": "Asia/Shanghai",
}


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_signup_creates_owner_and_workspace_and_lands_in_it(app, client):
    response = post(client, "/signup", SIGNUP)
    assert response.status_code == 303
    assert response.headers["Location"] == "/w/mei-s-tea-house/"
    home = client.get("/w/mei-s-tea-house/").get_data(as_text=True)
    assert "Your workspace is ready" in home
    assert "Mei&#39;s Tea House" in home
    with app.app_context():
        user = db.session.scalar(sa.select(User))
        workspace = db.session.scalar(sa.select(Workspace))
    assert user.email == "mei@shop.example.com"
    assert user.password_hash.startswith("$argon2id$")
    assert workspace.timezone == "Asia/Shanghai"


def test_signup_slug_is_unique_and_transliterates_chinese(client, app):
    post(client, "/signup", SIGNUP)
    other = app.test_client()
    response = post(other, "/signup", {**SIGNUP, "email": "second@shop.example.com"})
    assert response.headers["Location"] == "/w/mei-s-tea-house-2/"
    third = app.test_client()
    response = post(third, "/signup", {**SIGNUP, "email": "zhang@shop.example.com", "business_name": "北京小店"})
    assert response.headers["Location"] == "/w/bei-jing-xiao-dian/"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-email", "Enter a valid email address."),
        ("password", "short", "Use between 10 and 128 characters."),
        ("password", "mei@shop.example.com", "Your password cannot be your email address."),
        ("business_name", "", "Name your business."),
        ("name", "", "Tell us your name."),
    ],
)
def test_signup_bad_input_shows_message_and_saves_nothing(app, client, field, value, message):
    response = post(client, "/signup", {**SIGNUP, field: value})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(app, User) == 0
    assert count(app, Workspace) == 0


def test_signup_with_taken_email_is_refused_and_saves_nothing(app, client, ws_a):
    response = post(client, "/signup", {**SIGNUP, "email": ws_a.email.upper()})
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)
    assert count(app, User) == 1
    assert count(app, Workspace) == 1


def test_signup_ignores_an_unknown_time_zone(app, client):
    post(client, "/signup", {**SIGNUP, "timezone": "Mars/Olympus"})
    with app.app_context():
        workspace = db.session.scalar(sa.select(Workspace))
    assert (workspace.timezone, workspace.phone_region, workspace.currency) == ("UTC", "US", "USD")


@pytest.mark.parametrize(
    ("timezone", "region", "currency"),
    [
        ("Asia/Shanghai", "CN", "CNY"),
        ("Europe/Helsinki", "FI", "EUR"),
        ("Asia/Hong_Kong", "HK", "HKD"),
        ("America/Toronto", "CA", "CAD"),
        ("Africa/Lagos", "NG", "USD"),  # naira is not among the workspace currencies
        ("UTC", "US", "USD"),  # no country: the browser sent no zone
        # The old names Chrome and other ICU browsers still report for these zones.
        ("Asia/Calcutta", "IN", "INR"),
        ("Asia/Saigon", "VN", "VND"),
        ("Asia/Chongqing", "CN", "CNY"),
        ("Asia/Macao", "MO", "MOP"),
    ],
)
def test_signup_takes_the_phone_region_and_currency_of_the_browsers_country(app, client, timezone, region, currency):
    post(client, "/signup", {**SIGNUP, "timezone": timezone})
    with app.app_context():
        workspace = db.session.scalar(sa.select(Workspace))
    assert (workspace.phone_region, workspace.currency) == (region, currency)


def test_two_businesses_of_one_name_signing_up_at_once_both_get_a_workspace(app, client, ws_a, monkeypatch):
    """The other sign-up took the address between this one's look and its insert."""
    from crm.workspaces import service

    looked = []
    slug_taken = service.slug_taken

    def first_look_misses(slug, *args):
        looked.append(slug)
        return False if len(looked) == 1 else slug_taken(slug, *args)

    monkeypatch.setattr(service, "slug_taken", first_look_misses)
    response = post(client, "/signup", {**SIGNUP, "business_name": ws_a.name})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/w/{ws_a.slug}-2/"
    assert client.get(f"/w/{ws_a.slug}-2/").status_code == 200
    response = post(client, "/workspaces/", {"name": ws_a.name, "timezone": "UTC"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/w/{ws_a.slug}-3/"
    assert count(app, User) == 2


def test_a_business_that_signs_up_in_shanghai_types_chinese_numbers_without_86(app, client):
    post(client, "/signup", SIGNUP)
    response = post(client, "/w/mei-s-tea-house/contacts/", {"name": "Wang", "phones": "138 0013 8000"})
    assert response.status_code == 303
    with app.app_context():
        workspace_id = db.session.scalar(sa.select(Workspace.id))
        with workspace_scope(workspace_id):
            assert db.session.scalar(sa.select(Contact.phones)) == ["+8613800138000"]


def test_login_and_logout(client, auth, ws_a):
    response = auth.login(ws_a.email, ws_a.password)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/w/{ws_a.slug}/"
    assert client.get(f"/w/{ws_a.slug}/").status_code == 200
    assert auth.logout().status_code == 303
    assert client.get(f"/w/{ws_a.slug}/").status_code == 302


def test_logout_is_post_only(client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    assert client.get("/logout").status_code == 405
    assert client.get(f"/w/{ws_a.slug}/").status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_generic_error(client, auth, ws_a):
    wrong = auth.login(ws_a.email, "not the password")
    unknown = auth.login("nobody@nowhere.example.com", "not the password")
    for response in (wrong, unknown):
        assert response.status_code == 422
        assert "That email and password do not match an account." in response.get_data(as_text=True)
    assert client.get(f"/w/{ws_a.slug}/").status_code == 302


def test_login_redirects_to_next_but_never_off_site(client, auth, ws_a):
    response = post(client, f"/login?next=/w/{ws_a.slug}/settings", {"email": ws_a.email, "password": PASSWORD})
    assert response.headers["Location"] == f"/w/{ws_a.slug}/settings"
    auth.logout()
    for evil in ("//evil.example.com/", "https://evil.example.com/", "/\\evil.example.com"):
        response = post(client, f"/login?next={evil}", {"email": ws_a.email, "password": PASSWORD})
        assert response.headers["Location"] == f"/w/{ws_a.slug}/"
        auth.logout()


def test_remember_me_sets_a_long_lived_http_only_cookie(client, auth, ws_a):
    response = auth.login(ws_a.email, ws_a.password, remember=True)
    cookies = response.headers.getlist("Set-Cookie")
    remember = [c for c in cookies if c.startswith("remember_token=")]
    assert remember
    assert "HttpOnly" in remember[0]
    assert "SameSite=Lax" in remember[0]
    assert "Expires=" in remember[0]


def test_without_remember_me_no_remember_cookie(client, auth, ws_a):
    response = auth.login(ws_a.email, ws_a.password)
    assert not [c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token=")]


def test_remember_cookie_alone_signs_in_until_password_changes(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password, remember=True)
    remember = client.get_cookie("remember_token")
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember.value)
    assert fresh.get(f"/w/{ws_a.slug}/").status_code == 200
    post(client, "/account/password", {"current_password": PASSWORD, "new_password": "another long password"})
    stale = app.test_client()
    stale.set_cookie("remember_token", remember.value)
    assert stale.get(f"/w/{ws_a.slug}/").status_code == 302


def test_changing_password_ends_other_sessions_but_keeps_this_one(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    other_device = app.test_client()
    post(other_device, "/login", {"email": ws_a.email, "password": PASSWORD})
    assert other_device.get(f"/w/{ws_a.slug}/").status_code == 200

    response = post(client, "/account/password", {"current_password": PASSWORD, "new_password": "a brand new password"})
    assert response.status_code == 303
    assert client.get(f"/w/{ws_a.slug}/").status_code == 200
    assert other_device.get(f"/w/{ws_a.slug}/").status_code == 302
    assert auth.logout().status_code == 303
    assert auth.login(ws_a.email, "a brand new password").status_code == 303


def test_change_password_needs_the_current_one(client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    response = post(client, "/account/password", {"current_password": "wrong", "new_password": "a brand new password"})
    assert response.status_code == 422
    assert "That is not your current password." in response.get_data(as_text=True)
    auth.logout()
    assert auth.login(ws_a.email, PASSWORD).status_code == 303


def test_sign_out_other_sessions(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    other_device = app.test_client()
    post(other_device, "/login", {"email": ws_a.email, "password": PASSWORD})
    assert post(client, "/account/sessions/end", {}).status_code == 303
    assert client.get(f"/w/{ws_a.slug}/").status_code == 200
    assert other_device.get(f"/w/{ws_a.slug}/").status_code == 302


def test_forgot_password_emails_a_single_use_link(app, client, auth, mailbox, ws_a):
    other_device = app.test_client()
    post(other_device, "/login", {"email": ws_a.email, "password": PASSWORD})
    response = post(client, "/password/forgot", {"email": ws_a.email})
    assert response.status_code == 303
    assert len(mailbox.messages) == 1
    assert mailbox.messages[0]["To"] == ws_a.email
    link = mailbox.links()[0]
    path = re.sub(r"^https?://[^/]+", "", link)
    assert client.get(path).status_code == 200

    response = post(client, path, {"password": "my new long password", "confirm": "my new long password"})
    assert response.status_code == 303
    assert client.get(f"/w/{ws_a.slug}/").status_code == 200  # signed in by the reset
    assert other_device.get(f"/w/{ws_a.slug}/").status_code == 302  # other sessions ended

    used_again = app.test_client()
    assert used_again.get(path).status_code == 400
    reuse = post(used_again, path, {"password": "yet another password", "confirm": "yet another password"})
    assert reuse.status_code == 400
    auth.logout()
    assert auth.login(ws_a.email, "my new long password").status_code == 303


def test_reset_link_expires(app, client, mailbox, ws_a, monkeypatch):
    post(client, "/password/forgot", {"email": ws_a.email})
    path = re.sub(r"^https?://[^/]+", "", mailbox.links()[0])
    monkeypatch.setitem(app.config, "PASSWORD_RESET_MAX_AGE", -1)
    response = client.get(path)
    assert response.status_code == 400
    assert "This link no longer works" in response.get_data(as_text=True)


def test_reset_mismatched_passwords_are_refused(client, mailbox, ws_a):
    post(client, "/password/forgot", {"email": ws_a.email})
    path = re.sub(r"^https?://[^/]+", "", mailbox.links()[0])
    response = post(client, path, {"password": "my new long password", "confirm": "something else entirely"})
    assert response.status_code == 422
    assert "The two passwords differ." in response.get_data(as_text=True)


def test_forgot_password_for_unknown_email_says_the_same_and_sends_nothing(client, mailbox, ws_a):
    known = post(client, "/password/forgot", {"email": ws_a.email}, follow_redirects=True)
    mailbox.messages.clear()
    unknown = post(client, "/password/forgot", {"email": "ghost@nowhere.example.com"}, follow_redirects=True)
    assert mailbox.messages == []
    sentence = "If an account exists for that address"
    assert sentence in known.get_data(as_text=True)
    assert sentence in unknown.get_data(as_text=True)


def test_login_is_rate_limited(client, auth, ws_a):
    statuses = [auth.login(ws_a.email, "wrong password").status_code for _ in range(11)]
    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429
    assert "Too many attempts" in auth.login(ws_a.email, PASSWORD).get_data(as_text=True)


def test_signup_is_rate_limited(app):
    client = app.test_client()
    statuses = [post(client, "/signup", {**SIGNUP, "email": "bad"}).status_code for _ in range(11)]
    assert statuses[-1] == 429


def test_forgot_password_is_rate_limited(client, ws_a):
    statuses = [post(client, "/password/forgot", {"email": ws_a.email}).status_code for _ in range(6)]
    assert statuses[:5] == [303] * 5
    assert statuses[5] == 429


def test_post_without_csrf_token_is_refused(client, ws_a):
    response = client.post("/login", data={"email": ws_a.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "Reload the page" in response.get_data(as_text=True)


def test_htmx_post_with_csrf_header_is_accepted(client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken":\s*"([^"]+)"', page).group(1)
    headers = {"HX-Request": "true", "HX-Target": "note-composer"}
    refused = client.post(f"/w/{ws_a.slug}/notes/", data={"body": "hi"}, headers=headers)
    accepted = client.post(f"/w/{ws_a.slug}/notes/", data={"body": "hi"}, headers={**headers, "X-CSRFToken": token})
    assert refused.status_code == 400
    assert accepted.status_code == 200


def test_login_clears_the_previous_session(client, auth, ws_a):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    auth.login(ws_a.email, ws_a.password)
    with client.session_transaction() as session:
        assert "planted" not in session


def test_session_cookie_flags(client, auth, ws_a):
    response = auth.login(ws_a.email, ws_a.password)
    session_cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in session_cookie
    assert "SameSite=Lax" in session_cookie


def test_production_requires_secret_key_and_secure_cookies(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("ENCRYPTION_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("SERVER_NAME", "crm.example.com")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config({"KEHU_ENV": "production"})
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    config = load_config({"KEHU_ENV": "production"})
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["WTF_CSRF_TIME_LIMIT"] is None


def test_production_app_sends_hsts(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("ENCRYPTION_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("SERVER_NAME", "crm.example.com")
    app = create_app({"KEHU_ENV": "production", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}"})
    response = app.test_client().get("/")
    assert "max-age=" in response.headers["Strict-Transport-Security"]


def test_account_profile_update_and_validation(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    bad = post(client, "/account", {"name": "", "locale": ""})
    assert bad.status_code == 422
    assert "Tell us your name." in bad.get_data(as_text=True)
    ok = post(client, "/account", {"name": "Alice Chen", "locale": "zh_Hans"})
    assert ok.status_code == 303
    with app.app_context():
        user = db.session.get(User, ws_a.user_id)
        assert (user.name, user.locale) == ("Alice Chen", "zh_Hans")


def test_account_requires_login(client):
    assert client.get("/account").headers["Location"].startswith("/login")


def test_logging_out_ends_a_remember_me_session_too(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password, remember=True)
    assert client.get_cookie("remember_token") is not None
    auth.logout()
    assert client.get_cookie("remember_token") is None
    assert client.get(f"/w/{ws_a.slug}/").status_code == 302
