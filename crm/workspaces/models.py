from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext

from crm.db import BigId, Timestamps, UTCDateTime, utcnow
from crm.extensions import db
from crm.permissions import BUILTIN_ROLES, OWNER
from crm.tenancy import TenantScoped

ACTIVE, DISABLED, REMOVED = "active", "disabled", "removed"


class Workspace(Timestamps, db.Model):
    """The tenant: a business. Global table; everything of the business carries its id."""

    __tablename__ = "workspaces"

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    slug: so.Mapped[str] = so.mapped_column(sa.String(50), unique=True)
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64), default="UTC")
    # Members plus pending invitations allowed by the plan; None is unlimited (no billing).
    seat_limit: so.Mapped[int | None] = so.mapped_column()
    currency: so.Mapped[str] = so.mapped_column(sa.String(3), default="USD")
    # ISO 3166 region that phone numbers without a +country prefix are read in.
    phone_region: so.Mapped[str] = so.mapped_column(sa.String(2), default="US")
    require_two_factor: so.Mapped[bool] = so.mapped_column(default=False)
    # Overrides of crm.contacts.classification.DEFAULT_RULES (None: the defaults).
    customer_rules: so.Mapped[dict | None] = so.mapped_column(sa.JSON)
    # Money cut-offs of the rules given as shares of customers (top 10% ...), computed from the
    # customers' 12-month values when the rules are saved and every night (classification.py).
    class_cutoffs: so.Mapped[dict | None] = so.mapped_column(sa.JSON)
    # Bumped on every change of its custom fields: the key of their per-process cache.
    custom_fields_version: so.Mapped[int] = so.mapped_column(sa.Integer, default=0, server_default="0")
    logo: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary, deferred=True)
    logo_type: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    # Legal name, address, tax ID... as printed on quotes (Settings → Quotes).
    business_details: so.Mapped[str | None] = so.mapped_column(sa.Text)
    portal_intro: so.Mapped[str | None] = so.mapped_column(sa.Text)  # shown on the complaint portal's home
    brand_color: so.Mapped[str | None] = so.mapped_column(sa.String(7))  # "#1a5fb4": the portal's accent
    sla_settings: so.Mapped[dict | None] = so.mapped_column(sa.JSON)  # crm.tickets.sla; None = the defaults
    # Billing (crm/billing): kept here, not in a scoped table, because the Stripe webhook finds the
    # workspace by its Stripe customer before any workspace is bound. Ignored while billing is off.
    plan: so.Mapped[str] = so.mapped_column(sa.String(20), default="free", server_default="free")
    billing_status: so.Mapped[str | None] = so.mapped_column(sa.String(20))  # Stripe's subscription status
    trial_ends_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    stripe_customer_id: so.Mapped[str | None] = so.mapped_column(sa.String(255), unique=True)
    stripe_subscription_id: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    current_period_end: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    cancel_at_period_end: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    past_due_since: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # Stripe's ``created`` of the newest subscription state applied: an older event never overwrites it.
    billing_synced_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    # Loaded through the tenancy wall like any query: only rows of the bound workspace come back.
    memberships: so.Mapped[list["Membership"]] = so.relationship(
        back_populates="workspace", viewonly=True, order_by="Membership.joined_at"
    )

    def __repr__(self) -> str:
        return f"<Workspace {self.id} {self.slug}>"


class WorkspaceSlug(TenantScoped, db.Model):
    """A slug the workspace used before; links with it redirect to the current one. Readable by
    everyone before any workspace is bound (like the workspaces table), written only in its own."""

    __tablename__ = "workspace_slugs"

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    slug: so.Mapped[str] = so.mapped_column(sa.String(50), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class DeletedWorkspace(db.Model):
    """Global record of deleted workspaces: their own audit log goes with them."""

    __tablename__ = "deleted_workspaces"

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    former_workspace_id: so.Mapped[int] = so.mapped_column(BigId)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    slug: so.Mapped[str] = so.mapped_column(sa.String(50))
    deleted_by_id: so.Mapped[int | None] = so.mapped_column(BigId, sa.ForeignKey("users.id", ondelete="SET NULL"))
    deleted_by_label: so.Mapped[str] = so.mapped_column(sa.String(254))
    ip: so.Mapped[str | None] = so.mapped_column(sa.String(45))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class Role(TenantScoped, Timestamps, db.Model):
    """A named set of permissions and a record scope, per workspace."""

    __tablename__ = "roles"
    __scoped_table_args__ = (sa.UniqueConstraint("workspace_id", "name"),)

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(60))
    # Key of a built-in role ("owner", "admin", ...); None for a role the workspace made.
    builtin: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    permissions: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    # "all" records, or only those the member "own"s or is assigned to.
    record_scope: so.Mapped[str] = so.mapped_column(sa.String(10), default="all")

    @property
    def display_name(self) -> str:
        """Built-in names follow the reader's language until the workspace renames them."""
        english = BUILTIN_ROLES[self.builtin][0] if self.builtin in BUILTIN_ROLES else None
        return gettext(english) if self.name == english else self.name

    def __repr__(self) -> str:
        return f"<Role {self.id} {self.name}>"


class Membership(TenantScoped, db.Model):
    """A user's seat in a workspace. Scoped; its RLS policy also lets a user see their own rows
    in every workspace, which the workspace switcher needs."""

    __tablename__ = "memberships"
    __scoped_table_args__ = (
        sa.UniqueConstraint("workspace_id", "user_id"),
        sa.Index("ix_memberships_user_id", "user_id"),
        sa.ForeignKeyConstraint(["workspace_id", "role_id"], ["roles.workspace_id", "roles.id"]),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(BigId, sa.ForeignKey("users.id", ondelete="CASCADE"))
    role_id: so.Mapped[int] = so.mapped_column(BigId)
    # active | disabled (refused at once, kept for history) | removed (gone, as if never a member)
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default=ACTIVE)
    joined_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    user: so.Mapped["User"] = so.relationship(lazy="joined", innerjoin=True)  # noqa: F821
    workspace: so.Mapped[Workspace] = so.relationship(lazy="joined", innerjoin=True, back_populates="memberships")
    role: so.Mapped[Role] = so.relationship(
        primaryjoin="and_(Role.workspace_id == Membership.workspace_id, Role.id == foreign(Membership.role_id))",
    )

    @staticmethod
    def shown_by_name(relationship) -> so.interfaces.LoaderOption:
        """Loader option for a membership a page shows by name (an owner, author or assignee): joined
        with its user, while its workspace, which the request has loaded already, comes from the
        identity map rather than being joined again (some 30 columns a row)."""
        return so.joinedload(relationship).lazyload(Membership.workspace)

    @property
    def is_owner(self) -> bool:
        return self.role.builtin == OWNER

    def can(self, permission: str) -> bool:
        return self.status == ACTIVE and permission in self.role.permissions
