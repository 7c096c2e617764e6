"""A customer's sums of purchases (contacts.lifetime_value, value_12m, value_prev_12m) widen from
Numeric(14, 2) to Numeric(18, 2): each purchase may be up to 999,999,999,999.99, so two such made a
contact's lifetime value overflow its column, and PostgreSQL refused the purchase ("numeric field
overflow", a 500 with nothing saved). 18 digits hold ten thousand purchases of the largest amount.

Nothing else stores a sum of purchases: a company's totals and the reports are summed when read
(PostgreSQL sums numerics without a limit), and the share cut-offs are kept in JSON.

Revision ID: 0056
Revises: 0055
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0056"
down_revision = "0055"
branch_labels = None
depends_on = None

SUMS = ("lifetime_value", "value_12m", "value_prev_12m")


def upgrade():
    _retype(sa.Numeric(14, 2), sa.Numeric(18, 2))


def downgrade():
    # Sums above 999,999,999,999.99 no longer fit: the downgrade fails on them rather than losing them.
    _retype(sa.Numeric(18, 2), sa.Numeric(14, 2))


def _retype(old: sa.Numeric, new: sa.Numeric) -> None:
    # On SQLite the batch copies the table, which drops its triggers (those keeping contacts_fts, the
    # search index), and makes again the indexes it reflects as it can read them: an index's collation
    # (0055's name order) is lost. Both are made again as they were. PostgreSQL alters the columns in place.
    kept = []
    if op.get_bind().dialect.name == "sqlite":
        kept = _schema_of_contacts()
    with op.batch_alter_table("contacts") as batch:
        for name in SUMS:
            batch.alter_column(name, existing_type=old, type_=new, existing_nullable=False)
    if kept:
        there = dict(_schema_of_contacts())
        for name, sql in kept:
            if there.get(name) != sql:
                if name in there:
                    op.execute(f'DROP INDEX "{name}"')
                op.execute(sql)


def _schema_of_contacts() -> list[tuple[str, str]]:
    """(name, SQL) of the triggers and the indexes made by hand (not a key's own) on contacts."""
    statement = sa.text(
        "SELECT name, sql FROM sqlite_master WHERE type IN ('trigger', 'index') AND tbl_name = 'contacts'"
        " AND sql IS NOT NULL"
    )
    return [(name, sql) for name, sql in op.get_bind().execute(statement)]
