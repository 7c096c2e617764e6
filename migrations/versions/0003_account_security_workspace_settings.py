"""Account security (two-factor, recovery codes, lock-out, sign-in history) and workspace
settings (currency, phone region, required 2FA, logo, old slugs, the deleted-workspaces log).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from crm.pg import disable_tenant_rls, enable_tenant_rls

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("totp_enabled_at", Stamp, nullable=True))
        batch.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("locked_until", Stamp, nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.alter_column("failed_logins", existing_type=sa.Integer(), server_default=None)

    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(sa.Column("currency", sa.String(length=3), nullable=False, server_default="USD"))
        batch.add_column(sa.Column("phone_region", sa.String(length=2), nullable=False, server_default="US"))
        batch.add_column(sa.Column("require_two_factor", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("logo", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("logo_type", sa.String(length=20), nullable=True))
    with op.batch_alter_table("workspaces") as batch:
        batch.alter_column("currency", existing_type=sa.String(length=3), server_default=None)
        batch.alter_column("phone_region", existing_type=sa.String(length=2), server_default=None)
        batch.alter_column("require_two_factor", existing_type=sa.Boolean(), server_default=None)

    op.create_table(
        "recovery_codes",
        sa.Column("id", BigId, nullable=False),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", Stamp, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_recovery_codes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
    )
    op.create_index(op.f("ix_recovery_codes_user_id"), "recovery_codes", ["user_id"])
    op.create_table(
        "sign_ins",
        sa.Column("id", BigId, nullable=False),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sign_ins_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_ins")),
    )
    op.create_index("ix_sign_ins_user_id_created_at", "sign_ins", ["user_id", "created_at"])

    op.create_table(
        "workspace_slugs",
        sa.Column("id", BigId, nullable=False),
        sa.Column("slug", sa.String(length=50), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_workspace_slugs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspace_slugs")),
        sa.UniqueConstraint("slug", name=op.f("uq_workspace_slugs_slug")),
        sa.UniqueConstraint("workspace_id", "id", name=op.f("uq_workspace_slugs_workspace_id_id")),
    )
    # An old link is resolved before any workspace is bound, as the workspaces table is.
    enable_tenant_rls("workspace_slugs", readable_also_when="true")

    op.create_table(
        "deleted_workspaces",
        sa.Column("id", BigId, nullable=False),
        sa.Column("former_workspace_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("slug", sa.String(length=50), nullable=False),
        sa.Column("deleted_by_id", BigId, nullable=True),
        sa.Column("deleted_by_label", sa.String(length=254), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["deleted_by_id"], ["users.id"], name=op.f("fk_deleted_workspaces_deleted_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deleted_workspaces")),
    )


def downgrade():
    op.drop_table("deleted_workspaces")
    disable_tenant_rls("workspace_slugs")
    op.drop_table("workspace_slugs")
    op.drop_index("ix_sign_ins_user_id_created_at", table_name="sign_ins")
    op.drop_table("sign_ins")
    op.drop_index(op.f("ix_recovery_codes_user_id"), table_name="recovery_codes")
    op.drop_table("recovery_codes")
    with op.batch_alter_table("workspaces") as batch:
        for column in ("logo_type", "logo", "require_two_factor", "phone_region", "currency"):
            batch.drop_column(column)
    with op.batch_alter_table("users") as batch:
        for column in ("locked_until", "failed_logins", "totp_enabled_at", "totp_secret"):
            batch.drop_column(column)
