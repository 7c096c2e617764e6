"""A yes/no custom field cannot be required: unticked is an answer, so "required" was never
enforced, yet the settings showed the badge. The definitions that have it lose it (the settings
form refuses it from now on); their workspaces' field version moves on, so that a process that
keeps their definitions reads them again.

Revision ID: 0050
Revises: 0049
Create Date: 2026-12-11
"""

from alembic import op

from crm.pg import row_security_relaxed

revision = "0050"
down_revision = "0049"
branch_labels = None
depends_on = None


def upgrade():
    with row_security_relaxed("custom_fields"):
        op.execute(
            "UPDATE workspaces SET custom_fields_version = custom_fields_version + 1 WHERE id IN"
            " (SELECT workspace_id FROM custom_fields WHERE kind = 'checkbox' AND required)"
        )
        op.execute("UPDATE custom_fields SET required = false WHERE kind = 'checkbox' AND required")


def downgrade():
    pass  # which ones had it is not kept; it meant nothing
