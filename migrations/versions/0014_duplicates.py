"""Duplicate contacts: candidate pairs found by a scan (duplicate_pairs) and merges with what their
undo needs (contact_merges).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from crm.pg import disable_tenant_rls, enable_tenant_rls

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)
TABLES = ("duplicate_pairs", "contact_merges")


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


def _reference(table: str, column: str, parent: str, ondelete: str | None = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id", column],
        [f"{parent}.workspace_id", f"{parent}.id"],
        name=op.f(f"fk_{table}_workspace_id_{column}_{parent}"),
        ondelete=ondelete,
    )


def upgrade():
    _scoped(
        "duplicate_pairs",
        sa.Column("contact_id", BigId, nullable=False),
        sa.Column("other_id", BigId, nullable=False),
        sa.Column("group_id", BigId, nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("reason", sa.String(5), nullable=False),
        sa.Column("detail", sa.String(320), nullable=False),
        sa.Column("dismissed_at", Stamp, nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        extra=(
            _reference("duplicate_pairs", "contact_id", "contacts"),
            _reference("duplicate_pairs", "other_id", "contacts"),
            sa.UniqueConstraint(
                "workspace_id",
                "contact_id",
                "other_id",
                name=op.f("uq_duplicate_pairs_workspace_id_contact_id_other_id"),
            ),
        ),
    )
    op.create_index(
        "ix_duplicate_pairs_workspace_id_score", "duplicate_pairs", ["workspace_id", "score", "group_id", "id"]
    )
    op.create_index("ix_duplicate_pairs_workspace_id_other_id", "duplicate_pairs", ["workspace_id", "other_id"])
    _scoped(
        "contact_merges",
        sa.Column("survivor_id", BigId, nullable=False),
        sa.Column("merged_id", BigId, nullable=False),
        sa.Column("merged_by", BigId, nullable=True),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("moved", sa.JSON(), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("undone_at", Stamp, nullable=True),
        extra=(
            _reference("contact_merges", "survivor_id", "contacts"),
            _reference("contact_merges", "merged_id", "contacts"),
            _reference("contact_merges", "merged_by", "memberships", ondelete=None),
        ),
    )
    op.create_index("ix_contact_merges_workspace_id_created_at", "contact_merges", ["workspace_id", "created_at"])
    op.create_index("ix_contact_merges_workspace_id_survivor_id", "contact_merges", ["workspace_id", "survivor_id"])
    for table in TABLES:
        enable_tenant_rls(table)


def downgrade():
    for table in reversed(TABLES):
        disable_tenant_rls(table)
        op.drop_table(table)
