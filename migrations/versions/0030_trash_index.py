"""Partial indexes for the trash page (crm/contacts/trash.py): deleted contacts and companies by
workspace, latest deleted first, holding only the deleted rows.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

IN_TRASH = {"postgresql_where": sa.text("deleted_at IS NOT NULL"), "sqlite_where": sa.text("deleted_at IS NOT NULL")}


def upgrade():
    for table in ("contacts", "companies"):
        op.create_index(f"ix_{table}_workspace_id_deleted_at", table, ["workspace_id", "deleted_at", "id"], **IN_TRASH)


def downgrade():
    for table in ("contacts", "companies"):
        op.drop_index(f"ix_{table}_workspace_id_deleted_at", table_name=table)
