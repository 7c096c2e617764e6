"""Contacts (people), companies (organisations) and tags: the customer database."""

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects.postgresql import JSONB

from crm.db import BigId, Timestamps, UTCDateTime
from crm.extensions import db
from crm.tenancy import TenantScoped
from crm.workspaces.models import Membership

LIFECYCLES = ("lead", "new", "active", "dormant", "churned")
LEVELS = ("ordinary", "potential", "vip")
TIERS = ("A", "B", "C", "D")
GENDERS = ("female", "male", "other")


# Custom field values (crm/custom_fields): JSONB on PostgreSQL for its GIN index and @> filters.
CustomValues = sa.JSON().with_variant(JSONB(), "postgresql")
# The trash's partial indexes (crm/contacts/trash.py) hold only deleted rows, so they stay small.
IN_TRASH = {"postgresql_where": sa.text("deleted_at IS NOT NULL"), "sqlite_where": sa.text("deleted_at IS NOT NULL")}
# Indexes of the live rows only, for lists that never show the trash.
LIVE = {"postgresql_where": sa.text("deleted_at IS NULL"), "sqlite_where": sa.text("deleted_at IS NULL")}


def _owner_relationship(model: str) -> so.Mapped[Membership | None]:
    return so.relationship(
        primaryjoin=(
            f"and_(Membership.workspace_id == {model}.workspace_id, Membership.id == foreign({model}.owner_id))"
        ),
        viewonly=True,
    )


class AddressMixin:
    street: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    city: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    region: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    postal_code: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    country: so.Mapped[str | None] = so.mapped_column(sa.String(2))


class Company(TenantScoped, AddressMixin, Timestamps, db.Model):
    __tablename__ = "companies"
    __scoped_table_args__ = (
        sa.ForeignKeyConstraint(["workspace_id", "owner_id"], ["memberships.workspace_id", "memberships.id"]),
        sa.Index("ix_companies_workspace_id_created_at", "workspace_id", "created_at", "id"),
        sa.Index("ix_companies_workspace_id_owner_id", "workspace_id", "owner_id"),
        sa.Index("ix_companies_workspace_id_import_id", "workspace_id", "import_id"),
        sa.Index("ix_companies_workspace_id_deleted_at", "workspace_id", "deleted_at", "id", **IN_TRASH),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    industry: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    size: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    website: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    phone: so.Mapped[str | None] = so.mapped_column(sa.String(20))  # E.164
    owner_id: so.Mapped[int | None] = so.mapped_column(BigId)
    customer_since: so.Mapped[date | None] = so.mapped_column(sa.Date)
    notes: so.Mapped[str | None] = so.mapped_column(sa.Text)
    search_text: so.Mapped[str] = so.mapped_column(sa.Text, default="")  # indexed per dialect: crm/search.py
    deleted_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    custom: so.Mapped[dict] = so.mapped_column(CustomValues, default=dict, server_default="{}")
    import_id: so.Mapped[int | None] = so.mapped_column(BigId)  # the import that created it (undo)

    owner: so.Mapped[Membership | None] = _owner_relationship("Company")


class Tag(TenantScoped, db.Model):
    __tablename__ = "tags"
    __scoped_table_args__ = (sa.UniqueConstraint("workspace_id", "name"),)

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(50))  # stored lower-case


class ContactTag(TenantScoped, db.Model):
    __tablename__ = "contact_tags"
    __scoped_table_args__ = (
        sa.ForeignKeyConstraint(
            ["workspace_id", "contact_id"], ["contacts.workspace_id", "contacts.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["workspace_id", "tag_id"], ["tags.workspace_id", "tags.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("workspace_id", "tag_id", "contact_id"),
        sa.Index("ix_contact_tags_workspace_id_contact_id", "workspace_id", "contact_id"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    # No foreign key of its own to workspaces: the (workspace_id, contact_id) one to contacts implies
    # it (and cascades), and each one is a check per row an import writes (migration 0026).
    workspace_id: so.Mapped[int] = so.mapped_column(BigId, nullable=False)
    contact_id: so.Mapped[int] = so.mapped_column(BigId)
    tag_id: so.Mapped[int] = so.mapped_column(BigId)


class Contact(TenantScoped, AddressMixin, Timestamps, db.Model):
    __tablename__ = "contacts"
    __scoped_table_args__ = (
        sa.ForeignKeyConstraint(["workspace_id", "owner_id"], ["memberships.workspace_id", "memberships.id"]),
        sa.ForeignKeyConstraint(["workspace_id", "company_id"], ["companies.workspace_id", "companies.id"]),
        sa.Index("ix_contacts_workspace_id_created_at", "workspace_id", "created_at", "id"),
        sa.Index("ix_contacts_workspace_id_owner_id", "workspace_id", "owner_id", "created_at"),
        sa.Index("ix_contacts_workspace_id_company_id", "workspace_id", "company_id", "created_at"),
        sa.Index("ix_contacts_workspace_id_lifecycle", "workspace_id", "lifecycle", "created_at"),
        sa.Index("ix_contacts_workspace_id_tier", "workspace_id", "tier", "created_at"),
        sa.Index("ix_contacts_workspace_id_level", "workspace_id", "level", "created_at"),
        sa.Index("ix_contacts_workspace_id_lifetime_value", "workspace_id", "lifetime_value", "id", **LIVE),
        sa.Index("ix_contacts_workspace_id_value_12m", "workspace_id", "value_12m", "lifetime_value", "id", **LIVE),
        sa.Index("ix_contacts_workspace_id_last_activity_at", "workspace_id", "last_activity_at"),
        sa.Index("ix_contacts_workspace_id_birthday_md", "workspace_id", "birthday_md"),
        sa.Index("ix_contacts_workspace_id_external_id", "workspace_id", "external_id"),
        sa.Index("ix_contacts_workspace_id_import_id", "workspace_id", "import_id"),
        sa.Index("ix_contacts_workspace_id_deleted_at", "workspace_id", "deleted_at", "id", **IN_TRASH),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    emails: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    phones: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)  # E.164 strings
    company_id: so.Mapped[int | None] = so.mapped_column(BigId)
    title: so.Mapped[str | None] = so.mapped_column(sa.String(120))
    gender: so.Mapped[str | None] = so.mapped_column(sa.String(10))
    birthday: so.Mapped[date | None] = so.mapped_column(sa.Date)
    birthday_md: so.Mapped[int | None] = so.mapped_column(sa.SmallInteger)  # month x 100 + day, for its index
    source: so.Mapped[str | None] = so.mapped_column(sa.String(60))
    owner_id: so.Mapped[int | None] = so.mapped_column(BigId)
    about: so.Mapped[str | None] = so.mapped_column(sa.Text)
    # Derived by later features (purchases, activity); stored so lists never compute them per row.
    tier: so.Mapped[str | None] = so.mapped_column(sa.String(1))
    level: so.Mapped[str] = so.mapped_column(sa.String(10), default="ordinary")
    level_pinned: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    lifecycle: so.Mapped[str] = so.mapped_column(sa.String(10), default="lead")
    last_activity_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_purchase_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    lifetime_value: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(18, 2), default=Decimal("0"))
    value_12m: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(18, 2), default=Decimal("0"), server_default="0")
    value_prev_12m: so.Mapped[Decimal] = so.mapped_column(sa.Numeric(18, 2), default=Decimal("0"), server_default="0")
    search_text: so.Mapped[str] = so.mapped_column(sa.Text, default="")  # indexed per dialect: crm/search.py
    deleted_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    custom: so.Mapped[dict] = so.mapped_column(CustomValues, default=dict, server_default="{}")
    external_id: so.Mapped[str | None] = so.mapped_column(sa.String(100))  # its id in another system
    import_id: so.Mapped[int | None] = so.mapped_column(BigId)  # the import that created it (undo)

    owner: so.Mapped[Membership | None] = _owner_relationship("Contact")
    company: so.Mapped[Company | None] = so.relationship(
        primaryjoin="and_(Company.workspace_id == Contact.workspace_id, Company.id == foreign(Contact.company_id))",
        viewonly=True,
    )
    tags: so.Mapped[list[Tag]] = so.relationship(
        secondary="contact_tags",
        primaryjoin="and_(ContactTag.workspace_id == Contact.workspace_id, ContactTag.contact_id == Contact.id)",
        secondaryjoin="and_(ContactTag.workspace_id == Tag.workspace_id, ContactTag.tag_id == Tag.id)",
        order_by="Tag.name",
        viewonly=True,
    )

    @so.validates("birthday")
    def _keep_month_day(self, _key, birthday: date | None) -> date | None:
        self.birthday_md = month_day(birthday)
        return birthday


class ContactIdentity(TenantScoped, db.Model):
    """One email address (lower-case) or phone number (E.164) of a contact, kept in step by every
    write path (crm.contacts.identities), so imports and duplicate checks match in an index."""

    __tablename__ = "contact_identities"
    __scoped_table_args__ = (
        sa.ForeignKeyConstraint(
            ["workspace_id", "contact_id"], ["contacts.workspace_id", "contacts.id"], ondelete="CASCADE"
        ),
        sa.Index("ix_contact_identities_workspace_id_kind", "workspace_id", "kind", "value"),
        sa.Index("ix_contact_identities_workspace_id_contact_id", "workspace_id", "contact_id"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    # As contact_tags: the foreign key to contacts implies the workspace (migration 0026).
    workspace_id: so.Mapped[int] = so.mapped_column(BigId, nullable=False)
    contact_id: so.Mapped[int] = so.mapped_column(BigId)
    kind: so.Mapped[str] = so.mapped_column(sa.String(5))  # "email" or "phone"
    value: so.Mapped[str] = so.mapped_column(sa.String(320))


def month_day(day: date | None) -> int | None:
    return day.month * 100 + day.day if day else None


class SavedView(TenantScoped, Timestamps, db.Model):
    """A named state (search, filters, sort, columns) of the contacts or the companies list, kept as
    its query string; private to its owner unless shared with the team."""

    __tablename__ = "saved_views"
    __scoped_table_args__ = (
        sa.ForeignKeyConstraint(
            ["workspace_id", "owner_id"], ["memberships.workspace_id", "memberships.id"], ondelete="CASCADE"
        ),
        sa.Index("ix_saved_views_workspace_id_owner_id", "workspace_id", "owner_id"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(80))
    query: so.Mapped[str] = so.mapped_column(sa.Text)
    owner_id: so.Mapped[int] = so.mapped_column(BigId)
    shared: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    list_name: so.Mapped[str] = so.mapped_column(sa.String(20), default="contacts", server_default="contacts")

    owner: so.Mapped[Membership] = _owner_relationship("SavedView")


class BulkJob(TenantScoped, Timestamps, db.Model):
    """A bulk change too large for one request, run in the background (crm/contacts/bulk_jobs.py):
    what it does and for whom, and how far it has got, for its progress panel. ``list_name``:
    "contacts", "companies", "trash:contacts" or "trash:companies"; ``state_args``: the list's
    search and filters; ``value``: the action's (an owner's membership id, a tag, a level)."""

    __tablename__ = "bulk_jobs"
    __scoped_table_args__ = (
        sa.ForeignKeyConstraint(
            ["workspace_id", "membership_id"], ["memberships.workspace_id", "memberships.id"], ondelete="CASCADE"
        ),
        # One running change of a list per member, even when two requests pass the check at once.
        sa.Index(
            "uq_bulk_jobs_running_list",
            "workspace_id",
            "membership_id",
            "list_name",
            unique=True,
            postgresql_where=sa.text("status = 'running'"),
            sqlite_where=sa.text("status = 'running'"),
        ),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    membership_id: so.Mapped[int] = so.mapped_column(BigId)  # who asked: the job keeps to their record scope
    user_id: so.Mapped[int | None] = so.mapped_column(BigId, sa.ForeignKey("users.id", ondelete="SET NULL"))
    list_name: so.Mapped[str] = so.mapped_column(sa.String(20))
    action: so.Mapped[str] = so.mapped_column(sa.String(20))
    state_args: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    value: so.Mapped[object | None] = so.mapped_column(sa.JSON)
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default="running")  # running, done, failed
    total: so.Mapped[int | None] = so.mapped_column(sa.Integer)  # known once the job has read the ids
    done: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    changed: so.Mapped[int | None] = so.mapped_column(sa.Integer)  # when done: the records that changed
    failure: so.Mapped[str | None] = so.mapped_column(sa.String(10))  # when failed: "limit" (the plan's), "error"
    finished_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    @property
    def percent(self) -> int:
        return min(100, self.done * 100 // self.total) if self.total else 0


class ClassificationRun(TenantScoped, Timestamps, db.Model):
    """Classifying every customer of the workspace again (crm/contacts/tier_runs.py): after its
    rules were saved, or nightly (`flask crm recompute`). How far it has got, for Settings ->
    Customer tiers, which follows it, and what it worked out: ``cutoffs``, the money cut-off of each
    rule given as a share of customers, with that share ({"tier_a": {"top": 10, "from": 28100.0}};
    "from" is None when nobody bought in the last 12 months). ``again``: the rules were saved again
    while it ran, so it starts over with them; a workspace never has two runs writing at once."""

    __tablename__ = "classification_runs"
    __scoped_table_args__ = (
        # One running classification per workspace, even when two requests pass the check at once.
        sa.Index(
            "uq_classification_runs_running",
            "workspace_id",
            unique=True,
            postgresql_where=sa.text("status = 'running'"),
            sqlite_where=sa.text("status = 'running'"),
        ),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    # Who saved the rules; None for the nightly command.
    user_id: so.Mapped[int | None] = so.mapped_column(BigId, sa.ForeignKey("users.id", ondelete="SET NULL"))
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default="running")  # running, done, failed
    total: so.Mapped[int | None] = so.mapped_column(sa.Integer)  # known once the run has read the ids
    done: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    changed: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)  # customers whose class changed
    again: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    cutoffs: so.Mapped[dict | None] = so.mapped_column(sa.JSON)
    finished_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    @property
    def percent(self) -> int:
        return min(100, self.done * 100 // self.total) if self.total else 0
