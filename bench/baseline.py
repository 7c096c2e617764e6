"""The yardstick of DESIGN §6, served by gunicorn beside the app: one indexed query through the bare
driver (psycopg, or sqlite3) for the 50 newest live contacts of the whale workspace, rendered with
a Jinja template compiled once at start-up. No Flask, no ORM, no session.

Environment: BASELINE_DATABASE_URL (the app role, so RLS applies as it does to the app) and
BASELINE_WORKSPACE_ID.
"""

import os
import sqlite3
from pathlib import Path

import psycopg
from jinja2 import Environment, FileSystemLoader

URL = os.environ.get("BASELINE_DATABASE_URL", "")  # (bench/stack.py imports QUERY without them)
WORKSPACE_ID = int(os.environ.get("BASELINE_WORKSPACE_ID", "0"))
QUERY = (
    "SELECT id, name, emails, lifecycle, created_at FROM contacts WHERE workspace_id = {0} AND deleted_at IS NULL"
    " ORDER BY created_at DESC, id DESC LIMIT 50"
)
TEMPLATE = Environment(loader=FileSystemLoader(Path(__file__).parent), autoescape=True).get_template("baseline.html")
_connection = None


def connection():
    """One connection per worker, opened after the fork. On PostgreSQL the workspace setting the
    RLS policy reads is set once for the session, so each request is a single query."""
    global _connection
    if _connection is None:
        if URL.startswith("sqlite:///"):
            _connection = sqlite3.connect(URL.removeprefix("sqlite:///"))
        else:
            _connection = psycopg.connect(URL, autocommit=True)
            _connection.execute("SELECT set_config('app.current_workspace', %s, false)", (str(WORKSPACE_ID),))
    return _connection


def app(environ, start_response):
    conn = connection()
    placeholder = "?" if isinstance(conn, sqlite3.Connection) else "%s"
    rows = conn.execute(QUERY.format(placeholder), (WORKSPACE_ID,)).fetchall()
    body = TEMPLATE.render(rows=rows).encode()
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]
