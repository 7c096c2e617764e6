"""Merges by the contact merged away: the trash (crm/contacts/trash.py) leaves out contacts merged
into another, and looks them up by this index.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07
"""

from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade():
    # if_not_exists: a database that ran an early draft of 0030, which made it, upgrades too
    op.create_index(
        "ix_contact_merges_workspace_id_merged_id", "contact_merges", ["workspace_id", "merged_id"], if_not_exists=True
    )


def downgrade():
    op.drop_index("ix_contact_merges_workspace_id_merged_id", table_name="contact_merges")
