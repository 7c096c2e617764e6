"""Activities and tasks on deals: activities.deal_id (composite foreign key to deals, with an index
for the deal's timeline); contact_id becomes optional, an activity belongs to a contact or a deal.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from crm.pg import row_security_relaxed

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OWNER = "ck_activities_contact_or_deal"  # the name the model's naming convention gives
DEAL_FK = "fk_activities_workspace_id_deal_id_deals"
DEAL_INDEX = "ix_activities_workspace_id_deal_id_occurred_at"


def upgrade():
    with op.batch_alter_table("activities") as batch:
        batch.add_column(sa.Column("deal_id", BigId, nullable=True))
        batch.alter_column("contact_id", existing_type=BigId, nullable=True)
        batch.create_foreign_key(
            op.f(DEAL_FK), "deals", ["workspace_id", "deal_id"], ["workspace_id", "id"], ondelete="CASCADE"
        )
        batch.create_check_constraint(op.f(OWNER), "contact_id IS NOT NULL OR deal_id IS NOT NULL")
        batch.create_index(DEAL_INDEX, ["workspace_id", "deal_id", "occurred_at", "id"])


def downgrade():
    # Activities of a deal without a contact have nowhere to go in the older schema. RLS is forced
    # for the owner too: without lifting it, this DELETE would see no workspace's rows.
    with row_security_relaxed("activities"):
        op.execute("DELETE FROM activities WHERE contact_id IS NULL")
    with op.batch_alter_table("activities") as batch:
        batch.drop_index(DEAL_INDEX)
        batch.drop_constraint(op.f(OWNER), type_="check")
        batch.drop_constraint(op.f(DEAL_FK), type_="foreignkey")
        batch.drop_column("deal_id")
        batch.alter_column("contact_id", existing_type=BigId, nullable=False)
