"""The spreadsheets of a backup, for people rather than for a restore: live contacts and live
companies with every field, sensitive values in clear (a backup needs every permission anyway),
formulas neutralised, UTF-8 with a BOM so Excel reads Chinese names right. The JSON Lines beside
them hold everything, the trash included."""

from collections.abc import Iterator

import sqlalchemy as sa
from flask_babel import gettext as _

from crm.auth.models import User
from crm.contacts import queries as contact_queries
from crm.contacts.forms import LEVEL_LABELS, LIFECYCLE_LABELS, SIZE_LABELS
from crm.contacts.models import Company, Contact
from crm.csv_stream import BOM, csv_row
from crm.custom_fields import reserved
from crm.custom_fields.service import definitions, display
from crm.extensions import db
from crm.workspaces.models import Membership, Workspace

CONTACTS = "people/contacts.csv"
COMPANIES = "people/companies.csv"
BATCH = 1000


def texts() -> dict:
    """Labels in the reader's language, taken while the request is there (as the contacts export
    does): the files are written while the response streams."""
    return {
        "lifecycle": {key: str(label) for key, label in LIFECYCLE_LABELS.items()},
        "level": {key: str(label) for key, label in LEVEL_LABELS.items()},
        "size": {key: str(label) for key, label in SIZE_LABELS.items()},
    }


def contact_lines(workspace: Workspace, texts: dict) -> Iterator[str]:
    fields = definitions(workspace, "contact")
    owners = _owner_names()
    header = [_("Name"), _("Email addresses"), _("Phone numbers"), _("Company"), _("Job title"), _("Owner"),
              _("Lifecycle"), _("Tier"), _("Customer level"), _("Lifetime value"), _("Tags"), _("Birthday"),
              _("Street"), _("City"), _("Region or state"), _("Postal code"), _("Country"), _("Source"),
              _("Added")]  # fmt: skip
    yield BOM + csv_row(header + [reserved.header(field) for field in fields])
    for batch in _live(Contact):
        companies = _company_names({contact.company_id for contact in batch if contact.company_id})
        tags = contact_queries.tags_of([contact.id for contact in batch])
        for contact in batch:
            row = [
                contact.name, "; ".join(contact.emails), "; ".join(contact.phones),
                companies.get(contact.company_id, ""), contact.title, owners.get(contact.owner_id, ""),
                texts["lifecycle"].get(contact.lifecycle, contact.lifecycle), contact.tier,
                texts["level"].get(contact.level, contact.level), contact.lifetime_value,
                ", ".join(tags.get(contact.id, ())), contact.birthday.isoformat() if contact.birthday else "",
                contact.street, contact.city, contact.region, contact.postal_code, contact.country, contact.source,
                contact.created_at.date().isoformat(),
            ]  # fmt: skip
            yield csv_row(row + [display(field, contact.custom.get(field.key), reveal=True) for field in fields])


def _live(model):
    """Live (not trashed) rows of ``model`` by id, a batch at a time, as plain rows (no ORM
    objects: a quarter of the time, nothing left in the session)."""
    columns = [column for column in model.__table__.columns if column.name != "search_text"]
    after = 0
    while True:
        statement = sa.select(*columns).where(model.deleted_at.is_(None), model.id > after)
        batch = db.session.execute(statement.order_by(model.id).limit(BATCH)).all()
        if not batch:
            return
        yield batch
        after = batch[-1].id


def _owner_names() -> dict[int, str]:
    return dict(db.session.execute(sa.select(Membership.id, User.name).join(User, User.id == Membership.user_id)).all())


def _company_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(Company.id, Company.name).where(Company.id.in_(ids))).all())


def company_lines(workspace: Workspace, texts: dict) -> Iterator[str]:
    fields = definitions(workspace, "company")
    owners = _owner_names()
    header = [_("Company name"), _("Industry"), _("Size (staff)"), _("Website"), _("Phone"), _("Owner"),
              _("Customer since"), _("Street"), _("City"), _("Region or state"), _("Postal code"), _("Country"),
              _("Notes"), _("Added")]  # fmt: skip
    yield BOM + csv_row(header + [reserved.header(field) for field in fields])
    for batch in _live(Company):
        for company in batch:
            row = [
                company.name, company.industry, texts["size"].get(company.size or "", company.size), company.website,
                company.phone, owners.get(company.owner_id, ""),
                company.customer_since.isoformat() if company.customer_since else "", company.street, company.city,
                company.region, company.postal_code, company.country, company.notes,
                company.created_at.date().isoformat(),
            ]  # fmt: skip
            yield csv_row(row + [display(field, company.custom.get(field.key), reveal=True) for field in fields])
