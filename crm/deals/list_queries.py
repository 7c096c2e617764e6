"""The deals list beside the board: one pipeline's deals as table rows, filtered like the board
(crm/deals/queries.py BoardFilters) plus a status, sorted by any column, keyset-paginated.

All of it lives in the URL (``ListView.from_args`` / ``as_args``); an unknown sort or status falls
back to the default, as the board's filters do. A page is one query whatever its depth: the page's
deals are found first by their sort key after the cursor (the last row's key, crm/pagination.py,
never an OFFSET), and only those 50 are joined to the customer, stage and owner names they show, as
plain columns. Sorting by a name joins its table for the search of the page only. Every query
applies the member's record scope and hides deleted deals.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.auth.models import User
from crm.contacts.models import Company, Contact
from crm.deals.models import LOST, OPEN, WON, Deal, LostReason, Stage, display_name
from crm.deals.queries import BoardFilters
from crm.extensions import db
from crm.i18n import lazy_gettext as _l
from crm.pagination import Page, after_key, decode_cursor, encode_cursor
from crm.permissions import visible_to_member
from crm.sorting import by_name
from crm.workspaces.models import Membership

PER_PAGE = 50
ALL = "all"
STATUSES = {OPEN: _l("Open"), WON: _l("Won"), LOST: _l("Lost"), ALL: _l("All")}
SORTS = {
    "title": _l("Title"),
    "customer": _l("Customer"),
    "value": _l("Value"),
    "stage": _l("Stage"),
    "owner": _l("Owner"),
    "close": _l("Expected close date"),
    "status": _l("Status"),
    "created": _l("Added"),
}
# First click on a column sorts it this way (True: descending); a second click reverses it.
DESCENDING_FIRST = frozenset({"value", "created"})
DEFAULT_SORT = "-created"
# Deals without an expected close date come last whichever way the dates are sorted.
NO_DATE_LAST = {False: date(9999, 12, 31), True: date(1, 1, 1)}


@dataclass(frozen=True)
class ListView:
    filters: BoardFilters = field(default_factory=BoardFilters)
    status: str = OPEN
    sort: str = DEFAULT_SORT  # a key of SORTS, "-" in front for descending

    @classmethod
    def from_args(cls, args) -> "ListView":
        status = args.get("status", OPEN)
        sort = args.get("sort", DEFAULT_SORT)
        return cls(
            filters=BoardFilters.from_args(args),
            status=status if status in STATUSES else OPEN,
            sort=sort if sort.removeprefix("-") in SORTS else DEFAULT_SORT,
        )

    @property
    def key(self) -> str:
        return self.sort.removeprefix("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    def as_args(self, **changes) -> dict[str, str]:
        """The non-default state as query arguments (``changes`` replace some: ``sort="title"``)."""
        args = {**self.filters.as_args(), "status": self.status, "sort": self.sort, **changes}
        defaults = {"status": OPEN, "sort": DEFAULT_SORT}
        return {key: value for key, value in args.items() if value != defaults.get(key)}

    def sort_args(self, key: str) -> dict[str, str]:
        """The arguments of a column heading's link: reverses the current sort, else its first way."""
        descending = not self.descending if key == self.key else key in DESCENDING_FIRST
        return self.as_args(sort=f"-{key}" if descending else key)


@dataclass(frozen=True, slots=True)
class ListRow:
    id: int
    title: str
    value: Decimal
    currency: str
    status: str
    stage_name: str
    expected_close_on: date | None
    created_at: datetime
    contact_id: int | None
    contact_name: str | None
    company_id: int | None
    company_name: str | None
    owner_name: str | None
    # Whether the row may link its contact's and company's pages (crm.permissions.may_open).
    contact_deleted_at: datetime | None
    contact_owner_id: int | None
    company_deleted_at: datetime | None
    company_owner_id: int | None


class _Joined:
    """The tables joined for names. Aliases, so that the filters' own subqueries on contacts and
    companies (search, customer) are not correlated with these joins."""

    def __init__(self):
        self.contact = so.aliased(Contact)
        self.company = so.aliased(Company)
        self.owner = so.aliased(User)


JOINED = _Joined()  # made once: SQLAlchemy analyses a fresh alias again on every statement


def _sort_columns(view: ListView, joined: _Joined) -> list:
    """The keyset columns of the view's sort: non-null, the last one the deal's id. Texts in the order
    people read them (crm/sorting.py); the pipeline's deals are sorted, no index serves these."""
    keys = {
        "title": [by_name(Deal.title)],
        "customer": [by_name(sa.func.coalesce(joined.contact.name, joined.company.name, ""))],
        "value": [Deal.value],
        "stage": [Stage.position, Deal.position],
        "owner": [by_name(sa.func.coalesce(joined.owner.name, ""))],
        "close": [sa.func.coalesce(Deal.expected_close_on, NO_DATE_LAST[view.descending])],
        "status": [Deal.status],
        "created": [Deal.created_at],
    }
    return [*keys[view.key], Deal.id]


def _joins(statement: sa.Select, joined: _Joined, names=("stage", "customer", "owner")) -> sa.Select:
    """``statement`` (about deals) joined to the tables of the ``names`` it shows or sorts by."""
    if "stage" in names:
        statement = statement.join(Stage, sa.and_(Stage.workspace_id == Deal.workspace_id, Stage.id == Deal.stage_id))
    if "customer" in names:
        contact, company = joined.contact, joined.company
        statement = statement.outerjoin(
            contact, sa.and_(contact.workspace_id == Deal.workspace_id, contact.id == Deal.contact_id)
        ).outerjoin(company, sa.and_(company.workspace_id == Deal.workspace_id, company.id == Deal.company_id))
    if "owner" in names:
        statement = statement.outerjoin(
            Membership, sa.and_(Membership.workspace_id == Deal.workspace_id, Membership.id == Deal.owner_id)
        ).outerjoin(joined.owner, joined.owner.id == Membership.user_id)
    return statement


def _selected(statement: sa.Select, pipeline_id: int, view: ListView, member: Membership) -> sa.Select:
    """The live deals of the pipeline that the view's status and filters keep, in the member's scope."""
    statement = statement.where(Deal.pipeline_id == pipeline_id, Deal.deleted_at.is_(None))
    if view.status != ALL:
        statement = statement.where(Deal.status == view.status)
    return visible_to_member(view.filters.apply(statement, member), Deal.owner_id, member)


def _shown(joined: _Joined) -> list:
    """What a row shows (``ListRow``)."""
    return [
        Deal.id, Deal.title, Deal.value, Deal.currency, Deal.status, Stage.name.label("stage_name"),
        Deal.expected_close_on, Deal.created_at, Deal.contact_id, joined.contact.name.label("contact_name"),
        Deal.company_id, joined.company.name.label("company_name"), joined.owner.name.label("owner_name"),
    ]  # fmt: skip


def _link_checks(joined: _Joined) -> list:
    """What a row's links to its customer's pages depend on: their trash time and owner."""
    contact, company = joined.contact, joined.company
    return [
        contact.deleted_at.label("contact_deleted_at"), contact.owner_id.label("contact_owner_id"),
        company.deleted_at.label("company_deleted_at"), company.owner_id.label("company_owner_id"),
    ]  # fmt: skip


def _page_keys(pipeline_id: int, view: ListView, member: Membership, after: str | None) -> sa.Subquery:
    """The sort keys (``key_0``... ``key_n``, the deal's id) of the page's deals and of one more,
    read with only the joins the sort needs; the cursor is the last row's keys, never an OFFSET."""
    joined = JOINED
    keys = _sort_columns(view, joined)
    found = _selected(_joins(sa.select(*(key.label(f"key_{n}") for n, key in enumerate(keys))), joined, [view.key]),
                      pipeline_id, view, member)  # fmt: skip
    if after:
        cursor = tuple(decode_cursor(after, keys))
        found = found.where(after_key(keys, cursor, view.descending))
    return found.order_by(*(key.desc() if view.descending else key for key in keys)).limit(PER_PAGE + 1).subquery()


def deal_rows(pipeline_id: int, view: ListView, member: Membership, after: str | None) -> Page:
    """One page of the list as ``ListRow``s after the cursor ``after`` (one query): the page's deals
    are found first, then only they are joined to the names they show (and to what their links
    depend on)."""
    page = _page_keys(pipeline_id, view, member, after)
    keys = list(page.c)
    joined = JOINED
    shown = sa.select(*_shown(joined), *_link_checks(joined), *keys)
    statement = _joins(shown.select_from(page).join(Deal, Deal.id == keys[-1]), joined)
    rows = db.session.execute(statement.order_by(*(key.desc() if view.descending else key for key in keys))).all()
    more = len(rows) > PER_PAGE
    items = [
        ListRow(**{name: getattr(row, name) for name in ListRow.__slots__ if name != "stage_name"},
                stage_name=display_name(row.stage_name))
        for row in rows[:PER_PAGE]
    ]  # fmt: skip
    return Page(items, encode_cursor([getattr(rows[PER_PAGE - 1], key.key) for key in keys]) if more else None)


def export_statement(pipeline_id: int, view: ListView, member: Membership) -> sa.Select:
    """Every deal the view selects, unordered and unpaged, with the names an export shows."""
    joined = JOINED
    statement = _selected(_joins(sa.select(*_shown(joined)), joined), pipeline_id, view, member)
    reason = sa.and_(LostReason.workspace_id == Deal.workspace_id, LostReason.id == Deal.lost_reason_id)
    return statement.outerjoin(LostReason, reason).add_columns(
        Deal.closed_on, LostReason.name.label("lost_reason_name"), Deal.lost_reason, Deal.notes
    )
