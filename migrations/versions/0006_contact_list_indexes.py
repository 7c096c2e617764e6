"""Indexes for the contacts list's new filters and sorts: tier, level, lifetime value (sort) and
last activity (range), each leading with workspace_id.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_contacts_workspace_id_tier": ["workspace_id", "tier", "created_at"],
    "ix_contacts_workspace_id_level": ["workspace_id", "level", "created_at"],
    "ix_contacts_workspace_id_lifetime_value": ["workspace_id", "lifetime_value", "id"],
    "ix_contacts_workspace_id_last_activity_at": ["workspace_id", "last_activity_at"],
}


def upgrade():
    for name, columns in INDEXES.items():
        op.create_index(name, "contacts", columns)


def downgrade():
    for name in INDEXES:
        op.drop_index(name, table_name="contacts")
