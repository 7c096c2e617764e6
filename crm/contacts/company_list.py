"""The companies list: its state in the URL (search, owner, industry, size, the day added, custom
fields, sort and the columns shown beyond name, industry, website and owner) and its keyset pages. The
same selection feeds the export.

``CompanyListState.from_args`` drops unknown or malformed values, so a shared or old link still
opens; ``as_args`` writes the state back for "load more", the export links and the address bar."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import format_date, get_locale

from crm.contacts import phones
from crm.contacts.forms import SIZE_LABELS
from crm.contacts.list_view import CUSTOM_NAME, day_arg, unreadable_days
from crm.contacts.models import Company
from crm.contacts.queries import PER_PAGE, custom_filter, owner_filter
from crm.custom_fields.service import FieldDef
from crm.extensions import db
from crm.i18n import day_start, in_zone
from crm.i18n import lazy_gettext as _l
from crm.pagination import Page, keyset
from crm.permissions import visible_to_member
from crm.search import any_case, matching, search_order
from crm.security import digits
from crm.sorting import by_name
from crm.workspaces.models import Membership

SORTS = {"newest": _l("Newest first"), "oldest": _l("Oldest first"), "name": _l("Name, A to Z")}
SORT_COLUMNS = {  # the keyset columns of each sort, and whether it is descending
    "newest": ((Company.created_at, Company.id), True),
    "oldest": ((Company.created_at, Company.id), False),
    "name": ((by_name(Company.name), Company.id), False),  # ix_companies_name_order (0055)
}
SIZES = tuple(size for size in SIZE_LABELS if size)
# The built-in columns a member may add after name, industry, website and owner (always shown), in
# the order they are shown; chosen custom fields come after them.
COLUMNS = {"phone": _l("Phone"), "city": _l("City"), "country": _l("Country"),
           "customer_since": _l("Customer since"), "size": _l("Size (staff)"), "created": _l("Added")}  # fmt: skip


@dataclass(frozen=True)
class CompanyListState:
    q: str = ""
    owner: str = ""  # "me", "none" or a membership id
    industry: str = ""  # the whole industry, in any case
    size: str = ""
    created_from: date | None = None  # days where the workspace is
    created_to: date | None = None
    sort: str = "newest"
    custom: tuple = ()  # (key, value) pairs of custom field filters
    columns: tuple = ()  # the columns added: built-in ones (COLUMNS' keys), then custom fields ("cf_<key>")
    unreadable: tuple = ()  # (name, text) of day filters left out: not days (list_view.unreadable_days)

    @classmethod
    def from_args(cls, args) -> "CompanyListState":
        owner, size, sort = args.get("owner", ""), args.get("size", ""), args.get("sort", "")
        asked = args.getlist("cols")
        return cls(
            q=args.get("q", "").strip()[:100],
            owner=owner if owner in ("me", "none") or digits(owner) is not None else "",
            industry=args.get("industry", "").strip()[:100],
            size=size if size in SIZES else "",
            created_from=day_arg(args.get("created_from", "")),
            created_to=day_arg(args.get("created_to", "")),
            sort=sort if sort in SORTS else "newest",
            custom=tuple(
                (name[3:], value.strip()[:100])
                for name, value in args.items()
                if CUSTOM_NAME.fullmatch(name) and value.strip()
            ),
            columns=tuple(name for name in COLUMNS if name in asked)
            + tuple(dict.fromkeys(name for name in asked if CUSTOM_NAME.fullmatch(name))),
            unreadable=unreadable_days(args, ("created_from", "created_to")),
        )

    @property
    def active(self) -> bool:
        """Whether anything narrows the list (sort and columns do not)."""
        return bool(self.q or self.filter_count)

    @property
    def filter_count(self) -> int:
        """How many fields of the list's filter panel narrow it (the search box is always in sight)."""
        panel = (self.owner, self.industry, self.size, self.created_from, self.created_to)
        return sum(1 for value in panel if value) + len(self.custom)

    def as_args(self, **changes) -> dict:
        args = {"q": self.q, "owner": self.owner, "industry": self.industry, "size": self.size,
                "created_from": self.created_from.isoformat() if self.created_from else "",
                "created_to": self.created_to.isoformat() if self.created_to else "",
                "sort": "" if self.sort == "newest" else self.sort, "cols": list(self.columns),
                **{f"cf_{key}": value for key, value in self.custom}, **changes}  # fmt: skip
        return {key: value for key, value in args.items() if value}

    @property
    def shown_columns(self) -> list[str]:
        """The built-in columns added, in their order."""
        return [name for name in self.columns if name in COLUMNS]

    def custom_value(self, key: str) -> str:
        return dict(self.custom).get(key, "")


def matching_companies(
    state: CompanyListState,
    member: Membership,
    definitions: list[FieldDef],
    zone: str,
    statement: sa.Select | None = None,
) -> sa.Select:
    """Every live company the state selects within the member's record scope, unordered;
    ``statement`` chooses what is selected (default: the companies). ``zone`` is the workspace's
    time zone: "added from" and "added until" are days there (served by
    ix_companies_workspace_id_created_at)."""
    statement = sa.select(Company) if statement is None else statement
    live = statement.where(Company.deleted_at.is_(None))
    statement = matching(live, Company, state.q, db.engine.dialect.name, phone_region=member.workspace.phone_region)
    statement = owner_filter(statement, Company.owner_id, state.owner, member)
    if state.industry:
        statement = statement.where(any_case(Company.industry) == any_case(state.industry))
    if state.size:
        statement = statement.where(Company.size == state.size)
    if state.created_from:
        statement = statement.where(Company.created_at >= day_start(state.created_from, zone))
    if state.created_to:
        statement = statement.where(Company.created_at < day_start(state.created_to + timedelta(days=1), zone))
    for key, value in state.custom:
        statement = custom_filter(statement, Company.custom, definitions, key, value)
    return visible_to_member(statement, Company.owner_id, member)


def company_page(
    state: CompanyListState, after: str | None, member: Membership, definitions: list[FieldDef], zone: str
) -> Page:
    """One page of the list (their owners named, in the same query), keyset-paged in the state's sort."""
    columns, descending = SORT_COLUMNS[state.sort]
    statement = sa.select(Company).options(Membership.shown_by_name(Company.owner))
    statement = matching_companies(state, member, definitions, zone, statement)
    order = search_order(state.q, db.engine.dialect.name, list(columns), descending)
    return keyset(db.session, statement, list(columns), after, PER_PAGE, descending, order=order)


def cell_writer(shown: list[str], region: str, zone: str) -> Callable[[Company], list[str]]:
    """The texts of a company's ``shown`` built-in columns, as its page shows them: a phone number in
    national form for the workspace's region (international otherwise), a country by its name in the
    member's language, days in the member's format, the day added where the workspace is."""
    countries = get_locale().territories

    def text(company: Company, name: str) -> str:
        value = company.created_at if name == "created" else getattr(company, name)
        if not value:
            return ""
        if name == "phone":
            return phones.display(value, region)
        if name == "country":
            return countries.get(value, value)
        if name == "customer_since":
            return format_date(value)
        if name == "created":
            return format_date(in_zone(value, zone).date())
        return value

    return lambda company: [text(company, name) for name in shown]
