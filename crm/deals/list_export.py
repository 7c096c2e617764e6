"""The deals list as a CSV or XLSX file: every deal of the pipeline that the list's filters and
status select, within the member's record scope (crm/deals/list_queries.py), read a batch at a time
in id order as plain rows (constant memory), in the columns of the list and a few more, then the
workspace's deal fields (sensitive ones masked without contacts.sensitive), as the contacts and
companies exports give theirs."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa

from crm.csv_stream import csv_row
from crm.custom_fields import reserved
from crm.custom_fields.service import FieldDef, export_value
from crm.deals.list_queries import STATUSES
from crm.deals.models import Deal, display_name
from crm.extensions import db
from crm.i18n import in_zone
from crm.i18n import lazy_gettext as _l
from crm.tenancy import bind_workspace

BATCH = 1000
HEADER = (_l("Title"), _l("Value"), _l("Currency"), _l("Stage"), _l("Status"), _l("Contact"), _l("Company"),
          _l("Owner"), _l("Expected close date"), _l("Closed on"), _l("Lost reason"), _l("Lost reason details"),
          _l("Notes"), _l("Added"))  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """What to export: the list's statement (``export_statement``) and the texts, made within the
    request, since the CSV's rows are read after the view has returned."""

    statement: sa.Select
    zone: str  # the workspace's time zone: "Added" is the day the deal was added there
    fields: tuple[FieldDef, ...] = ()  # the deal fields, after the built-in columns
    sensitive: bool = False  # the member sees sensitive values (else masked)
    field_headers: list[str] = field(default_factory=list)  # their headings (``with_fields``)
    header: list[str] = field(default_factory=lambda: [str(label) for label in HEADER])
    statuses: dict[str, str] = field(default_factory=lambda: {key: str(label) for key, label in STATUSES.items()})


def with_fields(statement: sa.Select, zone: str, fields: list[FieldDef], sensitive: bool) -> Plan:
    """A plan with the deal fields' columns, their headings made now (in the member's language)."""
    return Plan(statement, zone, tuple(fields), sensitive, [reserved.header(field) for field in fields])


def _day(value: date | datetime | None, zone: str) -> date | None:
    """A day as it is, a time as the day it fell on where the workspace is: a date cell in an XLSX
    file, 2030-01-31 in a CSV file."""
    return in_zone(value, zone).date() if isinstance(value, datetime) else value


def _reason(name: str | None) -> str | None:
    return display_name(name) if name else None


def rows(plan: Plan) -> Iterator[list]:
    """The header, then one list of cell values per deal (money as a number)."""
    yield plan.header + plan.field_headers
    after = 0
    statement = plan.statement.add_columns(Deal.custom) if plan.fields else plan.statement
    while batch := db.session.execute(statement.where(Deal.id > after).order_by(Deal.id).limit(BATCH)).all():
        for row in batch:
            custom = (row.custom or {}) if plan.fields else {}
            yield [row.title, row.value, row.currency, display_name(row.stage_name), plan.statuses[row.status],
                   row.contact_name, row.company_name, row.owner_name, row.expected_close_on,
                   row.closed_on, _reason(row.lost_reason_name), row.lost_reason, row.notes,
                   _day(row.created_at, plan.zone)] + [
                export_value(field, custom.get(field.key), reveal=plan.sensitive) for field in plan.fields
            ]  # fmt: skip
        after = batch[-1].id


def csv_lines(workspace_id: int, plan: Plan) -> Iterator[str]:
    """``rows`` as CSV lines, read while the response streams (so the workspace is bound again)."""
    bind_workspace(workspace_id)
    for row in rows(plan):
        yield csv_row(row)
