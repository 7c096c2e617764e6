"""How a request's transaction ends (crm/transactions.py): a request that only read commits, so
psycopg keeps its prepared statements; anything written and not committed is still rolled back."""

from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from crm.contacts.models import Contact
from crm.extensions import db
from crm.tenancy import bind_workspace
from crm.transactions import end_read_only_transaction
from tests.factories import make_contact


@contextmanager
def ends_seen(app):
    """The COMMITs and ROLLBACKs the app's engine sends, in order."""
    seen: list[str] = []
    with app.app_context():
        engine = db.engine
    listeners = {"commit": lambda conn: seen.append("commit"), "rollback": lambda conn: seen.append("rollback")}
    for name, listener in listeners.items():
        sa.event.listen(engine, name, listener)
    try:
        yield seen
    finally:
        for name, listener in listeners.items():
            sa.event.remove(engine, name, listener)


def names(app, ws) -> set[str]:
    with app.test_request_context():
        bind_workspace(ws.id)
        return set(db.session.scalars(sa.select(Contact.name)))


def test_a_page_that_only_reads_ends_with_commit(app, client, auth, ws_a):
    make_contact(app, ws_a, "Ann Lee")
    auth.login(ws_a.email, ws_a.password)
    with ends_seen(app) as seen:
        assert "Ann Lee" in client.get(f"/w/{ws_a.slug}/contacts/").get_data(as_text=True)
    assert seen == ["commit"]


def test_prepared_statements_outlive_the_request_on_postgresql(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    used = []
    with app.app_context():
        engine = db.engine
    engine.dispose()  # one connection from here on, as in a gunicorn worker (the pool hands out the last used)

    def remember(conn, cursor, statement, parameters, context, executemany):
        used.append(conn.connection.driver_connection)

    for _ in range(6):  # psycopg prepares a statement on its sixth run
        client.get(f"/w/{ws_a.slug}/contacts/")
    sa.event.listen(engine, "before_cursor_execute", remember)
    try:
        client.get(f"/w/{ws_a.slug}/contacts/")
    finally:
        sa.event.remove(engine, "before_cursor_execute", remember)
    if engine.dialect.name != "postgresql":
        assert engine.dialect.name == "sqlite"  # the driver prepares nothing there
        return
    connection = used[-1]  # idle in the pool, its transaction committed
    try:
        statements = [row[0] for row in connection.execute("SELECT statement FROM pg_prepared_statements")]
    finally:
        connection.rollback()
    assert any("FROM contacts" in statement for statement in statements)


@pytest.mark.parametrize("how", ["flushed", "pending", "executed"])
def test_what_was_written_and_not_committed_is_rolled_back(app, ws_a, how):
    with app.test_request_context():
        bind_workspace(ws_a.id)
        if how == "executed":
            db.session.execute(sa.insert(Contact).values(workspace_id=ws_a.id, name="Ghost", search_text="ghost"))
        else:
            db.session.add(Contact(name="Ghost", search_text="ghost"))
            if how == "flushed":
                db.session.flush()
        end_read_only_transaction(None)
        db.session.remove()
    assert "Ghost" not in names(app, ws_a)


def test_a_request_that_failed_is_rolled_back(app, ws_a):
    with app.test_request_context(), ends_seen(app) as seen:
        bind_workspace(ws_a.id)
        db.session.scalars(sa.select(Contact.name)).all()
        end_read_only_transaction(RuntimeError("the view failed"))
        db.session.remove()
    assert seen == ["rollback"]


def test_a_read_after_a_commit_ends_with_commit(app, ws_a):
    with app.test_request_context(), ends_seen(app) as seen:
        bind_workspace(ws_a.id)
        db.session.add(Contact(name="Kept", search_text="kept"))
        db.session.commit()
        db.session.scalars(sa.select(Contact.name)).all()
        end_read_only_transaction(None)
        db.session.remove()
    assert seen == ["commit", "commit"]
    assert "Kept" in names(app, ws_a)


def test_postgresql_plans_each_run_for_its_workspace(app):
    """A generic plan, costed for an average workspace, was a disaster for a big one (bench/README.md)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            assert db.engine.dialect.name == "sqlite"  # no plan cache there
            return
        assert db.session.scalar(sa.text("SHOW plan_cache_mode")) == "force_custom_plan"
