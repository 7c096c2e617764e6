"""The changes of an audit entry as a reader sees them, for a record's History panel and the audit
log and the timelines (crm/contacts/timeline_text.py): fields by their labels, stored keys by
theirs ("vip" as "VIP"), times in the member's time zone, a company, a member and whoever made the
entry by their names, money in the currency of its record (a purchase's, a deal's, a product's) and
numbers in the member's language. Other ids and long texts show as "changed" only, and so do a
contact's personal details to a member without ``contacts.sensitive``.

Names and currencies are read for all the entries a page shows at once (``prepare``, called by
``crm.audit.queries.history_of``, the audit log and the timeline): one query per kind of record,
none per entry.

Custom fields are logged under their label already (crm/custom_fields/service.py) and show as they
were logged; a field with no label here shows its name with spaces for underscores."""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import g
from flask_babel import format_date, format_datetime, format_decimal
from flask_babel import gettext as _
from wtforms import DecimalField
from wtforms.fields.core import UnboundField

from crm.activities.forms import KIND_LABELS
from crm.auth.models import User
from crm.contacts import phones
from crm.contacts.forms import GENDER_LABELS, LEVEL_LABELS, LIFECYCLE_LABELS
from crm.contacts.models import Company
from crm.contacts.queries import member_names, read_roster
from crm.contacts.service import SENSITIVE_FIELDS
from crm.contacts.tags import SEPARATORS as TAG_SEPARATORS
from crm.contacts.tier_forms import BY, CustomerRulesForm
from crm.contacts.timeline import FIELD_LABELS as CONTACT_FIELD_LABELS
from crm.deals.models import Deal
from crm.extensions import db
from crm.i18n import lazy_gettext as _l
from crm.i18n import money
from crm.products.models import Product
from crm.purchases.models import Purchase

FIELD_LABELS = {
    **CONTACT_FIELD_LABELS,
    # activities and tasks
    "kind": _l("Type"), "body": _l("Text"), "occurred_at": _l("When"), "due_at": _l("Due"),
    "remind_at": _l("Remind at"), "assignee_id": _l("Assigned to"),
    # purchases
    "purchase": _l("Purchase"), "purchased_on": _l("Date"), "product": _l("Product"), "quantity": _l("Quantity"),
    "unit_price": _l("Unit price"), "amount": _l("Amount"), "currency": _l("Currency"),
    "base_amount": _l("Worth in the workspace currency"),
    # companies and deals
    "industry": _l("Industry"), "size": _l("Size (staff)"), "website": _l("Website"), "phone": _l("Phone"),
    "customer_since": _l("Customer since"), "notes": _l("Notes"), "value": _l("Value"), "stage_id": _l("Stage"),
    "contact_id": _l("Contact"), "expected_close_on": _l("Expected close date"), "status": _l("Status"),
    "closed_on": _l("Closed on"), "lost_reason_id": _l("Lost reason"), "lost_reason": _l("Reason"),
    "role_id": _l("Role"), "label": _l("Label"), "position": _l("Position"),
    "choice": _l("Choice"), "records": _l("Records changed"),
    # deals' line items, products, quotes and stages
    "deal_item": _l("Line item"), "product_id": _l("Product"), "discount_percent": _l("Discount (%)"),
    "tax_rate": _l("Tax rate (%)"), "sku": _l("SKU"), "deal_id": _l("Deal"), "total": _l("Total"),
    "valid_until": _l("Valid until"), "business_details": _l("Business details on quotes"),
    "probability": _l("Win probability (%)"), "rotting_days": _l("Rotting after (days)"),
    "moved_deals_to": _l("Move its deals to"),
    # exports and tasks
    "filters": _l("Filters"), "q": _l("Search"), "format": _l("File format"), "task": _l("Task"),
    "ids": _l("Ticked rows"), "shared": _l("Shared with the team"),
    # the trash's purge: how many of each went
    "contacts": _l("Contacts"), "companies": _l("Companies"),
    "tickets": _l("Tickets"),  # those migration 0049 moved, by number
    # the customer tier rules, by their labels on Settings -> Customer tiers
    **{name: field.args[0] for name, field in vars(CustomerRulesForm).items() if isinstance(field, UnboundField)},
}  # fmt: skip
CHOICE_LABELS = {"level": LEVEL_LABELS, "lifecycle": LIFECYCLE_LABELS, "gender": GENDER_LABELS, "kind": KIND_LABELS,
                 "tier_by": {c.value: c.label for c in BY}, "vip_by": {c.value: c.label for c in BY}}  # fmt: skip
MEMBER_FIELDS = frozenset({"owner_id", "assignee_id"})  # named from the workspace's members
# Shown as "changed": ids mean nothing to a reader, long texts do not fit a line.
WITHOUT_VALUES = frozenset({"about", "body", "notes", "purchase", "deal_item", "moved_deals_to"})
COMPANY_FIELDS = frozenset({"company_id"})  # named from the companies table, deleted ones included
# Amounts in the currency of the entry's record; only on records that have one (a billing entry's
# "amount" is logged as text already).
MONEY_FIELDS = frozenset({"unit_price", "amount", "value"})
WORKSPACE_MONEY_FIELDS = frozenset({"base_amount"})  # a purchase's worth in the workspace's currency
NUMBER_FIELDS = frozenset({"quantity"})
# The customer tier rules' cut-offs, in the workspace's currency (their shares are whole percents).
RULE_MONEY_FIELDS = frozenset(
    name
    for name, unbound in vars(CustomerRulesForm).items()
    if isinstance(unbound, UnboundField) and issubclass(unbound.field_class, DecimalField)
)
CURRENCY_OF = {"deal": Deal, "product": Product}  # records whose entries log amounts in their currency


@dataclass
class _Known:
    """Company names, actors' names and record currencies read so far in this request (``None``: no such row)."""

    companies: dict[int, str | None] = field(default_factory=dict)
    actors: dict[int, str | None] = field(default_factory=dict)  # users by id: their names
    currencies: dict[tuple[str, int], str | None] = field(default_factory=dict)  # ("purchase", id): "EUR"


@dataclass(frozen=True, slots=True)
class ChangeLine:
    label: str
    before: str | None  # None: no value before (created), or not shown
    after: str | None
    values_shown: bool


def logged_changes(changes: dict | None):
    """(field, before, after) for each field of a logged ``changes``: most actions log a field's
    [before, after]; a few log one value (an import's counts), read as an after with no before."""
    for name, value in (changes or {}).items():
        if isinstance(value, list | tuple) and len(value) == 2:
            yield name, value[0], value[1]
        else:
            yield name, None, value


def prepare(entries) -> None:
    """Reads what ``change_lines`` needs to name and format the changes of ``entries`` (companies
    by name, the currencies of purchases, deals and products): one query per kind still unknown in
    this request, none when nothing is. Call it with every entry a page shows before writing them."""
    known = _known()
    companies, records = set(), {}
    actors = {entry.actor_id for entry in entries if entry.actor_id is not None} - known.actors.keys()
    if actors:
        _read_actors(known, actors)
    for entry in entries:
        changes = entry.changes if isinstance(entry.changes, dict) else {}
        for name, before, after in logged_changes(changes):
            if name in COMPANY_FIELDS:
                companies.update(value for value in (before, after) if _is_id(value))
        key = _currency_key(entry)
        if key is not None and "currency" not in changes and not MONEY_FIELDS.isdisjoint(changes):
            records.setdefault(key[0], set()).add(key[1])
    companies -= known.companies.keys()
    if companies:
        rows = db.session.execute(sa.select(Company.id, Company.name).where(Company.id.in_(companies)))
        known.companies.update(dict.fromkeys(companies))
        known.companies.update({company_id: name for company_id, name in rows})
    for kind, ids in records.items():
        model = Purchase if kind == "purchase" else CURRENCY_OF[kind]
        for record_id in ids:  # the page's own deal, say, is loaded already
            loaded = db.session.identity_map.get(so.util.identity_key(model, record_id))
            if loaded is not None:
                known.currencies[kind, record_id] = loaded.currency
        ids = {record_id for record_id in ids if (kind, record_id) not in known.currencies}
        if ids:
            rows = db.session.execute(sa.select(model.id, model.currency).where(model.id.in_(ids)))
            known.currencies.update(dict.fromkeys((kind, record_id) for record_id in ids))
            known.currencies.update(((kind, record_id), currency) for record_id, currency in rows)


def _read_actors(known: _Known, actors: set[int]) -> None:
    """Actors' names: the members' from the roster the request read already, if it did; the others' (a
    user no longer a member, or no roster yet) in one query."""
    roster = read_roster()
    members = roster.user_names if roster is not None else {}
    known.actors.update((actor, members[actor]) for actor in actors if actor in members)
    others = actors - members.keys()
    if others:
        known.actors.update(dict.fromkeys(others))
        known.actors.update(db.session.execute(sa.select(User.id, User.name).where(User.id.in_(others))).all())


def _known() -> _Known:
    if "audit_known" not in g:
        g.audit_known = _Known()
    return g.audit_known


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _currency_key(entry) -> tuple[str, int] | None:
    """The record whose currency the entry's amounts are in: the purchase it logs, or its deal or product."""
    changes = entry.changes if isinstance(entry.changes, dict) else {}
    if (entry.action or "").startswith("purchase."):
        logged = changes.get("purchase")
        purchase_id = logged[0] if isinstance(logged, list) and logged else None
        return ("purchase", purchase_id) if _is_id(purchase_id) else None
    if entry.record_type in CURRENCY_OF and _is_id(entry.record_id):
        return (entry.record_type, entry.record_id)
    return None


def _has_currency(entry) -> bool:
    return (entry.action or "").startswith("purchase.") or entry.record_type in CURRENCY_OF


def _currencies(entry) -> tuple[str, str]:
    """The currency of the entry's amounts before and after: as logged when the entry changed it,
    else the record's now (the workspace's for a record since deleted)."""
    changes = entry.changes if isinstance(entry.changes, dict) else {}
    workspace = g.get("workspace")
    fallback = workspace.currency if workspace is not None else "USD"
    logged = changes.get("currency")
    if isinstance(logged, list) and len(logged) == 2:
        before, after = logged
        return (before or after or fallback), (after or before or fallback)
    if isinstance(logged, str):
        return logged, logged
    key = _currency_key(entry)
    current = _known().currencies.get(key) if key is not None else None
    return (current or fallback,) * 2


def actor_name(entry) -> str:
    """Who made the entry, by their name as it is now; the email logged with it, where the user is
    gone or nameless; "" for Kehu itself (a job, the portal)."""
    prepare([entry])  # reads nothing when the page prepared its entries already
    return (_known().actors.get(entry.actor_id) if entry.actor_id is not None else None) or entry.actor_label or ""


def change_lines(entry) -> list[ChangeLine]:
    """The entry's changes, one line per field, in the order they were logged."""
    prepare([entry])  # reads nothing when the page prepared its entries already
    hidden = _without_values(entry.record_type)
    unknown = getattr(entry, "values_unknown", False)  # an entry that names its fields only
    with_currency = _has_currency(entry)
    currencies = _currencies(entry) if with_currency else None
    workspace = g.get("workspace")
    lines = []
    for name, before, after in logged_changes(entry.changes):
        label = str(FIELD_LABELS[name]) if name in FIELD_LABELS else name.replace("_", " ")
        if unknown or name in hidden:
            lines.append(ChangeLine(label, None, None, values_shown=False))
        elif name in MEMBER_FIELDS:
            lines.append(ChangeLine(label, _member_name(before), _member_name(after), values_shown=True))
        elif name in COMPANY_FIELDS:
            lines.append(ChangeLine(label, _company_name(before), _company_name(after), values_shown=True))
        elif name.endswith("_id"):
            lines.append(ChangeLine(label, None, None, values_shown=False))
        elif with_currency and name in MONEY_FIELDS:
            lines.append(ChangeLine(label, _money(before, currencies[0]), _money(after, currencies[1]), True))
        elif workspace is not None and _in_workspace_currency(entry, name):
            lines.append(ChangeLine(label, _money(before, workspace.currency), _money(after, workspace.currency), True))
        elif with_currency and name in NUMBER_FIELDS:
            lines.append(ChangeLine(label, _number(before), _number(after), values_shown=True))
        else:
            lines.append(ChangeLine(label, value_text(name, before), value_text(name, after), values_shown=True))
    return lines


def _in_workspace_currency(entry, name: str) -> bool:
    if entry.action == "workspace.rules_changed":
        return name in RULE_MONEY_FIELDS
    return name in WORKSPACE_MONEY_FIELDS and _has_currency(entry)


def _company_name(company_id) -> str | None:
    """A logged company id by the company's name, in the trash or not; one purged shows as such."""
    if company_id is None:
        return None
    name = _known().companies.get(company_id) if _is_id(company_id) else None
    return name if name is not None else _("a deleted company")


def _decimal(value) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _money(value, currency: str) -> str | None:
    """A logged amount (text or number) in ``currency``; anything else as it was logged."""
    if value is None:
        return None
    amount = _decimal(value) if not isinstance(value, bool) else None
    return money(amount, currency) if amount is not None else str(value)


def _number(value) -> str | None:
    if value is None:
        return None
    number = _decimal(value) if not isinstance(value, bool) else None
    return format_decimal(number) if number is not None else str(value)


def _member_name(member_id) -> str | None:
    """A logged member id by the member's name (the roster is read at most once per request)."""
    if member_id is None:
        return None
    return member_names().get(member_id, f"#{member_id}")


def _without_values(record_type: str | None) -> frozenset:
    membership = g.get("membership")
    if record_type == "contact" and not (membership is not None and membership.can("contacts.sensitive")):
        return WITHOUT_VALUES | frozenset(SENSITIVE_FIELDS)
    return WITHOUT_VALUES


def value_text(name: str, value) -> str | None:
    """A logged value as the record's page shows it: a choice by its label, phone numbers as the
    workspace writes them, a time in the member's zone, a day in their language."""
    if value is None:
        return None
    if name in CHOICE_LABELS and isinstance(value, str):
        return str(CHOICE_LABELS[name].get(value, value))
    if name in ("phones", "phone") and isinstance(value, list | str):  # a contact's numbers, a company's one
        workspace = g.get("workspace")
        numbers = value if isinstance(value, list) else [value]
        return ", ".join(phones.display(str(number), workspace.phone_region if workspace else "") for number in numbers)
    if isinstance(value, list):
        items = [str(item) for item in value]
        if any(TAG_SEPARATORS.search(item) for item in items):  # tags stored whole ("a,b") before migration 0042
            return ", ".join(f"“{item}”" for item in items)  # the same quotes in English and Chinese
        return ", ".join(items)
    if isinstance(value, dict):  # an export's filters
        return "; ".join(f"{FIELD_LABELS.get(key, key)}: {value_text(key, item)}" for key, item in value.items())
    if name == "format" and isinstance(value, str):
        return value.upper()
    if isinstance(value, str) and name.endswith(("_at", "_on", "birthday", "customer_since")):
        return _date_text(value)
    return str(value)


def _date_text(text: str) -> str:
    """A logged time (ISO text) in the member's zone, or a logged day; other text as it is."""
    try:
        if len(text) == 10:
            return format_date(date.fromisoformat(text))
        return format_datetime(datetime.fromisoformat(text), "short")
    except ValueError:
        return text
