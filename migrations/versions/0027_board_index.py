"""The board's index: a pipeline's open deals in card order, with the currency, value and owner the
column totals and the "own" scope read. The board then reads the first cards of each column from an
index range (a LATERAL query per open stage on PostgreSQL) and sums its columns from the index
alone, instead of reading every open deal of the pipeline twice.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

OPEN_DEALS = "status = 'open' AND deleted_at IS NULL"


def upgrade():
    op.create_index(
        "ix_deals_workspace_id_board",
        "deals",
        ["workspace_id", "pipeline_id", "stage_id", "position", "id"],
        postgresql_include=["currency", "value", "owner_id"],
        postgresql_where=sa.text(OPEN_DEALS),
        sqlite_where=sa.text(OPEN_DEALS),
    )


def downgrade():
    op.drop_index("ix_deals_workspace_id_board", table_name="deals")
