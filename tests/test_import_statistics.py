"""An import has the tables it matches and writes analyzed again when their statistics lag far behind
them (migration 0054, crm/imports/runner.py ``_replan_key_checks``). Without it, on a database where
autovacuum is late or off, a contacts table analyzed while empty kept its empty statistics, and an
update import matched each email against every contact of the workspace."""

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.test_imports import check, import_id_of, job_of, upload

LAST_ANALYZE = sa.text("SELECT pg_stat_get_last_analyze_time('contacts'::regclass)")


def _add_contacts_beyond_the_statistics(app, ws) -> None:
    """As many contacts as the statistics count, and 1,000 more, written behind the planner's back."""
    with app.app_context(), workspace_scope(ws.id):
        counted = db.session.scalar(sa.text("SELECT greatest(reltuples, 0) FROM pg_class WHERE relname = 'contacts'"))
        db.session.execute(
            sa.text(
                "INSERT INTO contacts (workspace_id, name, emails, phones, level, level_pinned, lifecycle,"
                " lifetime_value, search_text, created_at, updated_at)"
                " SELECT :workspace, 'Bulk ' || n, '[]', '[]', 'ordinary', false, 'lead', 0, 'bulk ' || n, now(), now()"
                " FROM generate_series(1, :rows) AS n"
            ),
            {"workspace": ws.id, "rows": int(counted) + 1001},
        )
        db.session.commit()
        # A backend sends its counts to the statistics at most once a second unless asked.
        db.session.execute(sa.text("SELECT pg_stat_force_next_flush()"))
        db.session.commit()


def _last_analyze(app):
    with app.app_context():
        return db.session.scalar(LAST_ANALYZE)


@pytest.mark.postgres
def test_an_import_analyzes_contacts_whose_statistics_are_stale_before_matching(app, client, auth, ws_a):
    _add_contacts_beyond_the_statistics(app, ws_a)
    before = _last_analyze(app)
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, "Name,Email\nAnn Lee,ann@example.com\n"))
    check(client, app, ws_a, import_id)
    assert job_of(app, ws_a, import_id).status == "checked"
    after = _last_analyze(app)
    assert after is not None and (before is None or after > before)
