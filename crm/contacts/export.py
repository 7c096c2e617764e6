"""The contacts list as a CSV file: every contact the list state selects, in batches (constant
memory), with tags loaded a batch at a time; phones, birthday and address only for members
with contacts.sensitive."""

from collections import defaultdict

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _

from crm.contacts import queries
from crm.contacts.list_view import ListState
from crm.contacts.models import Contact, ContactTag, Tag
from crm.csv_stream import csv_row
from crm.custom_fields.service import display
from crm.extensions import db
from crm.tenancy import bind_workspace

BATCH = 1000


def _header(sensitive: bool) -> list[str]:
    header = [_("Name"), _("Email addresses"), _("Company"), _("Job title"), _("Owner"), _("Lifecycle"), _("Tier"),
              _("Customer level"), _("Lifetime value"), _("Last purchase"), _("Last activity"), _("Source"),
              _("Tags"), _("Added")]  # fmt: skip
    if sensitive:
        header += [_("Phone numbers"), _("Birthday"), _("Street"), _("City"), _("Region or state"), _("Postal code"),
                   _("Country")]  # fmt: skip
    return header


def _tags_of(contact_ids: list[int]) -> dict[int, list[str]]:
    rows = db.session.execute(
        sa.select(ContactTag.contact_id, Tag.name)
        .join(Tag, sa.and_(Tag.workspace_id == ContactTag.workspace_id, Tag.id == ContactTag.tag_id))
        .where(ContactTag.contact_id.in_(contact_ids))
        .order_by(Tag.name)
    )
    tags = defaultdict(list)
    for contact_id, name in rows:
        tags[contact_id].append(name)
    return tags


def _batches(statement: sa.Select):
    after = 0
    while True:
        batch = list(db.session.scalars(statement.where(Contact.id > after).order_by(Contact.id).limit(BATCH)))
        if not batch:
            return
        yield batch
        after = batch[-1].id


def _row(contact: Contact, tags: list[str], labels: dict, sensitive: bool) -> list:
    row = [
        contact.name, "; ".join(contact.emails), contact.company.name if contact.company else "", contact.title,
        contact.owner.user.name if contact.owner else "", labels["lifecycle"].get(contact.lifecycle, contact.lifecycle),
        contact.tier, labels["level"].get(contact.level, contact.level), contact.lifetime_value,
        contact.last_purchase_at.date().isoformat() if contact.last_purchase_at else "",
        contact.last_activity_at.isoformat(timespec="minutes") if contact.last_activity_at else "",
        contact.source, ", ".join(tags), contact.created_at.date().isoformat(),
    ]  # fmt: skip
    if sensitive:
        row += [
            "; ".join(contact.phones), contact.birthday.isoformat() if contact.birthday else "", contact.street,
            contact.city, contact.region, contact.postal_code, contact.country,
        ]  # fmt: skip
    return row


def csv_lines(state: ListState, member, workspace_id: int, sensitive: bool, labels: dict, fields: list, ids=()):
    """Runs while the response streams: binds the workspace again (the request's binding is gone).
    Custom fields come last; sensitive ones in clear only for members with contacts.sensitive."""
    bind_workspace(workspace_id)
    yield csv_row(_header(sensitive) + [field.label for field in fields])
    statement = queries.matching_contacts(state, member).options(
        so.joinedload(Contact.company), so.joinedload(Contact.owner)
    )
    if ids:  # a ticked selection
        statement = statement.where(Contact.id.in_(ids))
    for batch in _batches(statement):
        tags = _tags_of([contact.id for contact in batch])
        for contact in batch:
            custom = [display(field, contact.custom.get(field.key), reveal=sensitive) for field in fields]
            yield csv_row(_row(contact, tags.get(contact.id, []), labels, sensitive) + custom)
        db.session.expunge_all()
