"""The changes of an audit entry as a reader sees them, for a record's History panel and the audit
log: fields by their labels, stored keys by theirs ("vip" as "VIP"), times in the member's time zone.
Ids and long texts show as "changed" only, and so do a contact's personal details to a member
without ``contacts.sensitive`` (as on the timeline, crm/contacts/timeline_text.py).

Custom fields are logged under their label already (crm/custom_fields/service.py) and show as they
were logged; a field with no label here shows its name with spaces for underscores."""

from dataclasses import dataclass
from datetime import date, datetime

from flask import g
from flask_babel import format_date, format_datetime
from wtforms.fields.core import UnboundField

from crm.activities.forms import KIND_LABELS
from crm.contacts import phones
from crm.contacts.forms import GENDER_LABELS, LEVEL_LABELS, LIFECYCLE_LABELS
from crm.contacts.queries import member_names
from crm.contacts.service import SENSITIVE_FIELDS
from crm.contacts.tier_forms import BY, CustomerRulesForm
from crm.contacts.timeline import FIELD_LABELS as CONTACT_FIELD_LABELS
from crm.i18n import lazy_gettext as _l

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
    "role_id": _l("Role"), "label": _l("Label"),
    # exports and tasks
    "filters": _l("Filters"), "q": _l("Search"), "format": _l("File format"), "task": _l("Task"),
    "ids": _l("Ticked rows"),
    # the trash's purge: how many of each went
    "contacts": _l("Contacts"), "companies": _l("Companies"),
    # the customer tier rules, by their labels on Settings -> Customer tiers
    **{name: field.args[0] for name, field in vars(CustomerRulesForm).items() if isinstance(field, UnboundField)},
}  # fmt: skip
CHOICE_LABELS = {"level": LEVEL_LABELS, "lifecycle": LIFECYCLE_LABELS, "gender": GENDER_LABELS, "kind": KIND_LABELS,
                 "tier_by": {c.value: c.label for c in BY}, "vip_by": {c.value: c.label for c in BY}}  # fmt: skip
MEMBER_FIELDS = frozenset({"owner_id", "assignee_id"})  # named from the workspace's members
# Shown as "changed": ids mean nothing to a reader, long texts do not fit a line.
WITHOUT_VALUES = frozenset({"about", "body", "notes", "purchase"})


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


def change_lines(entry) -> list[ChangeLine]:
    """The entry's changes, one line per field, in the order they were logged."""
    hidden = _without_values(entry.record_type)
    lines = []
    for name, before, after in logged_changes(entry.changes):
        label = str(FIELD_LABELS[name]) if name in FIELD_LABELS else name.replace("_", " ")
        if name in MEMBER_FIELDS and name not in hidden:
            lines.append(ChangeLine(label, _member_name(before), _member_name(after), values_shown=True))
        elif name in hidden or name.endswith("_id"):
            lines.append(ChangeLine(label, None, None, values_shown=False))
        else:
            lines.append(ChangeLine(label, value_text(name, before), value_text(name, after), values_shown=True))
    return lines


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
        return ", ".join(str(item) for item in value)
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
