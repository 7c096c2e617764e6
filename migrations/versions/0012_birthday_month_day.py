"""Birthdays found by month and day through an index: ``contacts.birthday_md`` (month x 100 + day,
kept by the model whenever the birthday is set) with an index leading with workspace_id, for the
home page's "birthdays in the next 7 days".

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("contacts", sa.Column("birthday_md", sa.SmallInteger(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        month_day = "EXTRACT(MONTH FROM birthday) * 100 + EXTRACT(DAY FROM birthday)"
    else:
        month_day = "CAST(strftime('%m%d', birthday) AS INTEGER)"
    op.execute(f"UPDATE contacts SET birthday_md = {month_day} WHERE birthday IS NOT NULL")
    op.create_index("ix_contacts_workspace_id_birthday_md", "contacts", ["workspace_id", "birthday_md"])


def downgrade():
    op.drop_index("ix_contacts_workspace_id_birthday_md", table_name="contacts")
    op.drop_column("contacts", "birthday_md")
