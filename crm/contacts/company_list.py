"""The companies list: its state in the URL (search, owner, industry, size, custom fields, sort and
the custom columns shown) and its keyset pages. The same selection feeds the export.

``CompanyListState.from_args`` drops unknown or malformed values, so a shared or old link still
opens; ``as_args`` writes the state back for "load more", the export links and the address bar."""

from dataclasses import dataclass

import sqlalchemy as sa

from crm.contacts.forms import SIZE_LABELS
from crm.contacts.list_view import CUSTOM_NAME
from crm.contacts.models import Company
from crm.contacts.queries import PER_PAGE, custom_filter, owner_filter
from crm.custom_fields.service import FieldDef
from crm.extensions import db
from crm.i18n import lazy_gettext as _l
from crm.pagination import Page, keyset
from crm.permissions import visible_to_member
from crm.search import matching, search_order
from crm.workspaces.models import Membership

SORTS = {"newest": _l("Newest first"), "oldest": _l("Oldest first"), "name": _l("Name, A to Z")}
SORT_COLUMNS = {  # the keyset columns of each sort, and whether it is descending
    "newest": ((Company.created_at, Company.id), True),
    "oldest": ((Company.created_at, Company.id), False),
    "name": ((Company.name, Company.id), False),  # ix_companies_workspace_id_name
}
SIZES = tuple(size for size in SIZE_LABELS if size)


@dataclass(frozen=True)
class CompanyListState:
    q: str = ""
    owner: str = ""  # "me", "none" or a membership id
    industry: str = ""  # the whole industry, in any case
    size: str = ""
    sort: str = "newest"
    custom: tuple = ()  # (key, value) pairs of custom field filters
    columns: tuple = ()  # the custom fields shown as columns ("cf_<key>")

    @classmethod
    def from_args(cls, args) -> "CompanyListState":
        owner, size, sort = args.get("owner", ""), args.get("size", ""), args.get("sort", "")
        return cls(
            q=args.get("q", "").strip()[:100],
            owner=owner if owner in ("me", "none") or owner.isdigit() else "",
            industry=args.get("industry", "").strip()[:100],
            size=size if size in SIZES else "",
            sort=sort if sort in SORTS else "newest",
            custom=tuple(
                (name[3:], value.strip()[:100])
                for name, value in args.items()
                if CUSTOM_NAME.fullmatch(name) and value.strip()
            ),
            columns=tuple(name for name in args.getlist("cols") if CUSTOM_NAME.fullmatch(name)),
        )

    @property
    def active(self) -> bool:
        """Whether anything narrows the list (sort and columns do not)."""
        return bool(self.q or self.owner or self.industry or self.size or self.custom)

    @property
    def filter_count(self) -> int:
        """How many fields of the list's filter panel narrow it (the search box is always in sight)."""
        return sum(1 for value in (self.owner, self.industry, self.size) if value) + len(self.custom)

    def as_args(self, **changes) -> dict:
        args = {"q": self.q, "owner": self.owner, "industry": self.industry, "size": self.size,
                "sort": "" if self.sort == "newest" else self.sort, "cols": list(self.columns),
                **{f"cf_{key}": value for key, value in self.custom}, **changes}  # fmt: skip
        return {key: value for key, value in args.items() if value}

    def custom_value(self, key: str) -> str:
        return dict(self.custom).get(key, "")


def matching_companies(
    state: CompanyListState, member: Membership, definitions: list[FieldDef], statement: sa.Select | None = None
) -> sa.Select:
    """Every live company the state selects within the member's record scope, unordered;
    ``statement`` chooses what is selected (default: the companies)."""
    statement = sa.select(Company) if statement is None else statement
    statement = matching(statement.where(Company.deleted_at.is_(None)), Company, state.q, db.engine.dialect.name)
    statement = owner_filter(statement, Company.owner_id, state.owner, member)
    if state.industry:
        statement = statement.where(sa.func.lower(Company.industry) == state.industry.lower())
    if state.size:
        statement = statement.where(Company.size == state.size)
    for key, value in state.custom:
        statement = custom_filter(statement, Company.custom, definitions, key, value)
    return visible_to_member(statement, Company.owner_id, member)


def company_page(state: CompanyListState, after: str | None, member: Membership, definitions: list[FieldDef]) -> Page:
    """One page of the list (their owners named, in the same query), keyset-paged in the state's sort."""
    columns, descending = SORT_COLUMNS[state.sort]
    statement = sa.select(Company).options(Membership.shown_by_name(Company.owner))
    statement = matching_companies(state, member, definitions, statement)
    order = search_order(state.q, db.engine.dialect.name, list(columns), descending)
    return keyset(db.session, statement, list(columns), after, PER_PAGE, descending, order=order)
