"""Importing companies: each row a new company, validated as the company form does; a company
whose name is already in Kehu (or earlier in the file) is skipped. Undo trashes what was added."""

import re
from dataclasses import dataclass, field

import sqlalchemy as sa

from crm.contacts.forms import EARLIEST_DAY, SIZE_LABELS
from crm.contacts.models import Company
from crm.contacts.service import company_search_text
from crm.custom_fields.service import MASK, definitions, to_storage
from crm.db import utcnow
from crm.extensions import db
from crm.i18n import lazy_gettext as _l
from crm.imports.contact_rows import (
    Column,
    Invalid,
    RowContext,
    country_cell,
    custom_value,
    owner_cell,
    parse_date,
    phone_cell,
    text_cell,
)
from crm.imports.fields import CUSTOM_PREFIX
from crm.imports.work import RowWork, insert_rows
from crm.workspaces.models import Membership

TEXT_LIMITS = {"name": 200, "industry": 100, "notes": 5000, "street": 200, "city": 100, "region": 100,
               "postal_code": 20}  # fmt: skip
WEBSITE = re.compile(r"(https?://)?[\w.-]+\.[a-z]{2,}(/\S*)?", re.I)
SIZES = [size for size in SIZE_LABELS if size]  # smallest first, as the form offers them
FIELDS = ("name", "industry", "size", "website", "phone", "owner_id", "customer_since", "notes", "street", "city",
          "region", "postal_code", "country")  # fmt: skip


@dataclass
class CompanyRow:
    line: int
    cells: list[str]
    fields: dict = field(default_factory=dict)
    custom: dict = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)


def parse(line: int, cells: list[str], columns: list[Column], context: RowContext) -> CompanyRow:
    row = CompanyRow(line, cells)
    for column in columns:
        raw = cells[column.index].strip() if column.index < len(cells) else ""
        if raw:
            try:
                _take(row, column.target, raw, context)
            except Invalid as error:
                row.problems.append((column.header, error.args[0]))
    header = next((c.header for c in columns if c.target == "name"), _l("Name"))
    if "name" not in row.fields and all(column != header for column, _reason in row.problems):
        row.problems.append((header, _l("A name is needed.")))
    return row


def _take(row: CompanyRow, target: str, raw: str, context: RowContext) -> None:
    if target == "phone":
        row.fields["phone"] = phone_cell(raw, context.region)
    elif target == "owner":
        row.fields["owner_id"] = owner_cell(raw, context.members)
    elif target == "customer_since":
        row.fields["customer_since"] = parse_date(raw, context.day_first)
        if row.fields["customer_since"] > context.today:  # as the company form (crm/contacts/forms.py)
            raise Invalid(_l("%(value)s is in the future: “customer since” cannot be after today.", value=raw))
        if row.fields["customer_since"] < EARLIEST_DAY:
            raise Invalid(_l("%(value)s is before 1900: not a “customer since” date.", value=raw))
    elif target == "country":
        row.fields["country"] = country_cell(raw)
    elif target == "size":
        if raw not in SIZES:
            raise Invalid(_l("Write one of: %(sizes)s.", sizes=", ".join(SIZE_LABELS[size] for size in SIZES)))
        row.fields["size"] = raw
    elif target == "website":
        if not WEBSITE.fullmatch(raw) or len(raw) > 255:
            raise Invalid(_l("Enter a web address such as example.com."))
        row.fields["website"] = raw
    elif target.startswith(CUSTOM_PREFIX):
        definition = context.custom[target.removeprefix(CUSTOM_PREFIX)]
        if definition.sensitive and raw == MASK:  # an export's mask, never a value (as the contacts import)
            return
        row.custom[definition.key] = to_storage(definition, custom_value(definition, raw, context.day_first))
    else:
        row.fields[target] = " ".join(text_cell(raw, TEXT_LIMITS[target]).split()) if target == "name" else (
            text_cell(raw, TEXT_LIMITS[target]))  # fmt: skip


class CompanyWork(RowWork):
    def __init__(self, job, write: bool, context: RowContext, columns: list[Column]):
        super().__init__(job, write)
        self.context, self.columns = context, columns
        self.required = [definition for definition in context.custom.values() if definition.required]
        self.default_owner = db.session.scalar(sa.select(Membership.id).where(Membership.user_id == job.user_id))
        self.seen: dict[str, int] = {}  # lower-case name -> the row that had it first

    def parse(self, batch) -> list[CompanyRow]:
        return [parse(line, cells, self.columns, self.context) for line, cells in batch]

    def take(self, parsed: list[CompanyRow]) -> None:
        fresh = [
            row for row in parsed if self.valid(row) and self._first_in_file(row) and self.complete(row, self.required)
        ]
        existing = self._existing({row.fields["name"].lower() for row in fresh})
        creates = []
        for row in fresh:
            if row.fields["name"].lower() in existing:
                self.skip(row, _l("Already in Kehu: %(name)s.", name=row.fields["name"]))
            else:
                creates.append(row)
        self.job.created_count += len(creates)
        if self.write and creates:
            now = utcnow()
            insert_rows(Company, [self._values(row, now) for row in creates])
        self.save_problems()

    def _first_in_file(self, row: CompanyRow) -> bool:
        key = row.fields["name"].lower()
        if key in self.seen:
            self.skip(row, _l("Same name as row %(line)d.", line=self.seen[key]))
            return False
        self.seen[key] = row.line
        return True

    def _existing(self, names: set[str]) -> set[str]:
        if not names:
            return set()
        statement = sa.select(sa.func.lower(Company.name)).where(
            sa.func.lower(Company.name).in_(names), Company.deleted_at.is_(None)
        )
        return set(db.session.scalars(statement))

    def _values(self, row: CompanyRow, now) -> dict:
        values = {name: row.fields.get(name) for name in FIELDS}
        values["owner_id"] = values["owner_id"] or self.default_owner
        company = Company(name=values["name"], website=values["website"], phone=values["phone"])
        return {**values, "workspace_id": self.job.workspace_id, "import_id": self.job.id, "custom": row.custom,
                "search_text": company_search_text(company), "created_at": now, "updated_at": now}  # fmt: skip


def custom_fields(workspace) -> list:
    return definitions(workspace, "company")
