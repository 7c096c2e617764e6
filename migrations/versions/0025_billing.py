"""Stripe billing: the workspace's plan and subscription state (on workspaces, which the webhook
reads before any workspace is bound), the Stripe events already handled (stripe_events, global) and
the workspace's invoices (invoices, RLS).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from crm.pg import disable_tenant_rls, enable_tenant_rls

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def _workspace_columns() -> tuple[sa.Column, ...]:
    return (
        sa.Column("plan", sa.String(20), nullable=False, server_default="free"),
        sa.Column("billing_status", sa.String(20), nullable=True),
        sa.Column("trial_ends_at", Stamp, nullable=True),
        sa.Column("stripe_customer_id", sa.String(255), nullable=True),
        sa.Column("stripe_subscription_id", sa.String(255), nullable=True),
        sa.Column("current_period_end", Stamp, nullable=True),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("past_due_since", Stamp, nullable=True),
        sa.Column("billing_synced_at", Stamp, nullable=True),
    )


def upgrade():
    with op.batch_alter_table("workspaces") as batch:
        for column in _workspace_columns():
            batch.add_column(column)
        batch.create_unique_constraint(op.f("uq_workspaces_stripe_customer_id"), ["stripe_customer_id"])
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("created", Stamp, nullable=False),
        sa.Column("received_at", Stamp, nullable=False),
        sa.Column("applied_to_workspace_id", BigId, nullable=True),
        sa.ForeignKeyConstraint(
            ["applied_to_workspace_id"], ["workspaces.id"],
            name=op.f("fk_stripe_events_applied_to_workspace_id_workspaces"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
    )  # fmt: skip
    op.create_table(
        "invoices",
        sa.Column("id", BigId, nullable=False),
        sa.Column("stripe_invoice_id", sa.String(255), nullable=False),
        sa.Column("number", sa.String(64), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("amount_due", sa.Integer(), nullable=False),
        sa.Column("amount_paid", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("issued_at", Stamp, nullable=False),
        sa.Column("hosted_invoice_url", sa.Text(), nullable=True),
        sa.Column("invoice_pdf", sa.Text(), nullable=True),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_invoices_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("workspace_id", "id", name=op.f("uq_invoices_workspace_id_id")),
        sa.UniqueConstraint("workspace_id", "stripe_invoice_id", name=op.f("uq_invoices_workspace_id_stripe_invoice_id")),
    )  # fmt: skip
    op.create_index("ix_invoices_workspace_id_issued_at", "invoices", ["workspace_id", "issued_at"])
    enable_tenant_rls("invoices")


def downgrade():
    disable_tenant_rls("invoices")
    op.drop_table("invoices")
    op.drop_table("stripe_events")
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_constraint(op.f("uq_workspaces_stripe_customer_id"), type_="unique")
        for column in reversed(_workspace_columns()):
            batch.drop_column(column.name)
