"""Ticket search through an index (tickets.search_text with pg_trgm GIN or an FTS5 trigram table),
merging a duplicate ticket into another (tickets.merged_into_id), the customer's language for the
emails a ticket sends (tickets.locale) and the portal's brand colour (workspaces.brand_color).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from crm.pg import row_security_relaxed
from crm.search import sqlite_fts_ddl

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BATCH = 1000


def upgrade():
    op.add_column("workspaces", sa.Column("brand_color", sa.String(7), nullable=True))
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("locale", sa.String(10), nullable=True))
        batch.add_column(sa.Column("merged_into_id", BigId, nullable=True))
        batch.create_foreign_key(
            op.f("fk_tickets_workspace_id_merged_into_id_tickets"), "tickets",
            ["workspace_id", "merged_into_id"], ["workspace_id", "id"],
        )  # fmt: skip
    with row_security_relaxed("tickets"):
        _fill_search_text()
    for statement in _search_index_ddl(op.get_bind().dialect.name):
        op.execute(statement)


def _search_text(*parts: str | None) -> str:
    # A copy of crm.tickets.service.ticket_search_text as of this revision.
    return " ".join(" ".join(part for part in parts if part).lower().split())


def _fill_search_text():
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, subject, requester_name, requester_email FROM tickets")).all()
    values = [
        {"id": row.id, "text": _search_text(row.subject, row.requester_name, row.requester_email)} for row in rows
    ]
    for start in range(0, len(values), BATCH):
        connection.execute(
            sa.text("UPDATE tickets SET search_text = :text WHERE id = :id"), values[start : start + BATCH]
        )


def _search_index_ddl(dialect: str) -> list[str]:
    # Tickets have no name column, so only the trigram part of crm.search's indexes.
    if dialect == "postgresql":
        return ["CREATE INDEX ix_tickets_trigram ON tickets USING gin (search_text gin_trgm_ops)"]
    return sqlite_fts_ddl("tickets")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_tickets_trigram")
    else:
        op.execute("DROP TABLE IF EXISTS tickets_fts")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_constraint(op.f("fk_tickets_workspace_id_merged_into_id_tickets"), type_="foreignkey")
        batch.drop_column("merged_into_id")
        batch.drop_column("locale")
        batch.drop_column("search_text")
    op.drop_column("workspaces", "brand_color")
