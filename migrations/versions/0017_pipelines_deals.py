"""Sales pipelines: pipelines, their stages, deals and each deal's stage history (RLS on all four).
Every existing workspace gets the default "Sales" pipeline that sign-up now creates.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-24
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from crm.pg import disable_tenant_rls, enable_tenant_rls, row_security_relaxed

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)
TABLES = ("pipelines", "stages", "deals", "deal_stage_changes")
CustomValues = sa.JSON().with_variant(JSONB(), "postgresql")

# A copy of crm.deals.models.DEFAULT_STAGES as of this revision (a migration never follows the code).
DEFAULT_PIPELINE = "Sales"
DEFAULT_STAGES = (
    ("Lead in", 10, "open", 30),
    ("Qualified", 30, "open", 30),
    ("Proposal", 60, "open", 21),
    ("Negotiation", 80, "open", 14),
    ("Won", 100, "won", None),
    ("Lost", 0, "lost", None),
)


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


def upgrade():
    _scoped(
        "pipelines",
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
    )
    op.create_index("ix_pipelines_workspace_id_position", "pipelines", ["workspace_id", "position"])
    _scoped(
        "stages",
        sa.Column("pipeline_id", BigId, nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("probability", sa.SmallInteger(), nullable=False),
        sa.Column("kind", sa.String(4), nullable=False),
        sa.Column("rotting_days", sa.Integer(), nullable=True),
        extra=(
            _ref("stages", "pipeline_id", "pipelines", "CASCADE"),
            sa.UniqueConstraint(
                "workspace_id", "pipeline_id", "id", name=op.f("uq_stages_workspace_id_pipeline_id_id")
            ),
            sa.CheckConstraint("probability BETWEEN 0 AND 100", name=op.f("ck_stages_probability_range")),
        ),
    )
    op.create_index("ix_stages_workspace_id_pipeline_id", "stages", ["workspace_id", "pipeline_id", "position"])
    _scoped(
        "deals",
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("value", sa.Numeric(12, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("contact_id", BigId, nullable=True),
        sa.Column("company_id", BigId, nullable=True),
        sa.Column("owner_id", BigId, nullable=True),
        sa.Column("pipeline_id", BigId, nullable=False),
        sa.Column("stage_id", BigId, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("expected_close_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(4), nullable=False),
        sa.Column("lost_reason", sa.String(300), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("custom", CustomValues, nullable=False, server_default="{}"),
        sa.Column("stage_entered_at", Stamp, nullable=False),
        sa.Column("deleted_at", Stamp, nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        extra=(
            _ref("deals", "pipeline_id", "pipelines"),
            sa.ForeignKeyConstraint(
                ["workspace_id", "pipeline_id", "stage_id"],
                ["stages.workspace_id", "stages.pipeline_id", "stages.id"],
                name=op.f("fk_deals_workspace_id_pipeline_id_stage_id_stages"),
            ),
            _ref("deals", "contact_id", "contacts"),
            _ref("deals", "company_id", "companies"),
            _ref("deals", "owner_id", "memberships"),
            sa.CheckConstraint("value >= 0", name=op.f("ck_deals_value_not_negative")),
        ),
    )
    op.create_index(
        "ix_deals_workspace_id_pipeline_id", "deals", ["workspace_id", "pipeline_id", "stage_id", "position"]
    )
    op.create_index("ix_deals_workspace_id_contact_id", "deals", ["workspace_id", "contact_id"])
    op.create_index("ix_deals_workspace_id_company_id", "deals", ["workspace_id", "company_id"])
    op.create_index("ix_deals_workspace_id_owner_id", "deals", ["workspace_id", "owner_id"])
    _scoped(
        "deal_stage_changes",
        sa.Column("deal_id", BigId, nullable=False),
        sa.Column("from_stage_id", BigId, nullable=True),
        sa.Column("to_stage_id", BigId, nullable=False),
        sa.Column("at", Stamp, nullable=False),
        sa.Column("by_id", BigId, nullable=True),
        extra=(
            _ref("deal_stage_changes", "deal_id", "deals", "CASCADE"),
            _ref("deal_stage_changes", "from_stage_id", "stages"),
            _ref("deal_stage_changes", "to_stage_id", "stages"),
            _ref("deal_stage_changes", "by_id", "memberships"),
        ),
    )
    op.create_index(
        "ix_deal_stage_changes_workspace_id_deal_id", "deal_stage_changes", ["workspace_id", "deal_id", "at"]
    )
    for table in TABLES:
        enable_tenant_rls(table)
    with row_security_relaxed("pipelines", "stages"):
        _default_pipelines()


def _default_pipelines():
    """The "Sales" pipeline for every workspace made before sign-up created one."""
    connection = op.get_bind()
    now = datetime.now(UTC)
    for workspace_id in connection.execute(sa.text("SELECT id FROM workspaces ORDER BY id")).scalars():
        pipeline_id = connection.execute(
            sa.text(
                "INSERT INTO pipelines (workspace_id, name, position, created_at, updated_at)"
                " VALUES (:ws, :name, 0, :now, :now) RETURNING id"
            ),
            {"ws": workspace_id, "name": DEFAULT_PIPELINE, "now": now},
        ).scalar_one()
        connection.execute(
            sa.text(
                "INSERT INTO stages (workspace_id, pipeline_id, name, position, probability, kind, rotting_days)"
                " VALUES (:ws, :pipeline, :name, :position, :probability, :kind, :rotting)"
            ),
            [
                {"ws": workspace_id, "pipeline": pipeline_id, "name": name, "position": position,
                 "probability": probability, "kind": kind, "rotting": rotting}
                for position, (name, probability, kind, rotting) in enumerate(DEFAULT_STAGES)
            ],
        )  # fmt: skip


def downgrade():
    for table in reversed(TABLES):
        disable_tenant_rls(table)
        op.drop_table(table)
