"""Saved import mappings (import_mappings): a named column-name -> field mapping per workspace and
kind of file, applied to the next file whose columns it knows. Imports of companies and purchases:
imports.entity, and purchases.import_id (undo deletes what an import added).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from crm.pg import disable_tenant_rls, enable_tenant_rls

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "import_mappings",
        sa.Column("id", BigId, nullable=False),
        sa.Column("entity", sa.String(10), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_import_mappings_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_mappings")),
        sa.UniqueConstraint("workspace_id", "id", name=op.f("uq_import_mappings_workspace_id_id")),
        sa.UniqueConstraint("workspace_id", "entity", "name", name=op.f("uq_import_mappings_workspace_id_entity_name")),
    )  # fmt: skip
    enable_tenant_rls("import_mappings")
    op.add_column("imports", sa.Column("entity", sa.String(10), nullable=False, server_default="contacts"))
    op.add_column("purchases", sa.Column("import_id", BigId, nullable=True))
    op.create_index("ix_purchases_workspace_id_import_id", "purchases", ["workspace_id", "import_id"])


def downgrade():
    op.drop_index("ix_purchases_workspace_id_import_id", table_name="purchases")
    op.drop_column("purchases", "import_id")
    op.drop_column("imports", "entity")
    disable_tenant_rls("import_mappings")
    op.drop_table("import_mappings")
