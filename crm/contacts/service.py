"""Creating, changing, soft-deleting and restoring contacts and companies, with their audit
entries. Routes pass validated form data; the caller commits (one transaction per action)."""

import sqlalchemy as sa

from crm.audit import service as audit
from crm.billing import limits
from crm.contacts import identities
from crm.contacts.models import Company, Contact, ContactTag, Tag
from crm.db import utcnow
from crm.extensions import db
from crm.search import digits, normalize, searchable
from crm.tenancy import bound_workspace_id
from crm.workspaces.models import Workspace

RESTORE_DAYS = 30
CONTACT_FIELDS = (
    "name", "emails", "phones", "company_id", "title", "gender", "birthday", "source", "owner_id", "about",
    "street", "city", "region", "postal_code", "country", "lifecycle",
)  # fmt: skip
COMPANY_FIELDS = (
    "name", "industry", "size", "website", "phone", "owner_id", "customer_since", "notes",
    "street", "city", "region", "postal_code", "country",
)  # fmt: skip
SENSITIVE_FIELDS = ("phones", "birthday", "street", "city", "region", "postal_code", "country")


def contact_search_text(contact: Contact, company_name: str | None) -> str:
    return search_text_of(contact.name, contact.emails, contact.phones, company_name)


def search_text_of(name: str, emails: list[str], phones: list[str], company_name: str | None) -> str:
    """Name, emails, phone digits (with and without the country code) and company name, folded
    (lower case, Latin letters without accents) with German spellings beside ä, ö, ü:
    crm.search.searchable."""
    parts = [name, *emails, company_name or "", *(digits(phone) for phone in phones)]
    return searchable(" ".join(p for p in parts if p))


def company_search_text(company: Company) -> str:
    return searchable(" ".join(p for p in (company.name, company.website or "", digits(company.phone or "")) if p))


def _apply(obj, data: dict, fields) -> None:
    for name in fields:
        if name in data:
            setattr(obj, name, data[name])


def _company_name(company_id: int | None) -> str | None:
    if company_id is None:
        return None
    return db.session.scalar(sa.select(Company.name).where(Company.id == company_id))


def create_contact(data: dict, *, check_limit: bool = True) -> Contact:
    """A new contact, within the plan's contacts limit (``LimitError`` otherwise). The complaint
    portal passes ``check_limit=False``: a customer's complaint is never lost because the business
    is over its limit (crm/billing/limits.py)."""
    if check_limit:
        limits.check_contacts(_bound_workspace())
    contact = Contact(emails=[], phones=[], custom=data.get("custom") or {})
    _apply(contact, data, CONTACT_FIELDS)
    contact.search_text = contact_search_text(contact, _company_name(contact.company_id))
    changes = {name: values for name, values in audit.changes_of(contact, CONTACT_FIELDS).items() if values[1]}
    db.session.add(contact)
    db.session.flush()
    identities.sync(contact)
    tags = set_tags(contact, data.get("tags", []))
    if tags:
        changes["tags"] = [None, tags]
    changes.update(data.get("custom_audit") or {})
    audit.record("contact.created", "contact", contact.id, changes)
    return contact


def _bound_workspace() -> Workspace:
    return db.session.get(Workspace, bound_workspace_id())  # the request's: from the identity map


def update_contact(contact: Contact, data: dict) -> dict:
    """Applies the fields present in ``data`` (a role without contacts.sensitive never sends those)."""
    before_tags = [tag.name for tag in contact.tags]
    _apply(contact, data, CONTACT_FIELDS)
    changes = audit.changes_of(contact, CONTACT_FIELDS)
    if "custom" in data:
        contact.custom = data["custom"]
        changes.update(data.get("custom_audit") or {})
    if "tags" in data:
        after_tags = set_tags(contact, data["tags"])
        if after_tags != before_tags:
            changes["tags"] = [before_tags, after_tags]
    if changes:
        contact.search_text = contact_search_text(contact, _company_name(contact.company_id))
        audit.record("contact.updated", "contact", contact.id, changes)
    if "emails" in changes or "phones" in changes:
        identities.sync(contact)
    return changes


def set_tags(contact: Contact, names: list[str]) -> list[str]:
    """Replaces the contact's tags with ``names`` (lower-case, created on first use)."""
    wanted = sorted({normalize(name)[:50] for name in names if name.strip()})
    existing = {tag.name: tag for tag in db.session.scalars(sa.select(Tag).where(Tag.name.in_(wanted)))}
    for name in wanted:
        if name not in existing:
            existing[name] = Tag(name=name)
            db.session.add(existing[name])
    db.session.flush()
    db.session.execute(sa.delete(ContactTag).where(ContactTag.contact_id == contact.id))
    for name in wanted:
        db.session.add(ContactTag(contact_id=contact.id, tag_id=existing[name].id))
    db.session.flush()
    db.session.expire(contact, ["tags"])
    return wanted


def set_level(contact: Contact, level: str, workspace, today) -> None:
    """Pins the level by hand, or ("") hands it back to the rules, which classify it at once."""
    from crm.contacts import classification

    if level:
        if (contact.level, contact.level_pinned) != (level, True):
            audit.record("contact.updated", "contact", contact.id, {"level": [contact.level, level]})
        contact.level, contact.level_pinned = level, True
    elif contact.level_pinned:
        contact.level_pinned = False
        classification.reclassify(contact, classification.rules_of(workspace), today, workspace.timezone)


def delete_contact(contact: Contact) -> None:
    contact.deleted_at = utcnow()
    audit.record("contact.deleted", "contact", contact.id, {"name": [contact.name, None]})


def create_company(data: dict) -> Company:
    company = Company(custom=data.get("custom") or {})
    _apply(company, data, COMPANY_FIELDS)
    company.search_text = company_search_text(company)
    changes = {name: values for name, values in audit.changes_of(company, COMPANY_FIELDS).items() if values[1]}
    changes.update(data.get("custom_audit") or {})
    db.session.add(company)
    db.session.flush()
    audit.record("company.created", "company", company.id, changes)
    return company


def update_company(company: Company, data: dict) -> dict:
    renamed = "name" in data and data["name"] != company.name
    _apply(company, data, COMPANY_FIELDS)
    changes = audit.changes_of(company, COMPANY_FIELDS)
    if "custom" in data:
        company.custom = data["custom"]
        changes.update(data.get("custom_audit") or {})
    if changes:
        company.search_text = company_search_text(company)
        audit.record("company.updated", "company", company.id, changes)
    if renamed:
        # Contacts are found by their company's name too.
        for contact in db.session.scalars(sa.select(Contact).where(Contact.company_id == company.id)):
            contact.search_text = contact_search_text(contact, company.name)
    return changes


def delete_company(company: Company) -> None:
    company.deleted_at = utcnow()
    audit.record("company.deleted", "company", company.id, {"name": [company.name, None]})
