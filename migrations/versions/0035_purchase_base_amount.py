"""A purchase may be in another currency than the workspace's: purchases.base_amount is what it is
worth in the workspace's currency (entered with it), what tiers, levels and totals add up. Every
purchase so far is in the workspace's currency, so it is worth its amount.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from crm.pg import row_security_relaxed

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("purchases") as batch:
        batch.add_column(sa.Column("base_amount", sa.Numeric(14, 2), nullable=True))
    with row_security_relaxed("purchases"):
        op.execute("UPDATE purchases SET base_amount = amount")
    with op.batch_alter_table("purchases") as batch:
        batch.alter_column("base_amount", existing_type=sa.Numeric(14, 2), nullable=False)


def downgrade():
    with op.batch_alter_table("purchases") as batch:
        batch.drop_column("base_amount")
