"""Activities (notes, calls, emails, meetings, tasks) and purchases on contacts; stored 12-month
figures on contacts; per-workspace customer classification rules. RLS on the new tables.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from crm.pg import disable_tenant_rls, enable_tenant_rls

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)
TABLES = ("activities", "purchases")


def _scoped(table: str) -> list:
    return [
        sa.Column("id", BigId, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f(f"fk_{table}_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("workspace_id", "id", name=op.f(f"uq_{table}_workspace_id_id")),
    ]


def _to_contacts(table: str):
    return sa.ForeignKeyConstraint(
        ["workspace_id", "contact_id"],
        ["contacts.workspace_id", "contacts.id"],
        name=op.f(f"fk_{table}_workspace_id_contact_id_contacts"),
        ondelete="CASCADE",
    )


def _to_members(table: str, column: str):
    return sa.ForeignKeyConstraint(
        ["workspace_id", column],
        ["memberships.workspace_id", "memberships.id"],
        name=op.f(f"fk_{table}_workspace_id_{column}_memberships"),
    )


def upgrade():
    op.create_table(
        "activities",
        *_scoped("activities"),
        sa.Column("contact_id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("occurred_at", Stamp, nullable=False),
        sa.Column("author_id", BigId, nullable=False),
        sa.Column("assignee_id", BigId, nullable=True),
        sa.Column("due_at", Stamp, nullable=True),
        sa.Column("remind_at", Stamp, nullable=True),
        sa.Column("reminded_at", Stamp, nullable=True),
        sa.Column("done_at", Stamp, nullable=True),
        _to_contacts("activities"),
        _to_members("activities", "author_id"),
        _to_members("activities", "assignee_id"),
    )
    op.create_index(
        "ix_activities_workspace_id_contact_id_occurred_at",
        "activities",
        ["workspace_id", "contact_id", "occurred_at", "id"],
    )
    op.create_index(
        "ix_activities_workspace_id_assignee_id_due_at",
        "activities",
        ["workspace_id", "assignee_id", "done_at", "due_at"],
    )
    op.create_table(
        "purchases",
        *_scoped("purchases"),
        sa.Column("contact_id", BigId, nullable=False),
        sa.Column("company_id", BigId, nullable=True),
        sa.Column("purchased_on", sa.Date(), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        _to_contacts("purchases"),
        sa.ForeignKeyConstraint(
            ["workspace_id", "company_id"],
            ["companies.workspace_id", "companies.id"],
            name=op.f("fk_purchases_workspace_id_company_id_companies"),
        ),
    )
    op.create_index(
        "ix_purchases_workspace_id_contact_id_purchased_on", "purchases", ["workspace_id", "contact_id", "purchased_on"]
    )
    op.create_index(
        "ix_purchases_workspace_id_company_id_purchased_on", "purchases", ["workspace_id", "company_id", "purchased_on"]
    )
    # Plain ADD COLUMN (no batch): on SQLite a batch copy of contacts would drop its search triggers.
    op.add_column("contacts", sa.Column("value_12m", sa.Numeric(14, 2), server_default="0", nullable=False))
    op.add_column("contacts", sa.Column("value_prev_12m", sa.Numeric(14, 2), server_default="0", nullable=False))
    op.add_column("workspaces", sa.Column("customer_rules", sa.JSON(), nullable=True))
    for table in TABLES:
        enable_tenant_rls(table)


def downgrade():
    for table in reversed(TABLES):
        disable_tenant_rls(table)
    op.drop_table("purchases")
    op.drop_table("activities")
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("customer_rules")
    if op.get_bind().dialect.name == "sqlite":
        # A batch copy of contacts drops its FTS triggers; they are made again after it.
        from crm.search import drop_search_index_ddl, search_index_ddl

        for statement in drop_search_index_ddl("contacts", "sqlite"):
            op.execute(statement)
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("value_prev_12m")
        batch.drop_column("value_12m")
    if op.get_bind().dialect.name == "sqlite":
        for statement in search_index_ddl("contacts", "sqlite"):
            op.execute(statement)
