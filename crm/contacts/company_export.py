"""The companies list as a CSV or XLSX file: the companies its search and filters select (or the
ticked ones of them), within the member's record scope, in the list's sort, read a batch at a time
by the sort's keyset as plain rows (constant memory), as the contacts export is. Sensitive custom
fields are masked without contacts.sensitive.

The country comes twice: its ISO code under "Country code" (what the company form and the import
take: a file exported here imports back, the import giving its country to the first column it
recognises, the code) and, after it, its name in the member's language under "Country", as the
list shows it, for reading in a spreadsheet."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from crm.auth.models import User
from crm.contacts.company_list import SORT_COLUMNS, CompanyListState, matching_companies
from crm.contacts.models import Company
from crm.csv_stream import csv_row
from crm.custom_fields import reserved
from crm.custom_fields.service import FieldDef, export_value
from crm.extensions import db
from crm.i18n import in_zone
from crm.i18n import lazy_gettext as _l
from crm.pagination import keyset
from crm.search import search_order
from crm.tenancy import bind_workspace
from crm.workspaces.models import Membership

BATCH = 1000
HEADER = (_l("Company name"), _l("Industry"), _l("Size (staff)"), _l("Website"), _l("Phone"), _l("Owner"),
          _l("Customer since"), _l("Street"), _l("City"), _l("Region or state"), _l("Postal code"),
          _l("Country code"), _l("Country"), _l("Notes"), _l("Added"))  # fmt: skip
FIELDS = ("name", "industry", "size", "website", "phone")
AFTER_OWNER = ("customer_since", "street", "city", "region", "postal_code", "country", "country_name", "notes",
               "created_at")  # fmt: skip
READ = tuple(name for name in AFTER_OWNER if name != "country_name")  # the stored ones


@dataclass(frozen=True)
class Plan:
    state: CompanyListState  # the list's search and filters
    member: Membership
    fields: list[FieldDef]
    sensitive: bool
    zone: str  # the workspace's time zone: a time is exported as the day it fell on there
    ids: list[int]  # the bulk bar's ticked companies; empty: all the list selects
    countries: dict[str, str]  # country names by code, in the member's language (CSV rows are read after the view)


def _cell(value, zone: str):
    """A time as the day it fell on where the workspace is; a day (customer since) as it is. Both a
    date: a date cell in an XLSX file, 2026-03-01 in a CSV file."""
    return in_zone(value, zone).date() if isinstance(value, datetime) else value


def _statement(plan: Plan) -> sa.Select:
    columns = [Company.id, *(Company.__table__.c[name] for name in (*FIELDS, *READ)), Company.custom]
    statement = (
        sa.select(*columns, User.name.label("owner_name"))
        .outerjoin(Membership, sa.and_(Membership.workspace_id == Company.workspace_id,
                                       Membership.id == Company.owner_id))
        .outerjoin(User, User.id == Membership.user_id)
    )  # fmt: skip
    statement = matching_companies(plan.state, plan.member, plan.fields, plan.zone, statement)
    return statement.where(Company.id.in_(plan.ids)) if plan.ids else statement


def _batches(statement: sa.Select, state: CompanyListState):
    """The rows in the list's order, a keyset page of BATCH at a time (its sort index serves each)."""
    columns, descending = SORT_COLUMNS[state.sort]
    order = search_order(state.q, db.engine.dialect.name, list(columns), descending)
    after = None
    while True:
        page = keyset(db.session, statement, list(columns), after, BATCH, descending, scalars=False, order=order)
        if page.items:
            yield page.items
        if page.next_cursor is None:
            return
        after = page.next_cursor


def rows(plan: Plan) -> Iterator[list]:
    """The header, then one list of cell values per company."""
    yield [str(label) for label in HEADER] + [reserved.header(field) for field in plan.fields]
    for batch in _batches(_statement(plan), plan.state):
        for row in batch:
            cells = [getattr(row, name) for name in FIELDS] + [row.owner_name or ""]
            for name in AFTER_OWNER:
                if name == "country_name":
                    cells.append(plan.countries.get(row.country, row.country) if row.country else "")
                else:
                    cells.append(_cell(getattr(row, name), plan.zone))
            custom = row.custom or {}
            yield cells + [export_value(field, custom.get(field.key), reveal=plan.sensitive) for field in plan.fields]


def csv_lines(workspace_id: int, plan: Plan) -> Iterator[str]:
    """``rows`` as CSV lines, read while the response streams (so the workspace is bound again)."""
    bind_workspace(workspace_id)
    for row in rows(plan):
        yield csv_row(row)
