"""A purchase recorded by winning a deal names the deal (``purchases.deal_id``), so that a deal won
again with its purchase (reopened, its lines corrected, won again) replaces the purchases of its
earlier win instead of counting the sale twice. A soft reference (no foreign key): a purchase stays
when its deal is deleted for good with its pipeline; a backup restore remaps it (crm/backup/schema.py).

Revision ID: 0058
Revises: 0057
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0058"
down_revision = "0057"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.add_column("purchases", sa.Column("deal_id", BigId, nullable=True))
    op.create_index("ix_purchases_workspace_id_deal_id", "purchases", ["workspace_id", "deal_id"])


def downgrade():
    op.drop_index("ix_purchases_workspace_id_deal_id", table_name="purchases")
    with op.batch_alter_table("purchases") as batch:
        batch.drop_column("deal_id")
