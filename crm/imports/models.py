"""Spreadsheet imports: the uploaded file's description and chosen mapping, its progress and
counts, the rows it could not take, and what it changed (for undo)."""

from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.db import BigId, Timestamps, UTCDateTime
from crm.extensions import db
from crm.imports.reasons import shown, stored
from crm.tenancy import TenantScoped

ENTITIES = ("contacts", "companies", "purchases")  # what an imported file holds
# uploaded -> checking -> checked -> importing -> done -> undone; checking or importing -> failed
RUNNING = ("checking", "importing")
IMPORTING = "status = 'importing'"


class Import(TenantScoped, Timestamps, db.Model):
    __tablename__ = "imports"
    __scoped_table_args__ = (
        sa.Index("ix_imports_workspace_id_created_at", "workspace_id", "created_at"),
        # One import writing at a time in a workspace: two would each match the file against the
        # same contacts before either wrote, and both create them (migration 0053).
        sa.Index(
            "uq_imports_importing",
            "workspace_id",
            unique=True,
            postgresql_where=sa.text(IMPORTING),
            sqlite_where=sa.text(IMPORTING),
        ),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    user_id: so.Mapped[int | None] = so.mapped_column(BigId, sa.ForeignKey("users.id", ondelete="SET NULL"))
    entity: so.Mapped[str] = so.mapped_column(sa.String(10), default="contacts", server_default="contacts")
    filename: so.Mapped[str] = so.mapped_column(sa.String(255))
    stored_name: so.Mapped[str] = so.mapped_column(sa.String(64))  # under UPLOAD_DIR; removed when done
    file_format: so.Mapped[str] = so.mapped_column(sa.String(4))  # "csv" or "xlsx"
    encoding: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    delimiter: so.Mapped[str | None] = so.mapped_column(sa.String(1))
    sheet: so.Mapped[str | None] = so.mapped_column(sa.Text)  # of a workbook of several sheets
    headers: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    mapping: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)  # a field key (or "") per column
    mode: so.Mapped[str] = so.mapped_column(sa.String(10), default="create")
    match_by: so.Mapped[str] = so.mapped_column(sa.String(12), default="email")
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default="uploaded")
    rows_total: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    rows_done: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    created_count: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    updated_count: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    skipped_count: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    invalid_count: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    companies_created: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    # Why the check or the import stopped (or was refused), in the language of whoever ran it;
    # ``failure_message`` keeps it untranslated for each reader's own language (crm/imports/reasons.py).
    # Failures written before migration 0045 have no message and show as stored.
    failure: so.Mapped[str | None] = so.mapped_column(sa.Text)
    failure_message: so.Mapped[dict | None] = so.mapped_column(sa.JSON)
    finished_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    undone_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    @property
    def running(self) -> bool:
        return self.status in RUNNING

    @property
    def percent(self) -> int:
        return min(100, self.rows_done * 100 // self.rows_total) if self.rows_total else 0

    def set_failure(self, text) -> None:
        """Keeps why the job stopped (a lazy text of ours, or None to clear it), as text in the
        language of this moment and as its message for each reader's."""
        self.failure = str(text) if text is not None else None
        self.failure_message = stored(text)

    @property
    def shown_failure(self) -> str | None:
        return shown(self.failure_message, self.failure)


class ImportProblem(TenantScoped, db.Model):
    """A row the import did not take: invalid (with the column and reason) or skipped (a duplicate)."""

    __tablename__ = "import_problems"
    __scoped_table_args__ = (
        sa.ForeignKeyConstraint(
            ["workspace_id", "import_id"], ["imports.workspace_id", "imports.id"], ondelete="CASCADE"
        ),
        sa.Index("ix_import_problems_workspace_id_import_id", "workspace_id", "import_id", "line"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    import_id: so.Mapped[int] = so.mapped_column(BigId)
    line: so.Mapped[int] = so.mapped_column(sa.Integer)  # the spreadsheet's row number; 1 is the header
    kind: so.Mapped[str] = so.mapped_column(sa.String(8))  # "invalid" or "skipped"
    column: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    # In the language of whoever ran the check; ``message`` keeps it untranslated (and the column's
    # name when it is one of ours, not the file's), for each reader's own language (crm/imports/reasons.py).
    # Problems written before migration 0043 have no message and show as stored.
    reason: so.Mapped[str] = so.mapped_column(sa.String(500))
    message: so.Mapped[dict | None] = so.mapped_column(sa.JSON)  # {"reason": ..., "column": ...}
    cells: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)  # the row as read, for the error file

    @property
    def shown_reason(self) -> str:
        return shown((self.message or {}).get("reason"), self.reason)

    @property
    def shown_column(self) -> str | None:
        return shown((self.message or {}).get("column"), self.column)


class ImportChange(TenantScoped, db.Model):
    """A contact an import updated, with the values it had before (undo puts them back)."""

    __tablename__ = "import_changes"
    __scoped_table_args__ = (
        sa.ForeignKeyConstraint(
            ["workspace_id", "import_id"], ["imports.workspace_id", "imports.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "contact_id"], ["contacts.workspace_id", "contacts.id"], ondelete="CASCADE"
        ),
        sa.Index("ix_import_changes_workspace_id_import_id", "workspace_id", "import_id"),
        # a contact's timeline and history (crm/imports/history.py), and its purge's cascade
        sa.Index("ix_import_changes_workspace_id_contact_id", "workspace_id", "contact_id"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    import_id: so.Mapped[int] = so.mapped_column(BigId)
    contact_id: so.Mapped[int] = so.mapped_column(BigId)
    before: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    # What the import set (tags: the ones it added); None for changes made before it was kept.
    after: so.Mapped[dict | None] = so.mapped_column(sa.JSON)


class SavedMapping(TenantScoped, Timestamps, db.Model):
    """A named mapping kept for the next file of the same kind: each column's target, by the
    column's name (so a file with its columns in another order still matches)."""

    __tablename__ = "import_mappings"
    __scoped_table_args__ = (sa.UniqueConstraint("workspace_id", "entity", "name"),)

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    entity: so.Mapped[str] = so.mapped_column(sa.String(10))  # what the files hold: one of ENTITIES
    name: so.Mapped[str] = so.mapped_column(sa.String(80))
    columns: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)  # plain header -> target key


def change_value(value):
    """A value as an ImportChange keeps it (``before`` and ``after``): a day as ISO text, lists and
    dicts copied."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value
