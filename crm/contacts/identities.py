"""A contact's email addresses and phone numbers as indexed rows (``contact_identities``), so an
import or a duplicate check finds "who already has this address" without reading every contact.
Every write path that sets emails or phones calls ``sync``; bulk writers use ``rows_for``."""

import sqlalchemy as sa

from crm.contacts.models import Contact, ContactIdentity
from crm.extensions import db


def rows_for(contact_id: int, emails: list[str], phones: list[str]) -> list[dict]:
    return [{"contact_id": contact_id, "kind": "email", "value": email} for email in emails] + [
        {"contact_id": contact_id, "kind": "phone", "value": phone} for phone in phones
    ]


def sync(contact: Contact) -> None:
    """Makes the stored rows match the contact's current lists (the contact must have an id)."""
    db.session.execute(sa.delete(ContactIdentity).where(ContactIdentity.contact_id == contact.id))
    rows = rows_for(contact.id, contact.emails, contact.phones)
    if rows:
        db.session.execute(sa.insert(ContactIdentity), [{**row, "workspace_id": contact.workspace_id} for row in rows])


def owners_of(kind: str, values) -> dict[str, int]:
    """{value: id of the oldest live contact holding it} for the values some contact holds."""
    values = list(set(values))
    if not values:
        return {}
    statement = (
        sa.select(ContactIdentity.value, ContactIdentity.contact_id)
        .join(
            Contact,
            sa.and_(Contact.workspace_id == ContactIdentity.workspace_id, Contact.id == ContactIdentity.contact_id),
        )
        .where(ContactIdentity.kind == kind, ContactIdentity.value.in_(values), Contact.deleted_at.is_(None))
        .order_by(ContactIdentity.contact_id.desc())
    )
    return dict(db.session.execute(statement).all())
