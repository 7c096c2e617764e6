"""A contact's email addresses and phone numbers as indexed rows (``contact_identities``), so an
import or a duplicate check finds "who already has this address" without reading every contact.
Every write path that sets emails or phones calls ``sync``; bulk writers use ``rows_for`` (and
``forget`` first, for contacts they change)."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

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


def forget(contact_ids: list[int]) -> None:
    """Deletes the stored rows of these contacts, in one statement: a bulk writer that changed their
    lists inserts their ``rows_for`` after it (``sync`` for many contacts at once)."""
    if contact_ids:
        statement = sa.delete(ContactIdentity).where(ContactIdentity.contact_id.in_(contact_ids))
        db.session.execute(statement.execution_options(synchronize_session=False))


def owners_of(kind: str, values) -> dict[str, int]:
    """{value: id of the oldest live contact holding it} for the values some contact holds.

    On PostgreSQL each value is looked up on its own (a LATERAL subquery per value), so the whole
    key of the (workspace_id, kind, value) index is used whatever the table's statistics say: a
    young table without statistics otherwise got a plan that read every address of the workspace
    for each batch of an import, which grew with the square of the import's size."""
    values = list(set(values))
    if not values:
        return {}
    if db.session.get_bind().dialect.name == "postgresql":
        return _owners_one_by_one(kind, values)
    statement = (
        sa.select(ContactIdentity.value, ContactIdentity.contact_id)
        .join(Contact, _of_contact())
        .where(ContactIdentity.kind == kind, ContactIdentity.value.in_(values), Contact.deleted_at.is_(None))
        .order_by(ContactIdentity.contact_id.desc())
    )
    return dict(db.session.execute(statement).all())


def _of_contact():
    return sa.and_(Contact.workspace_id == ContactIdentity.workspace_id, Contact.id == ContactIdentity.contact_id)


def _owners_one_by_one(kind: str, values: list[str]) -> dict[str, int]:
    # OFFSET 0 keeps the planner from flattening the subquery into a hash join over every address
    # of the workspace; no ORDER BY ... LIMIT in it, which without statistics made the planner walk
    # the contact_id index for a first match, through every row for a value nobody holds.
    wanted = sa.func.unnest(sa.bindparam("wanted", values, type_=ARRAY(sa.String))).table_valued("value")
    wanted = wanted.render_derived()
    holders = (
        sa.select(ContactIdentity.contact_id)
        .join(Contact, _of_contact())
        .where(ContactIdentity.kind == kind, ContactIdentity.value == wanted.c.value)
        .where(Contact.deleted_at.is_(None))
        .offset(0)
        .lateral()
    )
    owners: dict[str, int] = {}
    statement = sa.select(wanted.c.value, holders.c.contact_id).join(holders, sa.true())
    for value, contact_id in db.session.execute(statement):
        owners[value] = min(contact_id, owners.get(value, contact_id))
    return owners
