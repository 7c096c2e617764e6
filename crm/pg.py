"""PostgreSQL: one-step role and database set-up, the app role safety check, and the row-level
security DDL that migrations use.

Two roles: the *owner* owns the tables and runs migrations; the *app* role, which the web app
and workers connect as, is neither superuser, BYPASSRLS nor owner, so the RLS policies bind it.
"""

from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op
from flask import current_app
from sqlalchemy.engine import make_url

WORKSPACE_SETTING = "NULLIF(current_setting('app.current_workspace', true), '')::bigint"
USER_SETTING = "NULLIF(current_setting('app.current_user', true), '')::bigint"
TENANT_CHECK = f"workspace_id = {WORKSPACE_SETTING}"


# Under row-level security the planner applies a query's own conditions only after the policy's,
# unless their functions are LEAKPROOF; LIKE, ILIKE and JSONB containment are not marked so, which
# made the trigram (search, deal titles) and GIN (custom field) indexes unusable for the app role: a
# 1 ms search took 200 ms. None of them can reveal a row through an error or side effect (an error
# depends on the pattern, never on the row), so they are declared leakproof. It needs a superuser:
# pg-setup does it (run it again after an upgrade that adds one here; it is idempotent).
# The comparisons of NUMERIC are not marked so either (those of integers, text and times are): a
# keyset page of a list sorted by money (the contacts' 12-month and lifetime values, ROW(value, id) <
# ROW(...)) then walked its index from the first entry, filtering, so page n read 50n entries. They
# compare any two numbers (NaN and the infinities included) without an error or side effect.
# The custom-field filters match in any case through an index of ``lower(custom::text)::jsonb``
# (migration 0044), whose functions must be leakproof for the app role to use it: lower(), and the
# conversions of text and JSONB to and from their text form. Of those only jsonb_in can fail, on text
# that is not JSON, and its error shows that text: the app converts to JSONB nothing but the lowered
# text of a JSONB value (valid JSON, since lower() changes letters only) and its own filter value.
LEAKPROOF = (
    "ALTER FUNCTION pg_catalog.textlike(text, text) LEAKPROOF",
    "ALTER FUNCTION pg_catalog.texticlike(text, text) LEAKPROOF",
    "ALTER FUNCTION pg_catalog.jsonb_contains(jsonb, jsonb) LEAKPROOF",
    "ALTER FUNCTION pg_catalog.lower(text) LEAKPROOF",
    "ALTER FUNCTION pg_catalog.textin(cstring) LEAKPROOF",
    "ALTER FUNCTION pg_catalog.textout(text) LEAKPROOF",
    "ALTER FUNCTION pg_catalog.jsonb_in(cstring) LEAKPROOF",
    "ALTER FUNCTION pg_catalog.jsonb_out(jsonb) LEAKPROOF",
    *(
        f"ALTER FUNCTION pg_catalog.numeric_{op}(numeric, numeric) LEAKPROOF"
        for op in ("eq", "ne", "lt", "le", "gt", "ge")
    ),
)


class UnsafeDatabaseRole(RuntimeError):
    """The app connects as a role that row-level security would not bind."""


def check_app_role(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        superuser, bypass = connection.execute(
            sa.text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        ).one()
        owned = connection.execute(
            sa.text(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
                " AND pg_get_userbyid(c.relowner) = current_user"
            )
        ).scalar_one()
    problems = [
        reason
        for reason, bad in (("is a superuser", superuser), ("has BYPASSRLS", bypass), ("owns tables", owned))
        if bad
    ]
    if problems:
        raise UnsafeDatabaseRole(
            f"the database role of DATABASE_URL {', '.join(problems)}; row-level security would not "
            "apply. Connect as the app role made by `flask crm pg-setup` (see README)."
        )


def setup(superuser_url: str, database: str, owner: str, app_role: str, passwords: dict, drop: bool) -> None:
    """Create the owner and app roles and the database (idempotent; ``drop`` starts afresh)."""
    admin = sa.create_engine(superuser_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for role in (owner, app_role):
            _ensure_role(connection, role, passwords.get(role))
        if drop:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        exists = connection.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": database}
        ).first()
        if not exists:
            connection.execute(sa.text(f'CREATE DATABASE "{database}" OWNER "{owner}"'))
        connection.execute(sa.text(f'REVOKE ALL ON DATABASE "{database}" FROM PUBLIC'))
        connection.execute(sa.text(f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO "{app_role}"'))
    admin.dispose()
    target = sa.create_engine(make_url(superuser_url).set(database=database), isolation_level="AUTOCOMMIT")
    with target.connect() as connection:
        connection.execute(sa.text(f'ALTER SCHEMA public OWNER TO "{owner}"'))
        connection.execute(sa.text("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
        # Trusted since PostgreSQL 13; created here so search indexes of later features need no superuser.
        connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        for statement in LEAKPROOF:
            connection.execute(sa.text(statement))
    target.dispose()


def _ensure_role(connection: sa.Connection, role: str, password: str | None) -> None:
    exists = connection.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    verb = "ALTER" if exists else "CREATE"
    options = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION"
    connection.execute(sa.text(f'{verb} ROLE "{role}" {options}'))
    if password:
        connection.execute(sa.text(f'ALTER ROLE "{role}" PASSWORD :pw'), {"pw": password})


# --- used by Alembic revisions -------------------------------------------------------------


def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def app_role_name() -> str | None:
    """The role the app connects as, when migrations run as a different (owner) role."""
    if not current_app.config.get("MIGRATION_DATABASE_URL"):
        return None
    return make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).username


def grant_app_privileges() -> None:
    """Let the app role read and write every table the owner creates from now on (never TRUNCATE)."""
    role = app_role_name()
    if not _is_postgresql() or not role:
        return
    op.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
    op.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{role}"')
    op.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO "{role}"')


def revoke_app_privileges() -> None:
    role = app_role_name()
    if not _is_postgresql() or not role:
        return
    op.execute(
        f'ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM "{role}"'
    )
    op.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM "{role}"')


def enable_tenant_rls(table: str, readable_also_when: str | None = None) -> None:
    """ENABLE + FORCE row-level security on a scoped table with the workspace policy.

    ``readable_also_when`` adds a SELECT-only policy (e.g. a user's own memberships in other
    workspaces); writes stay confined to the bound workspace.
    """
    if not _is_postgresql():
        return
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({TENANT_CHECK}) WITH CHECK ({TENANT_CHECK})")
    if readable_also_when:
        op.execute(f"CREATE POLICY readable_also ON {table} FOR SELECT USING ({readable_also_when})")


def disable_tenant_rls(table: str) -> None:
    if not _is_postgresql():
        return
    op.execute(f"DROP POLICY IF EXISTS readable_also ON {table}")
    op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")


@contextmanager
def row_security_relaxed(*tables: str):
    """RLS is forced on scoped tables, for their owner too; a data migration across all
    workspaces lifts that for its own statements only (DDL locks the tables meanwhile)."""
    if _is_postgresql():
        for table in tables:
            op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    yield
    if _is_postgresql():
        for table in tables:
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
