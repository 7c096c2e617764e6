"""A member runs at most one background bulk change of a list at a time: a unique index over the
running jobs, so that two requests that both passed the check cannot both start one. Running jobs
that another running job of the same member and list already shadows are ended first.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from crm.pg import row_security_relaxed

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

RUNNING = "status = 'running'"


def upgrade():
    with row_security_relaxed("bulk_jobs"):
        op.execute(
            "UPDATE bulk_jobs SET status = 'failed', failure = 'error', finished_at = CURRENT_TIMESTAMP"
            f" WHERE {RUNNING} AND id NOT IN (SELECT max(id) FROM bulk_jobs WHERE {RUNNING}"
            " GROUP BY workspace_id, membership_id, list_name)"
        )
    op.create_index(
        "uq_bulk_jobs_running_list",
        "bulk_jobs",
        ["workspace_id", "membership_id", "list_name"],
        unique=True,
        postgresql_where=sa.text(RUNNING),
        sqlite_where=sa.text(RUNNING),
    )


def downgrade():
    op.drop_index("uq_bulk_jobs_running_list", table_name="bulk_jobs")
