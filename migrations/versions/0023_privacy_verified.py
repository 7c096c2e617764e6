"""Privacy requests are acted on only once the customer proved the address: tickets.privacy_verified_at,
set when the private link emailed to it is first opened.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("tickets", sa.Column("privacy_verified_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column("tickets", "privacy_verified_at")
