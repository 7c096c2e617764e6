from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.db import BigId, UTCDateTime, utcnow
from crm.extensions import db
from crm.tenancy import TenantScoped


class AuditEntry(TenantScoped, db.Model):
    """One thing somebody did. Append-only: the app has no update or delete path, and on
    PostgreSQL its role may only INSERT and SELECT here."""

    __tablename__ = "audit_log"
    __scoped_table_args__ = (
        sa.Index("ix_audit_log_workspace_id_created_at", "workspace_id", "created_at", "id"),
        sa.Index("ix_audit_log_workspace_id_actor_id", "workspace_id", "actor_id", "created_at"),
        sa.Index("ix_audit_log_workspace_id_action", "workspace_id", "action", "created_at"),
        sa.Index("ix_audit_log_workspace_id_record", "workspace_id", "record_type", "record_id"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    # The user is global; the label keeps who it was (their email) if the account goes away.
    actor_id: so.Mapped[int | None] = so.mapped_column(BigId, sa.ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: so.Mapped[str] = so.mapped_column(sa.String(254))
    action: so.Mapped[str] = so.mapped_column(sa.String(40))
    record_type: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    record_id: so.Mapped[int | None] = so.mapped_column(BigId)
    # {"field": [before, after], ...} for changes; other details for other actions.
    changes: so.Mapped[dict | None] = so.mapped_column(sa.JSON)
    ip: so.Mapped[str | None] = so.mapped_column(sa.String(45))
    user_agent: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
