"""Foundation: users, workspaces, memberships, notes; row-level security on scoped tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from crm.pg import (
    USER_SETTING,
    disable_tenant_rls,
    enable_tenant_rls,
    grant_app_privileges,
    revoke_app_privileges,
)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def upgrade():
    grant_app_privileges()
    op.create_table(
        "workspaces",
        sa.Column("id", BigId, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("slug", sa.String(length=50), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
        sa.UniqueConstraint("slug", name=op.f("uq_workspaces_slug")),
    )
    op.create_table(
        "users",
        sa.Column("id", BigId, nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=True),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("last_login_at", Stamp, nullable=True),
        sa.Column("last_workspace_id", BigId, nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["last_workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_users_last_workspace_id_workspaces"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "memberships",
        sa.Column("id", BigId, nullable=False),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("joined_at", Stamp, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_memberships_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_memberships_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
        sa.UniqueConstraint("workspace_id", "id", name=op.f("uq_memberships_workspace_id_id")),
        sa.UniqueConstraint("workspace_id", "user_id", name=op.f("uq_memberships_workspace_id_user_id")),
    )
    op.create_index("ix_memberships_user_id", "memberships", ["user_id"])
    op.create_table(
        "notes",
        sa.Column("id", BigId, nullable=False),
        sa.Column("author_id", BigId, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "author_id"],
            ["memberships.workspace_id", "memberships.id"],
            name=op.f("fk_notes_workspace_id_author_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_notes_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notes")),
        sa.UniqueConstraint("workspace_id", "id", name=op.f("uq_notes_workspace_id_id")),
    )
    op.create_index("ix_notes_workspace_id_created_at", "notes", ["workspace_id", "created_at", "id"])

    # A user also reads their own memberships of other workspaces (the workspace switcher).
    enable_tenant_rls("memberships", readable_also_when=f"user_id = {USER_SETTING}")
    enable_tenant_rls("notes")


def downgrade():
    disable_tenant_rls("notes")
    disable_tenant_rls("memberships")
    op.drop_index("ix_notes_workspace_id_created_at", table_name="notes")
    op.drop_table("notes")
    op.drop_index("ix_memberships_user_id", table_name="memberships")
    op.drop_table("memberships")
    op.drop_table("users")
    op.drop_table("workspaces")
    revoke_app_privileges()
