"""Workspaces: creation (with sign-up), membership look-ups, settings, logo, deletion, demo data."""

import re
import zoneinfo
from datetime import date
from functools import cache

import sqlalchemy as sa
import sqlalchemy.orm as so
from babel import Locale
from babel.core import get_global
from babel.numbers import get_currency_name, get_territory_currencies
from flask import url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from slugify import slugify

from crm.audit import service as audit
from crm.auth.models import User
from crm.auth.service import create_user
from crm.billing import service as billing
from crm.billing import states as billing_states
from crm.deals import lost_reasons
from crm.deals.service import create_default_pipeline
from crm.extensions import db
from crm.permissions import BUILTIN_ROLES, OWNER
from crm.purchases.models import Purchase
from crm.tenancy import ALL_WORKSPACES, bind_user, bind_workspace, bound_workspace_id
from crm.tickets.service import create_default_categories
from crm.workspaces.models import ACTIVE, REMOVED, DeletedWorkspace, Membership, Role, Workspace, WorkspaceSlug

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$")

# Offered as the default currency; any ISO 4217 code babel knows could be added here.
CURRENCIES = (
    "AED", "AUD", "BRL", "CAD", "CHF", "CNY", "DKK", "EUR", "GBP", "HKD", "IDR", "INR", "JPY", "KRW",
    "MOP", "MXN", "MYR", "NOK", "NZD", "PHP", "SEK", "SGD", "THB", "TWD", "USD", "VND", "ZAR",
)  # fmt: skip

# CLDR territory codes that are not a place with its own phone numbers: groupings (EU, UN...),
# pseudo-locales and "unknown", and exceptional reservations dialled through another country
# (Ceuta, the Canaries, Diego Garcia...). Ascension, Tristan da Cunha and Kosovo keep theirs.
_NOT_PHONE_REGIONS = {"CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "UN", "XA", "XB", "ZZ"}

LOGO_MAX_BYTES = 512 * 1024
# Raster formats only: an SVG can carry script.
LOGO_TYPES = ("image/png", "image/jpeg", "image/webp")


class WorkspaceError(ValueError):
    """A refused change, with a message for the person who asked and the form field it is about."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class SlugTaken(WorkspaceError):
    def __init__(self, slug: str):
        super().__init__(_("Another workspace already uses this address."), "slug")
        self.slug = slug


class OwnerOnly(WorkspaceError):
    """Something only an Owner of the workspace may do, asked by an admin who is not one."""


@cache
def time_zones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones() - {"localtime", "Factory"}))


def valid_timezone(name: str | None) -> str:
    return name if name in time_zones() else "UTC"


def sign_up(name, email, password, business_name, timezone, locale=None) -> tuple[User, Workspace]:
    """A new account and its first workspace, with the user as Owner (caller commits)."""
    user = create_user(name, email, password, locale=locale)
    return user, create_workspace(user, business_name, timezone)


def create_workspace(user: User, name: str, timezone: str | None = None) -> Workspace:
    """Creates the workspace with its built-in roles and default sales pipeline, binds the session
    to it and makes ``user`` its Owner."""
    timezone = valid_timezone(timezone)
    phone_region, currency = local_defaults(timezone)
    workspace = Workspace(
        name=name.strip(), slug=unique_slug(name), timezone=timezone, phone_region=phone_region, currency=currency
    )
    billing_states.start_trial(workspace)  # while billing is on: the trial plan's limits, no card
    db.session.add(workspace)
    db.session.flush()
    bind_workspace(workspace.id)
    roles = {
        key: Role(name=english, builtin=key, permissions=list(permissions))
        for key, (english, permissions) in BUILTIN_ROLES.items()
    }
    db.session.add_all(roles.values())
    db.session.add(Membership(user_id=user.id, role=roles[OWNER]))
    user.last_workspace_id = workspace.id
    db.session.flush()
    create_default_pipeline()
    lost_reasons.create_defaults()
    create_default_categories()
    audit.record("workspace.created", "workspace", workspace.id, {"name": [None, workspace.name]}, actor=user)
    db.session.flush()
    return workspace


def committed_with_free_slug(make):
    """Runs ``make`` (a sign-up, or a new workspace), commits and returns what it returned. Another
    request may take the same address between ``unique_slug``'s look and the insert (two businesses
    of one name signing up at once): the unique index refuses it, and the action runs once more,
    from the start, with the address that is free now."""
    try:
        made = make()
        db.session.commit()
        return made
    except sa.exc.IntegrityError:
        db.session.rollback()
        bind_workspace(None)  # without emptying the identity map: it holds the signed-in user
    made = make()
    db.session.commit()
    return made


def local_defaults(timezone: str) -> tuple[str, str]:
    """The phone region and currency of the country of ``timezone`` (the browser's, at sign-up), so a
    business in Shanghai reads 13800138000 as a Chinese number and counts in CNY from the start; the
    United States and USD where the zone names no country (UTC: the browser sent none)."""
    # Browsers built on ICU (Chrome) report some zones by their old names, Asia/Calcutta for
    # Asia/Kolkata: CLDR's aliases lead to the name its territories know.
    timezone = get_global("zone_aliases").get(timezone, timezone)
    territory = get_global("zone_territories").get(timezone)
    if territory not in phone_regions():
        return "US", "USD"
    currencies = get_territory_currencies(territory, date.today())
    return territory, next((code for code in currencies if code in CURRENCIES), "USD")


def unique_slug(name: str, taken_by: int | None = None) -> str:
    base = slugify(name, max_length=40, word_boundary=True) or "workspace"
    candidate, n = base, 1
    while slug_taken(candidate, taken_by):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def slug_taken(slug: str, except_workspace_id: int | None = None) -> bool:
    """True when another workspace lives at ``slug`` or used it before: old links of that
    workspace keep redirecting to it. A workspace may take back its own old slug."""
    live = sa.select(Workspace.id).where(Workspace.slug == slug)
    old = sa.select(WorkspaceSlug.id).where(WorkspaceSlug.slug == slug).execution_options(**ALL_WORKSPACES)
    if except_workspace_id is not None:
        live = live.where(Workspace.id != except_workspace_id)
        old = old.where(WorkspaceSlug.workspace_id != except_workspace_id)
    return db.session.scalar(live) is not None or db.session.scalar(old) is not None


# slug -> workspace id, remembered per process: every workspace page needs it before anything else.
# An entry can go stale (the workspace renamed its slug or was deleted); member_at notices.
_slug_ids: dict[str, int] = {}
SLUG_IDS_KEPT = 10_000


def workspace_id_for_slug(slug: str) -> int | None:
    return db.session.scalar(sa.select(Workspace.id).where(Workspace.slug == slug))


def remembered_workspace_id(slug: str) -> int | None:
    return _slug_ids.get(slug)


def remember_slug(slug: str, workspace_id: int) -> None:
    if len(_slug_ids) >= SLUG_IDS_KEPT:
        _slug_ids.clear()
    _slug_ids[slug] = workspace_id


def signed_in_member(user_id: int, slug: str | None) -> Membership | None:
    """For the sign-in of a request to a workspace page: the membership of ``user_id`` in the
    workspace remembered at ``slug``, with its user, workspace and role, in one query; None when the
    slug is not remembered or they are not in that workspace there (the caller then loads the user
    alone). Binds the user and that workspace first, as RLS reads memberships and roles through them;
    the caller checks the session version and unbinds on a mismatch."""
    workspace_id = _slug_ids.get(slug) if slug else None
    if workspace_id is None:
        return None
    bind_user(user_id)
    bind_workspace(workspace_id)
    # Its user and workspace come joined.
    member = db.session.scalar(_signed_in_member_statement(), {"user_id": user_id, "slug": slug})
    if member is None:
        # Nothing of that workspace was loaded: unbind without emptying the identity map, so the
        # user loaded next stays attached when the workspace wall binds the right workspace.
        bind_workspace(None)
    return member


def forget_slug(slug: str) -> None:
    _slug_ids.pop(slug, None)


def forget_every_slug() -> None:
    """For tests, whose database is emptied between them while the process lives on."""
    _slug_ids.clear()


def workspace_for_old_slug(slug: str) -> Workspace | None:
    """The workspace that used ``slug`` before (read before any workspace is bound; the RLS policy
    of workspace_slugs allows it). Callers look for a live workspace first: the live slug wins."""
    return db.session.scalar(
        sa.select(Workspace)
        .join(WorkspaceSlug, WorkspaceSlug.workspace_id == Workspace.id)
        .where(WorkspaceSlug.slug == slug)
        .execution_options(**ALL_WORKSPACES)
    )


def membership_of(user: User, slug: str | None = None) -> Membership | None:
    """The user's membership of the bound workspace, with its role and workspace (one query);
    None if they were never in it or were removed, or if the workspace is not at ``slug``."""
    # The user is loaded already: taken from the identity map, not joined again.
    return db.session.scalar(_membership_statement(user.id, slug).options(so.lazyload(Membership.user)))


def _membership_statement(user_id: int | sa.BindParameter, slug: str | sa.BindParameter | None) -> sa.Select:
    """A live or disabled membership of the bound workspace with its role (and, by the model's
    default, its user and workspace), at ``slug`` if given."""
    statement = (
        sa.select(Membership)
        .options(so.joinedload(Membership.role, innerjoin=True))
        .where(Membership.user_id == user_id, Membership.status != REMOVED)
    )
    return statement if slug is None else statement.where(Membership.workspace.has(Workspace.slug == slug))


@cache
def _signed_in_member_statement() -> sa.Select:
    """The sign-in of every workspace page, built once (building it took a fifth of its time)."""
    return _membership_statement(sa.bindparam("user_id"), sa.bindparam("slug"))


def memberships_of(user: User) -> list[Membership]:
    """Every workspace the user may enter, for the switcher (reads across workspaces on purpose;
    the RLS policy of memberships allows a user's own rows)."""
    return list(
        db.session.scalars(
            sa.select(Membership)
            .where(Membership.user_id == user.id, Membership.status == ACTIVE)
            .order_by(Membership.joined_at)
            .execution_options(**ALL_WORKSPACES)
        )
    )


def active_workspace_ids_of(user: User) -> list[int]:
    return list(
        db.session.scalars(
            sa.select(Membership.workspace_id)
            .where(Membership.user_id == user.id, Membership.status == ACTIVE)
            .execution_options(**ALL_WORKSPACES)
        )
    )


def home_url_for(user: User) -> str:
    memberships = memberships_of(user)
    if not memberships:
        return url_for("workspaces.new")
    preferred = next((m for m in memberships if m.workspace_id == user.last_workspace_id), memberships[0])
    return url_for("ws.home", workspace_slug=preferred.workspace.slug)


def currency_choices(first: str | None = None) -> list[tuple[str, str]]:
    """[(code, "Chinese Yuan (CNY)"), ...] in the reader's language, ``first`` (the workspace's, on a
    record's form) at the top, then by name; in Chinese by code, since Python has no pinyin order and
    character codes would scatter the names."""
    locale = get_locale() or Locale.parse("en")
    choices = [(code, f"{get_currency_name(code, locale=locale)} ({code})") for code in CURRENCIES]
    by_code = locale.language == "zh"
    return sorted(choices, key=lambda choice: (choice[0] != first, choice[0] if by_code else choice[1].casefold()))


@cache
def phone_regions() -> frozenset[str]:
    """ISO 3166 alpha-2 codes accepted as the default phone region."""
    return frozenset(
        code
        for code in Locale.parse("en").territories
        if len(code) == 2 and code.isalpha() and code not in _NOT_PHONE_REGIONS
    )


def phone_region_choices() -> list[tuple[str, str]]:
    """[(code, region name), ...] in the reader's language, by name."""
    names = (get_locale() or Locale.parse("en")).territories
    choices = [(code, names.get(code, code)) for code in phone_regions()]
    return sorted(choices, key=lambda choice: (choice[1].casefold(), choice[0]))


SETTINGS_FIELDS = ("name", "slug", "timezone", "currency", "phone_region", "require_two_factor")


def update_settings(
    workspace: Workspace,
    member: Membership,
    *,
    name: str,
    slug: str,
    timezone: str,
    currency: str,
    phone_region: str,
    require_two_factor: bool | None = None,
    currency_confirmed: bool = False,
) -> dict:
    """Saves the general settings of the bound workspace and audits what changed (caller commits).

    A new currency is refused unless ``currency_confirmed`` where purchases are recorded: their worth
    was entered in the old one, and nothing converts it (no rates are kept), so tiers, levels and
    totals would read those figures in the new currency.

    ``require_two_factor`` None leaves it as it is; only an Owner may change it. A new slug keeps
    the old one in the workspace's slug history so that saved links redirect. Returns the changes.
    """
    _check_bound(workspace)
    name = (name or "").strip()
    if not name:
        raise WorkspaceError(_("Name your business."), "name")
    if not SLUG_PATTERN.match(slug or ""):
        raise WorkspaceError(
            _("Use 1 to 50 lower-case letters, digits and dashes, not starting or ending with a dash."), "slug"
        )
    if slug_taken(slug, workspace.id):
        raise SlugTaken(slug)
    if timezone not in time_zones():
        raise WorkspaceError(_("Choose a time zone from the list."), "timezone")
    if currency not in CURRENCIES:
        raise WorkspaceError(_("Choose a currency from the list."), "currency")
    if phone_region not in phone_regions():
        raise WorkspaceError(_("Choose a region from the list."), "phone_region")
    if currency != workspace.currency and not currency_confirmed and _has_purchases():
        raise WorkspaceError(
            _("Purchases are recorded with their worth in %(old)s, and Kehu does not convert them: after the change, "
              "tiers, levels and totals count those figures as %(new)s. Tick the box below to change it anyway.",
              old=workspace.currency, new=currency),
            "currency",
        )  # fmt: skip
    if require_two_factor is not None and require_two_factor != workspace.require_two_factor and not member.is_owner:
        raise OwnerOnly(_("Only an Owner can change this."), "require_two_factor")

    if slug != workspace.slug:
        _move_slug(workspace, slug)
    workspace.name = name
    workspace.slug = slug
    workspace.timezone = timezone
    workspace.currency = currency
    workspace.phone_region = phone_region
    if require_two_factor is not None:
        workspace.require_two_factor = require_two_factor
    changes = audit.changes_of(workspace, SETTINGS_FIELDS)
    if changes:
        audit.record("workspace.updated", "workspace", workspace.id, changes)
    return changes


def _has_purchases() -> bool:
    return db.session.scalar(sa.select(sa.exists().where(Purchase.id.isnot(None)))) or False


def _move_slug(workspace: Workspace, new_slug: str) -> None:
    """Keeps the current slug in the history (links with it redirect) and takes ``new_slug`` out
    of it when the workspace reclaims an old address of its own."""
    reclaimed = db.session.scalar(sa.select(WorkspaceSlug).where(WorkspaceSlug.slug == new_slug))
    if reclaimed is not None:
        db.session.delete(reclaimed)
    # The current slug is in another workspace's history only for data from before slug history
    # (slug_taken refuses it since): the live slug won, and that workspace keeps its entry.
    recorded = sa.select(WorkspaceSlug.id).where(WorkspaceSlug.slug == workspace.slug)
    if db.session.scalar(recorded.execution_options(**ALL_WORKSPACES)) is None:
        db.session.add(WorkspaceSlug(slug=workspace.slug))


def sniff_image_type(data: bytes) -> str | None:
    """The image type from the file's first bytes (its magic number), whatever its name or the
    browser claims; None for anything but PNG, JPEG and WebP."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def set_logo(workspace: Workspace, data: bytes) -> None:
    """Stores ``data`` as the workspace's logo after checking its size and type (caller commits)."""
    _check_bound(workspace)
    if not data:
        raise WorkspaceError(_("Choose an image file."), "logo")
    if len(data) > LOGO_MAX_BYTES:
        raise WorkspaceError(_("The logo must be at most %(size)d KB.", size=LOGO_MAX_BYTES // 1024), "logo")
    content_type = sniff_image_type(data)
    if content_type not in LOGO_TYPES:
        raise WorkspaceError(_("Upload a PNG, JPEG or WebP image."), "logo")
    before = workspace.logo_type
    workspace.logo, workspace.logo_type = data, content_type
    audit.record(
        "workspace.logo_changed", "workspace", workspace.id, {"logo": [before, f"{content_type}, {len(data)} B"]}
    )


def remove_logo(workspace: Workspace) -> bool:
    """Removes the logo; False when there was none (caller commits)."""
    _check_bound(workspace)
    if workspace.logo_type is None:
        return False
    before = workspace.logo_type
    workspace.logo, workspace.logo_type = None, None
    audit.record("workspace.logo_removed", "workspace", workspace.id, {"logo": [before, None]})
    return True


def delete_workspace(workspace: Workspace, member: Membership, confirm_name: str, ip: str | None) -> DeletedWorkspace:
    """Deletes the workspace and, through the ON DELETE CASCADE of every scoped table's foreign
    key, all its rows: members, roles, invitations, notes, old slugs, its audit log. Users stay.
    The global ``deleted_workspaces`` log keeps who did it and from where (caller commits).

    On PostgreSQL the cascades run as the tables' owner, so they reach rows the app role may not
    delete itself (the append-only audit log).

    A live Stripe subscription is canceled first, at once: the customer must not go on paying for
    a workspace that is gone. When Stripe cannot be reached, nothing is deleted (WorkspaceError)."""
    _check_bound(workspace)
    if not member.is_owner:
        raise OwnerOnly(_("Only an Owner can delete the workspace."))
    if (confirm_name or "").strip() != workspace.name:
        raise WorkspaceError(
            _("Type the name of the workspace exactly as shown: %(name)s", name=workspace.name), "confirm_name"
        )
    try:
        billing.cancel_for_deletion(workspace)
    except billing.BillingError as error:
        raise WorkspaceError(str(error)) from error
    user = member.user
    deleted = DeletedWorkspace(
        former_workspace_id=workspace.id,
        name=workspace.name,
        slug=workspace.slug,
        deleted_by_id=user.id,
        deleted_by_label=user.email,
        ip=ip,
    )
    db.session.add(deleted)
    db.session.delete(workspace)
    db.session.flush()
    # Nothing is left to read or write in this workspace.
    bind_workspace(None)
    return deleted


def _check_bound(workspace: Workspace) -> None:
    if bound_workspace_id() != workspace.id:
        raise RuntimeError("the session is not bound to this workspace")
