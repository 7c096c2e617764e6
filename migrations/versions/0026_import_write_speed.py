"""Faster contact imports. contact_identities and contact_tags lose their own foreign key to workspaces:
the (workspace_id, contact_id) key to contacts already implies the workspace (and cascades from
it), and the check cost each written row a lookup. On PostgreSQL, analyze_never_analyzed() lets the
app role have the tables an import writes ANALYZEd once, when they have rows and no statistics yet
(a new database, or autovacuum off): without statistics the planner picked, for the foreign-key
checks of each new contact, identity and tag, an index that leads with workspace_id only, and read
every row of the workspace for each check. It runs as the tables' owner (ANALYZE needs it) and
takes no argument.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06
"""

from alembic import op

from crm.pg import app_role_name, row_security_relaxed

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

TABLES = ("contact_identities", "contact_tags")
# What an import writes or checks its rows against.
ANALYZED = ("contacts", "companies", "tags", "contact_identities", "contact_tags", "memberships", "imports",
            "import_problems", "import_changes", "purchases")  # fmt: skip
FUNCTION = "analyze_never_analyzed()"


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"fk_{table}_workspace_id_workspaces"), type_="foreignkey")
    if op.get_bind().dialect.name != "postgresql":
        return
    tables = ", ".join(f"'{table}'" for table in ANALYZED)
    # The pg_stat functions say whether a table was ever analyzed (by hand or by autovacuum); a table
    # without pages has nothing to learn from yet. As a SECURITY DEFINER function it names its tables
    # with their schema and searches pg_temp last, so no object the caller creates can stand in.
    op.execute(f"""
        CREATE FUNCTION {FUNCTION} RETURNS integer
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
        DECLARE
            name text;
            analyzed integer := 0;
        BEGIN
            FOREACH name IN ARRAY ARRAY[{tables}] LOOP
                IF pg_stat_get_last_analyze_time(format('public.%I', name)::regclass) IS NULL
                   AND pg_stat_get_last_autoanalyze_time(format('public.%I', name)::regclass) IS NULL
                   AND pg_relation_size(format('public.%I', name)::regclass) > 0 THEN
                    EXECUTE format('ANALYZE public.%I', name);
                    analyzed := analyzed + 1;
                END IF;
            END LOOP;
            RETURN analyzed;
        END
        $$
    """)  # fmt: skip
    op.execute(f"REVOKE ALL ON FUNCTION {FUNCTION} FROM PUBLIC")
    role = app_role_name()
    if role:
        op.execute(f'GRANT EXECUTE ON FUNCTION {FUNCTION} TO "{role}"')


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {FUNCTION}")
    # Validating the keys again must see every workspace's rows (RLS is forced for the owner too).
    with row_security_relaxed(*TABLES):
        for table in TABLES:
            with op.batch_alter_table(table) as batch:
                batch.create_foreign_key(
                    op.f(f"fk_{table}_workspace_id_workspaces"), "workspaces", ["workspace_id"], ["id"],
                    ondelete="CASCADE",
                )  # fmt: skip
