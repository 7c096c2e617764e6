"""Spreadsheet imports (imports, import_problems, import_changes); contact identities (each email
address and phone number as an indexed row, filled from the stored contacts); contacts.external_id;
contacts.import_id and companies.import_id (undo). Also repairs 0012 on PostgreSQL, whose
birthday_md backfill ran under forced row-level security and so changed no row.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from crm.pg import disable_tenant_rls, enable_tenant_rls, row_security_relaxed

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)
TABLES = ("imports", "import_problems", "import_changes", "contact_identities")


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


def _child_of(table: str, parent: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id", column],
        [f"{parent}.workspace_id", f"{parent}.id"],
        name=op.f(f"fk_{table}_workspace_id_{column}_{parent}"),
        ondelete="CASCADE",
    )


def upgrade():
    counts = [sa.Column(name, sa.Integer(), nullable=False) for name in (
        "rows_total", "rows_done", "created_count", "updated_count", "skipped_count", "invalid_count",
        "companies_created")]  # fmt: skip
    _scoped(
        "imports",
        sa.Column("user_id", BigId, nullable=True),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("stored_name", sa.String(64), nullable=False),
        sa.Column("file_format", sa.String(4), nullable=False),
        sa.Column("encoding", sa.String(20), nullable=True),
        sa.Column("delimiter", sa.String(1), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("match_by", sa.String(12), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        *counts,
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("finished_at", Stamp, nullable=True),
        sa.Column("undone_at", Stamp, nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        extra=(
            sa.ForeignKeyConstraint(
                ["user_id"], ["users.id"], name=op.f("fk_imports_user_id_users"), ondelete="SET NULL"
            ),
        ),
    )
    op.create_index("ix_imports_workspace_id_created_at", "imports", ["workspace_id", "created_at"])
    _scoped(
        "import_problems",
        sa.Column("import_id", BigId, nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("column", sa.String(200), nullable=True),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=False),
        extra=(_child_of("import_problems", "imports", "import_id"),),
    )
    op.create_index(
        "ix_import_problems_workspace_id_import_id", "import_problems", ["workspace_id", "import_id", "line"]
    )
    _scoped(
        "import_changes",
        sa.Column("import_id", BigId, nullable=False),
        sa.Column("contact_id", BigId, nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        extra=(
            _child_of("import_changes", "imports", "import_id"),
            _child_of("import_changes", "contacts", "contact_id"),
        ),
    )
    op.create_index("ix_import_changes_workspace_id_import_id", "import_changes", ["workspace_id", "import_id"])
    _scoped(
        "contact_identities",
        sa.Column("contact_id", BigId, nullable=False),
        sa.Column("kind", sa.String(5), nullable=False),
        sa.Column("value", sa.String(320), nullable=False),
        extra=(_child_of("contact_identities", "contacts", "contact_id"),),
    )
    op.create_index("ix_contact_identities_workspace_id_kind", "contact_identities", ["workspace_id", "kind", "value"])
    op.create_index(
        "ix_contact_identities_workspace_id_contact_id", "contact_identities", ["workspace_id", "contact_id"]
    )
    for table in TABLES:
        enable_tenant_rls(table)

    op.add_column("contacts", sa.Column("external_id", sa.String(100), nullable=True))
    op.add_column("contacts", sa.Column("import_id", BigId, nullable=True))
    op.add_column("companies", sa.Column("import_id", BigId, nullable=True))
    op.create_index("ix_contacts_workspace_id_external_id", "contacts", ["workspace_id", "external_id"])
    op.create_index("ix_contacts_workspace_id_import_id", "contacts", ["workspace_id", "import_id"])
    op.create_index("ix_companies_workspace_id_import_id", "companies", ["workspace_id", "import_id"])
    with row_security_relaxed("contacts", "contact_identities"):
        _fill_identities()
        _repair_birthday_month_day()


def _fill_identities():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for kind, column in (("email", "emails"), ("phone", "phones")):
        if postgresql:
            source = f"contacts CROSS JOIN LATERAL json_array_elements_text(contacts.{column}) AS item(value)"
            value = "item.value"
        else:
            source = f"contacts, json_each(contacts.{column}) AS item"
            value = "item.value"
        op.execute(
            f"INSERT INTO contact_identities (workspace_id, contact_id, kind, value) "
            f"SELECT contacts.workspace_id, contacts.id, '{kind}', {value} FROM {source}"
        )


def _repair_birthday_month_day():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE contacts SET birthday_md = EXTRACT(MONTH FROM birthday) * 100 + EXTRACT(DAY FROM birthday) "
            "WHERE birthday IS NOT NULL AND birthday_md IS NULL"
        )


def downgrade():
    op.drop_index("ix_companies_workspace_id_import_id", table_name="companies")
    op.drop_index("ix_contacts_workspace_id_import_id", table_name="contacts")
    op.drop_index("ix_contacts_workspace_id_external_id", table_name="contacts")
    op.drop_column("companies", "import_id")
    op.drop_column("contacts", "import_id")
    op.drop_column("contacts", "external_id")
    for table in reversed(TABLES):
        disable_tenant_rls(table)
        op.drop_table(table)
