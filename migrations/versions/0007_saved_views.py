"""Saved views ("segments") of the contacts list, private or shared with the team; RLS.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from crm.pg import disable_tenant_rls, enable_tenant_rls

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "saved_views",
        sa.Column("id", BigId, nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("owner_id", BigId, nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "owner_id"],
            ["memberships.workspace_id", "memberships.id"],
            name=op.f("fk_saved_views_workspace_id_owner_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_saved_views_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
        sa.UniqueConstraint("workspace_id", "id", name=op.f("uq_saved_views_workspace_id_id")),
    )
    op.create_index("ix_saved_views_workspace_id_owner_id", "saved_views", ["workspace_id", "owner_id"])
    enable_tenant_rls("saved_views")


def downgrade():
    disable_tenant_rls("saved_views")
    op.drop_table("saved_views")
