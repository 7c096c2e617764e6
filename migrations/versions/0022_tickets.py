"""Tickets: the workspace's complaint categories (the default list for every workspace), the
per-workspace ticket counter, tickets, their messages and attachments, saved replies, round-robin
assignment, the portal's single-use sign-in links (RLS on all eight); the portal's intro text and the
service-level settings on workspaces.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from crm.pg import disable_tenant_rls, enable_tenant_rls, row_security_relaxed

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)
TABLES = (
    "ticket_categories",
    "ticket_counters",
    "tickets",
    "ticket_messages",
    "saved_replies",
    "assignment_rotations",
    "ticket_attachments",
    "portal_sign_ins",
)

# A copy of crm.tickets.models.DEFAULT_CATEGORIES as of this revision (a migration never follows the code).
DEFAULT_CATEGORIES = ("Product quality", "Delivery", "Billing", "Service", "Other")


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
    op.add_column("workspaces", sa.Column("portal_intro", sa.Text(), nullable=True))
    op.add_column("workspaces", sa.Column("sla_settings", sa.JSON(), nullable=True))
    _scoped(
        "ticket_categories",
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_ticket_categories_workspace_id_position", "ticket_categories", ["workspace_id", "position"])
    _scoped(
        "ticket_counters",
        sa.Column("last_number", sa.Integer(), nullable=False),
        extra=(sa.UniqueConstraint("workspace_id", name=op.f("uq_ticket_counters_workspace_id")),),
    )
    _scoped(
        "tickets",
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("contact_id", BigId, nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("category_id", BigId, nullable=True),
        sa.Column("priority", sa.String(6), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("queue", sa.String(10), nullable=False),
        sa.Column("assignee_id", BigId, nullable=True),
        sa.Column("first_response_due_at", Stamp, nullable=True),
        sa.Column("resolution_due_at", Stamp, nullable=True),
        sa.Column("sla_paused_at", Stamp, nullable=True),
        sa.Column("breach_notified_at", Stamp, nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("privacy_done_at", Stamp, nullable=True),
        sa.Column("first_responded_at", Stamp, nullable=True),
        sa.Column("resolved_at", Stamp, nullable=True),
        sa.Column("closed_at", Stamp, nullable=True),
        sa.Column("rating", sa.SmallInteger(), nullable=True),
        sa.Column("rating_comment", sa.Text(), nullable=True),
        sa.Column("rated_at", Stamp, nullable=True),
        sa.Column("tracking_token_hash", sa.String(64), nullable=False),
        sa.Column("tracking_token_sealed", sa.Text(), nullable=False),
        sa.Column("requester_name", sa.String(200), nullable=False),
        sa.Column("requester_email", sa.String(320), nullable=True),
        sa.Column("reference", sa.String(120), nullable=True),
        sa.Column("deleted_at", Stamp, nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        extra=(
            _ref("tickets", "contact_id", "contacts"),
            _ref("tickets", "category_id", "ticket_categories"),
            _ref("tickets", "assignee_id", "memberships"),
            sa.UniqueConstraint("workspace_id", "number", name=op.f("uq_tickets_workspace_id_number")),
            sa.UniqueConstraint(
                "workspace_id", "tracking_token_hash", name=op.f("uq_tickets_workspace_id_tracking_token_hash")
            ),
            sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_tickets_rating_range")),
        ),
    )
    op.create_index("ix_tickets_workspace_id_status", "tickets", ["workspace_id", "status", "created_at", "id"])
    op.create_index("ix_tickets_workspace_id_queue", "tickets", ["workspace_id", "queue", "status", "created_at", "id"])
    op.create_index(
        "ix_tickets_workspace_id_assignee_id", "tickets", ["workspace_id", "assignee_id", "status", "created_at", "id"]
    )
    op.create_index("ix_tickets_workspace_id_contact_id", "tickets", ["workspace_id", "contact_id", "created_at"])
    op.create_index("ix_tickets_workspace_id_category_id", "tickets", ["workspace_id", "category_id"])
    _scoped(
        "ticket_messages",
        sa.Column("ticket_id", BigId, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("author_id", BigId, nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        extra=(
            _ref("ticket_messages", "ticket_id", "tickets", "CASCADE"),
            _ref("ticket_messages", "author_id", "memberships"),
        ),
    )
    op.create_index(
        "ix_ticket_messages_workspace_id_ticket_id",
        "ticket_messages",
        ["workspace_id", "ticket_id", "created_at", "id"],
    )
    _scoped(
        "saved_replies",
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
    )
    op.create_index("ix_saved_replies_workspace_id_title", "saved_replies", ["workspace_id", "title"])
    _scoped(
        "ticket_attachments",
        sa.Column("ticket_id", BigId, nullable=False),
        sa.Column("message_id", BigId, nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(50), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("stored_name", sa.String(80), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        extra=(
            _ref("ticket_attachments", "ticket_id", "tickets", "CASCADE"),
            _ref("ticket_attachments", "message_id", "ticket_messages", "CASCADE"),
        ),
    )
    op.create_index("ix_ticket_attachments_workspace_id_ticket_id", "ticket_attachments", ["workspace_id", "ticket_id"])
    _scoped(
        "portal_sign_ins",
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("expires_at", Stamp, nullable=False),
        sa.Column("used_at", Stamp, nullable=True),
        extra=(
            sa.UniqueConstraint("workspace_id", "token_hash", name=op.f("uq_portal_sign_ins_workspace_id_token_hash")),
        ),
    )
    _scoped(
        "assignment_rotations",
        sa.Column("queue", sa.String(20), nullable=False),
        sa.Column("member_ids", sa.JSON(), nullable=False),
        sa.Column("last_member_id", BigId, nullable=True),
        extra=(sa.UniqueConstraint("workspace_id", "queue", name=op.f("uq_assignment_rotations_workspace_id_queue")),),
    )
    for table in TABLES:
        enable_tenant_rls(table)
    with row_security_relaxed("ticket_categories"):
        _default_categories()


def _default_categories():
    connection = op.get_bind()
    for workspace_id in connection.execute(sa.text("SELECT id FROM workspaces ORDER BY id")).scalars():
        connection.execute(
            sa.text("INSERT INTO ticket_categories (workspace_id, name, position, active) VALUES (:ws, :name, :position, :on)"),
            [{"ws": workspace_id, "name": name, "position": position, "on": True}
             for position, name in enumerate(DEFAULT_CATEGORIES)],
        )  # fmt: skip


def downgrade():
    for table in reversed(TABLES):
        disable_tenant_rls(table)
        op.drop_table(table)
    op.drop_column("workspaces", "sla_settings")
    op.drop_column("workspaces", "portal_intro")
