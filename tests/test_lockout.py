"""Lock-out after repeated wrong passwords for one account (whatever the IP), and the list of
recent sign-ins on the account page."""

import re
from datetime import timedelta
from types import SimpleNamespace

import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.auth.models import SignIn, User
from crm.db import utcnow
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.test_pages import assert_valid_page

GENERIC = "That email and password do not match an account."
LOCKED = "Too many failed attempts. Try again in 15 minutes or reset your password."


def attempt(app, ws, password: str, ip: str = "198.51.100.1", agent: str = "TestBrowser/1.0"):
    """A sign-in from a fresh device at ``ip``: the per-IP rate limit never gets in the way."""
    client = app.test_client()
    response = post(
        client,
        "/login",
        {"email": ws.email, "password": password},
        headers={"User-Agent": agent},
        environ_base={"REMOTE_ADDR": ip},
    )
    return client, response


def fail(app, ws, times: int) -> list:
    return [attempt(app, ws, "not the password", ip=f"198.51.100.{i + 1}")[1] for i in range(times)]


def user_row(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def set_user(app, user_id: int, **values) -> None:
    with app.app_context():
        user = db.session.get(User, user_id)
        for name, value in values.items():
            setattr(user, name, value)
        db.session.commit()


def sign_ins(app, user_id: int) -> list[SignIn]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(SignIn).where(SignIn.user_id == user_id).order_by(SignIn.id)))
        db.session.expunge_all()
        return rows


def test_ten_wrong_passwords_lock_the_account_even_for_the_right_one(app, ws_a):
    responses = fail(app, ws_a, 10)
    assert all(r.status_code == 422 for r in responses)
    assert all(GENERIC in r.get_data(as_text=True) for r in responses[:9])
    assert LOCKED in responses[9].get_data(as_text=True)
    user = user_row(app, ws_a.user_id)
    assert user.locked_until is not None
    assert timedelta(minutes=14) < user.locked_until - utcnow() <= timedelta(minutes=15)

    client, response = attempt(app, ws_a, ws_a.password, ip="203.0.113.50")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert LOCKED in html
    assert_valid_page(html, "/login (locked)")
    assert client.get(f"/w/{ws_a.slug}/").status_code == 302


def test_the_minutes_left_are_counted_down(app, ws_a):
    set_user(app, ws_a.user_id, locked_until=utcnow() + timedelta(minutes=1, seconds=5))
    assert "Try again in 2 minutes" in attempt(app, ws_a, ws_a.password)[1].get_data(as_text=True)
    set_user(app, ws_a.user_id, locked_until=utcnow() + timedelta(seconds=20))
    assert "Try again in 1 minute or" in attempt(app, ws_a, ws_a.password)[1].get_data(as_text=True)


def test_attempts_while_locked_do_not_extend_the_lock(app, ws_a):
    until = utcnow() + timedelta(minutes=5)
    set_user(app, ws_a.user_id, locked_until=until)
    fail(app, ws_a, 3)
    user = user_row(app, ws_a.user_id)
    assert user.locked_until == until and user.failed_logins == 0


def test_the_lock_opens_when_its_time_has_passed(app, ws_a):
    fail(app, ws_a, 10)
    set_user(app, ws_a.user_id, locked_until=utcnow() - timedelta(seconds=1))
    client, response = attempt(app, ws_a, ws_a.password)
    assert response.status_code == 303
    assert client.get(f"/w/{ws_a.slug}/").status_code == 200
    user = user_row(app, ws_a.user_id)
    assert user.locked_until is None and user.failed_logins == 0


def test_a_successful_sign_in_resets_the_count(app, ws_a):
    fail(app, ws_a, 9)
    assert user_row(app, ws_a.user_id).failed_logins == 9
    assert attempt(app, ws_a, ws_a.password)[1].status_code == 303
    assert user_row(app, ws_a.user_id).failed_logins == 0
    responses = fail(app, ws_a, 9)
    assert all(GENERIC in r.get_data(as_text=True) for r in responses)
    assert user_row(app, ws_a.user_id).locked_until is None


def test_a_password_reset_unlocks(app, client, mailbox, ws_a):
    fail(app, ws_a, 10)
    post(client, "/password/forgot", {"email": ws_a.email})
    path = re.sub(r"^https?://[^/]+", "", mailbox.links()[0])
    response = post(client, path, {"password": "my new long password", "confirm": "my new long password"})
    assert response.status_code == 303
    user = user_row(app, ws_a.user_id)
    assert user.locked_until is None and user.failed_logins == 0
    assert attempt(app, ws_a, "my new long password")[1].status_code == 303


def test_the_lock_is_audited(app, ws_a):
    fail(app, ws_a, 10)
    with app.app_context(), workspace_scope(ws_a.id):
        actions = list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions.count("auth.login_failed") == 10
    assert actions.count("auth.locked") == 1


def test_per_ip_rate_limit_still_applies(client, auth, ws_b, ws_a):
    statuses = [auth.login(ws_a.email if i % 2 else ws_b.email, "wrong password").status_code for i in range(11)]
    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429


# --- recent sign-ins -----------------------------------------------------------------------------


def test_every_attempt_on_an_account_is_recorded(app, ws_a):
    attempt(app, ws_a, "wrong password", ip="198.51.100.7", agent="Mozilla/5.0 (X11; Linux) Firefox/140.0")
    attempt(app, ws_a, ws_a.password, ip="2001:db8::1", agent="Mozilla/5.0 (Macintosh) Safari/605.1.15")
    rows = sign_ins(app, ws_a.user_id)
    assert [(r.succeeded, r.ip, r.user_agent) for r in rows] == [
        (False, "198.51.100.7", "Mozilla/5.0 (X11; Linux) Firefox/140.0"),
        (True, "2001:db8::1", "Mozilla/5.0 (Macintosh) Safari/605.1.15"),
    ]


def test_a_long_user_agent_is_cut_to_fit(app, ws_a):
    attempt(app, ws_a, ws_a.password, agent="X" * 1000)
    assert sign_ins(app, ws_a.user_id)[0].user_agent == "X" * 255


def test_account_page_lists_the_last_ten_sign_ins(app, client, auth, ws_a):
    start = utcnow() - timedelta(hours=1)
    with app.app_context():
        for i in range(12):
            db.session.add(
                SignIn(
                    user_id=ws_a.user_id,
                    succeeded=i % 3 != 0,
                    ip=f"192.0.2.{i}",
                    user_agent=f"Browser-{i:02d}",
                    created_at=start + timedelta(minutes=i),
                )
            )
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    html = client.get("/account").get_data(as_text=True)
    assert_valid_page(html, "/account (sign-ins)")
    section = html[html.index('id="sign-ins-title"') :]
    shown = [int(n) for n in re.findall(r"Browser-(\d\d)", section)]
    assert shown == list(range(11, 2, -1))  # the sign-in just made is first, then 11 down to 3
    assert "werkzeug" in section.lower()  # the test client's own user agent: this sign-in
    assert "Failed" in section and "Signed in" in section
    assert "192.0.2.11" in section
    assert "Times are in UTC." in section


def test_account_page_shows_times_in_the_users_language(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    post(client, "/account", {"name": "Alice", "locale": "zh_Hans"})
    html = client.get("/account").get_data(as_text=True)
    assert '<html lang="zh-Hans"' in html
    when = re.search(r'<time datetime="[^"]+">([^<]+)</time>', html).group(1)
    assert "年" in when  # a Chinese medium date, e.g. 2026年11月23日 10:00:00


def test_an_address_without_an_account_is_locked_out_alike_so_the_message_tells_nothing(app, ws_a):
    """Ten wrong passwords from ten IPs: an account and an unknown address read the same, attempt by
    attempt, and both stay locked for any password after."""
    nobody = SimpleNamespace(email="nobody@alpha.example.com")
    for number in range(1, 11):
        answers = [attempt(app, who, "not the password", ip=f"198.51.100.{number}")[1] for who in (ws_a, nobody)]
        expected = LOCKED if number == 10 else GENERIC
        assert [a.status_code for a in answers] == [422, 422]
        assert all(expected in a.get_data(as_text=True) for a in answers), number
    for who in (ws_a, nobody):
        _client, again = attempt(app, who, ws_a.password, ip="203.0.113.9")
        assert again.status_code == 422 and LOCKED in again.get_data(as_text=True)
    _client, other = attempt(app, SimpleNamespace(email="someone.else@alpha.example.com"), "x", ip="203.0.113.10")
    assert GENERIC in other.get_data(as_text=True)  # per address, not for everyone
    with app.app_context():  # an address without an account has no sign-in history to keep
        user_ids = db.session.scalars(sa.select(SignIn.user_id).distinct()).all()
    assert user_ids == [ws_a.user_id]


def test_the_per_address_limit_counts_the_address_however_it_is_spelt(app, ws_a):
    """Twenty tries an hour for one address, from any IP: in capitals or in full-width letters (a
    Chinese input method's) it is the same address, so spelling it otherwise gives no more tries."""
    full_width = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in ws_a.email)
    spellings = (ws_a.email, ws_a.email.upper(), full_width)
    for number in range(20):
        client = app.test_client()
        data = {"email": spellings[number % 3], "password": "not the password"}
        assert post(client, "/login", data, environ_base={"REMOTE_ADDR": f"203.0.113.{number + 1}"}).status_code != 429
    client = app.test_client()
    data = {"email": full_width, "password": "not the password"}
    assert post(client, "/login", data, environ_base={"REMOTE_ADDR": "203.0.113.99"}).status_code == 429
