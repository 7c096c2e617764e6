"""A company's timeline: the activities logged on the company, on its people and on its deals (an
activity carries the company its person or deal had when it was logged: crm/activities/service.py),
newest first, in keyset pages of one query.

An entry about a person or a deal shows only where the member may open that person or that deal: not
in the trash, within their record scope, and for a deal, with ``deals.read``. What was logged on the
company alone shows to everyone who may open the company.
"""

import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.activities.models import Activity
from crm.contacts.models import Contact
from crm.contacts.timeline import ACTIVITY, PER_PAGE, Entry, after_cursor, decode, encode
from crm.deals.models import Deal
from crm.extensions import db
from crm.permissions import own_records_only
from crm.workspaces.models import Membership


def _visible(member: Membership):
    """Which activities of a company the member may read there (needs the outer joins of ``_statement``)."""
    contact_open, deal_open = Contact.deleted_at.is_(None), Deal.deleted_at.is_(None)
    if own_records_only(member):
        contact_open = sa.and_(contact_open, Contact.owner_id == member.id)
        deal_open = sa.and_(deal_open, Deal.owner_id == member.id)
    about_contact = sa.and_(Activity.contact_id.isnot(None), contact_open)
    company_alone = sa.and_(Activity.contact_id.is_(None), Activity.deal_id.is_(None))
    if not member.can("deals.read"):
        return sa.or_(about_contact, company_alone)
    on_deal = sa.and_(Activity.deal_id.isnot(None), deal_open)
    return sa.or_(about_contact, on_deal, company_alone)


def _statement(company_id: int, member: Membership) -> sa.Select:
    return (
        sa.select(Activity)
        .outerjoin(Contact, sa.and_(Contact.workspace_id == Activity.workspace_id, Contact.id == Activity.contact_id))
        .outerjoin(Deal, sa.and_(Deal.workspace_id == Activity.workspace_id, Deal.id == Activity.deal_id))
        .where(Activity.company_id == company_id, _visible(member))
        .options(
            Membership.shown_by_name(Activity.author),
            Membership.shown_by_name(Activity.assignee),
            # What an entry's links show and check (record_visible, deal_visible).
            so.contains_eager(Activity.contact).load_only(Contact.name, Contact.owner_id, Contact.deleted_at),
            so.contains_eager(Activity.deal).load_only(Deal.title, Deal.owner_id, Deal.deleted_at),
        )
    )


def page(
    company_id: int, member: Membership, cursor: str | None = None, per_page: int = PER_PAGE
) -> tuple[list[Entry], str | None]:
    """One page of entries, and the cursor of the next page (None: this is the last)."""
    statement = _statement(company_id, member)
    if cursor:
        statement = statement.where(after_cursor(Activity.occurred_at, Activity.id, ACTIVITY, decode(cursor)))
    ordered = statement.order_by(Activity.occurred_at.desc(), Activity.id.desc()).limit(per_page + 1)
    entries = [Entry(a.occurred_at, ACTIVITY, a) for a in db.session.scalars(ordered)]
    if len(entries) <= per_page:
        return entries, None
    return entries[:per_page], encode(entries[per_page - 1].key)


def visible_activity(company_id: int, activity_id: int, member: Membership) -> Activity | None:
    """One activity of the company's timeline, if the member may read it there."""
    return db.session.scalar(_statement(company_id, member).where(Activity.id == activity_id))
