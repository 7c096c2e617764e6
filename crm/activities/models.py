"""Activities on a customer, a company or a deal: notes, calls, emails, meetings and tasks (a task has
a due date, an assignee, a reminder time and a done flag). An activity belongs to a contact, a
company, a deal, or several: one logged on a deal that has a contact carries that contact too, so it
is on both timelines, and one logged on a person carries the company they work for at that moment
(as a purchase does), so the company's timeline keeps its history when a person moves on."""

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.db import BigId, Timestamps, UTCDateTime
from crm.extensions import db
from crm.tenancy import TenantScoped
from crm.workspaces.models import Membership

KINDS = ("note", "call", "email", "meeting", "task")
BODY_MAX = 5000


def _membership(column: str) -> so.Mapped[Membership | None]:
    return so.relationship(
        primaryjoin=(
            f"and_(Membership.workspace_id == Activity.workspace_id, Membership.id == foreign(Activity.{column}))"
        ),
        viewonly=True,
    )


class Activity(TenantScoped, Timestamps, db.Model):
    __tablename__ = "activities"
    __scoped_table_args__ = (
        sa.ForeignKeyConstraint(
            ["workspace_id", "contact_id"], ["contacts.workspace_id", "contacts.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["workspace_id", "deal_id"], ["deals.workspace_id", "deals.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id", "company_id"], ["companies.workspace_id", "companies.id"]),
        sa.ForeignKeyConstraint(["workspace_id", "author_id"], ["memberships.workspace_id", "memberships.id"]),
        sa.ForeignKeyConstraint(["workspace_id", "assignee_id"], ["memberships.workspace_id", "memberships.id"]),
        sa.Index(
            "ix_activities_workspace_id_contact_id_occurred_at", "workspace_id", "contact_id", "occurred_at", "id"
        ),
        sa.Index("ix_activities_workspace_id_deal_id_occurred_at", "workspace_id", "deal_id", "occurred_at", "id"),
        sa.Index(
            "ix_activities_workspace_id_company_id_occurred_at", "workspace_id", "company_id", "occurred_at", "id"
        ),
        sa.Index("ix_activities_workspace_id_assignee_id_due_at", "workspace_id", "assignee_id", "done_at", "due_at"),
        sa.CheckConstraint(
            "contact_id IS NOT NULL OR deal_id IS NOT NULL OR company_id IS NOT NULL", name="contact_deal_or_company"
        ),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    contact_id: so.Mapped[int | None] = so.mapped_column(BigId)
    deal_id: so.Mapped[int | None] = so.mapped_column(BigId)
    company_id: so.Mapped[int | None] = so.mapped_column(BigId)
    kind: so.Mapped[str] = so.mapped_column(sa.String(10))
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    occurred_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)  # when it happened, or was logged
    author_id: so.Mapped[int] = so.mapped_column(BigId)
    # Tasks only.
    assignee_id: so.Mapped[int | None] = so.mapped_column(BigId)
    due_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    remind_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    reminded_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    done_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    author: so.Mapped[Membership] = _membership("author_id")
    contact: so.Mapped["Contact | None"] = so.relationship(  # noqa: F821
        primaryjoin="and_(Contact.workspace_id == Activity.workspace_id, Contact.id == foreign(Activity.contact_id))",
        viewonly=True,
    )
    deal: so.Mapped["Deal | None"] = so.relationship(  # noqa: F821
        primaryjoin="and_(Deal.workspace_id == Activity.workspace_id, Deal.id == foreign(Activity.deal_id))",
        viewonly=True,
    )
    company: so.Mapped["Company | None"] = so.relationship(  # noqa: F821
        primaryjoin="and_(Company.workspace_id == Activity.workspace_id, Company.id == foreign(Activity.company_id))",
        viewonly=True,
    )
    assignee: so.Mapped[Membership | None] = _membership("assignee_id")
