"""An import has the tables it writes or matches against analyzed again whenever their statistics are
stale, not only when they never had any: analyze_if_stale() replaces analyze_never_analyzed() (0026).
A table is stale when the rows changed since its last ANALYZE are at least its counted rows plus 1,000
(so its statistics lag the table by less than half), or when it has pages but was never analyzed.

Why: migration 0051 analyzes the searched tables, which on a new database marks an empty contacts
table as analyzed with no rows. analyze_never_analyzed() then never analyzed it again, and with
autovacuum off or late, an update import matched each email against every contact of the workspace
(an index on workspace_id alone): its dry run of 20,000 rows took 30 s of the database's CPU, 0.7 s with
statistics.
Autovacuum's own rule (50 rows plus 10%) is looser than an import needs to be, and may be off. It runs
as the tables' owner (ANALYZE needs it) and takes no argument.

Revision ID: 0054
Revises: 0053
Create Date: 2026-12-07
"""

from alembic import op

from crm.pg import app_role_name

revision = "0054"
down_revision = "0053"
branch_labels = None
depends_on = None

# What an import writes or checks its rows against (as in 0026).
ANALYZED = ("contacts", "companies", "tags", "contact_identities", "contact_tags", "memberships", "imports",
            "import_problems", "import_changes", "purchases")  # fmt: skip
FUNCTION = "analyze_if_stale()"
OLD_FUNCTION = "analyze_never_analyzed()"


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    tables = ", ".join(f"'{table}'" for table in ANALYZED)
    # reltuples is -1 for a table never analyzed or vacuumed. As a SECURITY DEFINER function it names
    # its tables with their schema and searches pg_temp last, so no object the caller creates can stand in.
    op.execute(f"""
        CREATE FUNCTION {FUNCTION} RETURNS integer
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
        DECLARE
            name text;
            rel regclass;
            analyzed integer := 0;
        BEGIN
            FOREACH name IN ARRAY ARRAY[{tables}] LOOP
                rel := format('public.%I', name)::regclass;
                IF pg_stat_get_mod_since_analyze(rel)
                       >= 1000 + greatest((SELECT reltuples FROM pg_class WHERE oid = rel), 0)
                   OR (pg_stat_get_last_analyze_time(rel) IS NULL
                       AND pg_stat_get_last_autoanalyze_time(rel) IS NULL
                       AND pg_relation_size(rel) > 0) THEN
                    EXECUTE format('ANALYZE public.%I', name);
                    analyzed := analyzed + 1;
                END IF;
            END LOOP;
            RETURN analyzed;
        END
        $$
    """)  # fmt: skip
    _grant(FUNCTION)
    op.execute(f"DROP FUNCTION {OLD_FUNCTION}")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION {FUNCTION}")
    tables = ", ".join(f"'{table}'" for table in ANALYZED)
    op.execute(f"""
        CREATE FUNCTION {OLD_FUNCTION} RETURNS integer
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
    _grant(OLD_FUNCTION)


def _grant(function: str) -> None:
    op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
    role = app_role_name()
    if role:
        op.execute(f'GRANT EXECUTE ON FUNCTION {function} TO "{role}"')
