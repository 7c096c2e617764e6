"""Products catalogue and deal line items (RLS on both).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from crm.pg import disable_tenant_rls, enable_tenant_rls

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)
TABLES = ("products", "deal_items")


def _scoped(table: str, *columns, extra=()):
    op.create_table(
        table,
        sa.Column("id", BigId, nullable=False),
        *columns,
        sa.Column("workspace_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f(f"fk_{table}_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        *extra,
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("workspace_id", "id", name=op.f(f"uq_{table}_workspace_id_id")),
    )


def _ref(table: str, column: str, parent: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id", column],
        [f"{parent}.workspace_id", f"{parent}.id"],
        name=op.f(f"fk_{table}_workspace_id_{column}_{parent}"),
        ondelete=ondelete,
    )


def _check(table: str, name: str, condition: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(condition, name=op.f(f"ck_{table}_{name}"))


def upgrade():
    _scoped(
        "products",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("sku", sa.String(64), nullable=True),
        sa.Column("unit_price", sa.Numeric(12, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("tax_rate", sa.Numeric(5, 2), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        extra=(
            sa.UniqueConstraint("workspace_id", "sku", name=op.f("uq_products_workspace_id_sku")),
            _check("products", "unit_price_not_negative", "unit_price >= 0"),
            _check("products", "tax_rate_range", "tax_rate BETWEEN 0 AND 100"),
        ),
    )
    op.create_index("ix_products_workspace_id_name", "products", ["workspace_id", "name"])
    _scoped(
        "deal_items",
        sa.Column("deal_id", BigId, nullable=False),
        sa.Column("product_id", BigId, nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("quantity", sa.Numeric(12, 3), nullable=False),
        sa.Column("unit_price", sa.Numeric(12, 2), nullable=False),
        sa.Column("discount_percent", sa.Numeric(5, 2), nullable=False),
        sa.Column("tax_rate", sa.Numeric(5, 2), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        extra=(
            _ref("deal_items", "deal_id", "deals", "CASCADE"),
            _ref("deal_items", "product_id", "products"),
            _check("deal_items", "quantity_positive", "quantity > 0"),
            _check("deal_items", "unit_price_not_negative", "unit_price >= 0"),
            _check("deal_items", "discount_range", "discount_percent BETWEEN 0 AND 100"),
            _check("deal_items", "tax_rate_range", "tax_rate BETWEEN 0 AND 100"),
        ),
    )
    op.create_index("ix_deal_items_workspace_id_deal_id", "deal_items", ["workspace_id", "deal_id", "position"])
    op.create_index("ix_deal_items_workspace_id_product_id", "deal_items", ["workspace_id", "product_id"])
    for table in TABLES:
        enable_tenant_rls(table)


def downgrade():
    for table in reversed(TABLES):
        disable_tenant_rls(table)
        op.drop_table(table)
