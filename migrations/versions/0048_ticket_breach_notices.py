"""The late-ticket mails of `flask crm check-tickets` are handed to the mail server by the command and
kept per manager in ticket_breach_notices (RLS): a mail the server refused is sent by the next run,
and the managers who had theirs are not mailed again. Nothing to fill: tickets already marked
(``breach_notified_at``) stay done.

Revision ID: 0048
Revises: 0047
Create Date: 2026-12-11
"""

import sqlalchemy as sa
from alembic import op

from crm.pg import disable_tenant_rls, enable_tenant_rls

revision = "0048"
down_revision = "0047"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)
TABLE = "ticket_breach_notices"


def upgrade():
    op.create_table(
        TABLE,
        sa.Column("id", BigId, nullable=False),
        sa.Column("ticket_id", BigId, nullable=False),
        sa.Column("member_id", BigId, nullable=False),
        sa.Column("sent_at", Stamp, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f(f"fk_{TABLE}_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "ticket_id"],
            ["tickets.workspace_id", "tickets.id"],
            name=op.f(f"fk_{TABLE}_workspace_id_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "member_id"],
            ["memberships.workspace_id", "memberships.id"],
            name=op.f(f"fk_{TABLE}_workspace_id_member_id_memberships"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
        sa.UniqueConstraint("workspace_id", "id", name=op.f(f"uq_{TABLE}_workspace_id_id")),
        sa.UniqueConstraint(
            "workspace_id", "ticket_id", "member_id", name=op.f(f"uq_{TABLE}_workspace_id_ticket_id_member_id")
        ),
    )
    enable_tenant_rls(TABLE)


def downgrade():
    disable_tenant_rls(TABLE)
    op.drop_table(TABLE)
