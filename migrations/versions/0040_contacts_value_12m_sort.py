"""The contacts list sorts by the value of the last 12 months ("Highest value in the last 12 months
(tier A first)"): an index on (workspace_id, value_12m, lifetime_value, id), the keyset the list
pages by (crm/contacts/queries.py sort_columns). The lifetime value's index of 0006 becomes, as this
one is, an index of the live contacts only (deleted_at IS NULL): the list, its export and the home
page's "valuable customers going quiet" read live contacts only, so the trash's rows need not be
read past. With NUMERIC's comparisons leakproof (crm/pg.py, `flask crm pg-setup`), a next page of
either sort starts in the index after its cursor: a deep page reads its 51 entries as the first does.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None

LIVE = {"postgresql_where": sa.text("deleted_at IS NULL"), "sqlite_where": sa.text("deleted_at IS NULL")}
LIFETIME = ("ix_contacts_workspace_id_lifetime_value", "contacts", ["workspace_id", "lifetime_value", "id"])


def upgrade():
    op.create_index(
        "ix_contacts_workspace_id_value_12m", "contacts", ["workspace_id", "value_12m", "lifetime_value", "id"], **LIVE
    )
    op.drop_index(LIFETIME[0], table_name="contacts")
    op.create_index(*LIFETIME, **LIVE)


def downgrade():
    op.drop_index(LIFETIME[0], table_name="contacts")
    op.create_index(*LIFETIME)
    op.drop_index("ix_contacts_workspace_id_value_12m", table_name="contacts")
