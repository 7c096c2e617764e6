"""A pg_trgm index on deals.title, for the header's search and the deals list's (a title holding the
words anywhere, ILIKE '%...%'). SQLite has no such index: it reads the workspace's deals, as the
deals list always has there.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06
"""

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_deals_trigram ON deals USING gin (title gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_deals_trigram")
