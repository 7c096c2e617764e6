"""Wall 2, the ORM: with workspace A bound, rows of B are invisible and unwritable; with no
workspace bound, scoped queries fail instead of returning every tenant's rows.

Each test here fails if the listeners in crm/tenancy.py are removed (checked by disabling them)."""

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import g

from crm.auth.models import User
from crm.extensions import db
from crm.notes.models import Note
from crm.notes.queries import notes_page
from crm.tenancy import CrossWorkspaceWrite, NoWorkspace, bind_workspace, workspace_scope
from crm.workspaces.models import Membership, Workspace
from tests.factories import make_note


@pytest.fixture
def two_workspaces(app, ws_a, ws_b):
    a_notes = [make_note(app, ws_a, f"A note {i}") for i in range(3)]
    b_notes = [make_note(app, ws_b, f"B note {i}") for i in range(2)]
    return ws_a, ws_b, a_notes, b_notes


def test_select_returns_only_bound_workspace_rows(app, two_workspaces):
    ws_a, _ws_b, a_notes, _b_notes = two_workspaces
    with app.app_context(), workspace_scope(ws_a.id):
        ids = db.session.scalars(sa.select(Note.id)).all()
        bodies = db.session.scalars(sa.select(Note.body).where(Note.body.like("%note%"))).all()
    assert sorted(ids) == sorted(a_notes)
    assert all(body.startswith("A ") for body in bodies)


def test_one_statement_alternating_between_workspaces_sends_each_its_own_id(app, two_workspaces):
    """The wall's option is kept per workspace and process (crm/tenancy.py): the same statement,
    run for A, B and A again, must carry each time the workspace bound then."""
    ws_a, ws_b, a_notes, b_notes = two_workspaces
    statement, sent = sa.select(Note.id), []

    def record(conn, cursor, sql, parameters, context, executemany):
        if "FROM notes" in sql:
            sent.append(parameters)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            seen = []
            for workspace in (ws_a, ws_b, ws_a):
                with workspace_scope(workspace.id):
                    seen.append(sorted(db.session.scalars(statement)))
                db.session.rollback()
                db.session.expunge_all()
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
    assert seen == [sorted(a_notes), sorted(b_notes), sorted(a_notes)]
    values = [parameters.values() if isinstance(parameters, dict) else parameters for parameters in sent]
    sent_ids = [[value for value in row if value in (ws_a.id, ws_b.id)] for row in values]
    assert sent_ids == [[ws_a.id], [ws_b.id], [ws_a.id]]


def test_count_counts_only_bound_workspace(app, two_workspaces):
    ws_a, ws_b, _a, _b = two_workspaces
    with app.app_context():
        with workspace_scope(ws_a.id):
            count_a = db.session.scalar(sa.select(sa.func.count()).select_from(Note))
        db.session.expunge_all()
        with workspace_scope(ws_b.id):
            count_b = db.session.scalar(sa.select(sa.func.count(Note.id)))
    assert (count_a, count_b) == (3, 2)


def test_get_of_another_workspace_row_is_none(app, two_workspaces):
    ws_a, _ws_b, _a, b_notes = two_workspaces
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Note, b_notes[0]) is None


def test_get_or_404_of_another_workspace_row_is_404(app, two_workspaces):
    from werkzeug.exceptions import NotFound

    ws_a, _ws_b, _a, b_notes = two_workspaces
    with app.test_request_context(), workspace_scope(ws_a.id), pytest.raises(NotFound):
        db.get_or_404(Note, b_notes[0])


def test_pagination_sees_only_bound_workspace(app, two_workspaces):
    ws_a, _ws_b, a_notes, _b = two_workspaces
    with app.test_request_context(), workspace_scope(ws_a.id):
        page = db.paginate(sa.select(Note).order_by(Note.id), page=1, per_page=2)
        assert page.total == 3
        g.membership = db.session.scalar(sa.select(Membership))  # the owner: record scope "all"
        first = notes_page(None, per_page=2)
        second = notes_page(first.next_cursor, per_page=2)
    keyset_ids = [n.id for n in first.items + second.items]
    assert sorted(keyset_ids) == sorted(a_notes)
    assert second.next_cursor is None


def test_relationship_loads_are_scoped(app, two_workspaces):
    ws_a, ws_b, _a, _b = two_workspaces
    with app.app_context(), workspace_scope(ws_a.id):
        workspace_b = db.session.get(Workspace, ws_b.id)  # a global row: visible
        workspace_a = db.session.get(Workspace, ws_a.id)
        assert workspace_b.memberships == []
        assert [m.id for m in workspace_a.memberships] == [ws_a.membership_id]
        eager = db.session.scalars(
            sa.select(Workspace)
            .options(so.selectinload(Workspace.memberships))
            .execution_options(populate_existing=True)
        ).all()
        assert {w.id: len(w.memberships) for w in eager} == {ws_a.id: 1, ws_b.id: 0}


def test_joined_query_cannot_reach_another_workspace(app, two_workspaces):
    ws_a, _ws_b, _a, _b = two_workspaces
    with app.app_context(), workspace_scope(ws_a.id):
        rows = db.session.execute(
            sa.select(Note.workspace_id, Membership.workspace_id).join(Membership, Note.author_id == Membership.id)
        ).all()
        aliased_author = so.aliased(Membership)
        alias_ids = db.session.scalars(sa.select(aliased_author.workspace_id)).all()
    assert {row for row in rows} == {(ws_a.id, ws_a.id)}
    assert set(alias_ids) == {ws_a.id}


def test_bulk_update_touches_only_bound_workspace(app, two_workspaces):
    ws_a, ws_b, _a, _b = two_workspaces
    with app.app_context():
        with workspace_scope(ws_a.id):
            result = db.session.execute(sa.update(Note).values(body="changed"))
            db.session.commit()
            assert result.rowcount == 3
        db.session.expunge_all()
        with workspace_scope(ws_b.id):
            assert set(db.session.scalars(sa.select(Note.body))) == {"B note 0", "B note 1"}


def test_bulk_delete_touches_only_bound_workspace(app, two_workspaces):
    ws_a, ws_b, _a, _b = two_workspaces
    with app.app_context():
        with workspace_scope(ws_a.id):
            db.session.execute(sa.delete(Note))
            db.session.commit()
            assert db.session.scalar(sa.select(sa.func.count(Note.id))) == 0
        db.session.expunge_all()
        with workspace_scope(ws_b.id):
            assert db.session.scalar(sa.select(sa.func.count(Note.id))) == 2


def test_new_row_is_stamped_with_bound_workspace(app, ws_a):
    with app.app_context(), workspace_scope(ws_a.id):
        note = Note(author_id=ws_a.membership_id, body="stamped")
        db.session.add(note)
        db.session.commit()
        assert note.workspace_id == ws_a.id


def test_adding_a_row_of_another_workspace_raises(app, ws_a, ws_b):
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.add(Note(workspace_id=ws_b.id, author_id=ws_b.membership_id, body="sneaky"))
        with pytest.raises(CrossWorkspaceWrite):
            db.session.flush()
        db.session.rollback()


@pytest.mark.parametrize("change", ["update", "delete"])
def test_changing_a_row_of_another_workspace_raises(app, two_workspaces, change):
    ws_a, ws_b, _a, b_notes = two_workspaces
    with app.app_context():
        bind_workspace(ws_b.id)
        note_of_b = db.session.get(Note, b_notes[0])
        # A bug that re-binds without going through bind_workspace() must still not write B's row.
        db.session.info["workspace_id"] = ws_a.id
        if change == "update":
            note_of_b.body = "overwritten from A"
        else:
            db.session.delete(note_of_b)
        with pytest.raises(CrossWorkspaceWrite):
            db.session.flush()
        db.session.rollback()


def test_moving_a_row_to_another_workspace_raises(app, two_workspaces):
    ws_a, ws_b, a_notes, _b = two_workspaces
    with app.app_context(), workspace_scope(ws_a.id):
        note = db.session.get(Note, a_notes[0])
        note.workspace_id = ws_b.id
        with pytest.raises(CrossWorkspaceWrite):
            db.session.flush()
        db.session.rollback()


@pytest.mark.parametrize(
    "statement",
    [
        sa.select(Note),
        sa.select(sa.func.count()).select_from(Note),
        sa.select(Workspace).join(Membership, Membership.workspace_id == Workspace.id),
        sa.update(Note).values(body="x"),
        sa.delete(Note),
    ],
    ids=["select", "count", "join", "update", "delete"],
)
def test_scoped_statement_without_workspace_raises(app, two_workspaces, statement):
    with app.app_context(), pytest.raises(NoWorkspace):
        db.session.execute(statement)


def test_insert_without_workspace_raises(app, ws_a):
    with app.app_context():
        db.session.add(Note(author_id=ws_a.membership_id, body="orphan"))
        with pytest.raises(NoWorkspace):
            db.session.flush()
        db.session.rollback()


def test_global_tables_need_no_workspace(app, ws_a):
    with app.app_context():
        assert db.session.scalar(sa.select(User.email).where(User.id == ws_a.user_id)) == ws_a.email
        assert db.session.get(Workspace, ws_a.id).slug == ws_a.slug


def test_rebinding_empties_the_identity_map(app, two_workspaces):
    ws_a, ws_b, a_notes, _b = two_workspaces
    with app.app_context():
        bind_workspace(ws_a.id)
        note = db.session.get(Note, a_notes[0])
        bind_workspace(ws_b.id)
        assert note not in db.session
        assert db.session.get(Note, a_notes[0]) is None


def test_composite_foreign_key_refuses_cross_workspace_reference(app, ws_a, ws_b):
    """Wall of the schema itself: a note of A cannot point at a membership of B."""
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.add(Note(author_id=ws_b.membership_id, body="author from B"))
        with pytest.raises(sa.exc.IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_every_scoped_table_has_unique_workspace_and_id(app):
    from crm.tenancy import TenantScoped

    with app.app_context():
        mappers = [m for m in db.Model.registry.mappers if issubclass(m.class_, TenantScoped)]
        assert mappers, "no scoped models found"
        for mapper in mappers:
            table = mapper.local_table
            uniques = {
                tuple(c.name for c in con.columns) for con in table.constraints if isinstance(con, sa.UniqueConstraint)
            }
            assert ("workspace_id", "id") in uniques, table.name
            assert not table.c.workspace_id.nullable, table.name


@pytest.mark.parametrize(
    "make_statement",
    [
        lambda: sa.select(Note),
        lambda: sa.select(sa.func.count()).select_from(Note),
        lambda: sa.update(Note).values(body="x"),
        lambda: sa.delete(Note),
    ],
    ids=["select", "count", "update", "delete"],
)
def test_orm_itself_sends_the_workspace_filter(app, ws_a, make_statement):
    """Proves wall 2 on its own, even on PostgreSQL where RLS would hide a missing filter."""
    from tests.query_counter import count_queries

    with count_queries(app) as statements, app.app_context(), workspace_scope(ws_a.id):
        db.session.execute(make_statement())
        db.session.rollback()
    sent = [s for s in statements if "notes" in s]
    assert len(sent) == 1
    assert "workspace_id" in sent[0].partition("WHERE")[2], sent[0]


def test_relationship_load_sends_the_workspace_filter(app, ws_a, ws_b):
    from tests.query_counter import count_queries

    with app.app_context(), workspace_scope(ws_a.id):
        workspace_b = db.session.get(Workspace, ws_b.id)
        with count_queries(app) as statements:
            assert workspace_b.memberships == []
    # The relationship's own join condition names workspace_id once; the wall adds the rest (the
    # criteria propagated from the parent's query and the hook's own, for parents loaded unscoped).
    assert len(statements) == 1
    assert statements[0].partition("WHERE")[2].count("workspace_id") >= 2, statements
