"""Pipelines, their ordered stages, the deals moving through them and each deal's stage history."""

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext

from crm.contacts.models import Company, Contact, CustomValues
from crm.db import BigId, Timestamps, UTCDateTime, utcnow
from crm.extensions import db
from crm.permissions import N_
from crm.search import searchable
from crm.tenancy import TenantScoped
from crm.workspaces.models import Membership

OPEN, WON, LOST = "open", "won", "lost"
STAGE_KINDS = (OPEN, WON, LOST)
DEAL_STATUSES = (OPEN, WON, LOST)

# The pipeline every workspace starts with: (English name, win probability %, kind, rotting days).
DEFAULT_PIPELINE = N_("Sales")
DEFAULT_STAGES = (
    (N_("Lead in"), 10, OPEN, 30),
    (N_("Qualified"), 30, OPEN, 30),
    (N_("Proposal"), 60, OPEN, 21),
    (N_("Negotiation"), 80, OPEN, 14),
    (N_("Won"), 100, WON, None),
    (N_("Lost"), 0, LOST, None),
)
# The reasons a deal is lost that every workspace starts with; admins edit the list.
DEFAULT_LOST_REASONS = (
    N_("Too expensive"), N_("Went with a competitor"), N_("No budget"), N_("No response"), N_("Bad timing"),
    N_("Other"),
)  # fmt: skip
_DEFAULT_NAMES = frozenset([DEFAULT_PIPELINE, *(stage[0] for stage in DEFAULT_STAGES), *DEFAULT_LOST_REASONS])


def display_name(name: str) -> str:
    """Default names follow the reader's language until the workspace renames them."""
    return gettext(name) if name in _DEFAULT_NAMES else name


class Pipeline(TenantScoped, Timestamps, db.Model):
    __tablename__ = "pipelines"
    __scoped_table_args__ = (sa.Index("ix_pipelines_workspace_id_position", "workspace_id", "position"),)

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(80))
    position: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)

    @property
    def display_name(self) -> str:
        return display_name(self.name)


class Stage(TenantScoped, db.Model):
    """A column of a pipeline. Open stages are the board's columns; each pipeline has one won and
    one lost stage, where closed deals rest."""

    __tablename__ = "stages"
    __scoped_table_args__ = (
        sa.ForeignKeyConstraint(
            ["workspace_id", "pipeline_id"], ["pipelines.workspace_id", "pipelines.id"], ondelete="CASCADE"
        ),
        # What deals' composite key (workspace, pipeline, stage) points at: a deal's stage is always
        # one of its own pipeline's, checked by the database.
        sa.UniqueConstraint("workspace_id", "pipeline_id", "id"),
        sa.Index("ix_stages_workspace_id_pipeline_id", "workspace_id", "pipeline_id", "position"),
        sa.CheckConstraint("probability BETWEEN 0 AND 100", name="probability_range"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    pipeline_id: so.Mapped[int] = so.mapped_column(BigId)
    name: so.Mapped[str] = so.mapped_column(sa.String(80))
    position: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    probability: so.Mapped[int] = so.mapped_column(sa.SmallInteger, default=0)  # win probability, %
    kind: so.Mapped[str] = so.mapped_column(sa.String(4), default=OPEN)  # open | won | lost
    rotting_days: so.Mapped[int | None] = so.mapped_column(sa.Integer)  # warn after this long in the stage

    @property
    def display_name(self) -> str:
        return display_name(self.name)


class LostReason(TenantScoped, db.Model):
    """An entry of the workspace's list of why deals are lost: what the Lost form offers and the
    Sales report counts. A reason in use is retired (inactive), never deleted."""

    __tablename__ = "lost_reasons"
    __scoped_table_args__ = (sa.Index("ix_lost_reasons_workspace_id_position", "workspace_id", "position"),)

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    position: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    active: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=True)

    @property
    def display_name(self) -> str:
        return display_name(self.name)


class Deal(TenantScoped, Timestamps, db.Model):
    __tablename__ = "deals"
    __scoped_table_args__ = (
        sa.ForeignKeyConstraint(["workspace_id", "pipeline_id"], ["pipelines.workspace_id", "pipelines.id"]),
        sa.ForeignKeyConstraint(
            ["workspace_id", "pipeline_id", "stage_id"], ["stages.workspace_id", "stages.pipeline_id", "stages.id"]
        ),
        sa.ForeignKeyConstraint(["workspace_id", "contact_id"], ["contacts.workspace_id", "contacts.id"]),
        sa.ForeignKeyConstraint(["workspace_id", "company_id"], ["companies.workspace_id", "companies.id"]),
        sa.ForeignKeyConstraint(["workspace_id", "owner_id"], ["memberships.workspace_id", "memberships.id"]),
        sa.ForeignKeyConstraint(["workspace_id", "lost_reason_id"], ["lost_reasons.workspace_id", "lost_reasons.id"]),
        # A pipeline's deals column by column, in order, won and lost too (reports, stage removal).
        sa.Index("ix_deals_workspace_id_pipeline_id", "workspace_id", "pipeline_id", "stage_id", "position"),
        # The board: its open deals in card order, with what the column totals and the "own" scope
        # read, so the cards come from an index range per column and the totals from the index alone.
        sa.Index(
            "ix_deals_workspace_id_board",
            *("workspace_id", "pipeline_id", "stage_id", "position", "id"),
            postgresql_include=["currency", "value", "owner_id"],
            postgresql_where=sa.text("status = 'open' AND deleted_at IS NULL"),
            sqlite_where=sa.text("status = 'open' AND deleted_at IS NULL"),
        ),
        sa.Index("ix_deals_workspace_id_contact_id", "workspace_id", "contact_id"),
        sa.Index("ix_deals_workspace_id_company_id", "workspace_id", "company_id"),
        sa.Index("ix_deals_workspace_id_owner_id", "workspace_id", "owner_id"),
        sa.Index("ix_deals_workspace_id_lost_reason_id", "workspace_id", "lost_reason_id"),
        sa.CheckConstraint("value >= 0", name="value_not_negative"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    # The title as search compares it (crm.search.searchable), set with the title; indexed per dialect
    # (pg_trgm GIN, an FTS5 trigram table: migration 0047).
    search_text: so.Mapped[str] = so.mapped_column(sa.Text, default="", server_default="")
    value: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(12, 2), default=Decimal("0"))
    currency: so.Mapped[str] = so.mapped_column(sa.String(3))
    contact_id: so.Mapped[int | None] = so.mapped_column(BigId)
    company_id: so.Mapped[int | None] = so.mapped_column(BigId)
    owner_id: so.Mapped[int | None] = so.mapped_column(BigId)
    pipeline_id: so.Mapped[int] = so.mapped_column(BigId)
    stage_id: so.Mapped[int] = so.mapped_column(BigId)
    position: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)  # order within the stage
    expected_close_on: so.Mapped[date | None] = so.mapped_column(sa.Date)
    status: so.Mapped[str] = so.mapped_column(sa.String(4), default=OPEN)  # open | won | lost
    lost_reason_id: so.Mapped[int | None] = so.mapped_column(BigId)  # why it was lost, from the list
    lost_reason: so.Mapped[str | None] = so.mapped_column(sa.String(300))  # details, in the member's words
    closed_on: so.Mapped[date | None] = so.mapped_column(sa.Date)
    notes: so.Mapped[str | None] = so.mapped_column(sa.Text)
    custom: so.Mapped[dict] = so.mapped_column(CustomValues, default=dict, server_default="{}")
    stage_entered_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    deleted_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    @so.validates("title")
    def _title_searched(self, _key: str, title: str) -> str:
        # Set wherever the title is (create, edit), so the two never drift apart.
        self.search_text = searchable(title or "")
        return title

    owner: so.Mapped[Membership | None] = so.relationship(
        primaryjoin="and_(Membership.workspace_id == Deal.workspace_id, Membership.id == foreign(Deal.owner_id))",
        viewonly=True,
    )
    contact: so.Mapped[Contact | None] = so.relationship(
        primaryjoin="and_(Contact.workspace_id == Deal.workspace_id, Contact.id == foreign(Deal.contact_id))",
        viewonly=True,
    )
    company: so.Mapped[Company | None] = so.relationship(
        primaryjoin="and_(Company.workspace_id == Deal.workspace_id, Company.id == foreign(Deal.company_id))",
        viewonly=True,
    )
    stage: so.Mapped[Stage] = so.relationship(
        primaryjoin="and_(Stage.workspace_id == Deal.workspace_id, Stage.id == foreign(Deal.stage_id))",
        viewonly=True,
    )
    pipeline: so.Mapped[Pipeline] = so.relationship(
        primaryjoin="and_(Pipeline.workspace_id == Deal.workspace_id, Pipeline.id == foreign(Deal.pipeline_id))",
        viewonly=True,
    )
    lost_reason_entry: so.Mapped[LostReason | None] = so.relationship(
        primaryjoin=(
            "and_(LostReason.workspace_id == Deal.workspace_id, LostReason.id == foreign(Deal.lost_reason_id))"
        ),
        viewonly=True,
    )


class DealStageChange(TenantScoped, db.Model):
    """A deal entering a stage (``from_stage_id`` None: created there): the deal's stage history,
    and what time-in-stage and conversion reports are computed from."""

    __tablename__ = "deal_stage_changes"
    __scoped_table_args__ = (
        sa.ForeignKeyConstraint(["workspace_id", "deal_id"], ["deals.workspace_id", "deals.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id", "from_stage_id"], ["stages.workspace_id", "stages.id"]),
        sa.ForeignKeyConstraint(["workspace_id", "to_stage_id"], ["stages.workspace_id", "stages.id"]),
        sa.ForeignKeyConstraint(["workspace_id", "by_id"], ["memberships.workspace_id", "memberships.id"]),
        sa.Index("ix_deal_stage_changes_workspace_id_deal_id", "workspace_id", "deal_id", "at"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    deal_id: so.Mapped[int] = so.mapped_column(BigId)
    from_stage_id: so.Mapped[int | None] = so.mapped_column(BigId)
    to_stage_id: so.Mapped[int] = so.mapped_column(BigId)
    at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    by_id: so.Mapped[int | None] = so.mapped_column(BigId)  # the member who moved it
