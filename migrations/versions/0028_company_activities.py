"""Activities and tasks on companies: activities.company_id (composite foreign key to companies, with
an index for the company's timeline); an activity belongs to a contact, a deal or a company.

Existing activities get the company of their deal, else of their contact, as a new one does when it
is logged (crm/activities/service.py).

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from crm.pg import row_security_relaxed

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OLD_CHECK, OLD_RULE = "ck_activities_contact_or_deal", "contact_id IS NOT NULL OR deal_id IS NOT NULL"
NEW_CHECK, NEW_RULE = "ck_activities_contact_deal_or_company", f"{OLD_RULE} OR company_id IS NOT NULL"
COMPANY_FK = "fk_activities_workspace_id_company_id_companies"
COMPANY_INDEX = "ix_activities_workspace_id_company_id_occurred_at"

COMPANY_OF = """
UPDATE activities SET company_id = COALESCE(
  (SELECT d.company_id FROM deals d WHERE d.workspace_id = activities.workspace_id AND d.id = activities.deal_id),
  (SELECT c.company_id FROM contacts c WHERE c.workspace_id = activities.workspace_id AND c.id = activities.contact_id)
)
"""


def upgrade():
    with op.batch_alter_table("activities") as batch:
        batch.add_column(sa.Column("company_id", BigId, nullable=True))
        batch.create_foreign_key(op.f(COMPANY_FK), "companies", ["workspace_id", "company_id"], ["workspace_id", "id"])
        batch.drop_constraint(op.f(OLD_CHECK), type_="check")
        batch.create_check_constraint(op.f(NEW_CHECK), NEW_RULE)
        batch.create_index(COMPANY_INDEX, ["workspace_id", "company_id", "occurred_at", "id"])
    # RLS is forced for the owner too: without lifting it, the UPDATE would see no workspace's rows.
    with row_security_relaxed("activities", "deals", "contacts"):
        op.execute(COMPANY_OF)


def downgrade():
    # Activities of a company alone have nowhere to go in the older schema.
    with row_security_relaxed("activities"):
        op.execute("DELETE FROM activities WHERE contact_id IS NULL AND deal_id IS NULL")
    with op.batch_alter_table("activities") as batch:
        batch.drop_index(COMPANY_INDEX)
        batch.drop_constraint(op.f(NEW_CHECK), type_="check")
        batch.create_check_constraint(op.f(OLD_CHECK), OLD_RULE)
        batch.drop_constraint(op.f(COMPANY_FK), type_="foreignkey")
        batch.drop_column("company_id")
