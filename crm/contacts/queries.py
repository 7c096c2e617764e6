"""Read queries for contacts and companies: lists (keyset, filters, search) and detail loads.

Every one goes through ``visible_to_member`` (record scope "own") and hides soft-deleted rows.
Search goes through crm/search.py (trigram indexes on both databases).
"""

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import g
from flask_babel import gettext as _
from sqlalchemy.dialects.postgresql import JSONB

from crm.auth.models import User
from crm.contacts.list_view import DATE_LABELS, MAX_TAGS, ListState
from crm.contacts.models import Company, Contact, ContactIdentity, ContactTag, Tag
from crm.custom_fields import service as custom_fields
from crm.db import UTCDateTime
from crm.extensions import db
from crm.i18n import day_start
from crm.permissions import own_records_only, visible_to_member
from crm.search import any_case, matching, search_order, search_words
from crm.security import digits, record_id
from crm.sorting import by_name
from crm.workspaces.models import ACTIVE, DISABLED, Membership, Role

PER_PAGE = 50


MAX_ID = 2**63 - 1  # ids are BIGINT: a larger number names nobody (and PostgreSQL would refuse it)


def owner_filter(statement: sa.Select, column, owner: str, member: Membership | None) -> sa.Select:
    if owner == "me" and member is not None:
        return statement.where(column == member.id)
    if owner == "none":
        return statement.where(column.is_(None))
    if (number := digits(owner)) is not None:
        return statement.where(column == number if number <= MAX_ID else sa.false())
    return statement


# A contact never in touch sorts as in touch at the dawn of time: keyset paging needs a key without
# NULLs. Migration 0036 indexes this very expression (workspace_id, it, id) on PostgreSQL; statements
# are planned for their parameters there (crm/config.py), so the bound NEVER matches its constant.
NEVER = datetime(1, 1, 1, tzinfo=UTC)
LAST_TOUCH = sa.func.coalesce(Contact.last_activity_at, sa.literal(NEVER, UTCDateTime)).label("last_touch")


def sort_columns(sort: str) -> tuple[list, bool]:
    """The keyset columns of a sort and whether it is descending.

    "value_12m" is also the tier order: a tier is a band of the 12-month value (money cut-offs, or
    the cut-offs worked out from shares), recomputed with it. Among equal 12-month values the larger
    lifetime value comes first, so past customers (tier D, nothing in 12 months) come before those
    who never bought (no tier). Both figures are stored NOT NULL (0 without purchases): no coalesce.
    Migration 0040 indexes (workspace_id, value_12m, lifetime_value, id) for the live contacts."""
    return {
        "newest": ([Contact.created_at, Contact.id], True),
        "oldest": ([Contact.created_at, Contact.id], False),
        "name": ([by_name(Contact.name), Contact.id], False),  # ix_contacts_name_order (0055)
        "value_12m": ([Contact.value_12m, Contact.lifetime_value, Contact.id], True),
        "value": ([Contact.lifetime_value, Contact.id], True),
        "active": ([LAST_TOUCH, Contact.id], True),
        "quiet": ([LAST_TOUCH, Contact.id], False),
    }[sort]


def contacts_matching(statement: sa.Select, q: str, member: Membership) -> sa.Select:
    """Contacts whose search text holds every word of ``q``. The search text holds phone digits;
    a member who may not see phone numbers may not find contacts by them either (one digit at a
    time would give a number away): for them a word of digits must be in the name or an email
    address, checked on the rows the index found."""
    statement = matching(statement, Contact, q, db.engine.dialect.name, phone_region=g.workspace.phone_region)
    if member.can("contacts.sensitive"):
        return statement
    for word in search_words(q):
        if word.isdigit():
            pattern = f"%{word}%"
            shown = sa.or_(sa.func.lower(Contact.name).like(pattern), sa.cast(Contact.emails, sa.Text).like(pattern))
            statement = statement.where(shown)
    return statement


def _filtered(statement: sa.Select, state: ListState, member: Membership) -> sa.Select:
    statement = contacts_matching(statement, state.q, member)
    statement = owner_filter(statement, Contact.owner_id, state.owner, member)
    for name in ("lifecycle", "tier", "level"):
        if getattr(state, name):
            statement = statement.where(getattr(Contact, name) == getattr(state, name))
    if state.source:
        statement = statement.where(any_case(Contact.source) == any_case(state.source))
    if state.company:  # a number beyond any id names no company
        statement = statement.where(Contact.company_id == state.company if state.company <= MAX_ID else sa.false())
    for column, start, end in (
        (Contact.created_at, state.created_from, state.created_to),
        (Contact.last_activity_at, state.active_from, state.active_to),
    ):
        if start:  # the workspace's calendar days
            statement = statement.where(column >= day_start(start, g.workspace.timezone))
        if end:
            statement = statement.where(column < day_start(end + timedelta(days=1), g.workspace.timezone))
    for key, value in state.custom:
        statement = _custom_filter(statement, key, value)
    if state.tags:
        statement = statement.where(_tagged(state.tags, state.tag_match == "all"))
    return visible_to_member(statement, Contact.owner_id, member)


def _tagged(names: tuple[str, ...], every: bool):
    """Contacts with any (or ``every``) one of the tags ``names``. The tags' ids are looked up first
    (one query, by the unique (workspace_id, name) index) so the planner sees literals and their
    statistics: for a popular tag it then walks the list's sort index with an EXISTS probe of
    contact_tags' (workspace_id, tag_id, contact_id) index and stops after a page, instead of
    collecting every tagged contact (27k rows, 2 s) to sort them. "All" is one probe per tag."""
    if len(names) > MAX_TAGS:
        return sa.false()  # the list says why; fewer tags would change what the filter means
    tag_ids = list(db.session.scalars(sa.select(Tag.id).where(Tag.name.in_(names)).order_by(Tag.id)))
    if not tag_ids or (every and len(tag_ids) < len(names)):
        return sa.false()

    def having(tag_ids: list[int]):
        return sa.exists().where(
            ContactTag.workspace_id == Contact.workspace_id,
            ContactTag.contact_id == Contact.id,
            ContactTag.tag_id == tag_ids[0] if len(tag_ids) == 1 else ContactTag.tag_id.in_(tag_ids),
        )

    return sa.and_(*(having([tag_id]) for tag_id in tag_ids)) if every else having(tag_ids)


def _range_bound(kind: str, text: str):
    """A range end typed in the filter: a number or an ISO day, None when it is neither, or when it
    is not a number PostgreSQL's NUMERIC compares (NaN, infinity, 1e999999)."""
    try:
        bound = Decimal(text) if kind == "number" else date.fromisoformat(text).isoformat()
    except (ArithmeticError, ValueError):
        return None
    if kind == "number" and not (bound.is_finite() and abs(bound.adjusted()) < 30):
        return None
    return bound


def _ranged_field(definitions, key: str):
    """The number or date field a range end's ``key`` (``<field>_from``, ``<field>_to``) names, and the end."""
    base, _, end = key.rpartition("_")
    if any(f.key == key for f in definitions):  # a field's own key (made before keys avoided range ends)
        return None, end
    field = next((f for f in definitions if f.key == base and f.ranged), None)
    return (field, end) if field is not None and end in ("from", "to") else (None, end)


def _custom_range(statement: sa.Select, column, definitions, key: str, value: str) -> sa.Select:
    """One end of a number or date field's range. JSONB's GIN index cannot serve a range: the rows
    the other filters leave are read (a number is compared as a number, a day as ISO text). An end
    that is no number or day is left out (``ignored_filters`` names it to the member)."""
    field, end = _ranged_field(definitions, key)
    bound = _range_bound(field.kind, value) if field is not None else None
    if bound is None:
        return statement
    if db.engine.dialect.name == "postgresql":
        stored = sa.type_coerce(column, JSONB).op("->>")(field.key)
        stored = sa.cast(stored, sa.Numeric) if field.kind == "number" else stored
    else:
        stored = sa.func.json_extract(column, f'$."{field.key}"')
        bound = float(bound) if field.kind == "number" else bound
    return statement.where(stored >= bound if end == "from" else stored <= bound)


@dataclass(frozen=True)
class IgnoredFilter:
    """A filter of a link or a saved view that the list left out, for its notice: the filter's name
    as its panel shows it, the text it could not read, and what that should have been."""

    label: str
    text: str
    kind: str  # "date" or "number"


def ignored_filters(unreadable: tuple, custom: tuple, definitions) -> list[IgnoredFilter]:
    """The filters a list leaves out because their text is not what they take: day filters that are
    not days (a list state's ``unreadable``), and the ends of number and date custom fields' ranges
    that are not numbers or days."""
    ignored = [IgnoredFilter(str(DATE_LABELS[name]), text, "date") for name, text in unreadable]
    for key, value in custom:
        field, end = _ranged_field(definitions, key)
        if field is not None and _range_bound(field.kind, value) is None:
            label = _("%(field)s from", field=field.label) if end == "from" else _("%(field)s up to", field=field.label)
            ignored.append(IgnoredFilter(label, value[:40], field.kind))
    return ignored


def _custom_filter(statement: sa.Select, key: str, value: str) -> sa.Select:
    return custom_filter(statement, Contact.custom, custom_fields.definitions(g.workspace, "contact"), key, value)


def gone_filters(custom: tuple, definitions) -> list[str]:
    """The keys of a list state's custom filters that no field of the list filters by: its field
    was deleted since the link or the saved view was made, or is one lists cannot filter by (long
    text, sensitive). A range end that is a field's own key is that field's (``_ranged_field``)."""
    keys = {f.key for f in definitions}
    ends = {end for f in definitions if f.ranged for end in custom_fields.range_ends(f.key)} - keys
    filtered = {f.key for f in definitions if f.filterable} | ends
    return [key for key, _value in custom if key not in filtered]


def custom_filter(statement: sa.Select, column, definitions, key: str, value: str) -> sa.Select:
    """Equality on a custom field of ``column`` (a choice of a multi-select; "yes" for a checkbox);
    JSONB containment on PostgreSQL, served by the GIN index. A number or date field takes a range
    end instead (key ``<field>_from`` or ``<field>_to``). A field that no longer exists, or that
    cannot be filtered by (long text, sensitive), matches nothing: a saved view or a link on it must
    not become "everyone" (its bulk bar's "all matching" would change the whole workspace)."""
    if gone_filters(((key, value),), definitions):
        return statement.where(sa.false())
    field = next((f for f in definitions if f.key == key), None)
    if field is None:
        return _custom_range(statement, column, definitions, key, value)
    if field.kind == "checkbox" and value == "no":  # never ticked (no value stored) is "no" as well
        return statement.where(~_custom_equals(column, key, True, False))
    wanted = value == "yes" if field.kind == "checkbox" else value
    return statement.where(_custom_equals(column, key, wanted, field.kind == "multi_select"))


def _custom_equals(column, key: str, wanted, among: bool):
    """``column``'s ``key`` holds ``wanted`` (one of its values, when ``among``), in upper or lower
    case alike: JSONB containment of the lower-cased values on PostgreSQL, served by their GIN index
    (migration 0044); both sides are lowered by the database, so they fold alike. SQLite's lower()
    knows ASCII letters only: there both sides go through ``unicode_lower``, which lowers the others
    as PostgreSQL does (``crm.search.lower_as_postgresql``)."""
    if db.engine.dialect.name == "postgresql":
        wanted_json = json.dumps({key: [wanted] if among else wanted}, ensure_ascii=False)
        return _lowered_json(column).contains(_lowered_json(sa.literal(wanted_json, sa.Text)))
    path = f'$."{key}"'
    if not isinstance(wanted, str):  # a checkbox's True
        return sa.func.coalesce(sa.func.json_extract(column, path) == wanted, False)
    if among:
        items = sa.func.json_each(column, path).table_valued("value")
        matching = sa.func.unicode_lower(items.c.value) == sa.func.unicode_lower(wanted)
        return sa.exists(sa.select(1).select_from(items).where(matching))
    stored = sa.func.json_extract(column, path)
    return sa.func.coalesce(sa.func.unicode_lower(stored) == sa.func.unicode_lower(wanted), False)


def _lowered_json(value):
    """``lower(value::text)::jsonb``, as the index of migration 0044 is written."""
    return sa.cast(sa.func.lower(sa.cast(value, sa.Text)), JSONB)


def matching_contacts(state: ListState, member: Membership, statement: sa.Select | None = None) -> sa.Select:
    """Every live contact the list state selects (for the list, bulk actions and exports), unordered;
    ``statement`` chooses what is selected (default: the contacts)."""
    statement = sa.select(Contact) if statement is None else statement
    return _filtered(statement.where(Contact.deleted_at.is_(None)), state, member)


def _deleted(column, deleted: bool | None):
    """False: live rows only; True: soft-deleted only; None: either."""
    if deleted is None:
        return sa.true()
    return column.isnot(None) if deleted else column.is_(None)


def contact_or_none(contact_id: int, member: Membership, deleted: bool | None = False) -> Contact | None:
    """A contact the member may see, with company, owner and tags (live ones unless asked), in one
    query: its row comes once per tag."""
    statement = (
        sa.select(Contact)
        .where(Contact.id == contact_id, _deleted(Contact.deleted_at, deleted))
        .options(so.joinedload(Contact.company), Membership.shown_by_name(Contact.owner), so.joinedload(Contact.tags))
    )
    return db.session.scalars(visible_to_member(statement, Contact.owner_id, member)).unique().one_or_none()


def company_or_none(company_id: int, member: Membership, deleted: bool | None = False) -> Company | None:
    statement = (
        sa.select(Company)
        .where(Company.id == company_id, _deleted(Company.deleted_at, deleted))
        .options(Membership.shown_by_name(Company.owner))
    )
    return db.session.scalar(visible_to_member(statement, Company.owner_id, member))


def company_contacts(company: Company, member: Membership, limit: int = PER_PAGE) -> list[Contact]:
    statement = (
        sa.select(Contact)
        .where(Contact.company_id == company.id, Contact.deleted_at.is_(None))
        .order_by(by_name(Contact.name), Contact.id)
        .limit(limit)
    )
    return list(db.session.scalars(visible_to_member(statement, Contact.owner_id, member)))


def company_contact_choice(company: Company, contact_id: int | None, member: Membership) -> list[tuple[int, str]]:
    """``contact_id`` as the only choice of a company purchase's buyer, when it is a live contact of
    ``company`` the member may see (one query; none without an id, or for one past BIGINT)."""
    if contact_id is None or not 0 < contact_id < 2**63:
        return []
    statement = sa.select(Contact.id, Contact.name).where(
        Contact.id == contact_id, Contact.company_id == company.id, Contact.deleted_at.is_(None)
    )
    return [(row.id, row.name) for row in db.session.execute(visible_to_member(statement, Contact.owner_id, member))]


def company_contacts_named(company: Company, text: str, member: Membership, limit: int) -> list[sa.Row]:
    """Live contacts of ``company`` the member may see (id, name, emails) that ``text`` names: those
    with it as an email address or as their whole name (any case) when there are some, by name; else
    those whose search text holds every word of it, newest first. At most ``limit`` (two queries at most)."""
    text = " ".join(text.split())
    base = visible_to_member(
        sa.select(Contact.id, Contact.name, Contact.emails).where(
            Contact.company_id == company.id, Contact.deleted_at.is_(None)
        ),
        Contact.owner_id,
        member,
    )
    by_email = sa.select(ContactIdentity.contact_id).where(
        ContactIdentity.kind == "email", ContactIdentity.value == text.lower()
    )
    exact = base.where(sa.or_(Contact.id.in_(by_email), any_case(Contact.name) == any_case(text)))
    rows = db.session.execute(exact.order_by(by_name(Contact.name), Contact.id).limit(limit)).all()
    if rows or not text:
        return rows
    dialect, q = db.engine.dialect.name, text[:100]  # as long a search as the picker's
    order = search_order(q, dialect, [Contact.created_at, Contact.id], True)
    statement = matching(base, Contact, q, dialect).order_by(*(order or (Contact.created_at.desc(), Contact.id.desc())))
    return db.session.execute(statement.limit(limit)).all()


def company_choices(member: Membership, keep: int | None = None, limit: int = 500) -> list[tuple[int, str]]:
    """Companies for the contact form's select, by name: the live ones the member can open, and
    ``keep``, the contact's own company, which an edit must not drop unseen: one an "own records"
    member cannot open, or one in the trash (named so)."""
    live = sa.select(Company.id, Company.name).where(Company.deleted_at.is_(None))
    visible = visible_to_member(live, Company.owner_id, member).order_by(by_name(Company.name), Company.id).limit(limit)
    rows = [(row.id, row.name) for row in db.session.execute(visible)]
    if keep is not None and all(company_id != keep for company_id, _name in rows):
        kept = db.session.execute(sa.select(Company.name, Company.deleted_at).where(Company.id == keep)).first()
        if kept is not None:
            rows.append((keep, f"{kept.name} ({_('in the trash')})" if kept.deleted_at else kept.name))
    return rows


@dataclass(frozen=True)
class Roster:
    """The workspace's members, by name: everyone's name by membership id (a record's owner or a
    ticket's assignee may since have been disabled or removed), and the active members with their
    role's permissions."""

    names: dict[int, str]
    active: list[tuple[int, str, list[str]]]
    own_records_only: frozenset[int] = frozenset()  # members whose role sees only their own records
    user_names: dict[int, str] = field(default_factory=dict)  # the members' names by user id (who made an entry)
    statuses: dict[int, str] = field(default_factory=dict)  # every member's status by membership id

    @property
    def owner_choices(self) -> list[tuple[int, str]]:
        """Whom a record can go to: the active members."""
        return [(member_id, name) for member_id, name, _permissions in self.active]

    def owner_choices_keeping(self, keep: int | None) -> list[tuple[int, str]]:
        """The active members, and ``keep``, a record's own owner, when they are not one of them
        (disabled, or removed: named so): an edit form must show the owner it leaves in place, or
        saving it would quietly give the record to nobody."""
        choices = self.owner_choices
        if keep is None or any(member_id == keep for member_id, _name in choices):
            return choices
        return [*choices, (keep, self.former_member_name(keep))]

    def former_member_name(self, member_id: int) -> str:
        """The name of a member who is not active, with what became of them."""
        name = self.names.get(member_id)
        if name is None:
            return f"#{member_id}"
        if self.statuses.get(member_id) == DISABLED:
            return _("%(name)s (disabled)", name=name)
        return _("%(name)s (no longer a member)", name=name)

    def who_may_see(self, owner_id: int | None, permission: str = "contacts.read") -> list[tuple[int, str]]:
        """Active members who can open a record owned by ``owner_id``: their role reads that kind of
        record (``permission``) and their record scope allows it."""

        def may_open(member_id: int, permissions: list[str]) -> bool:
            return permission in permissions and (member_id not in self.own_records_only or member_id == owner_id)

        return [(member_id, name) for member_id, name, permissions in self.active if may_open(member_id, permissions)]

    def who_may(self, permission: str) -> list[tuple[int, str]]:
        return [(member_id, name) for member_id, name, permissions in self.active if permission in permissions]


def roster() -> Roster:
    """One query; a role's permissions are a JSON list, read here rather than in SQL."""
    rows = db.session.execute(
        sa.select(Membership.id, Membership.user_id, User.name, Membership.status, Role.permissions, Role.record_scope)
        .join(User, User.id == Membership.user_id)
        .join(Role, sa.and_(Role.workspace_id == Membership.workspace_id, Role.id == Membership.role_id))
        .order_by(User.name, Membership.id)
    ).all()
    active = [(row.id, row.name, row.permissions or []) for row in rows if row.status == ACTIVE]
    own_only = frozenset(row.id for row in rows if row.record_scope == "own")
    user_names = {row.user_id: row.name for row in rows}
    statuses = {row.id: row.status for row in rows}
    g.latest_roster = Roster({row.id: row.name for row in rows}, active, own_only, user_names, statuses)
    return g.latest_roster


def read_roster() -> Roster | None:
    """The roster this request read already, if any."""
    return g.get("latest_roster")


def member_names() -> dict[int, str]:
    """Every member's name by membership id, for display: the roster this request read last, else
    read now (one query at most per request for pages that show names only)."""
    return (g.get("latest_roster") or roster()).names


def owner_choices(keep: int | None = None) -> list[tuple[int, str]]:
    """Active members who may own records; with ``keep``, a record's current owner too, should they
    have been disabled or removed since (``Roster.owner_choices_keeping``). Bulk changes and new
    records offer the active members only."""
    return roster().owner_choices_keeping(keep)


def owner_filter_choices(member: Membership, current: str) -> list[tuple[str, str]]:
    """The lists' owner filter beyond "me" and "nobody": the active members, for a member who sees
    everyone's records (under "own records" the others' would list nothing, so only one the URL
    names), and the one the URL names if they have left, so the form never hides a filter that
    applies (one query)."""
    if own_records_only(member) and record_id(current) in (None, member.id):
        return []
    if own_records_only(member):  # a link or a shared view names a colleague: shown, so the empty list is explained
        return [(current, roster().names.get(int(current), f"#{current}"))]
    if record_id(current) is not None:  # the URL names a member: the whole roster, for their name
        members = roster()
        choices = [(str(member_id), name) for member_id, name in members.owner_choices]
        if current not in dict(choices):
            choices.append((current, members.names.get(int(current), f"#{current}")))
        return choices
    # The list's busiest load: memberships and names only (the roster joins the roles as well).
    statement = (
        sa.select(Membership.id, User.name)
        .join(User, User.id == Membership.user_id)
        .where(Membership.status == ACTIVE)
        .order_by(User.name, Membership.id)
    )
    return [(str(member_id), name) for member_id, name in db.session.execute(statement)]


def quick_search(q: str, member: Membership, limit: int = 8) -> tuple[list[Contact], list[Company]]:
    """The first contacts and companies matching ``q`` for the header's search box (two queries)."""
    if not q.strip():
        return [], []
    dialect = db.engine.dialect.name
    contacts = sa.select(Contact).where(Contact.deleted_at.is_(None)).options(so.joinedload(Contact.company))
    contacts = visible_to_member(contacts_matching(contacts, q, member), Contact.owner_id, member)
    companies = sa.select(Company).where(Company.deleted_at.is_(None))
    companies = matching(companies, Company, q, dialect, phone_region=g.workspace.phone_region)
    companies = visible_to_member(companies, Company.owner_id, member)
    contacts_order = search_order(q, dialect, [Contact.created_at, Contact.id], True)
    companies_order = search_order(q, dialect, [Company.created_at, Company.id], True)
    contacts = contacts.order_by(*(contacts_order or (Contact.created_at.desc(), Contact.id.desc())))
    companies = companies.order_by(*(companies_order or (Company.created_at.desc(), Company.id.desc())))
    return list(db.session.scalars(contacts.limit(limit))), list(db.session.scalars(companies.limit(limit)))


def tags_of(contact_ids: list[int]) -> dict[int, list[str]]:
    """{contact id: its tag names, sorted} for a batch of contacts (exports, the backup's CSV)."""
    rows = db.session.execute(
        sa.select(ContactTag.contact_id, Tag.name)
        .join(Tag, sa.and_(Tag.workspace_id == ContactTag.workspace_id, Tag.id == ContactTag.tag_id))
        .where(ContactTag.contact_id.in_(contact_ids))
        .order_by(Tag.name)
    )
    tags = defaultdict(list)
    for contact_id, name in rows:
        tags[contact_id].append(name)
    return tags


def tag_names(member: Membership, limit: int) -> list[str]:
    """The bound workspace's tags by name (served by its unique (workspace_id, name) index); for a
    member limited to their own records, only the tags of those."""
    statement = sa.select(Tag.name)
    if own_records_only(member):
        tagged = (
            sa.select(ContactTag.tag_id)
            .join(
                Contact, sa.and_(Contact.workspace_id == ContactTag.workspace_id, Contact.id == ContactTag.contact_id)
            )
            .where(Contact.deleted_at.is_(None))
        )
        statement = statement.where(Tag.id.in_(visible_to_member(tagged, Contact.owner_id, member)))
    return list(db.session.scalars(statement.order_by(Tag.name).limit(limit)))


def visible_contacts(contact_ids, member: Membership) -> dict[int, Contact]:
    """Those live contacts of ``contact_ids`` the member may see, by id (no query for none)."""
    ids = list(contact_ids)
    if not ids:
        return {}
    statement = sa.select(Contact).where(Contact.id.in_(ids), Contact.deleted_at.is_(None))
    return {
        contact.id: contact for contact in db.session.scalars(visible_to_member(statement, Contact.owner_id, member))
    }
