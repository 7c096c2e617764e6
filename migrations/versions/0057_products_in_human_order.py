"""The catalogue sorts products by name as people read them, as the contacts and companies lists do
since 0055 (crm/sorting.py): an index on (workspace_id, name COLLATE human, id) replaces the
byte-order (workspace_id, name) one, which only that sort used.

Revision ID: 0057
Revises: 0056
Create Date: 2026-12-07
"""

from alembic import op

revision = "0057"
down_revision = "0056"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE INDEX ix_products_name_order ON products (workspace_id, name COLLATE human, id)")
    op.drop_index("ix_products_workspace_id_name", table_name="products")


def downgrade():
    op.create_index("ix_products_workspace_id_name", "products", ["workspace_id", "name"])
    op.drop_index("ix_products_name_order", table_name="products")
