"""The contacts list as a CSV or XLSX file: every contact the list state selects, in the list's sort,
read a batch at a time by its keyset as plain rows (no ORM objects, so memory stays constant), tags
a batch at a time.

Columns: with columns chosen on the list, the name and those columns (every email address and phone
number, not only the first); on the list's default columns, every field the member may see. Phones,
birthday and address only for members with contacts.sensitive; sensitive custom fields masked
without it. Both formats take their rows from ``rows`` (CSV and XLSX hold the same cells): days and
times as dates, which an XLSX file keeps as date cells and a CSV file writes as ISO text.

The country comes twice, as in the companies export: its ISO code under "Country code" (what the
contact form and the import take: the import gives its country to the first column it recognises,
the code, and leaves the name) and, after it, its name in the member's language under "Country"."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from crm.auth.models import User
from crm.contacts import queries
from crm.contacts.list_view import ListState
from crm.contacts.models import Company, Contact
from crm.csv_stream import csv_row
from crm.custom_fields import reserved
from crm.custom_fields.service import FieldDef, export_value
from crm.extensions import db
from crm.i18n import in_zone
from crm.i18n import lazy_gettext as _l
from crm.pagination import keyset, row_column
from crm.search import search_order
from crm.tenancy import bind_workspace
from crm.workspaces.models import Membership

BATCH = 1000


def _day(moment) -> date | None:
    """A stored day (a purchase's, kept as its midnight in UTC)."""
    return moment.date() if moment else None


def _local_day(moment, zone: str) -> date | None:
    """The day a stored time fell on where the workspace is, as the list shows it."""
    return in_zone(moment, zone).date() if moment else None


def _local_time(moment, zone: str) -> datetime | None:
    return in_zone(moment, zone) if moment else None


def _csv_cell(value):
    """Days are written 2026-12-07 as they are; a time to the minute with its offset, 2026-12-07T04:30+08:00."""
    return value.isoformat(timespec="minutes") if isinstance(value, datetime) else value


def _country_name(row, labels: dict) -> str:
    return labels["countries"].get(row.country, row.country) if row.country else ""


def _joined(values) -> str:
    return "; ".join(values or ())


@dataclass(frozen=True)
class Column:
    label: str
    reads: tuple  # what it selects
    value: Callable  # (row, tags of the row, labels) -> cell value
    sensitive: bool = False


COLUMNS = {
    "name": Column(_l("Name"), (Contact.name,), lambda row, tags, labels: row.name),
    "emails": Column(_l("Email addresses"), (Contact.emails,), lambda row, tags, labels: _joined(row.emails)),
    "company": Column(_l("Company"), (Company.name.label("company_name"),),
                      lambda row, tags, labels: row.company_name or ""),
    "title": Column(_l("Job title"), (Contact.title,), lambda row, tags, labels: row.title),
    "owner": Column(_l("Owner"), (User.name.label("owner_name"),), lambda row, tags, labels: row.owner_name or ""),
    "lifecycle": Column(_l("Lifecycle"), (Contact.lifecycle,),
                        lambda row, tags, labels: labels["lifecycle"].get(row.lifecycle, row.lifecycle)),
    "tier": Column(_l("Tier"), (Contact.tier,), lambda row, tags, labels: row.tier),
    "level": Column(_l("Customer level"), (Contact.level,),
                    lambda row, tags, labels: labels["level"].get(row.level, row.level)),
    "value": Column(_l("Lifetime value"), (Contact.lifetime_value,), lambda row, tags, labels: row.lifetime_value),
    "value_12m": Column(_l("Value, last 12 months"), (Contact.value_12m,), lambda row, tags, labels: row.value_12m),
    "last_purchase": Column(_l("Last purchase"), (Contact.last_purchase_at,),
                            lambda row, tags, labels: _day(row.last_purchase_at)),
    "last_activity": Column(_l("Last activity"), (Contact.last_activity_at,),
                            lambda row, tags, labels: _local_time(row.last_activity_at, labels["zone"])),
    "source": Column(_l("Source"), (Contact.source,), lambda row, tags, labels: row.source),
    "tags": Column(_l("Tags"), (), lambda row, tags, labels: ", ".join(tags)),
    "created": Column(_l("Added"), (Contact.created_at,),
                      lambda row, tags, labels: _local_day(row.created_at, labels["zone"])),
    "phones": Column(_l("Phone numbers"), (Contact.phones,), lambda row, tags, labels: _joined(row.phones), True),
    "birthday": Column(_l("Birthday"), (Contact.birthday,),
                       lambda row, tags, labels: row.birthday, True),
    "street": Column(_l("Street"), (Contact.street,), lambda row, tags, labels: row.street, True),
    "city": Column(_l("City"), (Contact.city,), lambda row, tags, labels: row.city, True),
    "region": Column(_l("Region or state"), (Contact.region,), lambda row, tags, labels: row.region, True),
    "postal_code": Column(_l("Postal code"), (Contact.postal_code,), lambda row, tags, labels: row.postal_code, True),
    "country": Column(_l("Country code"), (Contact.country,), lambda row, tags, labels: row.country, True),
    "country_name": Column(_l("Country"), (Contact.country,), lambda row, tags, labels: _country_name(row, labels),
                           True),
}  # fmt: skip
# The list's columns (crm.contacts.list_view.COLUMNS) as export columns.
FROM_LIST = {"company": "company", "email": "emails", "phone": "phones", "owner": "owner", "lifecycle": "lifecycle",
             "tier": "tier", "level": "level", "value": "value", "value_12m": "value_12m",
             "last_activity": "last_activity", "source": "source", "created": "created"}  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """What one export holds: the list state's contacts (or its ticked ``ids``) as seen by ``member``."""

    state: ListState
    member: Membership
    keys: list[str]  # of COLUMNS
    fields: list[FieldDef]  # custom fields, after the columns
    sensitive: bool  # the member has contacts.sensitive
    labels: dict  # lifecycle, level and country names, translated beforehand (CSV rows are read after the view),
    # and the time zone ("zone") its times are written in
    ids: list[int]


def columns_of(state: ListState, chosen: bool, sensitive: bool, custom: dict[str, FieldDef]) -> tuple[list, list]:
    """The export's columns and custom fields: the list's chosen ones (``chosen``: the URL names
    columns), or every one the member may see."""
    if not chosen:
        return [key for key in COLUMNS if sensitive or not COLUMNS[key].sensitive], list(custom.values())
    shown = state.shown(sensitive, custom)
    return ["name", *(FROM_LIST[key] for key in shown if key in FROM_LIST)], [custom[k] for k in shown if k in custom]


def _select(keys: list[str], fields: list[FieldDef], sort_columns: list) -> sa.Select:
    reads = {column.key: column for column in map(row_column, sort_columns)}
    for key in keys:
        reads.update({column.key: column for column in COLUMNS[key].reads})
    if fields:
        reads[Contact.custom.key] = Contact.custom
    statement = sa.select(*reads.values())
    if "company" in keys:
        statement = statement.outerjoin(
            Company, sa.and_(Company.workspace_id == Contact.workspace_id, Company.id == Contact.company_id)
        )
    if "owner" in keys:
        statement = statement.outerjoin(
            Membership, sa.and_(Membership.workspace_id == Contact.workspace_id, Membership.id == Contact.owner_id)
        ).outerjoin(User, User.id == Membership.user_id)
    return statement


def _batches(statement: sa.Select, state: ListState):
    """The rows in the list's order, a keyset page of BATCH at a time (its sort index serves each)."""
    columns, descending = queries.sort_columns(state.sort)
    order = search_order(state.q, db.engine.dialect.name, columns, descending)
    after = None
    while True:
        page = keyset(db.session, statement, columns, after, BATCH, descending, scalars=False, order=order)
        if page.items:
            yield page.items
        if page.next_cursor is None:
            return
        after = page.next_cursor


def rows(plan: Plan) -> Iterator[list]:
    """The header, then one list of cell values per contact."""
    keys, fields = plan.keys, plan.fields
    yield [str(COLUMNS[key].label) for key in keys] + [reserved.header(field) for field in fields]
    sort_columns, _descending = queries.sort_columns(plan.state.sort)
    statement = queries.matching_contacts(plan.state, plan.member, _select(keys, fields, sort_columns))
    if plan.ids:  # a ticked selection
        statement = statement.where(Contact.id.in_(plan.ids))
    values = [COLUMNS[key].value for key in keys]
    for batch in _batches(statement, plan.state):
        tags = queries.tags_of([row.id for row in batch]) if "tags" in keys else {}
        for row in batch:
            row_tags = tags.get(row.id, [])
            custom = [export_value(field, (row.custom or {}).get(field.key), reveal=plan.sensitive) for field in fields]
            yield [value(row, row_tags, plan.labels) for value in values] + custom


def csv_lines(workspace_id: int, plan: Plan) -> Iterator[str]:
    """``rows`` as CSV lines. Runs while the response streams, so it binds the workspace again
    (the request's binding is gone by then)."""
    bind_workspace(workspace_id)
    for row in rows(plan):
        yield csv_row([_csv_cell(cell) for cell in row])
