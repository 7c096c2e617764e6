"""Bulk changes run in the background keep their progress in bulk_jobs (RLS), for the list's panel.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from crm.pg import disable_tenant_rls, enable_tenant_rls

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "bulk_jobs",
        sa.Column("id", BigId, nullable=False),
        sa.Column("membership_id", BigId, nullable=False),
        sa.Column("user_id", BigId, nullable=True),
        sa.Column("list_name", sa.String(20), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("state_args", sa.JSON(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=True),
        sa.Column("failure", sa.String(10), nullable=True),
        sa.Column("finished_at", Stamp, nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_bulk_jobs_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "membership_id"],
            ["memberships.workspace_id", "memberships.id"],
            name=op.f("fk_bulk_jobs_workspace_id_membership_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_bulk_jobs_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_jobs")),
        sa.UniqueConstraint("workspace_id", "id", name=op.f("uq_bulk_jobs_workspace_id_id")),
    )
    enable_tenant_rls("bulk_jobs")


def downgrade():
    disable_tenant_rls("bulk_jobs")
    op.drop_table("bulk_jobs")
