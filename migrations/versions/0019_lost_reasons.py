"""A workspace list of reasons deals are lost: lost_reasons (RLS), deals.lost_reason_id. Every
workspace gets the default list; deals lost before this revision point at "Other" and keep their
words in lost_reason, which is now the optional details.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from crm.pg import disable_tenant_rls, enable_tenant_rls, row_security_relaxed

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# A copy of crm.deals.models.DEFAULT_LOST_REASONS as of this revision (a migration never follows the code).
DEFAULT_LOST_REASONS = ("Too expensive", "Went with a competitor", "No budget", "No response", "Bad timing", "Other")
OTHER = "Other"


def upgrade():
    op.create_table(
        "lost_reasons",
        sa.Column("id", BigId, nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_lost_reasons_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lost_reasons")),
        sa.UniqueConstraint("workspace_id", "id", name=op.f("uq_lost_reasons_workspace_id_id")),
    )  # fmt: skip
    op.create_index("ix_lost_reasons_workspace_id_position", "lost_reasons", ["workspace_id", "position"])
    enable_tenant_rls("lost_reasons")
    with op.batch_alter_table("deals") as batch:
        batch.add_column(sa.Column("lost_reason_id", BigId, nullable=True))
        batch.create_foreign_key(
            op.f("fk_deals_workspace_id_lost_reason_id_lost_reasons"), "lost_reasons",
            ["workspace_id", "lost_reason_id"], ["workspace_id", "id"],
        )  # fmt: skip
        batch.create_index("ix_deals_workspace_id_lost_reason_id", ["workspace_id", "lost_reason_id"])
    with row_security_relaxed("lost_reasons", "deals"):
        _default_reasons()


def _default_reasons():
    connection = op.get_bind()
    for workspace_id in connection.execute(sa.text("SELECT id FROM workspaces ORDER BY id")).scalars():
        connection.execute(
            sa.text("INSERT INTO lost_reasons (workspace_id, name, position, active) VALUES (:ws, :name, :position, :on)"),
            [{"ws": workspace_id, "name": name, "position": position, "on": True}
             for position, name in enumerate(DEFAULT_LOST_REASONS)],
        )  # fmt: skip
    connection.execute(
        sa.text(
            "UPDATE deals SET lost_reason_id = (SELECT r.id FROM lost_reasons r"
            " WHERE r.workspace_id = deals.workspace_id AND r.name = :other)"
            " WHERE status = 'lost'"
        ),
        {"other": OTHER},
    )


def downgrade():
    with op.batch_alter_table("deals") as batch:
        batch.drop_index("ix_deals_workspace_id_lost_reason_id")
        batch.drop_constraint(op.f("fk_deals_workspace_id_lost_reason_id_lost_reasons"), type_="foreignkey")
        batch.drop_column("lost_reason_id")
    disable_tenant_rls("lost_reasons")
    op.drop_table("lost_reasons")
