"""Search ignores accents of Latin letters ("muller" finds Müller, "sao paulo" São Paulo): the
stored search texts of contacts, companies and tickets are folded again (crm.search.fold). A
search text was already lower case with single spaces, so folding it as it stands gives what the
app now writes for the record. Only rows that change are written, a batch at a time; on SQLite the
FTS5 triggers (UPDATE OF search_text) keep the trigram tables in step.

Downgrading leaves the folded texts: the older code still finds them by words typed without
accents, not by accented ones.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from crm.pg import row_security_relaxed
from crm.search import fold

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None

TABLES = ("contacts", "companies", "tickets")
BATCH = 5000


def upgrade():
    with row_security_relaxed(*TABLES):
        for table in TABLES:
            _fold_search_text(table)


def _fold_search_text(table: str) -> None:
    # crm.search.fold itself, not a copy: this recomputes what the app writes now. A later change to
    # the folding brings its own recompute.
    connection = op.get_bind()
    read = sa.text(f"SELECT id, search_text FROM {table} WHERE id > :after ORDER BY id LIMIT {BATCH}")
    write = sa.text(f"UPDATE {table} SET search_text = :text WHERE id = :id")
    after = 0
    while rows := connection.execute(read, {"after": after}).all():
        changed = [
            {"id": row.id, "text": fold(row.search_text)} for row in rows if fold(row.search_text) != row.search_text
        ]
        if changed:
            connection.execute(write, changed)
        after = rows[-1].id


def downgrade():
    pass
