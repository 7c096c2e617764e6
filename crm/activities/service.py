"""Logging activities on a contact, finishing tasks, deleting; each audited on the contact.
The caller commits."""

from crm.activities.models import Activity
from crm.audit import service as audit
from crm.contacts.models import Contact
from crm.db import utcnow
from crm.extensions import db

FIELDS = ("kind", "body", "occurred_at", "assignee_id", "due_at", "remind_at")
TASK_ONLY = ("assignee_id", "due_at", "remind_at")


def log_activity(contact: Contact, author_id: int, data: dict) -> Activity:
    activity = Activity(contact_id=contact.id, author_id=author_id, occurred_at=data.get("occurred_at") or utcnow())
    for name in FIELDS:
        if data.get(name) is not None and (data["kind"] == "task" or name not in TASK_ONLY):
            setattr(activity, name, data[name])
    changes = {name: values for name, values in audit.changes_of(activity, FIELDS).items() if values[1]}
    db.session.add(activity)
    if activity.kind != "task" and (
        contact.last_activity_at is None or activity.occurred_at > contact.last_activity_at
    ):
        contact.last_activity_at = activity.occurred_at
    audit.record("activity.created", "contact", contact.id, changes)
    return activity


def set_done(activity: Activity, done: bool) -> None:
    activity.done_at = utcnow() if done else None
    action = "activity.done" if done else "activity.reopened"
    audit.record(action, "contact", activity.contact_id, {"task": [None, activity.body[:80]]})


def delete_activity(activity: Activity) -> None:
    audit.record("activity.deleted", "contact", activity.contact_id, {activity.kind: [activity.body[:80], None]})
    db.session.delete(activity)
