"""Import changes by contact: a contact's timeline and History panel read what imports changed on it
from import_changes (crm/imports/history.py) through this index; deleting a contact for good finds its
changes (the cascade of their foreign key) through it too.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-08
"""

from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_import_changes_workspace_id_contact_id", "import_changes", ["workspace_id", "contact_id"])


def downgrade():
    op.drop_index("ix_import_changes_workspace_id_contact_id", table_name="import_changes")
