"""Classifying a workspace's customers again (after its rules are saved, and nightly) keeps its
progress and the money cut-offs it worked out in classification_runs (RLS), for Settings ->
Customer tiers; a unique index over the running ones keeps it to one run at a time.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

from crm.pg import disable_tenant_rls, enable_tenant_rls

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)
RUNNING = "status = 'running'"


def upgrade():
    op.create_table(
        "classification_runs",
        sa.Column("id", BigId, nullable=False),
        sa.Column("user_id", BigId, nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("again", sa.Boolean(), nullable=False),
        sa.Column("cutoffs", sa.JSON(), nullable=True),
        sa.Column("finished_at", Stamp, nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_classification_runs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_classification_runs_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classification_runs")),
        sa.UniqueConstraint("workspace_id", "id", name=op.f("uq_classification_runs_workspace_id_id")),
    )
    op.create_index(
        "uq_classification_runs_running",
        "classification_runs",
        ["workspace_id"],
        unique=True,
        postgresql_where=sa.text(RUNNING),
        sqlite_where=sa.text(RUNNING),
    )
    enable_tenant_rls("classification_runs")


def downgrade():
    disable_tenant_rls("classification_runs")
    op.drop_index("uq_classification_runs_running", table_name="classification_runs")
    op.drop_table("classification_runs")
