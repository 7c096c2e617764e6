"""Tenancy: the ORM wall, and the session settings the database wall (PostgreSQL RLS) reads.

Every business model inherits ``TenantScoped``. A session is bound to one workspace with
``bind_workspace`` (the ``/w/<slug>`` blueprint does it per request; CLI commands, jobs and tests
use ``workspace_scope``). Then:

* every ORM SELECT, UPDATE and DELETE touching a scoped table gets ``workspace_id = <bound>``;
  with no workspace bound it raises ``NoWorkspace`` instead of returning every tenant's rows;
* every flush stamps new scoped rows with the bound workspace and refuses rows of another one;
* on PostgreSQL ``app.current_workspace`` and ``app.current_user`` are set locally in each
  transaction, which the row-level security policies of the migrations compare against. They are
  sent just before the first statement or flush that runs with them unsent, so a request that
  binds its user and then its workspace sends one ``set_config``, not one per bind.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy import event
from sqlalchemy.sql.util import find_tables

from crm.db import BigId

WORKSPACE_KEY = "workspace_id"
USER_KEY = "user_id"
SENT_KEY = "rls_settings_sent"  # what the open transaction has been told
UNKNOWN = object()
# Escape hatch for the few queries that must read across workspaces on purpose (the workspace
# switcher lists the signed-in user's own memberships). The RLS policy of that table allows it.
ALL_WORKSPACES = {"skip_tenant_scope": True}


class NoWorkspace(RuntimeError):
    """A scoped table was queried or written with no workspace bound to the session."""


class CrossWorkspaceWrite(RuntimeError):
    """A flush tried to write a row of another workspace than the bound one."""


class TenantScoped:
    """Mixin for business tables: ``workspace_id NOT NULL`` and ``UNIQUE (workspace_id, id)``.

    The composite unique key is what child tables' composite foreign keys point at. A model adds
    its own constraints and indexes with ``__scoped_table_args__``.
    """

    __scoped_table_args__: tuple = ()

    @so.declared_attr
    def workspace_id(cls) -> so.Mapped[int]:
        return so.mapped_column(BigId, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False)

    @so.declared_attr.directive
    def __table_args__(cls) -> tuple:
        return (sa.UniqueConstraint("workspace_id", "id"), *cls.__scoped_table_args__)


def scoped_tables() -> frozenset[str]:
    from crm.extensions import db

    mappers = db.Model.registry.mappers
    if _scoped_names.get("mappers") != len(mappers):  # models are all imported once the app is made
        names = frozenset(mapper.local_table.name for mapper in mappers if issubclass(mapper.class_, TenantScoped))
        _scoped_names.update(mappers=len(mappers), names=names)
    return _scoped_names["names"]


_scoped_names: dict = {}


def bind_workspace(workspace_id: int | None, session: so.Session | None = None) -> None:
    """Bind ``session`` (default: the request's) to one workspace, or to none.

    Switching a session from one workspace to another empties its identity map first, so an
    object loaded for the previous workspace can never be handed back for the new one.
    """
    session = session or _default_session()
    current = session.info.get(WORKSPACE_KEY)
    if current is not None and workspace_id is not None and current != workspace_id:
        if session.new or session.dirty or session.deleted:
            raise CrossWorkspaceWrite("commit or roll back before switching workspace")
        session.expunge_all()
    session.info[WORKSPACE_KEY] = workspace_id


def bind_user(user_id: int | None, session: so.Session | None = None) -> None:
    session = session or _default_session()
    session.info[USER_KEY] = user_id


def bound_workspace_id(session: so.Session | None = None) -> int | None:
    return (session or _default_session()).info.get(WORKSPACE_KEY)


@contextmanager
def workspace_scope(workspace_id: int, session: so.Session | None = None) -> Iterator[None]:
    """Enter a workspace explicitly, outside a request (CLI commands, jobs, tests)."""
    session = session or _default_session()
    previous = session.info.get(WORKSPACE_KEY)
    bind_workspace(workspace_id, session)
    try:
        yield
    finally:
        session.info[WORKSPACE_KEY] = previous


@contextmanager
def user_scope(user_id: int, session: so.Session | None = None) -> Iterator[None]:
    """Act for a user explicitly (e.g. read their memberships before they are signed in)."""
    session = session or _default_session()
    previous = session.info.get(USER_KEY)
    bind_user(user_id, session)
    try:
        yield
    finally:
        session.info[USER_KEY] = previous


def _default_session() -> so.Session:
    from crm.extensions import db

    return db.session()


def _touches_scoped_table(statement) -> bool:
    names = scoped_tables()
    return any(getattr(table, "name", None) in names for table in find_tables(statement, include_crud=True))


@event.listens_for(so.Session, "do_orm_execute")
def _scope_orm_statement(state: so.ORMExecuteState) -> None:
    _send_settings(state.session)
    if state.is_column_load or not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get("skip_tenant_scope"):
        return
    workspace_id = state.session.info.get(WORKSPACE_KEY)
    if workspace_id is None:
        if _touches_scoped_table(state.statement):
            raise NoWorkspace("query on a workspace table with no workspace bound")
        return
    state.statement = state.statement.options(_workspace_criteria(workspace_id))


@lru_cache(maxsize=10_000)
def _workspace_criteria(workspace_id: int) -> so.LoaderCriteriaOption:
    """The wall's option for one workspace, made once per workspace and process: building it anew
    (its lambda analysed again) cost about half of the wall's time on every ORM statement."""
    return so.with_loader_criteria(TenantScoped, lambda cls: cls.workspace_id == workspace_id, include_aliases=True)


@event.listens_for(so.Session, "before_flush")
def _guard_flush(session: so.Session, flush_context, instances) -> None:
    _send_settings(session)
    workspace_id = session.info.get(WORKSPACE_KEY)
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        if workspace_id is None:
            raise NoWorkspace(f"new {type(obj).__name__} with no workspace bound")
        if obj.workspace_id is None:
            obj.workspace_id = workspace_id
        elif obj.workspace_id != workspace_id:
            raise CrossWorkspaceWrite(f"new {type(obj).__name__} belongs to another workspace")
    for obj in session.dirty | session.deleted:
        if not isinstance(obj, TenantScoped):
            continue
        if workspace_id is None:
            raise NoWorkspace(f"{type(obj).__name__} changed with no workspace bound")
        history = sa.inspect(obj).attrs.workspace_id.history
        if history.deleted and history.added:
            raise CrossWorkspaceWrite(f"workspace_id of a {type(obj).__name__} cannot change")
        if obj.workspace_id != workspace_id:
            raise CrossWorkspaceWrite(f"{type(obj).__name__} belongs to another workspace")


@event.listens_for(so.Session, "after_begin")
def _forget_sent_settings(session: so.Session, transaction, connection) -> None:
    """A new transaction starts with both settings empty (they were set locally); a savepoint
    inherits its transaction's."""
    if not transaction.nested:
        session.info[SENT_KEY] = (None, None)


@event.listens_for(so.Session, "after_transaction_end")
def _forget_after_savepoint(session: so.Session, transaction: so.SessionTransaction) -> None:
    """A savepoint rolled back takes back the settings sent inside it: send them again."""
    if transaction.nested:
        session.info[SENT_KEY] = UNKNOWN


def _send_settings(session: so.Session) -> None:
    """Set the RLS settings in the open transaction (opening it) if they differ from what it has."""
    if session.get_bind().dialect.name != "postgresql":
        return
    wanted = (session.info.get(WORKSPACE_KEY), session.info.get(USER_KEY))
    connection = session.connection()  # begins the transaction if needed, which resets SENT_KEY
    if session.info.get(SENT_KEY) == wanted:
        return
    workspace_id, user_id = wanted
    connection.execute(
        sa.text("SELECT set_config('app.current_workspace', :ws, true), set_config('app.current_user', :user, true)"),
        {"ws": "" if workspace_id is None else str(workspace_id), "user": "" if user_id is None else str(user_id)},
    )
    session.info[SENT_KEY] = wanted
