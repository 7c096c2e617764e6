"""A workspace runs at most one import at a time: a unique index over the imports that are writing,
so that two requests that both passed the check cannot both start one (two imports of the same file
each matched its rows against the contacts before either wrote, and both created them). Of the
imports already writing together in a workspace, all but the latest are ended as failed first.

Revision ID: 0053
Revises: 0052
Create Date: 2026-12-07
"""

import json

import sqlalchemy as sa
from alembic import op

from crm.pg import row_security_relaxed

revision = "0053"
down_revision = "0052"
branch_labels = None
depends_on = None

IMPORTING = "status = 'importing'"
# As crm.imports.runner.give_up says it (its message kept too, for each reader's language).
STOPPED = "The import stopped before the end; the rows before it were kept (undo removes them)."


def upgrade():
    with row_security_relaxed("imports"):
        op.execute(
            f"UPDATE imports SET status = 'failed', finished_at = CURRENT_TIMESTAMP, failure = '{STOPPED}',"
            f" failure_message = '{json.dumps({'msgid': STOPPED, 'values': {}})}'"
            f" WHERE {IMPORTING} AND id NOT IN (SELECT max(id) FROM imports WHERE {IMPORTING} GROUP BY workspace_id)"
        )
    op.create_index(
        "uq_imports_importing",
        "imports",
        ["workspace_id"],
        unique=True,
        postgresql_where=sa.text(IMPORTING),
        sqlite_where=sa.text(IMPORTING),
    )


def downgrade():
    op.drop_index("uq_imports_importing", table_name="imports")
