"""SQL per request, and the plans of those statements.

Each endpoint is requested once to warm up and once more to measure, through the Flask test client
against the bench database (as the app role, so RLS applies), signed in as the whale's Owner; a
SQLAlchemy ``before_cursor_execute`` listener records every statement sent.

    python -m bench.queries --db postgresql|sqlite [--explain]

``--explain`` prints EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN QUERY PLAN on SQLite, of
every statement the list, deep page, search and filter endpoints send about contacts or companies, and
the ticket queue's.
"""

import argparse
import os
import re
import time

import sqlalchemy as sa
from crm.secrets import derived_key

from bench.common import database_env
from bench.target import Endpoint, Target, endpoints, find_target

EXPLAINED = ("contacts list", "deep page", "search rare", "search common", "search cjk rare", "search cjk common",
             "filter lifecycle", "filter tag", "contact detail", "ticket queue")  # fmt: skip
SECRET_KEY = "bench-only-secret-key"  # noqa: S105  (a throwaway key for a loopback benchmark)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")


def app_env(db: str) -> dict[str, str]:
    """The production profile, on the bench database, with rate limits in a Redis db of their own."""
    keys = derived_key(SECRET_KEY)
    return {"KEHU_ENV": "production", "SECRET_KEY": SECRET_KEY, "ENCRYPTION_KEYS": keys, "REDIS_URL": REDIS_URL,
            "SERVER_NAME": "bench.kehu.example", **database_env(db)}  # fmt: skip


def make_app(db: str):
    os.environ.update(app_env(db))
    from crm import create_app

    return create_app()


def sign_in(client, db_engine: sa.Engine, email: str) -> None:
    with db_engine.connect() as connection:
        user_id, version = connection.execute(
            sa.text("SELECT id, session_version FROM users WHERE email = :e"), {"e": email}
        ).one()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = f"{user_id}:{version}", True


def capture(app, target: Target, email: str) -> dict[str, list[tuple[str, object]]]:
    """Statements (SQL, parameters) each app endpoint sends on a warm request."""
    from crm.extensions import db

    with app.app_context():
        engine = db.engine
    sent: list[tuple[str, object]] = []
    sa.event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, params, *_: sent.append((sql, params)))
    client = app.test_client()
    sign_in(client, engine, email)
    found = {}
    for endpoint in endpoints(target):
        if endpoint.baseline:
            continue
        _get(client, endpoint)
        sent.clear()
        _get(client, endpoint)
        found[endpoint.name] = list(sent)
    return found


def _get(client, endpoint: Endpoint) -> None:
    response = client.get(endpoint.path, headers=endpoint.headers)
    if response.status_code != 200:
        raise RuntimeError(f"{endpoint.name}: {endpoint.path} answered {response.status_code}")


def explain(app, target: Target, statements: dict[str, list[tuple[str, object]]]) -> None:
    from crm.extensions import db

    with app.app_context():
        raw, postgresql = db.engine.raw_connection(), db.engine.dialect.name == "postgresql"
    try:
        cursor = raw.cursor()
        if postgresql:
            cursor.execute("SELECT set_config('app.current_workspace', %s, false)", (str(target.workspace_id),))
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgresql else "EXPLAIN QUERY PLAN "
        for name in EXPLAINED:
            for sql, params in statements[name]:
                if re.search(r"\bFROM (contacts|companies|tickets)\b", sql):
                    cursor.execute(prefix + sql, params)
                    plan = "\n".join("  " + " ".join(map(str, row[-1:])) for row in cursor.fetchall())
                    print(f"--- {name} ({timed(cursor, sql, params):.1f} ms)\n{sql}\n{plan}\n")
    finally:
        raw.close()


def timed(cursor, sql: str, params) -> float:
    started = time.perf_counter()
    cursor.execute(sql, params)
    cursor.fetchall()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    from bench.common import WHALE_EMAIL

    target, app = find_target(args.db), make_app(args.db)
    statements = capture(app, target, WHALE_EMAIL)
    for name, sent in statements.items():
        print(f"{name:18} {len(sent)} statements")
    if args.explain:
        explain(app, target, statements)


if __name__ == "__main__":
    main()
