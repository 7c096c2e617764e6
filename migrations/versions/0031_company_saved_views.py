"""Saved views of the companies list: saved_views.list_name says which list a view belongs to
("contacts", the only one until now, or "companies").

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("saved_views") as batch:
        batch.add_column(sa.Column("list_name", sa.String(20), server_default="contacts", nullable=False))


def downgrade():
    with op.batch_alter_table("saved_views") as batch:
        batch.drop_column("list_name")
