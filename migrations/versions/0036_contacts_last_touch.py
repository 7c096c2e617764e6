"""The contacts list sorts by when a contact was last in touch ("In touch most recently", "Longest
out of touch"): an index on (workspace_id, coalesce(last_activity_at, the dawn of time), id), the
expression the list orders by (crm/contacts/queries.py LAST_TOUCH), so keyset pages of a
200,000-contact workspace read 51 index entries. PostgreSQL only: SQLite would not match its bound
parameter to the index's constant, and reads the workspace's rows as it does for the other sorts it
has no index for.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07
"""

from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_contacts_last_touch ON contacts"
            " (workspace_id, coalesce(last_activity_at, '0001-01-01 00:00:00+00'::timestamptz), id)"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_contacts_last_touch")
