"""The trash: contacts and companies deleted within the restore window, latest deleted first, a
keyset page at a time (a partial index on each table serves it), and restoring several at once:
the ticked ones or the whole trash. Restored contacts must fit the plan's contacts limit together.
Contacts merged away as duplicates are not in it (undoing the merge brings them back)."""

from datetime import datetime, timedelta

import sqlalchemy as sa
from babel.dates import format_time
from flask_babel import get_locale, gettext, ngettext

from crm.billing import limits
from crm.contacts import batch, classification, service
from crm.contacts.models import Company, Contact
from crm.contacts.queries import PER_PAGE
from crm.db import utcnow
from crm.duplicates import service as duplicates
from crm.duplicates.models import ContactMerge
from crm.extensions import db
from crm.i18n import in_zone
from crm.jobs import enqueue
from crm.pagination import Page, keyset
from crm.permissions import visible_to_member
from crm.workspaces.models import Membership

KINDS = {"contacts": Contact, "companies": Company}
# Restored contacts paired with their look-alikes one by one in the request (a few queries each);
# more are left to a scan of the workspace in the background.
REFRESHED_AT_ONCE = 20


def in_trash(model, member: Membership) -> sa.Select:
    """The member's records of ``model`` that may still be restored. A contact merged into another
    is not: its activities and purchases are the survivor's now, and undoing the merge (Duplicates)
    is what brings it back."""
    statement = sa.select(model).where(model.deleted_at >= utcnow() - timedelta(days=service.RESTORE_DAYS))
    if model is Contact:
        merged = sa.exists().where(ContactMerge.workspace_id == Contact.workspace_id,
                                   ContactMerge.merged_id == Contact.id, ContactMerge.undone_at.is_(None))  # fmt: skip
        statement = statement.where(~merged)
    return visible_to_member(statement, model.owner_id, member)


def time_left(deleted_at: datetime, zone: str) -> str:
    """How long a record deleted at ``deleted_at`` can still be restored, in calendar days where the
    workspace is (``zone``): "12 days left", and on its last day the time it leaves the trash, after
    which the nightly ``flask crm purge-trash`` deletes it for good."""
    leaves = deleted_at + timedelta(days=service.RESTORE_DAYS)
    days = (in_zone(leaves, zone).date() - in_zone(utcnow(), zone).date()).days
    if days <= 0:
        until = format_time(in_zone(leaves, zone), "short", locale=get_locale())
        return gettext("Last day: restorable until %(time)s", time=until)
    return ngettext("%(num)d day left", "%(num)d days left", days)


def trash_page(model, member: Membership, after: str | None) -> Page:
    statement = in_trash(model, member).options(Membership.shown_by_name(model.owner))
    return keyset(db.session, statement, [model.deleted_at, model.id], after, PER_PAGE)


def check_fits(model, statement: sa.Select, workspace) -> None:
    """``LimitError`` unless the contacts of ``statement`` all fit the plan's contacts limit."""
    if model is Contact and limits.contacts_room(workspace) is not None:
        limits.check_contacts(workspace, db.session.scalar(statement.with_only_columns(sa.func.count())))


def restore(model, statement: sa.Select, workspace, progress: batch.Progress | None = None) -> list[int]:
    """Brings back every record of ``statement`` (from ``in_trash``); returns their ids. Contacts
    raise ``LimitError``, restoring none, when they would not all fit the plan, and are classified
    again (their tier, level and lifecycle as of today). Once committed,
    ``look_for_duplicates`` pairs the restored contacts with those that look like them."""
    check_fits(model, statement, workspace)
    restored = []
    today = classification.today_in(workspace)
    for ids in batch.id_batches(model, statement, progress):
        brought_back = batch.restore(model, ids)
        if model is Contact and brought_back:  # classified as of today, not as of the day deleted
            classification.reclassify_restored(workspace, brought_back, today)
        restored += brought_back
    return restored


def look_for_duplicates(model, restored: list[int], workspace_id: int) -> None:
    """After restored contacts are committed: the Duplicates page pairs them with the contacts that
    look like them (added or changed while they were in the trash), as it does a contact just saved;
    for more than a few, a scan of the workspace in the background, as after an import. Commits."""
    if model is not Contact or not restored:
        return
    if len(restored) > REFRESHED_AT_ONCE:
        enqueue(duplicates.scan_job, workspace_id)
        return
    for contact in db.session.scalars(sa.select(Contact).where(Contact.id.in_(restored))):
        duplicates.refresh_for(contact)
    db.session.commit()
