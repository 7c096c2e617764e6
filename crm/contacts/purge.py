"""Emptying the trash for good (``flask crm purge-trash``, nightly): contacts and companies deleted
more than ``RESTORE_DAYS`` ago leave the database with what belongs only to them. Each workspace is
purged under its own binding, a batch of 1,000 ids per transaction, and gets one audit entry with
the counts (none when nothing was due). Running it again finds nothing more to do.

A contact takes with it its activities, purchases, identities, tags, custom values (on its row),
duplicate pairs, merges (either side), import undo rows and data-quality findings. What is the
business's own record stays without it: a deal's activities stay on the deal, deals lose their
contact (quotes keep the names they were made with). Tickets need their customer (the queue, the
reports, a ticket's number): a contact with tickets stays as a privacy erasure leaves one,
"Erased customer #id" with its tickets anonymised (crm/privacy/service.py), in the trash for good,
and with no purchases, figures, company or address either.

A company takes with it the activities and purchases of the company as a whole; its people (live
or deleted) stay without a company, their purchases and activities lose it, deals too.

A contact merged away as a duplicate was trashed when merged, and a merge can be undone for 7 days
only (crm/duplicates/service.py): past the trash's window it goes like any other, with its merge
record; one whose merge could still be undone is never purged, should the two windows change.
"""

import logging
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from crm.activities.models import Activity
from crm.audit import service as audit
from crm.contacts import batch, service
from crm.contacts.models import Company, Contact, ContactIdentity, ContactTag
from crm.data_quality.models import DataQualityFinding
from crm.db import utcnow
from crm.deals.models import Deal
from crm.duplicates import service as duplicates
from crm.duplicates.models import ContactMerge, DuplicatePair
from crm.extensions import db
from crm.imports.models import ImportChange
from crm.privacy import service as privacy
from crm.purchases.models import Purchase
from crm.tickets.models import Ticket

log = logging.getLogger(__name__)

# Cleared on a contact kept for its tickets, besides what the privacy erasure clears.
STUB_VALUES = {"company_id": None, "street": None, "city": None, "region": None, "postal_code": None,
               "country": None, "source": None, "tier": None, "last_activity_at": None, "last_purchase_at": None,
               "lifetime_value": Decimal("0"), "value_12m": Decimal("0"), "value_prev_12m": Decimal("0")}  # fmt: skip


def due_before() -> datetime:
    """Records deleted before this are past the trash's restore window."""
    return utcnow() - timedelta(days=service.RESTORE_DAYS)


def expired(model, before: datetime) -> sa.Select:
    """The ids of ``model`` the purge still has to do in the bound workspace."""
    statement = sa.select(model.id).where(model.deleted_at.is_not(None), model.deleted_at < before)
    if model is Contact:
        undoable = sa.exists().where(
            ContactMerge.workspace_id == Contact.workspace_id, ContactMerge.merged_id == Contact.id,
            ContactMerge.undone_at.is_(None),
            ContactMerge.created_at > utcnow() - timedelta(days=duplicates.UNDO_DAYS),
        )  # fmt: skip
        has_tickets = sa.exists().where(Ticket.workspace_id == Contact.workspace_id, Ticket.contact_id == Contact.id)
        already_erased = Contact.name == sa.literal(privacy.ERASED_NAME) + sa.cast(Contact.id, sa.String)
        statement = statement.where(~undoable, ~sa.and_(has_tickets, already_erased))
    return statement


def _delete(model, *where) -> None:
    db.session.execute(sa.delete(model).where(*where).execution_options(synchronize_session=False))


def _update(model, *where, **values) -> None:
    db.session.execute(sa.update(model).where(*where).values(**values).execution_options(synchronize_session=False))


def purge_contacts(ids: list[int], before: datetime) -> int:
    """Deletes the contacts of ``ids`` still due (one restored meanwhile is not) with what is only
    theirs; those with tickets are erased in place instead. Returns how many. The caller commits."""
    ids = list(db.session.scalars(expired(Contact, before).where(Contact.id.in_(ids))))
    if not ids:
        return 0
    keep = set(db.session.scalars(sa.select(Ticket.contact_id).where(Ticket.contact_id.in_(ids)).distinct()))
    _update(Activity, Activity.contact_id.in_(ids), Activity.deal_id.is_not(None), contact_id=None)
    _update(Deal, Deal.contact_id.in_(ids), contact_id=None)
    _delete(Purchase, Purchase.contact_id.in_(ids))
    for contact in db.session.scalars(sa.select(Contact).where(Contact.id.in_(keep))):
        privacy.anonymise(contact)
        for name, value in STUB_VALUES.items():
            setattr(contact, name, value)
    gone = [contact_id for contact_id in ids if contact_id not in keep]
    if gone:
        for column in (Activity.contact_id, ContactIdentity.contact_id, ContactTag.contact_id,
                       DataQualityFinding.contact_id, ImportChange.contact_id):  # fmt: skip
            _delete(column.class_, column.in_(gone))
        _delete(DuplicatePair, sa.or_(DuplicatePair.contact_id.in_(gone), DuplicatePair.other_id.in_(gone)))
        _delete(ContactMerge, sa.or_(ContactMerge.survivor_id.in_(gone), ContactMerge.merged_id.in_(gone)))
        _delete(Contact, Contact.id.in_(gone))
    db.session.flush()
    return len(ids)


def purge_companies(ids: list[int], before: datetime) -> int:
    """Deletes the companies of ``ids`` still due, with their own activities and purchases; their
    people stay without a company. Returns how many. The caller commits."""
    ids = list(db.session.scalars(expired(Company, before).where(Company.id.in_(ids))))
    if not ids:
        return 0
    _delete(Activity, Activity.company_id.in_(ids), Activity.contact_id.is_(None), Activity.deal_id.is_(None))
    _update(Activity, Activity.company_id.in_(ids), company_id=None)
    _delete(Purchase, Purchase.company_id.in_(ids), Purchase.contact_id.is_(None))
    _update(Purchase, Purchase.company_id.in_(ids), company_id=None)
    _update(Deal, Deal.company_id.in_(ids), company_id=None)
    people = list(db.session.scalars(sa.select(Contact.id).where(Contact.company_id.in_(ids)).order_by(Contact.id)))
    for start in range(0, len(people), batch.BATCH):
        chunk = people[start : start + batch.BATCH]
        for contact in db.session.scalars(sa.select(Contact).where(Contact.id.in_(chunk))):
            contact.company_id = None
            contact.search_text = service.contact_search_text(contact, None)  # found by the company's name no more
        db.session.flush()
    _delete(Company, Company.id.in_(ids))
    return len(ids)


def purge_workspace(before: datetime | None = None) -> dict[str, int]:
    """Purges the bound workspace, committing each batch; the audit entry is saved with the last, or
    after a failure with the counts of the batches done.
    Returns {"contacts": n, "companies": n}. Contacts go first, so a company's people who are
    purged with it are not unlinked for nothing."""
    before = before or due_before()
    work = []
    for key, model, purge in (("contacts", Contact, purge_contacts), ("companies", Company, purge_companies)):
        ids = list(db.session.scalars(expired(model, before).order_by(model.id)))
        work += [(key, purge, ids[start : start + batch.BATCH]) for start in range(0, len(ids), batch.BATCH)]
    counts = {"contacts": 0, "companies": 0}
    purged = dict(counts)  # what the committed batches did
    try:
        for number, (key, purge, ids) in enumerate(work, 1):
            counts[key] += purge(ids, before)
            if number < len(work):
                db.session.commit()
                purged = dict(counts)
    except Exception:
        db.session.rollback()
        _audited(purged)  # the batches done are gone for good: the log says so
        raise
    _audited(counts)
    return counts


def _audited(counts: dict[str, int]) -> None:
    if any(counts.values()):
        audit.record("trash.purged", None, None, counts)
    db.session.commit()


def purge_every_workspace() -> list[tuple[str, dict[str, int] | None]]:
    """``flask crm purge-trash``: each workspace under its own binding; (name, counts) for each, with
    None for one that failed (logged and rolled back; the others are still purged)."""
    from crm.tenancy import ALL_WORKSPACES, workspace_scope
    from crm.workspaces.models import Workspace

    before = due_before()
    statement = sa.select(Workspace.id, Workspace.name).order_by(Workspace.id).execution_options(**ALL_WORKSPACES)
    results = []
    for workspace_id, name in db.session.execute(statement).all():
        with workspace_scope(workspace_id):
            try:
                results.append((name, purge_workspace(before)))
            except Exception:
                db.session.rollback()
                log.exception("purging the trash of workspace %s failed", workspace_id)
                results.append((name, None))
            db.session.expunge_all()  # nothing of this workspace is handed back in the next
    return results
