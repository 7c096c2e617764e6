"""An import's change of a contact keeps what it set too (import_changes.after), so that undoing the
import puts back only what still holds the import's values: an edit made since stays. Changes made
before this revision have none, and are undone as before.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("import_changes") as batch:
        batch.add_column(sa.Column("after", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("import_changes") as batch:
        batch.drop_column("after")
