"""Wall 3, PostgreSQL row-level security: raw SQL as the app role sees and writes only the
workspace set in ``app.current_workspace``, whatever the ORM does. Runs in the PostgreSQL pass."""

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from crm import create_app
from crm.extensions import db
from crm.pg import UnsafeDatabaseRole
from crm.tenancy import bind_user, workspace_scope
from tests.conftest import owner_engine
from tests.factories import make_note, make_workspace, role_id

pytestmark = pytest.mark.postgres


def raw(sql: str, **params):
    return db.session.execute(sa.text(sql), params)


def test_app_connects_as_role_without_rls_bypass(app):
    with app.app_context():
        superuser, bypass = raw("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user").one()
        owned = raw(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user"
        ).scalar_one()
    assert (superuser, bypass, owned) == (False, False, 0)


def test_raw_select_in_a_returns_no_row_of_b(app, ws_a, ws_b):
    make_note(app, ws_a, "of A")
    make_note(app, ws_b, "of B")
    with app.app_context(), workspace_scope(ws_a.id):
        rows = raw("SELECT workspace_id, body FROM notes").all()
        members = raw("SELECT workspace_id FROM memberships").scalars().all()
    assert rows == [(ws_a.id, "of A")]
    assert members == [ws_a.id]


def test_raw_select_with_no_workspace_returns_nothing(app, ws_a):
    make_note(app, ws_a)
    with app.app_context():
        assert raw("SELECT count(*) FROM notes").scalar_one() == 0
        assert raw("SELECT count(*) FROM memberships").scalar_one() == 0


def test_raw_insert_with_other_workspace_id_is_refused(app, ws_a, ws_b):
    with app.app_context(), workspace_scope(ws_a.id):
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
            raw(
                "INSERT INTO notes (workspace_id, author_id, body, created_at, updated_at)"
                " VALUES (:ws, :author, 'planted', now(), now())",
                ws=ws_b.id,
                author=ws_b.membership_id,
            )
        db.session.rollback()


def test_raw_update_and_delete_cannot_reach_other_workspace(app, ws_a, ws_b):
    make_note(app, ws_b, "of B")
    with app.app_context():
        with workspace_scope(ws_a.id):
            assert raw("UPDATE notes SET body = 'hijacked'").rowcount == 0
            assert raw("DELETE FROM notes").rowcount == 0
            db.session.commit()
        with workspace_scope(ws_b.id):
            assert raw("SELECT body FROM notes").scalars().all() == ["of B"]


def test_moving_a_row_to_another_workspace_is_refused(app, ws_a, ws_b):
    note_id = make_note(app, ws_a)
    with app.app_context(), workspace_scope(ws_a.id):
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
            raw("UPDATE notes SET workspace_id = :b WHERE id = :id", b=ws_b.id, id=note_id)
        db.session.rollback()


def test_composite_fk_refuses_cross_workspace_reference_even_as_owner(app, ws_a, ws_b):
    """PostgreSQL's foreign-key checks ignore RLS; the composite key is what stops this."""
    engine = owner_engine(app)
    with engine.connect() as connection, connection.begin():
        connection.execute(sa.text("SELECT set_config('app.current_workspace', :ws, true)"), {"ws": str(ws_a.id)})
        with pytest.raises(sa.exc.IntegrityError, match="fk_notes_workspace_id_author_id_memberships"):
            connection.execute(
                sa.text(
                    "INSERT INTO notes (workspace_id, author_id, body, created_at, updated_at)"
                    " VALUES (:ws, :author, 'x', now(), now())"
                ),
                {"ws": ws_a.id, "author": ws_b.membership_id},
            )
    engine.dispose()


def test_user_reads_own_memberships_across_workspaces_but_no_others(app, ws_a, ws_b):
    second = make_workspace(app, "Alpha Two", ws_a.email)  # alice owns two workspaces
    with app.app_context():
        bind_user(ws_a.user_id)
        mine = raw("SELECT workspace_id FROM memberships ORDER BY workspace_id").scalars().all()
        assert mine == sorted([ws_a.id, second.id])
        with workspace_scope(ws_a.id):
            # Reading is widened to her own rows; writing is not.
            assert raw("UPDATE memberships SET status = 'disabled' WHERE workspace_id = :b", b=second.id).rowcount == 0
            assert raw("DELETE FROM memberships WHERE workspace_id = :b", b=second.id).rowcount == 0
            db.session.rollback()
        bind_user(ws_b.user_id)
        assert raw("SELECT workspace_id FROM memberships").scalars().all() == [ws_b.id]


def test_every_table_with_workspace_id_has_forced_rls_and_a_policy(app):
    with app.app_context():
        tables = (
            raw(
                "SELECT table_name FROM information_schema.columns"
                " WHERE table_schema = 'public' AND column_name = 'workspace_id'"
            )
            .scalars()
            .all()
        )
        assert tables, "no scoped tables found"
        for table in tables:
            enabled, forced = raw(
                "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = CAST(:t AS regclass)", t=table
            ).one()
            policies = raw("SELECT count(*) FROM pg_policies WHERE tablename = :t", t=table).scalar_one()
            assert (table, enabled, forced) == (table, True, True)
            assert policies >= 1, f"{table} has no policy"


def test_membership_cannot_point_at_a_role_of_another_workspace(app, ws_a, ws_b):
    foreign_role = role_id(app, ws_b, "owner")
    engine = owner_engine(app)
    with engine.connect() as connection, connection.begin():
        connection.execute(sa.text("SELECT set_config('app.current_workspace', :ws, true)"), {"ws": str(ws_a.id)})
        with pytest.raises(sa.exc.IntegrityError, match="fk_memberships_workspace_id_role_id_roles"):
            connection.execute(
                sa.text("UPDATE memberships SET role_id = :role WHERE id = :member"),
                {"role": foreign_role, "member": ws_a.membership_id},
            )
    engine.dispose()


def test_audit_log_is_append_only_for_the_app_role(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)  # writes entries
    with app.app_context(), workspace_scope(ws_a.id):
        assert raw("SELECT count(*) FROM audit_log").scalar_one() > 0
        for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                raw(statement)
            db.session.rollback()


def test_app_role_cannot_truncate(app, ws_a):
    with app.app_context():
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            raw("TRUNCATE notes")
        db.session.rollback()


@pytest.mark.parametrize("role", ["postgres", "owner"])
def test_app_refuses_to_start_as_superuser_or_owner(app, role):
    url = make_url(app.config["MIGRATION_DATABASE_URL"] if role == "owner" else app.config["SQLALCHEMY_DATABASE_URI"])
    if role == "postgres":
        url = url.set(username="postgres")
    config = {**app.config, "SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False)}
    with pytest.raises(UnsafeDatabaseRole):
        create_app({k: config[k] for k in ("KEHU_ENV", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI")})
