"""Data quality checks: each run (its progress, counts and when it ran) and what it found, one row
per contact and kind of problem. A workspace keeps its latest finished run and at most one newer
run (running, or failed)."""

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.auth.models import User
from crm.db import BigId, Timestamps, UTCDateTime
from crm.extensions import db
from crm.tenancy import TenantScoped

RUNNING, DONE, FAILED = "running", "done", "failed"


class DataQualityRun(TenantScoped, Timestamps, db.Model):
    """One check of every live contact of the workspace; ``created_at`` is when it started, and
    ``updated_at`` moves with each batch (a running check that stops moving has died)."""

    __tablename__ = "data_quality_runs"

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    status: so.Mapped[str] = so.mapped_column(sa.String(8), default=RUNNING)
    # Who pressed "Run the check now"; None for the scheduled command.
    user_id: so.Mapped[int | None] = so.mapped_column(BigId, sa.ForeignKey("users.id", ondelete="SET NULL"))
    contacts_total: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    contacts_checked: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    counts: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)  # kind -> contacts found
    failure: so.Mapped[str | None] = so.mapped_column(sa.Text)
    finished_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    user: so.Mapped[User | None] = so.relationship(viewonly=True)

    @property
    def percent(self) -> int:
        return min(100, self.contacts_checked * 100 // self.contacts_total) if self.contacts_total else 0


class DataQualityFinding(TenantScoped, db.Model):
    """A problem of one contact found by a run. ``detail`` is the offending value (the invalid
    email addresses or phone numbers), the day of the last activity (stale), or a reason code
    (names: crm.data_quality.checks.NAME_REASONS; unreachable: "none" or "invalid")."""

    __tablename__ = "data_quality_findings"
    __scoped_table_args__ = (
        sa.ForeignKeyConstraint(
            ["workspace_id", "run_id"], ["data_quality_runs.workspace_id", "data_quality_runs.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "contact_id"], ["contacts.workspace_id", "contacts.id"], ondelete="CASCADE"
        ),
        sa.Index("ix_data_quality_findings_workspace_id_run_id", "workspace_id", "run_id", "kind", "id"),
        sa.Index("ix_data_quality_findings_workspace_id_contact_id", "workspace_id", "contact_id"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    run_id: so.Mapped[int] = so.mapped_column(BigId)
    contact_id: so.Mapped[int] = so.mapped_column(BigId)
    kind: so.Mapped[str] = so.mapped_column(sa.String(16))
    detail: so.Mapped[str] = so.mapped_column(sa.String(320), default="")
