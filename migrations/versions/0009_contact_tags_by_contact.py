"""An index of contact_tags by contact, leading with workspace_id: the tag filter's EXISTS probe,
replacing a contact's tags, and the cascade from contacts all look rows up by contact.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_contact_tags_workspace_id_contact_id", "contact_tags", ["workspace_id", "contact_id"])


def downgrade():
    op.drop_index("ix_contact_tags_workspace_id_contact_id", table_name="contact_tags")
