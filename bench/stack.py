"""The fixed stack alone, without Kehu: how near the DESIGN §6 baseline a page can come when it is
built only from what the project must use (Flask, Flask-SQLAlchemy, Flask-Login, under the same
gunicorn), measured beside the baseline in one run.

    python -m bench.stack [--seconds 20] [--runs 3]

Four pages show the baseline's 50 contacts with its template (bench/baseline.html), each adding one
part of the stack to the one before:

* ``flask``: a Flask view, the baseline's psycopg query and connection, ``render_template``;
* ``orm``: the query through Flask-SQLAlchemy's session (columns, no objects) on a pooled engine,
  and a COMMIT at the end (psycopg drops its prepared statements on a ROLLBACK);
* ``signed-in``: Flask-Login in front, its user read by primary key through the session for each
  request from a signed session cookie: the least a sign-in that can be revoked costs;
* ``signed-in + csrf``: Flask-WTF's CSRFProtect on too, and a token in the page (every form has one).

Kehu's own signed-in floor and contacts list (bench/target.py) are measured in the same run, for
comparison. Nothing of the four pages is Kehu's: no tenancy wall (the workspace setting is sent once
per connection, as the baseline does), no roles, no layout, no translations. The PostgreSQL bench database of
``make bench-data`` is read as the app role; the whale owner is the signed-in user. The app is
served only on 127.0.0.1 by this script; its sign-in route takes no password.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

import psycopg
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, render_template
from flask_login import LoginManager, UserMixin, login_required, login_user
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect, generate_csrf

from bench.baseline import QUERY as BASELINE_QUERY

URL = os.environ.get("STACK_DATABASE_URL", "")
WORKSPACE_ID = int(os.environ.get("STACK_WORKSPACE_ID", "0"))


class Base(so.DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str]
    session_version: so.Mapped[int]


class Contact(db.Model):
    __tablename__ = "contacts"
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    workspace_id: so.Mapped[int]
    name: so.Mapped[str]
    emails: so.Mapped[list] = so.mapped_column(sa.JSON)
    lifecycle: so.Mapped[str]
    created_at: so.Mapped[sa.DateTime] = so.mapped_column(sa.DateTime(timezone=True))
    deleted_at: so.Mapped[sa.DateTime | None] = so.mapped_column(sa.DateTime(timezone=True))


NEWEST = (
    sa.select(Contact.id, Contact.name, Contact.emails, Contact.lifecycle, Contact.created_at)
    .where(Contact.workspace_id == sa.bindparam("workspace"), Contact.deleted_at.is_(None))
    .order_by(Contact.created_at.desc(), Contact.id.desc())
    .limit(50)
)


def create_stack_app(csrf: bool = False) -> Flask:
    app = Flask(__name__, template_folder=".")
    app.config.update(SECRET_KEY=os.environ.get("SECRET_KEY", "bench-only"),
                      SQLALCHEMY_DATABASE_URI=URL.replace("postgresql://", "postgresql+psycopg://", 1))  # fmt: skip
    db.init_app(app)
    login = LoginManager(app)
    login.user_loader(lambda user_id: db.session.get(User, int(user_id)))
    if csrf:
        CSRFProtect(app)
    with app.app_context():
        sa.event.listen(db.engine, "connect", _bind_workspace)
    raw = {}

    @app.get("/flask")
    def flask_only():
        if "connection" not in raw:
            raw["connection"] = psycopg.connect(URL, autocommit=True)
            _bind_workspace(raw["connection"], None)
        rows = raw["connection"].execute(BASELINE_QUERY.format("%s"), (WORKSPACE_ID,)).fetchall()
        return render_template("baseline.html", rows=rows)

    @app.get("/orm")
    def orm():
        return _newest_page()

    @app.get("/signed-in")
    @login_required
    def signed_in():
        if csrf:
            generate_csrf()
        return _newest_page()

    @app.get("/sign-in/<int:user_id>")
    def sign_in(user_id: int):
        login_user(db.session.get(User, user_id))
        db.session.commit()
        return "ok"

    return app


def _bind_workspace(connection, _record) -> None:
    """The workspace the RLS policy reads, once for the connection's life (as the baseline does)."""
    cursor = connection.cursor()
    cursor.execute("SELECT set_config('app.current_workspace', %s, false)", (str(WORKSPACE_ID),))
    cursor.close()


def _newest_page() -> str:
    """Committed after rendering: Flask-Login's context processor reads the user while the template
    renders, and a transaction left open is rolled back at teardown (prepared statements lost)."""
    rows = db.session.execute(NEWEST, {"workspace": WORKSPACE_ID}).all()
    page = render_template("baseline.html", rows=rows)
    db.session.commit()
    return page


def app_for_gunicorn() -> Flask:
    return create_stack_app(csrf=os.environ.get("STACK_CSRF") == "1")


# --- the run -----------------------------------------------------------------------------------


def main() -> None:
    from bench import run as bench_run
    from bench.common import WHALE_EMAIL, database_env
    from bench.queries import app_env
    from bench.target import endpoints, find_target

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.update(app_env("postgresql"))  # the baseline's gunicorn.conf.py makes Kehu's app in its workers
    target = find_target("postgresql")
    url = database_env("postgresql")["DATABASE_URL"]
    env = {"STACK_DATABASE_URL": url, "STACK_WORKSPACE_ID": str(target.workspace_id)}
    baseline_env = {"BASELINE_DATABASE_URL": url, "BASELINE_WORKSPACE_ID": str(target.workspace_id)}
    kehu, stack, csrf = bench_run.APP_PORT, bench_run.APP_PORT + 2, bench_run.APP_PORT + 4
    servers = {
        "baseline": bench_run.start_server("bench.baseline:app", bench_run.BASELINE_PORT, baseline_env,
                                           bench_run.RESULTS / "baseline.log"),
        "kehu": bench_run.start_server("wsgi:app", kehu, app_env("postgresql"), bench_run.RESULTS / "app.log"),
        "stack": _start(stack, env, bench_run.RESULTS / "stack.log"),
        "csrf": _start(csrf, {**env, "STACK_CSRF": "1"}, bench_run.RESULTS / "stack-csrf.log"),
    }  # fmt: skip
    try:
        bench_run.wait_until_up(bench_run.BASELINE_PORT, "/")
        bench_run.wait_until_up(kehu, "/healthz")
        for port in (stack, csrf):
            bench_run.wait_until_up(port, "/orm")
        user_id = _user_id(url, WHALE_EMAIL)
        cookies = {port: bench_run.cookie_header(bench_run.request(port, "GET", f"/sign-in/{user_id}")[2])
                   for port in (stack, csrf)}  # fmt: skip
        cookies[kehu] = bench_run.sign_in()  # through Kehu's /login (bench.run signs in on APP_PORT)
        kehu_pages = {endpoint.name: endpoint for endpoint in endpoints(target)}
        floor, contacts = kehu_pages["signed-in floor"], kehu_pages["contacts list"]
        # (name, server, port, path, headers, signed in): the first three without a session cookie
        pages = [("baseline", "baseline", bench_run.BASELINE_PORT, "/", {}, False),
                 ("flask", "stack", stack, "/flask", {}, False),
                 ("orm", "stack", stack, "/orm", {}, False),
                 ("signed-in", "stack", stack, "/signed-in", {}, True),
                 ("signed-in + csrf", "csrf", csrf, "/signed-in", {}, True),
                 ("Kehu: signed-in floor", "kehu", kehu, floor.path, floor.headers, True),
                 ("Kehu: contacts list", "kehu", kehu, contacts.path, contacts.headers, True)]  # fmt: skip
        runs = _measure(pages, cookies, servers, args)
    finally:
        for process in servers.values():
            process.terminate()
            process.wait(timeout=30)
    print(_table(runs))


def _start(port: int, env: dict, log) -> subprocess.Popen:
    """gunicorn as gunicorn.conf.py runs the baseline (2 sync workers, preloaded, access log on
    stdout, recycled rarely), without its post_fork, which makes Kehu's app: Kehu's session events
    (the tenancy wall) would then apply to this app's sessions too (so bench.run, which imports
    Kehu, is imported only by the runner, inside its functions)."""
    from bench.run import GUNICORN, ROOT, WORKERS

    command = [GUNICORN, "-c", "/dev/null", "-w", str(WORKERS), "-b", f"127.0.0.1:{port}", "--preload",
               "--access-logfile", "-", "--error-logfile", "-", "--max-requests", "20000",
               "bench.stack:app_for_gunicorn()"]  # fmt: skip
    with log.open("w") as out:
        return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=out)


def _user_id(url: str, email: str) -> int:
    with psycopg.connect(url) as connection:
        return connection.execute("SELECT id FROM users WHERE email = %s", (email,)).fetchone()[0]


def _measure(pages: list, cookies: dict, servers: dict, args) -> dict:
    from bench import run as bench_run

    runs = {page[0]: [] for page in pages}
    for number in range(args.runs + 1):  # the first round warms up
        for name, server, port, path, headers, signed_in in pages:
            before = bench_run.cpu_seconds(servers[server].pid)
            sent = {**headers, "Cookie": cookies[port]} if signed_in else headers
            run = _wrk(port, path, sent, 5 if number == 0 else args.seconds)
            after = bench_run.cpu_seconds(servers[server].pid)
            run.update({f"{part}_cpu_ms": (after[part] - used) * 1000 / max(run["requests"], 1)
                        for part, used in before.items()})  # fmt: skip
            if number:
                runs[name].append(run)
            if run["not_200"] or run["socket_errors"]:
                sys.exit(f"{name}: {run['not_200']} answers not 200, {run['socket_errors']} socket errors")
    return runs


def _wrk(port: int, path: str, headers: dict, seconds: int) -> dict:
    from bench.run import ROOT

    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--timeout", "10s", "-s", "bench/report.lua"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, f"http://127.0.0.1:{port}{path}"], cwd=ROOT, check=True, capture_output=True,
                            text=True).stdout  # fmt: skip
    run = json.loads(output.strip().splitlines()[-1])
    run["rps"] = run["requests"] / run["seconds"]
    return run


def _table(runs: dict) -> str:
    baseline = statistics.median(run["rps"] for run in runs["baseline"])
    lines = ["| page | req/s | x baseline | p95 ms | CPU ms/req: server, PostgreSQL, wrk |", "|---|--:|--:|--:|--:|"]
    for name, measured in runs.items():
        rps, p95 = (statistics.median(run[key] for run in measured) for key in ("rps", "p95_ms"))
        cpu = ", ".join(f"{statistics.median(run[f'{part}_cpu_ms'] for run in measured):.2f}"
                        for part in ("server", "database", "wrk"))  # fmt: skip
        lines.append(f"| {name} | {rps:.0f} | {rps / baseline:.2f} | {p95:.1f} | {cpu} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
