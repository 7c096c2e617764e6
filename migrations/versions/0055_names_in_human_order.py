"""The contacts and companies lists sort "Name, A to Z" as people read names (crm/sorting.py), not in
byte order, which put "acme tea" and "Ärzte Verlag" after "Zen Tea": the ``human`` collation (an ICU
collation made here on PostgreSQL; a Python one registered on each SQLite connection) and an index
on the expression the lists order and page by, (workspace_id, name COLLATE human, id), of the live
rows (the lists and the company select read those only). It replaces the byte-order name index of
0004, which only those sorts used. A deep keyset page starts in the index after its cursor, as the
first page does.

Models do not declare these indexes (Alembic cannot compare an index column's collation; they are
``is_search_index`` names). On SQLite a migration that recreates contacts or companies in batch mode
must create them again.

Revision ID: 0055
Revises: 0054
Create Date: 2026-12-07
"""

from alembic import op

revision = "0055"
down_revision = "0054"
branch_labels = None
depends_on = None

TABLES = ("contacts", "companies")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # Chinese order (Han characters by pinyin) with Latin letters before Han characters.
        op.execute("CREATE COLLATION human (provider = icu, locale = 'zh-u-kr-latn-hani')")
    for table in TABLES:
        op.execute(
            f"CREATE INDEX ix_{table}_name_order ON {table} (workspace_id, name COLLATE human, id)"
            " WHERE deleted_at IS NULL"
        )
        op.drop_index(f"ix_{table}_workspace_id_name", table_name=table)


def downgrade():
    for table in TABLES:
        op.create_index(f"ix_{table}_workspace_id_name", table, ["workspace_id", "name"])
        op.drop_index(f"ix_{table}_name_order", table_name=table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP COLLATION human")
