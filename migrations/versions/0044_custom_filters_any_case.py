"""Custom-field filters match a value in upper or lower case alike ("retail" finds "Retail"): on
PostgreSQL the GIN index of the records' custom values is made over their lower-case text
(``lower(custom::text)::jsonb``), which the filters compare with the lower-cased wanted value
(crm/contacts/queries.py). The index on the values as they are served nothing else, so it goes:
a record's write keeps one index of its custom values. SQLite has no such index either way.

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-07
"""

from alembic import op

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None

RECORDS = ("contacts", "companies")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in RECORDS:
        op.execute(f"DROP INDEX ix_{table}_custom_gin")
        op.execute(
            f"CREATE INDEX ix_{table}_custom_lower_gin ON {table} USING gin ((lower(custom::text)::jsonb) jsonb_path_ops)"
        )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in RECORDS:
        op.execute(f"DROP INDEX ix_{table}_custom_lower_gin")
        op.execute(f"CREATE INDEX ix_{table}_custom_gin ON {table} USING gin (custom jsonb_path_ops)")
