"""Undoing an import: the purchases it added are deleted (their customers classified again), the
contacts it created go to the trash (restorable there for 30 days) unless they have purchases, deals,
tickets or activities since, the companies it created too unless they have a live contact, purchases,
deals or activities since, and the contacts it updated get back the values they had where they still hold
the import's: an edit made since stays (tags, emails and phones lose only those the import added).
The caller commits.

Each contact put back gets an audit entry with what was put back ("contact.import_undone", on its
timeline), and each contact or company moved to the trash one as deleting it by hand makes, by the
member who undid the import: a batch of entries per statement (crm/imports/history.py says why the
import itself writes none)."""

from datetime import date

import sqlalchemy as sa
from flask import g

from crm.activities.models import Activity
from crm.audit import service as audit
from crm.contacts import identities
from crm.contacts.models import Company, Contact
from crm.contacts.service import contact_search_text, set_tags
from crm.custom_fields.service import definitions
from crm.db import utcnow
from crm.deals.models import Deal
from crm.extensions import db
from crm.imports import history
from crm.imports.models import Import, ImportChange, change_value
from crm.imports.purchases import reclassify
from crm.purchases.models import Purchase
from crm.tickets.models import Ticket

BATCH = 500


def undo(job: Import) -> dict:
    now = utcnow()
    purchases = _delete_purchases(job)
    created = sa.and_(Contact.import_id == job.id, Contact.deleted_at.is_(None))
    kept = db.session.scalar(sa.select(sa.func.count()).where(created, _in_use()))
    trashed = _trash(Contact, sa.update(Contact).where(created, ~_in_use()), now)
    restored = _restore_updated(job)
    companies_created = sa.and_(Company.import_id == job.id, Company.deleted_at.is_(None))
    companies_kept = db.session.scalar(sa.select(sa.func.count()).where(companies_created, _company_in_use()))
    companies = _trash(Company, sa.update(Company).where(companies_created, ~_company_in_use()), now)
    job.status, job.undone_at = "undone", now
    counts = {"trashed": trashed, "restored": restored, "companies_trashed": companies,
              "companies_kept": companies_kept, "purchases_deleted": purchases, "kept": kept,
              "file": job.filename}  # fmt: skip
    audit.record("import.undone", "import", job.id, counts)
    return counts


def _in_use():
    """A contact with purchases, deals, tickets or activities (the import's purchases are gone by then):
    one who wrote in since stays, not erased with their tickets when the trash is emptied."""
    of_contact = (
        sa.exists().where(model.workspace_id == Contact.workspace_id, model.contact_id == Contact.id)
        for model in (Purchase, Deal, Ticket, Activity)
    )
    return sa.or_(*of_contact)


def _company_in_use():
    """A company with a live contact, or purchases, deals or activities of its own (an activity
    logged on it, a deal with it) since the import."""
    of_company = (
        sa.exists().where(model.workspace_id == Company.workspace_id, model.company_id == Company.id)
        for model in (Purchase, Deal, Activity)
    )
    live_contact = sa.exists().where(
        Contact.workspace_id == Company.workspace_id, Contact.company_id == Company.id, Contact.deleted_at.is_(None)
    )
    return sa.or_(live_contact, *of_company)


def _delete_purchases(job: Import) -> int:
    """Deletes the purchases the import added; their customers are classified again."""
    customers = set(db.session.scalars(
        sa.select(Purchase.contact_id).where(Purchase.import_id == job.id, Purchase.contact_id.isnot(None)).distinct()
    ))  # fmt: skip
    deleted = db.session.execute(
        sa.delete(Purchase).where(Purchase.import_id == job.id).execution_options(synchronize_session=False)
    ).rowcount
    if customers:
        reclassify(job.workspace_id, customers)
    return deleted


def _trash(model, statement, now) -> int:
    """Moves the rows to the trash, each audited as deleting it by hand is."""
    statement = statement.values(deleted_at=now).returning(model.id, model.name)
    rows = db.session.execute(statement.execution_options(synchronize_session=False)).all()
    kind = "contact" if model is Contact else "company"
    for start in range(0, len(rows), BATCH):
        deleted = {record_id: {"name": [name, None]} for record_id, name in rows[start : start + BATCH]}
        audit.record_many(f"{kind}.deleted", kind, deleted)
    return len(rows)


def _restore_updated(job: Import) -> int:
    restored, after = 0, 0
    while True:
        changes = list(db.session.scalars(
            sa.select(ImportChange).where(ImportChange.import_id == job.id, ImportChange.id > after)
            .order_by(ImportChange.id).limit(BATCH)
        ))  # fmt: skip
        if not changes:
            return restored
        contacts = {c.id: c for c in db.session.scalars(
            sa.select(Contact).where(Contact.id.in_([change.contact_id for change in changes]))
        )}  # fmt: skip
        custom = {field.key: field for field in definitions(g.workspace, "contact")}
        put_back = {}
        for change in changes:
            contact = contacts[change.contact_id]
            was = _values(contact, change.before)
            _put_back(contact, change.before, change.after)
            logged = history.logged(was, _values(contact, change.before), custom, tags_added=False)
            if logged:
                put_back[contact.id] = logged
        audit.record_many("contact.import_undone", "contact", put_back)
        restored += len(changes)
        after = changes[-1].id
        db.session.flush()


def _values(contact: Contact, names) -> dict:
    """The contact's values of ``names`` as an import change keeps them (tags by name)."""
    return {
        name: [tag.name for tag in contact.tags] if name == "tags" else change_value(getattr(contact, name))
        for name in names
    }


def _put_back(contact: Contact, before: dict, after: dict | None) -> None:
    """Puts back each value the import changed where the contact still holds the import's; all of
    them for a change kept before ``after`` was (migration 0037)."""
    for name, value in before.items():
        if after is None or name not in after:
            _set(contact, name, value)
        elif name == "tags":
            current = [tag.name for tag in contact.tags]
            kept = [tag for tag in current if tag not in after["tags"]]
            if kept != current:
                set_tags(contact, kept)
        elif name in ("emails", "phones"):
            added = [item for item in after[name] if item not in (value or [])]
            setattr(contact, name, [item for item in getattr(contact, name) if item not in added])
        elif name == "custom":
            contact.custom = _custom_back(contact.custom or {}, value or {}, after[name])
        elif change_value(getattr(contact, name)) == after[name]:
            _set(contact, name, value)
    db.session.flush()
    company = db.session.get(Company, contact.company_id) if contact.company_id else None
    contact.search_text = contact_search_text(contact, company.name if company else None)
    if {"emails", "phones"} & before.keys():
        identities.sync(contact)


def _set(contact: Contact, name: str, value) -> None:
    if name == "tags":
        set_tags(contact, value)
    elif name == "birthday":
        contact.birthday = date.fromisoformat(value) if value else None
    else:
        setattr(contact, name, value)


def _custom_back(current: dict, before: dict, after: dict) -> dict:
    """The custom values with each one the import set put back, where it still holds the import's."""
    custom = dict(current)
    for key in set(before) | set(after):
        if before.get(key) == after.get(key) or custom.get(key) != after.get(key):
            continue  # not the import's change, or changed since
        if key in before:
            custom[key] = before[key]
        else:
            custom.pop(key, None)
    return custom
