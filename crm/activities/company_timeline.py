"""A company's timeline, newest first, in keyset pages, with the machinery of a contact's
(crm/contacts/timeline.py: the same key, cursor and entries):

- the activities logged on the company, on its people and on its deals (an activity carries the
  company its person or deal had when it was logged: crm/activities/service.py);
- its purchases: those of the company as a whole and those of its people (a purchase, too, carries
  the company its buyer had), as its Purchases section counts them;
- changes of its fields ("company.updated" audit entries, custom fields and bulk changes included);
- its deals (the deal's company, which a new deal from a person's page takes from the person)
  being created, won or lost;
- the tickets of its people (a ticket has no company of its own: the people working there now).

Its people's entries are there because the company is the customer: who there bought, complained
or was called is what its page is for, and each of those entries names the person. Their own field
changes are not (they are on their pages). Each source is one indexed query whatever the number of
people (through the company's column on activities, purchases and deals, and on contacts for
tickets): five a page, one fewer without ``deals.read`` and one fewer without ``tickets.read``.

What shows follows the member's rights as on a contact's timeline: an entry about a person or a
deal only where the member may open that person or that deal (not in the trash, within their
record scope, and for a deal, with ``deals.read``); tickets as the queue shows them to the member
(``tickets.read``, the escalated queue, their record scope), naming the person only where the
member may open them. What was logged on the company alone shows to everyone who may open the
company.
"""

import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.activities.models import Activity
from crm.contacts import timeline
from crm.contacts.models import Contact
from crm.contacts.timeline import PER_PAGE, Entry
from crm.deals.models import Deal
from crm.extensions import db
from crm.i18n import select_timezone
from crm.permissions import own_records_only
from crm.purchases import queries as purchase_queries
from crm.purchases.models import Purchase
from crm.workspaces.models import Membership

CHANGE_ACTIONS = ("company.updated",)


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


def _purchases(company_id: int, member: Membership) -> sa.Select:
    """Its purchases and its people's that the member may see, with the buyer's name (one join)."""
    statement = purchase_queries.of_company(company_id, member)
    return statement.options(so.joinedload(Purchase.contact).load_only(Contact.name))


def page(
    company_id: int, member: Membership, cursor: str | None = None, per_page: int = PER_PAGE
) -> tuple[list[Entry], str | None]:
    """One page of entries, and the cursor of the next page (None: this is the last)."""
    sources = [
        timeline.activities(_statement(company_id, member)),
        timeline.purchases(_purchases(company_id, member), select_timezone()),
        timeline.changes("company", company_id, CHANGE_ACTIONS),
        *timeline.permitted(
            member,
            lambda: timeline.deal_events(Deal.company_id == company_id, member),
            lambda: timeline.tickets(member, Contact.company_id == company_id, people=True),
        ),
    ]
    return timeline.merged_page(sources, cursor, per_page)


def visible_activity(company_id: int, activity_id: int, member: Membership) -> Activity | None:
    """One activity of the company's timeline, if the member may read it there."""
    return db.session.scalar(_statement(company_id, member).where(Activity.id == activity_id))
