"""Which sheet of an XLSX workbook an import reads (imports.sheet, its name): the sheet open when the
file was saved if it has something in it, else the first that has, not always the first (often a
sheet of instructions). Null for a CSV file, a workbook of one sheet, and imports uploaded before,
which read the first sheet as they did.

Revision ID: 0052
Revises: 0051
Create Date: 2026-12-12
"""

import sqlalchemy as sa
from alembic import op

revision = "0052"
down_revision = "0051"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("imports") as batch:
        batch.add_column(sa.Column("sheet", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("imports") as batch:
        batch.drop_column("sheet")
