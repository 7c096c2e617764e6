"""Deal titles and products are searched as contacts are: accents folded and German spellings
beside ä, ö, ü ("cafe" finds "Café au lait supply", "mueller" "Müller GmbH"). Each gets a
``search_text`` (crm.search.searchable of the title; of a product's name and SKU), filled here a
batch at a time with bound values and kept by the models from then on, indexed as the others are:
pg_trgm GIN on PostgreSQL (the deals' replaces 0029's index of the raw title, which nothing reads
any more) and an FTS5 trigram table kept by triggers on SQLite (made after the fill, which its
'rebuild' reads).

Revision ID: 0047
Revises: 0046
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

from crm.pg import row_security_relaxed
from crm.search import searchable, sqlite_fts_ddl

revision = "0047"
down_revision = "0046"
branch_labels = None
depends_on = None

BATCH = 5000
# Each table and the columns its search text is made of.
SOURCES = {"deals": ("title",), "products": ("name", "sku")}


def upgrade():
    dialect = op.get_bind().dialect.name
    for table in SOURCES:
        op.add_column(table, sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    with row_security_relaxed(*SOURCES):
        for table, columns in SOURCES.items():
            _fill(table, columns)
    if dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_deals_trigram")
    for table in SOURCES:
        for statement in _index_ddl(table, dialect):
            op.execute(statement)


def _fill(table: str, columns: tuple[str, ...]) -> None:
    # crm.search itself, not a copy: this is what the app writes now.
    connection = op.get_bind()
    read = sa.text(f"SELECT id, {', '.join(columns)} FROM {table} WHERE id > :after ORDER BY id LIMIT {BATCH}")
    write = sa.text(f"UPDATE {table} SET search_text = :text WHERE id = :id")
    after = 0
    while rows := connection.execute(read, {"after": after}).all():
        values = [{"id": row.id, "text": searchable(" ".join(part for part in row[1:] if part))} for row in rows]
        if values := [value for value in values if value["text"]]:
            connection.execute(write, values)
        after = rows[-1].id


def _index_ddl(table: str, dialect: str) -> list[str]:
    # Only the trigram part of crm.search's indexes: deals have no name, and a product's first letter
    # is read from the workspace's few products.
    if dialect == "postgresql":
        return [f"CREATE INDEX ix_{table}_trigram ON {table} USING gin (search_text gin_trgm_ops)"]
    return sqlite_fts_ddl(table)


def downgrade():
    dialect = op.get_bind().dialect.name
    for table in SOURCES:
        if dialect == "postgresql":
            op.execute(f"DROP INDEX IF EXISTS ix_{table}_trigram")
        else:
            op.execute(f"DROP TABLE IF EXISTS {table}_fts")
        with op.batch_alter_table(table) as batch:
            batch.drop_column("search_text")
    if dialect == "postgresql":
        op.execute("CREATE INDEX ix_deals_trigram ON deals USING gin (title gin_trgm_ops)")
