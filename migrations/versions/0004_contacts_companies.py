"""Contacts and companies (issue 4, first slice): contacts, companies, tags and contact tags,
keyset and filter indexes leading with workspace_id, trigram search indexes (pg_trgm GIN on
PostgreSQL, FTS5 on SQLite; crm/search.py), RLS.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from crm.pg import disable_tenant_rls, enable_tenant_rls
from crm.search import drop_search_index_ddl, search_index_ddl

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)
TABLES = ("tags", "companies", "contacts", "contact_tags")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # Installed by `flask crm pg-setup` (needs no superuser since PostgreSQL 13; trusted).
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "tags",
        sa.Column("id", BigId, nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_tags_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("workspace_id", "id", name=op.f("uq_tags_workspace_id_id")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_tags_workspace_id_name")),
    )
    op.create_table(
        "companies",
        sa.Column("id", BigId, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("industry", sa.String(length=100), nullable=True),
        sa.Column("size", sa.String(length=20), nullable=True),
        sa.Column("website", sa.String(length=255), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("owner_id", BigId, nullable=True),
        sa.Column("customer_since", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("deleted_at", Stamp, nullable=True),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("street", sa.String(length=200), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("postal_code", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "owner_id"],
            ["memberships.workspace_id", "memberships.id"],
            name=op.f("fk_companies_workspace_id_owner_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_companies_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companies")),
        sa.UniqueConstraint("workspace_id", "id", name=op.f("uq_companies_workspace_id_id")),
    )
    op.create_index("ix_companies_workspace_id_created_at", "companies", ["workspace_id", "created_at", "id"])
    op.create_index("ix_companies_workspace_id_name", "companies", ["workspace_id", "name"])
    op.create_index("ix_companies_workspace_id_owner_id", "companies", ["workspace_id", "owner_id"])

    op.create_table(
        "contacts",
        sa.Column("id", BigId, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("emails", sa.JSON(), nullable=False),
        sa.Column("phones", sa.JSON(), nullable=False),
        sa.Column("company_id", BigId, nullable=True),
        sa.Column("title", sa.String(length=120), nullable=True),
        sa.Column("gender", sa.String(length=10), nullable=True),
        sa.Column("birthday", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=60), nullable=True),
        sa.Column("owner_id", BigId, nullable=True),
        sa.Column("about", sa.Text(), nullable=True),
        sa.Column("tier", sa.String(length=1), nullable=True),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("level_pinned", sa.Boolean(), nullable=False),
        sa.Column("lifecycle", sa.String(length=10), nullable=False),
        sa.Column("last_activity_at", Stamp, nullable=True),
        sa.Column("last_purchase_at", Stamp, nullable=True),
        sa.Column("lifetime_value", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("deleted_at", Stamp, nullable=True),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("street", sa.String(length=200), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("postal_code", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "company_id"],
            ["companies.workspace_id", "companies.id"],
            name=op.f("fk_contacts_workspace_id_company_id_companies"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "owner_id"],
            ["memberships.workspace_id", "memberships.id"],
            name=op.f("fk_contacts_workspace_id_owner_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_contacts_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("workspace_id", "id", name=op.f("uq_contacts_workspace_id_id")),
    )
    op.create_index("ix_contacts_workspace_id_company_id", "contacts", ["workspace_id", "company_id", "created_at"])
    op.create_index("ix_contacts_workspace_id_created_at", "contacts", ["workspace_id", "created_at", "id"])
    op.create_index("ix_contacts_workspace_id_lifecycle", "contacts", ["workspace_id", "lifecycle", "created_at"])
    op.create_index("ix_contacts_workspace_id_name", "contacts", ["workspace_id", "name"])
    op.create_index("ix_contacts_workspace_id_owner_id", "contacts", ["workspace_id", "owner_id", "created_at"])

    op.create_table(
        "contact_tags",
        sa.Column("id", BigId, nullable=False),
        sa.Column("contact_id", BigId, nullable=False),
        sa.Column("tag_id", BigId, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "contact_id"],
            ["contacts.workspace_id", "contacts.id"],
            name=op.f("fk_contact_tags_workspace_id_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "tag_id"],
            ["tags.workspace_id", "tags.id"],
            name=op.f("fk_contact_tags_workspace_id_tag_id_tags"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_contact_tags_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_tags")),
        sa.UniqueConstraint("workspace_id", "id", name=op.f("uq_contact_tags_workspace_id_id")),
        sa.UniqueConstraint(
            "workspace_id", "tag_id", "contact_id", name=op.f("uq_contact_tags_workspace_id_tag_id_contact_id")
        ),
    )

    for table in TABLES:
        enable_tenant_rls(table)
    for table in ("companies", "contacts"):
        for statement in search_index_ddl(table, op.get_bind().dialect.name):
            op.execute(statement)


def downgrade():
    for table in ("companies", "contacts"):
        for statement in drop_search_index_ddl(table, op.get_bind().dialect.name):
            op.execute(statement)
    for table in reversed(TABLES):
        disable_tenant_rls(table)
    op.drop_table("contact_tags")
    op.drop_table("contacts")
    op.drop_table("companies")
    op.drop_table("tags")
