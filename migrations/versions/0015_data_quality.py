"""Data quality checks: the runs of `flask crm data-quality` and of the page's button
(data_quality_runs) and what the latest one found, per contact and kind (data_quality_findings).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from crm.pg import disable_tenant_rls, enable_tenant_rls

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)
TABLES = ("data_quality_runs", "data_quality_findings")


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


def _reference(table: str, column: str, parent: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id", column],
        [f"{parent}.workspace_id", f"{parent}.id"],
        name=op.f(f"fk_{table}_workspace_id_{column}_{parent}"),
        ondelete="CASCADE",
    )


def upgrade():
    _scoped(
        "data_quality_runs",
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("user_id", BigId, nullable=True),
        sa.Column("contacts_total", sa.Integer(), nullable=False),
        sa.Column("contacts_checked", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("finished_at", Stamp, nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        extra=(
            sa.ForeignKeyConstraint(
                ["user_id"], ["users.id"], name=op.f("fk_data_quality_runs_user_id_users"), ondelete="SET NULL"
            ),
        ),
    )
    _scoped(
        "data_quality_findings",
        sa.Column("run_id", BigId, nullable=False),
        sa.Column("contact_id", BigId, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("detail", sa.String(320), nullable=False),
        extra=(
            _reference("data_quality_findings", "run_id", "data_quality_runs"),
            _reference("data_quality_findings", "contact_id", "contacts"),
        ),
    )
    op.create_index(
        "ix_data_quality_findings_workspace_id_run_id",
        "data_quality_findings",
        ["workspace_id", "run_id", "kind", "id"],
    )
    op.create_index(
        "ix_data_quality_findings_workspace_id_contact_id", "data_quality_findings", ["workspace_id", "contact_id"]
    )
    for table in TABLES:
        enable_tenant_rls(table)


def downgrade():
    for table in reversed(TABLES):
        disable_tenant_rls(table)
        op.drop_table(table)
