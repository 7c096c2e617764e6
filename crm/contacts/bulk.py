"""Bulk actions on a selection of contacts or on every contact a list state selects: assign an
owner, add or remove a tag, set the level by hand or hand it back to the rules, delete. Each
changed contact gets its own audit entry (as a single edit would); work goes a batch at a time.
The caller commits."""

import sqlalchemy as sa
from flask import g

from crm.contacts import service
from crm.contacts.models import LEVELS, Contact
from crm.extensions import db
from crm.i18n import lazy_gettext as _l
from crm.i18n import workspace_today
from crm.search import normalize

ACTIONS = {
    "owner": (_l("Assign owner"), "contacts.write"),
    "add_tag": (_l("Add tag"), "contacts.write"),
    "remove_tag": (_l("Remove tag"), "contacts.write"),
    "level": (_l("Set level"), "contacts.write"),
    "delete": (_l("Move to trash"), "contacts.delete"),
    "export": (_l("Export CSV"), "contacts.export"),  # answered with the download, see routes
    "export_xlsx": (_l("Export XLSX"), "contacts.export"),
}
# The form field holding each action's value.
VALUE_FIELDS = {"owner": "bulk_owner", "add_tag": "bulk_tag", "remove_tag": "bulk_tag", "level": "bulk_level"}
AUTOMATIC = "auto"  # the bulk bar's "Automatic": hand the level back to the tier rules
BATCH = 500
MAX_SELECTED = 1000


class BulkError(ValueError):
    """A bulk request that cannot run, with a message for the person who asked."""


def each_of(model, statement: sa.Select):
    """Every record of ``statement`` (a select of ``model``), loaded a batch at a time by id."""
    ids = list(db.session.scalars(statement.with_only_columns(model.id).order_by(model.id)))
    for start in range(0, len(ids), BATCH):
        yield from db.session.scalars(sa.select(model).where(model.id.in_(ids[start : start + BATCH])))


def apply(action: str, statement: sa.Select, value) -> int:
    """Runs ``action`` on every contact of ``statement``; returns how many changed."""
    changed = 0
    for contact in each_of(Contact, statement):
        changed += _apply_one(action, contact, value)
    return changed


def _apply_one(action: str, contact: Contact, value) -> bool:
    if action == "delete":
        service.delete_contact(contact)
        return True
    if action in ("add_tag", "remove_tag"):
        current = [tag.name for tag in contact.tags]
        wanted = [*current, value] if action == "add_tag" else [name for name in current if name != value]
        return bool(service.update_contact(contact, {"tags": wanted}))
    if action == "owner":
        return bool(service.update_contact(contact, {"owner_id": value}))
    before = (contact.level, contact.level_pinned)
    service.set_level(contact, value, g.workspace, workspace_today())  # "": back to the rules
    return before != (contact.level, contact.level_pinned)


def check_value(action: str, raw: str, owners: dict[int, str]):
    """The action's value from the form, or BulkError."""
    if action in ("add_tag", "remove_tag"):
        name = normalize(raw)[:50]
        if not name:
            raise BulkError(_l("Enter a tag."))
        return name
    if action == "owner":
        if raw == "":
            return None
        if not raw.isdigit() or int(raw) not in owners:
            raise BulkError(_l("Choose one of the members listed."))
        return int(raw)
    if action == "level":
        if raw not in (*LEVELS, AUTOMATIC):
            raise BulkError(_l("Choose a level."))
        return "" if raw == AUTOMATIC else raw  # "": back to the rules (service.set_level)
    return None
