from contextlib import contextmanager

import sqlalchemy as sa

from crm.extensions import db


@contextmanager
def count_queries(app):
    """Counts the SQL statements the app sends (RLS set_config calls excluded: one per transaction)."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "set_config('app.current_workspace'" not in statement:
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def page_queries(app, client, url: str) -> tuple[int, str]:
    """How many statements a second load of ``url`` sends (the first fills per-process caches), and the page."""
    client.get(url)
    with count_queries(app) as statements:
        page = client.get(url).get_data(as_text=True)
    return len(statements), page
