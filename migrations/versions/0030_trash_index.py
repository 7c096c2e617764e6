"""Partial indexes for the trash page (crm/contacts/trash.py): deleted contacts and companies by
workspace, latest deleted first, holding only the deleted rows; and merges by the contact merged
away, which the trash leaves out.

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
    op.create_index("ix_contact_merges_workspace_id_merged_id", "contact_merges", ["workspace_id", "merged_id"])


def downgrade():
    op.drop_index("ix_contact_merges_workspace_id_merged_id", table_name="contact_merges")
    for table in ("contacts", "companies"):
        op.drop_index(f"ix_{table}_workspace_id_deleted_at", table_name=table)
