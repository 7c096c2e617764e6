"""Why an import stopped keeps its message untranslated too (imports.failure_message: the message
id, its values and, for a plan's limit, its plural), so each reader sees it in their own language
(crm/imports/reasons.py). Failures written before have none and show as they were stored
(imports.failure), in the language of whoever ran the import.

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("imports") as batch:
        batch.add_column(sa.Column("failure_message", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("imports") as batch:
        batch.drop_column("failure_message")
