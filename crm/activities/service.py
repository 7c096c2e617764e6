"""Logging activities on a contact, a company or a deal, finishing tasks, deleting; each audited on
the record it was logged on (the deal's, when logged on a deal). The caller commits."""

from datetime import datetime

import sqlalchemy as sa

from crm.activities.models import Activity
from crm.audit import service as audit
from crm.contacts.models import Company, Contact
from crm.db import utcnow
from crm.deals.models import Deal
from crm.extensions import db
from crm.permissions import own_records_only

FIELDS = ("kind", "body", "occurred_at", "assignee_id", "due_at", "remind_at")
TASK_ONLY = ("assignee_id", "due_at", "remind_at")


def log_activity(
    contact: Contact | None, author_id: int, data: dict, deal: Deal | None = None, company: Company | None = None
) -> Activity:
    """A new activity of ``contact``, ``deal`` or ``company`` (at least one); a contact's last
    activity moves with it unless it is a task. Without ``company``, it is on the timeline of the
    deal's company, else of the company the contact works for now, and stays there."""
    activity = Activity(contact_id=contact.id if contact is not None else None,
                        deal_id=deal.id if deal is not None else None,
                        company_id=_company_id(contact, deal, company),
                        author_id=author_id, occurred_at=data.get("occurred_at") or utcnow())  # fmt: skip
    for name in FIELDS:
        if data.get(name) is not None and (data["kind"] == "task" or name not in TASK_ONLY):
            setattr(activity, name, data[name])
    changes = {name: values for name, values in audit.changes_of(activity, FIELDS).items() if values[1]}
    db.session.add(activity)
    if contact is not None:
        _touch(contact, activity)
    audit.record("activity.created", *_record_of(activity), changes)
    return activity


def _same_minute(sent, stored) -> bool:
    """A time sent back by the form as it showed it: to the minute."""
    return (
        isinstance(sent, datetime) and isinstance(stored, datetime) and sent == stored.replace(second=0, microsecond=0)
    )


def _last_activity_again(contact: Contact) -> None:
    """The contact's last activity after an entry's time moved, earlier as well as later, or an entry
    was deleted."""
    db.session.flush()
    latest = sa.select(sa.func.max(Activity.occurred_at)).where(
        Activity.contact_id == contact.id, Activity.kind != "task"
    )
    contact.last_activity_at = db.session.scalar(latest)


def _touch(contact: Contact, activity: Activity) -> None:
    """The contact's last activity moves to this one if it is later (a task is not being in touch)."""
    if activity.kind != "task" and (
        contact.last_activity_at is None or activity.occurred_at > contact.last_activity_at
    ):
        contact.last_activity_at = activity.occurred_at


def log_deal_activity(deal: Deal, author_id: int, data: dict) -> Activity:
    """An activity logged on a deal; the deal's contact (if any) gets it on its timeline too and
    keeps it if the deal later changes hands."""
    contact = db.session.get(Contact, deal.contact_id) if deal.contact_id else None
    return log_activity(contact, author_id, data, deal=deal)


def _company_id(contact: Contact | None, deal: Deal | None, company: Company | None) -> int | None:
    if company is not None:
        return company.id
    if deal is not None and deal.company_id is not None:
        return deal.company_id
    return contact.company_id if contact is not None else None


def _record_of(activity: Activity) -> tuple[str, int]:
    if activity.deal_id is not None:
        return "deal", activity.deal_id
    if activity.contact_id is not None:
        return "contact", activity.contact_id
    return "company", activity.company_id


def delete_permission(activity: Activity) -> str:
    """What deleting (or correcting) someone else's entry takes, on whichever page it is done: a
    deal's entry is the deal's (crm/activities/routes.py own_record_form), so ``deals.delete``, even
    when the deal has a person and so shows on their page and their company's too; any other entry
    ``contacts.delete``. One rule for every page, so another page is never a way round the deal's."""
    return "deals.delete" if activity.deal_id is not None else "contacts.delete"


def may_correct(activity: Activity, member, delete_permission: str) -> bool:
    """Its author, whoever may delete it, and for a task its assignee."""
    mine = activity.author_id == member.id or (activity.kind == "task" and activity.assignee_id == member.id)
    return mine or member.can(delete_permission)


def may_finish(task: Activity, member) -> bool:
    """Whether the member may mark a task done (or not done) on a page that shows it: its assignee
    always (My tasks lists it); a deal's task, shown on its person's and company's pages too, only
    someone who may open the deal, as on the deal's page. Other tasks: whoever may open the record
    the caller found them on."""
    if task.assignee_id == member.id or task.deal_id is None:
        return True
    # The deal is read only for a member limited to their own records: a deal's page lists its tasks
    # without loading the deal again for each.
    return member.can("deals.read") and (not own_records_only(member) or task.deal.owner_id == member.id)


def update_activity(activity: Activity, data: dict) -> dict:
    """Corrects what an entry says, and when it happened (a task: when it is due, its reminder and
    assignee; a task whose times move is reminded again). Its type and record stay. Audited on the
    record it was logged on; returns the changes."""
    fields = ("body", *TASK_ONLY) if activity.kind == "task" else ("body", "occurred_at")
    for name in fields:
        value = data.get(name)
        if name == "occurred_at" and value is None:
            continue  # an empty "When" keeps the time it has
        if _same_minute(value, getattr(activity, name)):
            continue  # the form shows times to the minute: sent back unchanged, they are unchanged
        setattr(activity, name, value)
    changes = audit.changes_of(activity, fields)
    if "assignee_id" in changes and activity.remind_at is not None:
        activity.reminded_at = None  # the new assignee has not been told: at the next run, if already due
    elif "remind_at" in changes or ("due_at" in changes and activity.remind_at is None):
        # A reminder still to come is sent (again); one already past is not sent twice.
        activity.reminded_at = (
            None if activity.remind_at is None or activity.remind_at > utcnow() else activity.reminded_at
        )
    if "occurred_at" in changes and activity.contact is not None:
        _last_activity_again(activity.contact)
    if changes:
        audit.record("activity.updated", *_record_of(activity), changes)
    return changes


def hand_over_open_tasks(from_member_id: int, to_member_id: int) -> int:
    """Gives every open task of one member to another (a member removed: to the admin who removed
    them), as a hand-over on the task's form would: audited on each task's record, and reminded to
    the new assignee at the next run where the reminder time has come. Returns how many."""
    tasks = db.session.scalars(
        sa.select(Activity)
        .where(Activity.kind == "task", Activity.assignee_id == from_member_id, Activity.done_at.is_(None))
        .order_by(Activity.id)
    ).all()
    for task in tasks:
        task.assignee_id = to_member_id
        if task.remind_at is not None:
            task.reminded_at = None
        changes = {"task": [None, task.body[:80]], "assignee_id": [from_member_id, to_member_id]}
        audit.record("activity.handed_over", *_record_of(task), changes)
    return len(tasks)


def set_done(activity: Activity, done: bool) -> None:
    activity.done_at = utcnow() if done else None
    action = "activity.done" if done else "activity.reopened"
    audit.record(action, *_record_of(activity), {"task": [None, activity.body[:80]]})


def delete_activity(activity: Activity) -> Contact | None:
    """Deletes an entry; its contact's last activity goes back to the latest one left (a deleted call
    is no longer being in touch). Returns that contact when its last activity may have moved, for the
    caller to classify again (its lifecycle counts from it), else None."""
    audit.record("activity.deleted", *_record_of(activity), {activity.kind: [activity.body[:80], None]})
    contact = activity.contact if activity.kind != "task" else None  # a task is not being in touch
    db.session.delete(activity)
    if contact is not None:
        _last_activity_again(contact)
    return contact
