"""The trash: contacts and companies deleted within the restore window, latest deleted first, a
keyset page at a time (a partial index on each table serves it), and restoring several at once:
the ticked ones or the whole trash. Restored contacts must fit the plan's contacts limit together."""

from datetime import timedelta

import sqlalchemy as sa

from crm.billing import limits
from crm.contacts import service
from crm.contacts.bulk import each_of
from crm.contacts.models import Company, Contact
from crm.contacts.queries import PER_PAGE
from crm.db import utcnow
from crm.extensions import db
from crm.pagination import Page, keyset
from crm.permissions import visible_to_member
from crm.workspaces.models import Membership

KINDS = {"contacts": Contact, "companies": Company}


def in_trash(model, member: Membership) -> sa.Select:
    """The member's records of ``model`` that may still be restored."""
    statement = sa.select(model).where(model.deleted_at >= utcnow() - timedelta(days=service.RESTORE_DAYS))
    return visible_to_member(statement, model.owner_id, member)


def trash_page(model, member: Membership, after: str | None) -> Page:
    statement = in_trash(model, member).options(Membership.shown_by_name(model.owner))
    return keyset(db.session, statement, [model.deleted_at, model.id], after, PER_PAGE)


def restore(model, statement: sa.Select, workspace) -> int:
    """Brings back every record of ``statement`` (from ``in_trash``); returns how many. Contacts
    raise ``LimitError``, restoring none, when they would not all fit the plan."""
    if model is Contact and limits.contacts_room(workspace) is not None:
        limits.check_contacts(workspace, db.session.scalar(statement.with_only_columns(sa.func.count())))
    restored = 0
    for record in each_of(model, statement):
        service.bring_back(record)
        restored += 1
    return restored
