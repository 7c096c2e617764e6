"""Quotes generated from deals: quotes, their lines, the per-workspace numbering counter (RLS on all
three), and the workspace's business details printed on quotes.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from crm.pg import disable_tenant_rls, enable_tenant_rls

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)
TABLES = ("quote_counters", "quotes", "quote_items")


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


def _money(name: str) -> sa.Column:
    return sa.Column(name, sa.Numeric(12, 2), nullable=False)


def upgrade():
    op.add_column("workspaces", sa.Column("business_details", sa.Text(), nullable=True))
    _scoped(
        "quote_counters",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        extra=(sa.UniqueConstraint("workspace_id", "year", name=op.f("uq_quote_counters_workspace_id_year")),),
    )
    _scoped(
        "quotes",
        sa.Column("deal_id", BigId, nullable=False),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("seller_name", sa.String(120), nullable=False),
        sa.Column("seller_details", sa.Text(), nullable=True),
        sa.Column("company_name", sa.String(200), nullable=True),
        sa.Column("contact_name", sa.String(200), nullable=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        _money("subtotal"),
        _money("tax_total"),
        _money("total"),
        sa.Column("created_by_id", BigId, nullable=True),
        sa.Column("status_changed_at", Stamp, nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        extra=(
            _ref("quotes", "deal_id", "deals", "CASCADE"),
            _ref("quotes", "created_by_id", "memberships"),
            sa.UniqueConstraint("workspace_id", "number", name=op.f("uq_quotes_workspace_id_number")),
            sa.CheckConstraint("valid_until >= issued_on", name=op.f("ck_quotes_valid_after_issue")),
        ),
    )
    op.create_index("ix_quotes_workspace_id_deal_id", "quotes", ["workspace_id", "deal_id"])
    _scoped(
        "quote_items",
        sa.Column("quote_id", BigId, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("quantity", sa.Numeric(12, 3), nullable=False),
        _money("unit_price"),
        sa.Column("discount_percent", sa.Numeric(5, 2), nullable=False),
        sa.Column("tax_rate", sa.Numeric(5, 2), nullable=False),
        _money("net_amount"),
        _money("tax_amount"),
        extra=(_ref("quote_items", "quote_id", "quotes", "CASCADE"),),
    )
    op.create_index("ix_quote_items_workspace_id_quote_id", "quote_items", ["workspace_id", "quote_id", "position"])
    for table in TABLES:
        enable_tenant_rls(table)


def downgrade():
    for table in reversed(TABLES):
        disable_tenant_rls(table)
        op.drop_table(table)
    op.drop_column("workspaces", "business_details")
