"""Staff: roles with permissions, member status, invitations, the append-only audit log.

Existing memberships move from the old role string to the built-in roles created here for every
workspace: "owner" stays Owner, anything else becomes Sales.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import json

import sqlalchemy as sa
from alembic import op

from crm.pg import app_role_name, disable_tenant_rls, enable_tenant_rls, row_security_relaxed

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)

# Frozen copy of crm.permissions.BUILTIN_ROLES as it was when this revision was written.
_ALL = [
    "contacts.read", "contacts.write", "contacts.delete", "contacts.export", "contacts.import",
    "contacts.sensitive", "deals.read", "deals.write", "deals.delete", "tickets.read", "tickets.write",
    "tickets.delete", "tickets.escalated", "notes.write", "reports.view", "members.manage", "settings.manage",
    "audit.view", "billing.manage",
]  # fmt: skip
BUILTIN_ROLES = {
    "owner": ("Owner", _ALL),
    "admin": ("Admin", [p for p in _ALL if p != "billing.manage"]),
    "manager": (
        "Manager",
        [p for p in _ALL if p.split(".")[0] in {"contacts", "deals", "tickets", "notes", "reports"}],
    ),
    "sales": ("Sales", ["contacts.read", "contacts.write", "deals.read", "deals.write", "notes.write"]),
    "support": ("Support", ["contacts.read", "tickets.read", "tickets.write", "notes.write"]),
    "viewer": ("Viewer", ["contacts.read", "deals.read", "tickets.read", "reports.view"]),
}


def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _scoped_columns():
    return (
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
    )


def upgrade():
    op.add_column("workspaces", sa.Column("seat_limit", sa.Integer(), nullable=True))
    op.create_table(
        "roles",
        sa.Column("id", BigId, nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("builtin", sa.String(length=20), nullable=True),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("record_scope", sa.String(length=10), nullable=False),
        *_scoped_columns(),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_roles_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roles")),
        sa.UniqueConstraint("workspace_id", "id", name=op.f("uq_roles_workspace_id_id")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_roles_workspace_id_name")),
    )
    with op.batch_alter_table("memberships") as batch:
        batch.add_column(sa.Column("role_id", BigId, nullable=True))
        batch.add_column(sa.Column("status", sa.String(length=10), nullable=False, server_default="active"))
    with row_security_relaxed("memberships"):
        _move_memberships_to_roles()
    enable_tenant_rls("roles")
    with op.batch_alter_table("memberships") as batch:
        batch.alter_column("role_id", existing_type=BigId, nullable=False)
        batch.alter_column("status", existing_type=sa.String(length=10), server_default=None)
        batch.drop_column("role")
        batch.create_foreign_key(
            op.f("fk_memberships_workspace_id_role_id_roles"),
            "roles",
            ["workspace_id", "role_id"],
            ["workspace_id", "id"],
        )

    op.create_table(
        "invitations",
        sa.Column("id", BigId, nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role_id", BigId, nullable=False),
        sa.Column("invited_by_id", BigId, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", Stamp, nullable=False),
        sa.Column("accepted_at", Stamp, nullable=True),
        sa.Column("revoked_at", Stamp, nullable=True),
        *_scoped_columns(),
        sa.ForeignKeyConstraint(
            ["workspace_id", "invited_by_id"],
            ["memberships.workspace_id", "memberships.id"],
            name=op.f("fk_invitations_workspace_id_invited_by_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "role_id"],
            ["roles.workspace_id", "roles.id"],
            name=op.f("fk_invitations_workspace_id_role_id_roles"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_invitations_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitations_token_hash")),
        sa.UniqueConstraint("workspace_id", "id", name=op.f("uq_invitations_workspace_id_id")),
    )
    op.create_index("ix_invitations_workspace_id_created_at", "invitations", ["workspace_id", "created_at"])
    enable_tenant_rls("invitations")

    op.create_table(
        "audit_log",
        sa.Column("id", BigId, nullable=False),
        sa.Column("actor_id", BigId, nullable=True),
        sa.Column("actor_label", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=True),
        sa.Column("record_id", BigId, nullable=True),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_audit_log_actor_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_audit_log_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("workspace_id", "id", name=op.f("uq_audit_log_workspace_id_id")),
    )
    op.create_index("ix_audit_log_workspace_id_created_at", "audit_log", ["workspace_id", "created_at", "id"])
    op.create_index("ix_audit_log_workspace_id_actor_id", "audit_log", ["workspace_id", "actor_id", "created_at"])
    op.create_index("ix_audit_log_workspace_id_action", "audit_log", ["workspace_id", "action", "created_at"])
    op.create_index("ix_audit_log_workspace_id_record", "audit_log", ["workspace_id", "record_type", "record_id"])
    enable_tenant_rls("audit_log")
    role = app_role_name()
    if _is_postgresql() and role:
        # Append-only for the app: it may write and read entries, never change or remove them.
        op.execute(f'REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM "{role}"')


def _move_memberships_to_roles():
    """Built-in roles for every existing workspace, then each membership points at one."""
    connection = op.get_bind()
    roles = sa.table(
        "roles",
        sa.column("id", BigId),
        sa.column("workspace_id", BigId),
        sa.column("name", sa.String),
        sa.column("builtin", sa.String),
        sa.column("permissions", sa.JSON),
        sa.column("record_scope", sa.String),
        sa.column("created_at", Stamp),
        sa.column("updated_at", Stamp),
    )
    now = sa.func.current_timestamp()
    for (workspace_id,) in connection.execute(sa.text("SELECT id FROM workspaces")).all():
        for key, (name, permissions) in BUILTIN_ROLES.items():
            connection.execute(
                roles.insert().values(
                    workspace_id=workspace_id,
                    name=name,
                    builtin=key,
                    permissions=json.loads(json.dumps(permissions)),
                    record_scope="all",
                    created_at=now,
                    updated_at=now,
                )
            )
        connection.execute(
            sa.text(
                "UPDATE memberships SET role_id = (SELECT r.id FROM roles r WHERE r.workspace_id = memberships.workspace_id"
                " AND r.builtin = CASE WHEN memberships.role = 'owner' THEN 'owner' ELSE 'sales' END)"
                " WHERE workspace_id = :ws"
            ),
            {"ws": workspace_id},
        )


def downgrade():
    disable_tenant_rls("audit_log")
    op.drop_table("audit_log")
    disable_tenant_rls("invitations")
    op.drop_index("ix_invitations_workspace_id_created_at", table_name="invitations")
    op.drop_table("invitations")
    with op.batch_alter_table("memberships") as batch:
        batch.add_column(sa.Column("role", sa.String(length=20), nullable=False, server_default="member"))
    disable_tenant_rls("roles")
    with row_security_relaxed("memberships"):
        op.execute(
            "UPDATE memberships SET role = 'owner' WHERE role_id IN (SELECT id FROM roles WHERE builtin = 'owner')"
        )
    with op.batch_alter_table("memberships") as batch:
        batch.drop_constraint(op.f("fk_memberships_workspace_id_role_id_roles"), type_="foreignkey")
        batch.drop_column("role_id")
        batch.drop_column("status")
        batch.alter_column("role", existing_type=sa.String(length=20), server_default=None)
    op.drop_table("roles")
    op.drop_column("workspaces", "seat_limit")
