"""One spreadsheet row as contact values: trimmed, validated and normalised as the forms do
(lower-case emails, E.164 phones, ISO dates), or the list of what is wrong with it, by column."""

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from crm.auth.service import normalize_email
from crm.contacts import phones
from crm.contacts.forms import COUNTRIES, EARLIEST_BIRTHDAY
from crm.contacts.tags import TagError, read_tags
from crm.custom_fields.forms import MAX_NUMBER
from crm.custom_fields.service import MASK, FieldDef, to_storage
from crm.form_fields import amount_text
from crm.i18n import lazy_gettext as _l
from crm.imports.amounts import NotANumber, read_amount, read_number
from crm.imports.fields import CUSTOM_PREFIX
from crm.search import CJK

MAX_EACH = 10  # emails, phones (as the contact form)
TEXT_LIMITS = {"name": 200, "title": 120, "source": 60, "about": 5000, "street": 200, "city": 100, "region": 100,
               "postal_code": 20, "external_id": 100}  # fmt: skip
GENDERS = {"female": "female", "f": "female", "woman": "female", "女": "female", "女性": "female",
           "male": "male", "m": "male", "man": "male", "男": "male", "男性": "male",
           "other": "other", "其他": "other"}  # fmt: skip
TRUE_WORDS = {"yes", "y", "true", "1", "x", "✓", "是", "对", "有"}
FALSE_WORDS = {"no", "n", "false", "0", "否", "无"}
# Chinese commas and line breaks separate emails and phones as they do tags (crm/contacts/tags.py);
# a phone keeps its spaces ("138 0013 8000").
SEPARATORS = {"email": r"[,;\s，、；]+", "phone": r"[,;/，、；\r\n]+", "multi": r"[,;，、；|]+"}
# "(?:\s*日)?", not "\s*日?": spaces then "[ T].*" could share a run of spaces in n ways (a cell of
# 20,000 spaces and a line break cost seconds).
ISO_LIKE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?:\s*日)?(?:[ T].*)?")
NUMERIC_DATE = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")
COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")  # 20250304, as many Chinese systems export dates
# A date as Excel keeps it, days since 1899-12-30 (a fraction is the time of day), in a cell formatted as
# a number or saved so to CSV: five digits, 1927-05-18 to 2173 (four would be taken for a year, 1990).
EXCEL_SERIAL = re.compile(r"(\d{5})(?:\.\d+)?")
EXCEL_EPOCH = date(1899, 12, 30)
# Lazy, as every reason here: kept untranslated with the problem (crm/imports/reasons.py).
EMAILS_WORD, PHONES_WORD, NAME_WORD = _l("email addresses"), _l("phone numbers"), _l("Name")
URL = re.compile(r"https?://[\w.-]+\.[a-z]{2,}(:\d+)?(/\S*)?", re.I)


class Invalid(ValueError):
    """A cell's value cannot be used; the message says why."""


@dataclass
class Column:
    index: int
    target: str
    header: str


@dataclass
class RowContext:
    region: str  # the workspace's default phone region
    members: dict[str, int]  # a member's email (or name, when no other member has it) -> membership id
    custom: dict[str, FieldDef]  # custom field key -> definition
    today: date  # where the workspace is: no purchase is dated after it
    sensitive: bool = True  # the member may fill sensitive details (crm/imports/fields.py SENSITIVE_TARGETS)
    currency: str = ""  # the workspace's: amounts without a sign are in it

    @property
    def day_first(self) -> bool:
        return self.region != "US"  # 03/04/2025 is 3 April outside the US


@dataclass
class ContactRow:
    line: int
    cells: list[str]
    fields: dict = field(default_factory=dict)
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    company: str | None = None
    custom: dict = field(default_factory=dict)  # key -> stored value
    problems: list[tuple[str, str]] = field(default_factory=list)  # (column, reason)
    # The column of a name left blank: a problem for a new contact only (an update leaves the name as it is).
    nameless: str | None = None
    search_text: str = ""  # a new contact's, worked out for the import (not the dry run) by runner.Work

    def keys(self, match_by: str) -> list[str]:
        if match_by == "email":
            return self.emails
        if match_by == "phone":
            return self.phones
        external = self.fields.get("external_id")
        return [external] if external else []


def parse(line: int, cells: list[str], columns: list[Column], context: RowContext) -> ContactRow:
    row = ContactRow(line, cells)
    names = {}
    for column in columns:
        raw = cells[column.index].strip() if column.index < len(cells) else ""
        if not raw:
            continue
        try:
            _take(row, column.target, raw, context, names)
        except Invalid as error:
            row.problems.append((column.header, error.args[0]))
    _settle_name(row, names, columns)
    return row


def _take(row: ContactRow, target: str, raw: str, context: RowContext, names: dict) -> None:
    if target in ("name", "first_name", "last_name"):
        names[target] = raw
    elif target == "email":
        row.emails = _unique(row.emails + [email_cell(part) for part in _split("email", raw)], EMAILS_WORD)
    elif target == "phone":
        numbers = [phone_cell(part, context.region) for part in _split("phone", raw)]
        row.phones = _unique(row.phones + numbers, PHONES_WORD)
    elif target == "tags":
        try:  # separated as the contact form separates them (a tag never holds a separator)
            row.tags = list(dict.fromkeys(row.tags + read_tags(raw)))
        except TagError as error:
            raise Invalid(error.args[0]) from error
    elif target == "company":
        row.company = text_cell(raw, 200)
    elif target == "gender":
        row.fields["gender"] = _gender(raw)
    elif target == "birthday":
        row.fields["birthday"] = parse_date(raw, context.day_first)
        if row.fields["birthday"] > context.today:
            raise Invalid(_l("%(value)s is in the future: a birthday cannot be.", value=raw))
        if row.fields["birthday"] < EARLIEST_BIRTHDAY:
            raise Invalid(_l("%(value)s is before 1900: not a birthday.", value=raw))
    elif target == "owner":
        row.fields["owner_id"] = owner_cell(raw, context.members)
    elif target == "country":
        row.fields["country"] = country_cell(raw)
    elif target.startswith(CUSTOM_PREFIX):
        definition = context.custom[target.removeprefix(CUSTOM_PREFIX)]
        if definition.sensitive and raw == MASK:  # an export's mask, never a value: the stored one stays
            return
        row.custom[definition.key] = to_storage(definition, custom_value(definition, raw, context.day_first))
    else:
        row.fields[target] = text_cell(raw, TEXT_LIMITS[target])


def _settle_name(row: ContactRow, names: dict, columns: list[Column]) -> None:
    name = names.get("name")
    if not name:
        last, first = names.get("last_name", ""), names.get("first_name", "")
        # Chinese names are family name first, written together: 王 + 小明 = 王小明.
        name = last + first if CJK.search(last + first) else " ".join(part for part in (first, last) if part)
    name = " ".join(name.split())
    header = next((c.header for c in columns if c.target in ("name", "first_name", "last_name")), NAME_WORD)
    if not name:
        row.nameless = header
    elif len(name) > TEXT_LIMITS["name"]:
        row.problems.append((header, _l("At most %(max)d characters.", max=TEXT_LIMITS["name"])))
    else:
        row.fields["name"] = name


def _split(kind: str, raw: str) -> list[str]:
    return [part.strip() for part in re.split(SEPARATORS[kind], raw) if part.strip()]


def _unique(values: list[str], what: str) -> list[str]:
    values = list(dict.fromkeys(values))
    if len(values) > MAX_EACH:
        raise Invalid(_l("At most %(count)d %(what)s.", count=MAX_EACH, what=what))
    return values


def text_cell(raw: str, limit: int) -> str:
    if len(raw) > limit:
        raise Invalid(_l("At most %(max)d characters.", max=limit))
    return raw


def email_cell(raw: str) -> str:
    try:
        return normalize_email(raw)
    except ValueError as error:
        raise Invalid(_l("%(address)s is not a valid email address.", address=raw)) from error


def phone_cell(raw: str, region: str) -> str:
    try:
        return phones.to_e164(raw, region)
    except ValueError as error:
        raise Invalid(error.args[0]) from error


def _gender(raw: str) -> str:
    gender = GENDERS.get(raw.lower())
    if gender is None:
        raise Invalid(_l("Write female, male or other."))
    return gender


def owner_cell(raw: str, members: dict[str, int]) -> int:
    """A member by email, or by a name no other member shares (as an export writes the owner)."""
    member_id = members.get(raw.lower()) if "@" in raw else members.get(raw.casefold())
    if member_id is None and "@" in raw:
        raise Invalid(_l("No member of this workspace has the email address %(address)s.", address=raw))
    if member_id is None:
        raise Invalid(_l("No member of this workspace goes by the name %(name)s (or two do): use their email "
                        "address.", name=raw))  # fmt: skip
    return member_id


def country_cell(raw: str) -> str:
    """A country code the contact form accepts too (ISO 3166), so an imported record stays editable."""
    if raw.upper() not in COUNTRIES:
        raise Invalid(_l("Write the two-letter country code, such as CN or US."))
    return raw.upper()


def parse_date(raw: str, day_first: bool) -> date:
    """2025-03-04, 2025/3/4, 2025年3月4日, 20250304, or 04/03/2025 (day first unless the workspace is in the
    US; a day over 12 settles it either way), or an Excel serial number (45000 is 2023-03-15)."""
    try:
        if match := ISO_LIKE.fullmatch(raw) or COMPACT_DATE.fullmatch(raw):
            year, month, day = (int(part) for part in match.groups())
            return date(year, month, day)
        if match := NUMERIC_DATE.fullmatch(raw):
            first, second, year = (int(part) for part in match.groups())
            if first > 12 or (day_first and second <= 12):
                return date(year, second, first)
            return date(year, first, second)
        if match := EXCEL_SERIAL.fullmatch(raw):
            return EXCEL_EPOCH + timedelta(days=int(match[1]))
    except ValueError:
        pass
    raise Invalid(_l("%(value)s is not a date; write it as 2025-03-31.", value=raw))


def custom_value(definition: FieldDef, raw: str, day_first: bool):
    kind = definition.kind
    if kind == "number":
        return custom_number(raw)
    if kind == "date":
        return parse_date(raw, day_first)
    if kind == "select":
        return _option(definition, raw)
    if kind == "multi_select":
        return _options(definition, raw)
    if kind == "checkbox":
        return _checkbox(raw)
    if kind == "url":
        if not URL.fullmatch(raw):
            raise Invalid(_l("Enter a full web address, such as https://example.com."))
        return text_cell(raw, 500)
    return text_cell(raw, 5000 if kind == "long_text" else 500)


def custom_number(raw: str) -> Decimal:
    """A custom number as its form reads it (crm.form_fields.amount_text: "25,000" and "25 000" are
    taken, "1,5" and "1e3" refused with the form's reasons), within what the field keeps."""
    try:
        number = Decimal(amount_text(raw))
    except ValueError as error:
        raise Invalid(error.args[0]) from error
    if abs(number) > MAX_NUMBER:
        raise Invalid(_l("Enter a number between -999,999,999,999 and 999,999,999,999."))
    return number


def number_cell(raw: str, places: int | None = None) -> Decimal:
    try:
        return read_number(raw, places)
    except NotANumber as error:
        raise Invalid(error.args[0]) from error


def amount_cell(raw: str, currency: str) -> tuple[Decimal, str | None]:
    """An amount of money and the currency its sign or code says (None without one; ``currency``
    where the sign may stand for it: ¥ in a workspace in yen)."""
    try:
        return read_amount(raw, currency)
    except NotANumber as error:
        raise Invalid(error.args[0]) from error


def _options(definition: FieldDef, raw: str) -> list[str]:
    """The choices of a multi-select cell, separated as tags are. A choice may hold a separator
    itself ("Wholesale, export"; an export writes the choices joined by ", "): the longest run of
    parts that is a choice is taken whole, so such a choice is read back as it was written."""
    parts = re.split(f"({SEPARATORS['multi']})", raw)  # texts at even places, separators between
    options = {option.casefold(): option for option in definition.options}
    chosen, start = [], 0
    while start < len(parts):
        if not parts[start].strip():
            start += 2
            continue
        end = next((end for end in range(len(parts) - 1, start - 1, -2)
                    if "".join(parts[start:end + 1]).strip().casefold() in options), None)  # fmt: skip
        if end is None:
            chosen.append(_option(definition, parts[start].strip()))  # names what is not a choice
            start += 2
        else:
            chosen.append(options["".join(parts[start : end + 1]).strip().casefold()])
            start = end + 2
    return list(dict.fromkeys(chosen))


def _option(definition: FieldDef, raw: str) -> str:
    for option in definition.options:
        if option.lower() == raw.lower():
            return option
    raise Invalid(_l("%(value)s is not one of: %(options)s.", value=raw, options=", ".join(definition.options)))


def _checkbox(raw: str) -> bool:
    word = raw.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise Invalid(_l("Write yes or no."))
