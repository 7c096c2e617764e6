"""Bulk actions on a selection of contacts or companies, or on every one a list state selects.
Contacts: assign an owner, add or remove a tag, set the level by hand or hand it back to the rules,
delete; companies: assign an owner, delete. Both lists export their selection. Each changed record
gets its own audit entry (as a single edit would); work goes a batch at a time. The caller commits."""

import sqlalchemy as sa
from flask import g

from crm.contacts import service
from crm.contacts.models import LEVELS, Company, Contact
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
COMPANY_ACTIONS = {
    "owner": (_l("Assign owner"), "contacts.write"),
    "delete": (_l("Move to trash"), "contacts.delete"),
    "export": (_l("Export CSV"), "contacts.export"),
    "export_xlsx": (_l("Export XLSX"), "contacts.export"),
}
EXPORTS = ("export", "export_xlsx")  # answered with the download (the routes send the browser to it)
# The form field holding each action's value.
VALUE_FIELDS = {"owner": "bulk_owner", "add_tag": "bulk_tag", "remove_tag": "bulk_tag", "level": "bulk_level"}
AUTOMATIC = "auto"  # the bulk bar's "Automatic": hand the level back to the tier rules
BATCH = 500
MAX_SELECTED = 1000
COUNT_CAP = 10_000  # "all matching" is counted up to here before the bar asks; beyond it, "more than"


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


def apply_to_companies(action: str, statement: sa.Select, value) -> int:
    """Runs ``action`` ("owner" or "delete") on every company of ``statement``; returns how many changed."""
    changed = 0
    for company in each_of(Company, statement):
        if action == "delete":
            service.delete_company(company)
            changed += 1
        else:
            changed += bool(service.update_company(company, {"owner_id": value}))
    return changed


def capped_count(statement: sa.Select, model) -> int:
    """How many records ``statement`` selects, counted up to ``COUNT_CAP`` + 1 (reading no more)."""
    matching = statement.with_only_columns(model.id).limit(COUNT_CAP + 1).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(matching))


def ticked(form) -> list[int]:
    return [int(i) for i in form.getlist("ids") if i.isdigit()]


def selection(statement: sa.Select, model, form, none_ticked: str, too_many: str) -> sa.Select:
    """``statement`` narrowed to the ticked rows, or whole for "all matching"; BulkError when the
    ticked rows are none or too many."""
    if form.get("scope") == "all":
        return statement
    ids = ticked(form)
    if not ids:
        raise BulkError(none_ticked)
    if len(ids) > MAX_SELECTED:
        raise BulkError(too_many)
    return statement.where(model.id.in_(ids))


def export_ids(form, none_ticked: str) -> list[int] | None:
    """The ticked ids an export of the bulk bar narrows to (None: the whole list), or BulkError."""
    if form.get("scope") == "all":
        return None
    ids = ticked(form)[:MAX_SELECTED]
    if not ids:
        raise BulkError(none_ticked)
    return ids


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
