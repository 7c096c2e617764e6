"""A ticket keeps the open time it has waited on the customer so far (tickets.sla_paused_seconds):
a new priority sets its due times again from when it was opened, and without it those lost every
wait the ticket had, so a ticket that had waited days on the customer was at once late. Tickets
waiting before start from nothing, as their due times already hold their earlier waits.

Revision ID: 0059
Revises: 0058
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0059"
down_revision = "0058"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("tickets", sa.Column("sla_paused_seconds", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    # Not through a batch on SQLite: copying the table would drop the triggers keeping tickets_fts
    # (the search index) and break its external content. SQLite 3.35+ drops a column in place.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE tickets DROP COLUMN sla_paused_seconds")
    else:
        op.drop_column("tickets", "sla_paused_seconds")
