"""Read queries for contacts and companies: lists (keyset, filters, search) and detail loads.

Every one goes through ``visible_to_member`` (record scope "own") and hides soft-deleted rows.
Search goes through crm/search.py (trigram indexes on both databases).
"""

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.contacts.models import Company, Contact, ContactTag, Tag
from crm.contacts.service import RESTORE_DAYS
from crm.db import utcnow
from crm.extensions import db
from crm.pagination import Page, newest_first
from crm.permissions import visible_to_member
from crm.search import matching, normalize
from crm.workspaces.models import Membership

PER_PAGE = 50


@dataclass
class ContactFilters:
    q: str = ""
    owner: str = ""  # "me", "none" or a membership id
    tag: str = ""
    lifecycle: str = ""
    company: int | None = None

    @property
    def active(self) -> bool:
        return bool(self.q or self.owner or self.tag or self.lifecycle or self.company)


def _owner_filter(statement: sa.Select, column, owner: str, member: Membership | None) -> sa.Select:
    if owner == "me" and member is not None:
        return statement.where(column == member.id)
    if owner == "none":
        return statement.where(column.is_(None))
    if owner.isdigit():
        return statement.where(column == int(owner))
    return statement


def contacts_page(filters: ContactFilters, after: str | None, member: Membership, per_page: int = PER_PAGE) -> Page:
    """One page of live contacts with company and owner, newest first, in one query."""
    statement = sa.select(Contact).where(Contact.deleted_at.is_(None))
    statement = statement.options(so.joinedload(Contact.company), so.joinedload(Contact.owner))
    statement = matching(statement, Contact, filters.q, db.engine.dialect.name)
    statement = _owner_filter(statement, Contact.owner_id, filters.owner, member)
    if filters.lifecycle:
        statement = statement.where(Contact.lifecycle == filters.lifecycle)
    if filters.company:
        statement = statement.where(Contact.company_id == filters.company)
    if filters.tag:
        tagged = (
            sa.select(ContactTag.contact_id)
            .join(Tag, sa.and_(Tag.workspace_id == ContactTag.workspace_id, Tag.id == ContactTag.tag_id))
            .where(Tag.name == normalize(filters.tag))
        )
        statement = statement.where(Contact.id.in_(tagged))
    return newest_first(db.session, visible_to_member(statement, Contact.owner_id, member), Contact, after, per_page)


def companies_page(q: str, owner: str, after: str | None, member: Membership, per_page: int = PER_PAGE) -> Page:
    statement = sa.select(Company).where(Company.deleted_at.is_(None)).options(so.joinedload(Company.owner))
    statement = matching(statement, Company, q, db.engine.dialect.name)
    statement = _owner_filter(statement, Company.owner_id, owner, member)
    return newest_first(db.session, visible_to_member(statement, Company.owner_id, member), Company, after, per_page)


def _deleted(column, deleted: bool | None):
    """False: live rows only; True: soft-deleted only; None: either."""
    if deleted is None:
        return sa.true()
    return column.isnot(None) if deleted else column.is_(None)


def contact_or_none(contact_id: int, member: Membership, deleted: bool | None = False) -> Contact | None:
    """A contact the member may see, with company, owner and tags (live ones unless asked)."""
    statement = (
        sa.select(Contact)
        .where(Contact.id == contact_id, _deleted(Contact.deleted_at, deleted))
        .options(so.joinedload(Contact.company), so.joinedload(Contact.owner), so.selectinload(Contact.tags))
    )
    return db.session.scalar(visible_to_member(statement, Contact.owner_id, member))


def company_or_none(company_id: int, member: Membership, deleted: bool | None = False) -> Company | None:
    statement = (
        sa.select(Company)
        .where(Company.id == company_id, _deleted(Company.deleted_at, deleted))
        .options(so.joinedload(Company.owner))
    )
    return db.session.scalar(visible_to_member(statement, Company.owner_id, member))


def company_contacts(company: Company, member: Membership, limit: int = PER_PAGE) -> list[Contact]:
    statement = (
        sa.select(Contact)
        .where(Contact.company_id == company.id, Contact.deleted_at.is_(None))
        .order_by(Contact.name, Contact.id)
        .limit(limit)
    )
    return list(db.session.scalars(visible_to_member(statement, Contact.owner_id, member)))


def company_choices(limit: int = 500) -> list[tuple[int, str]]:
    """Companies for the contact form's select, by name (a search-as-you-type picker comes later)."""
    statement = sa.select(Company.id, Company.name).where(Company.deleted_at.is_(None))
    return [(row.id, row.name) for row in db.session.execute(statement.order_by(Company.name).limit(limit))]


def owner_choices() -> list[tuple[int, str]]:
    """Active members who may own records."""
    from crm.auth.models import User

    statement = (
        sa.select(Membership.id, User.name)
        .join(User, User.id == Membership.user_id)
        .where(Membership.status == "active")
        .order_by(User.name)
    )
    return [(row.id, row.name) for row in db.session.execute(statement)]


def _trash(model, member: Membership, limit: int) -> list:
    statement = (
        sa.select(model)
        .where(model.deleted_at >= utcnow() - timedelta(days=RESTORE_DAYS))
        .order_by(model.deleted_at.desc(), model.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(visible_to_member(statement, model.owner_id, member)))


def trash(member: Membership, limit: int = PER_PAGE) -> list[Contact]:
    """Contacts deleted within the restore window, latest first."""
    return _trash(Contact, member, limit)


def company_trash(member: Membership, limit: int = PER_PAGE) -> list[Company]:
    return _trash(Company, member, limit)


def quick_search(q: str, member: Membership, limit: int = 8) -> tuple[list[Contact], list[Company]]:
    """The first contacts and companies matching ``q`` for the header's search box (two queries)."""
    if not q.strip():
        return [], []
    dialect = db.engine.dialect.name
    contacts = sa.select(Contact).where(Contact.deleted_at.is_(None)).options(so.joinedload(Contact.company))
    contacts = visible_to_member(matching(contacts, Contact, q, dialect), Contact.owner_id, member)
    companies = sa.select(Company).where(Company.deleted_at.is_(None))
    companies = visible_to_member(matching(companies, Company, q, dialect), Company.owner_id, member)
    newest = (Contact.created_at.desc(), Contact.id.desc())
    return (
        list(db.session.scalars(contacts.order_by(*newest).limit(limit))),
        list(db.session.scalars(companies.order_by(Company.created_at.desc(), Company.id.desc()).limit(limit))),
    )
