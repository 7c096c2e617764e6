"""Undoing an import: the purchases it added are deleted (their customers classified again), the
contacts it created go to the trash (restorable there for 30 days), the
companies it created too unless someone has since put a live contact in them, and the contacts it
updated get back the values they had. The caller commits."""

from datetime import date

import sqlalchemy as sa

from crm.audit import service as audit
from crm.contacts import identities
from crm.contacts.models import Company, Contact
from crm.contacts.service import contact_search_text, set_tags
from crm.db import utcnow
from crm.extensions import db
from crm.imports.models import Import, ImportChange
from crm.imports.purchases import reclassify
from crm.purchases.models import Purchase

BATCH = 500


def undo(job: Import) -> dict:
    now = utcnow()
    purchases = _delete_purchases(job)
    trashed = _trash(sa.update(Contact).where(Contact.import_id == job.id, Contact.deleted_at.is_(None)), now)
    restored = _restore_updated(job)
    still_used = sa.select(Contact.id).where(
        Contact.company_id == Company.id, Contact.workspace_id == Company.workspace_id, Contact.deleted_at.is_(None)
    )
    companies = _trash(
        sa.update(Company).where(Company.import_id == job.id, Company.deleted_at.is_(None), ~sa.exists(still_used)),
        now,
    )
    job.status, job.undone_at = "undone", now
    counts = {"trashed": trashed, "restored": restored, "companies_trashed": companies,
              "purchases_deleted": purchases, "file": job.filename}  # fmt: skip
    audit.record("import.undone", "import", job.id, counts)
    return counts


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


def _trash(statement, now) -> int:
    result = db.session.execute(statement.values(deleted_at=now).execution_options(synchronize_session=False))
    return result.rowcount


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
        for change in changes:
            _put_back(contacts[change.contact_id], change.before)
        restored += len(changes)
        after = changes[-1].id
        db.session.flush()


def _put_back(contact: Contact, before: dict) -> None:
    for name, value in before.items():
        if name == "tags":
            set_tags(contact, value)
        elif name == "birthday":
            contact.birthday = date.fromisoformat(value) if value else None
        else:
            setattr(contact, name, value)
    db.session.flush()
    company = db.session.get(Company, contact.company_id) if contact.company_id else None
    contact.search_text = contact_search_text(contact, company.name if company else None)
    if {"emails", "phones"} & before.keys():
        identities.sync(contact)
