"""Tiers and VIP by share of customers: the money cut-offs of the workspace's percentiles, computed
when the rules are saved and every night, kept on the workspace for classifying one customer at a time.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("workspaces", sa.Column("class_cutoffs", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("class_cutoffs")
