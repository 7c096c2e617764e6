"""Custom fields: their definitions per workspace, and a ``custom`` JSON column on contacts and
companies (JSONB with a GIN index on PostgreSQL); RLS on the definitions.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from crm.pg import disable_tenant_rls, enable_tenant_rls

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)
CustomValues = sa.JSON().with_variant(JSONB(), "postgresql")
RECORDS = ("contacts", "companies")


def upgrade():
    op.create_table(
        "custom_fields",
        sa.Column("id", BigId, nullable=False),
        sa.Column("entity", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=15), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_custom_fields_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_fields")),
        sa.UniqueConstraint("workspace_id", "id", name=op.f("uq_custom_fields_workspace_id_id")),
        sa.UniqueConstraint("workspace_id", "entity", "key", name=op.f("uq_custom_fields_workspace_id_entity_key")),
    )
    op.create_index(
        "ix_custom_fields_workspace_id_entity_position", "custom_fields", ["workspace_id", "entity", "position"]
    )
    enable_tenant_rls("custom_fields")
    op.add_column("workspaces", sa.Column("custom_fields_version", sa.Integer(), server_default="0", nullable=False))
    # Plain ADD COLUMN (no batch): on SQLite a batch copy would drop the FTS triggers.
    for table in RECORDS:
        op.add_column(table, sa.Column("custom", CustomValues, server_default="{}", nullable=False))
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"CREATE INDEX ix_{table}_custom_gin ON {table} USING gin (custom jsonb_path_ops)")


def downgrade():
    disable_tenant_rls("custom_fields")
    op.drop_table("custom_fields")
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("custom_fields_version")
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in RECORDS:
        if sqlite:
            from crm.search import drop_search_index_ddl, search_index_ddl

            for statement in drop_search_index_ddl(table, "sqlite"):
                op.execute(statement)
        else:
            op.execute(f"DROP INDEX IF EXISTS ix_{table}_custom_gin")
        with op.batch_alter_table(table) as batch:
            batch.drop_column("custom")
        if sqlite:
            for statement in search_index_ddl(table, "sqlite"):
                op.execute(statement)
