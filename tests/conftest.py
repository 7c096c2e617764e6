"""Fixtures: one app per run on SQLite (default) or PostgreSQL (DATABASE_URL), migrated from
scratch; a real SMTP server; tables emptied after every test.

On PostgreSQL the app connects as the app role (RLS on) and MIGRATION_DATABASE_URL names the
owner role, which migrates and empties tables. `.ci/run` prepares both with `flask crm pg-setup`.
"""

import html
import os
import re
import socket
import threading

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask_migrate import upgrade
from werkzeug.serving import make_server

from crm import create_app
from crm.auth.shared_store import forget_everything
from crm.custom_fields.service import forget_definitions
from crm.extensions import db, limiter
from crm.workspaces.service import forget_every_slug
from tests.factories import make_workspace

IS_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgresql")


def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only tests (RLS, roles) run in the PostgreSQL pass of CI, not the SQLite one; the scans
    of the pages' markup (axe) in the SQLite pass only, since the database does not change what they read
    and they take minutes in a pass."""
    other_pass = "markup" if IS_POSTGRES else "postgres"
    kept = [item for item in items if other_pass not in item.keywords]
    deselected = [item for item in items if other_pass in item.keywords]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """aiosmtpd handler keeping every message it receives; it refuses mail to the addresses in
    ``refused`` (550, as a server does for an unknown mailbox)."""

    def __init__(self):
        self.messages = []
        self.refused: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"

    def links(self) -> list[str]:
        return [
            link
            for message in self.messages
            for link in re.findall(r"https?://\S+", message.get_body(("plain",)).get_content())
        ]


@pytest.fixture(scope="session")
def smtp_server():
    handler = Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def mailbox(smtp_server):
    smtp_server.handler.messages.clear()
    yield smtp_server.handler
    smtp_server.handler.refused.clear()  # the server takes everyone's mail again for the next test


def app_config(database_url: str, smtp_port: int) -> dict:
    return {
        "KEHU_ENV": "test",
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MIGRATION_DATABASE_URL": os.environ.get("MIGRATION_DATABASE_URL", ""),
        "ARGON2_PROFILE": "CHEAPEST",
        "MAIL_URL": f"smtp+plain://127.0.0.1:{smtp_port}",
        "DEV_OUTBOX": False,
        "REDIS_URL": "",
        "RATELIMIT_STORAGE_URI": "memory://",
    }


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    return os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def app(database_url, smtp_server, tmp_path_factory):
    app = create_app({**app_config(database_url, smtp_server.port), "UPLOAD_DIR": str(tmp_path_factory.mktemp("up"))})
    with app.app_context():
        _recreate_schema(app)
        upgrade()
    return app


def owner_engine(app) -> sa.Engine:
    """The engine that owns the tables: the migration role on PostgreSQL, the app's on SQLite."""
    url = app.config["MIGRATION_DATABASE_URL"]
    return sa.create_engine(url, poolclass=sa.pool.NullPool) if url else db.engine


def _recreate_schema(app) -> None:
    if not IS_POSTGRES:
        return
    engine = owner_engine(app)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


# PostgreSQL's tables outside the tenancy wall, emptied last to first; every workspace table goes with
# its workspace (ON DELETE CASCADE, which RLS does not filter).
GLOBAL_TABLES = ("workspaces", "recovery_codes", "sign_ins", "stripe_events", "deleted_workspaces", "users")


def empty_tables(app) -> None:
    with app.app_context():
        tables = [t.name for t in db.metadata.sorted_tables]
        engine = owner_engine(app)
        with engine.begin() as connection:
            if IS_POSTGRES:
                _empty_postgresql(connection, tables)
            else:
                for table in reversed(tables):
                    connection.execute(sa.text(f"DELETE FROM {table}"))
        if engine is not db.engine:
            engine.dispose()


def _empty_postgresql(connection, tables: list[str]) -> None:
    """Deletes the rows of a test's few workspaces through their cascades (about 20 ms), where a TRUNCATE
    of every table costs ~250 ms, six minutes of a PostgreSQL run. A table the cascades miss, or a
    delete that fails, falls back to the TRUNCATE. Rows inserted later may take the room deleted rows
    left, so a test reading several rows says their order (ORDER BY), as the app must."""
    if not CASCADED:
        CASCADED.update(_cascaded_from_workspaces(connection))
        for table in tables:  # rows deleted leave room in their pages; no vacuum at random times reuses it
            connection.execute(sa.text(f"ALTER TABLE {table} SET (autovacuum_enabled = false)"))
    missed = sorted(set(tables) - set(GLOBAL_TABLES) - CASCADED)
    try:
        with connection.begin_nested():
            if missed:
                raise LookupError(missed)
            for table in GLOBAL_TABLES:
                connection.execute(sa.text(f"DELETE FROM {table}"))
    except (LookupError, sa.exc.DBAPIError):
        connection.execute(sa.text(f"TRUNCATE {', '.join(tables)} CASCADE"))


CASCADED: set[str] = set()  # found once per run: the schema is the same for every test


def _cascaded_from_workspaces(connection) -> frozenset[str]:
    """The tables whose rows go when their workspace is deleted: through ON DELETE CASCADE foreign
    keys, from workspaces or from a table that does."""
    edges = connection.execute(sa.text(
        "SELECT confrelid::regclass::text, conrelid::regclass::text FROM pg_constraint"
        " WHERE contype = 'f' AND confdeltype = 'c'"
    )).all()  # fmt: skip
    reached, frontier = set(), {"workspaces"}
    while frontier:
        frontier = {child for parent, child in edges if parent in frontier} - reached
        reached |= frontier
    return frozenset(reached)


@pytest.fixture(autouse=True)
def _clean_state(app):
    limiter.reset()
    with app.app_context():
        forget_everything()  # TOTP steps used, addresses locked out
    forget_every_slug()  # process caches of database state: the tables are emptied between tests
    forget_definitions()
    yield
    empty_tables(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ws_a(app):
    return make_workspace(app, "Alpha Trading", "alice@alpha.example.com")


@pytest.fixture
def ws_b(app):
    return make_workspace(app, "Beta Foods", "bob@beta.example.com")


class Auth:
    """Signs a test client in and out through the real forms (CSRF included)."""

    def __init__(self, client):
        self.client = client

    def login(self, email: str, password: str, remember: bool = False):
        data = {"email": email, "password": password}
        if remember:
            data["remember"] = "y"
        return post(self.client, "/login", data)

    def logout(self):
        return post(self.client, "/logout", {})


@pytest.fixture
def auth(client):
    return Auth(client)


def post(client, url: str, data: dict, headers: dict | None = None, **kwargs):
    """POST with a valid CSRF token, as a browser would after loading a page."""
    token = _token_from_any_page(client)
    return client.post(url, data={**data, "csrf_token": token}, headers=headers or {}, **kwargs)


def sent_by_browser(page: str) -> dict:
    """What a browser sends back from the (one) form of ``page`` unchanged: every input's value, ticked
    checkboxes only, each textarea's text, and each select's selected option (else its first)."""
    values = {}
    for match in re.finditer(r'<input[^>]*name="([^"]+)"[^>]*>', page):
        tag, value = match.group(0), re.search(r'value="([^"]*)"', match.group(0))
        if 'type="checkbox"' in tag and "checked" not in tag:
            continue
        values[match.group(1)] = html.unescape(value.group(1)) if value else ""
    for match in re.finditer(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        values[match.group(1)] = html.unescape(match.group(2)).removeprefix("\r\n").removeprefix("\n")
    for match in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        options = re.findall(r"<option[^>]*>", match.group(2))
        chosen = [option for option in options if " selected" in option] or options[:1]
        values[match.group(1)] = html.unescape(re.search(r'value="([^"]*)"', chosen[0]).group(1)) if chosen else ""
    values.pop("csrf_token", None)
    return values


def _token_from_any_page(client) -> str:
    page = client.get("/").get_data(as_text=True)
    return re.search(r'"X-CSRFToken":\s*"([^"]+)"', page).group(1)


class LiveServer:
    def __init__(self, app):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = make_server("127.0.0.1", self.port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()


@pytest.fixture(scope="session")
def live_server(app):
    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def fake_stripe():
    """The local fake of Stripe's API and hosted pages (tests/fake_stripe.py), for the whole run."""
    from tests.fake_stripe import FakeStripe

    server = FakeStripe().start()
    yield server
    server.stop()


@pytest.fixture
def stripe_billing(app, fake_stripe, monkeypatch):
    """Billing on, against the fake (emptied): keys, API base and the plans' price ids in the
    session app's configuration for this test only."""
    fake_stripe.reset()
    monkeypatch.setattr(fake_stripe, "webhook_url", None)
    plans = {key: dict(values) for key, values in app.config["BILLING_PLANS"].items()}
    plans["team"]["price_id"], plans["business"]["price_id"] = "price_team", "price_business"
    for key, value in {
        "STRIPE_SECRET_KEY": "sk_test_fake",
        "STRIPE_WEBHOOK_SECRET": fake_stripe.webhook_secret,
        "STRIPE_API_BASE": fake_stripe.url,
        "BILLING_PLANS": plans,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    return fake_stripe
