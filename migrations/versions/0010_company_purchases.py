"""Purchases made by a company as a whole: a purchase needs a contact or a company, not always a
contact.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

from alembic import op

from crm.db import BigId

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BUYER = "ck_purchases_contact_or_company"  # the name the model's naming convention gives


def upgrade():
    with op.batch_alter_table("purchases") as batch:
        batch.alter_column("contact_id", existing_type=BigId, nullable=True)
        batch.create_check_constraint(op.f(BUYER), "contact_id IS NOT NULL OR company_id IS NOT NULL")


def downgrade():
    op.execute("DELETE FROM purchases WHERE contact_id IS NULL")
    with op.batch_alter_table("purchases") as batch:
        batch.drop_constraint(op.f(BUYER), type_="check")
        batch.alter_column("contact_id", existing_type=BigId, nullable=False)
