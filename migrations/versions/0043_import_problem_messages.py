"""An import's problem keeps its reason untranslated too (import_problems.message: the message id
and its values, and the column's when it is a name of ours rather than the file's), so each reader
sees it in their own language, on the page and in the downloaded Error column
(crm/imports/reasons.py). Problems written before have none and show as they were stored, in the
language of whoever ran the check.

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-09
"""

import sqlalchemy as sa
from alembic import op

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("import_problems") as batch:
        batch.add_column(sa.Column("message", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("import_problems") as batch:
        batch.drop_column("message")
