"""A deal's customer, a contact or a company, as a search-as-you-type picker and as a list filter.

The picker replaces the deal form's selects (which could only list the first 500 names): its
search reads a few live records the member may see (record scope applied) through the search
index, and the form accepts only an id that one such record has (``chosen`` gives the form that
single choice, so any other id, another workspace's included, fails validation with a clear
message and nothing about it is read back).

The board and list filter ``customer`` is ``contact:<id>`` or ``company:<id>``; a company also
selects the deals of its contacts. A filter naming a record the member cannot see is dropped.
"""

import dataclasses
import re
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import g
from flask_babel import gettext as _
from wtforms.validators import ValidationError

from crm.contacts.forms import optional_id
from crm.contacts.models import Company, Contact
from crm.deals.models import Deal
from crm.extensions import db
from crm.form_fields import SelectField
from crm.i18n import lazy_gettext as _l
from crm.permissions import visible_to_member
from crm.search import matching, search_order
from crm.workspaces.models import Membership

KINDS = {"contact": Contact, "company": Company}
CUSTOMER = re.compile(r"(contact|company):([1-9]\d{0,17})")
RESULTS = 8  # options per kind in the picker
MAX_ID = 2**63 - 1  # ids are BIGINT: a larger number names nothing (and PostgreSQL would refuse it)


CONTACTS_COMPANY = so.aliased(Company)  # made once: SQLAlchemy analyses a fresh alias again on every statement


@dataclass(frozen=True)
class Option:
    value: str  # what the hidden field takes: the id, or "kind:id" for the customer filter
    label: str
    kind: str
    detail: str | None = None  # a contact's company


def parse_customer(text: str | None) -> str:
    """``contact:<id>`` or ``company:<id>``, or "" for anything else (a hand-typed link filters less)."""
    text = (text or "").strip()
    return text if CUSTOMER.fullmatch(text) else ""


def where_customer(statement: sa.Select, customer: str) -> sa.Select:
    """Deals of the customer: the contact's, or the company's and its contacts'."""
    if not customer:
        return statement
    kind, record_id = customer.split(":")
    if kind == "contact":
        return statement.where(Deal.contact_id == int(record_id))
    staff = sa.select(Contact.id).where(Contact.company_id == int(record_id))
    return statement.where(sa.or_(Deal.company_id == int(record_id), Deal.contact_id.in_(staff)))


def _visible(model, member: Membership) -> sa.Select:
    """Live records the member may see: within their record scope, and none without ``contacts.read``
    (the picker's search would otherwise look up the whole directory by name, email or phone)."""
    statement = sa.select(model.id, model.name).where(model.deleted_at.is_(None))
    if not member.can("contacts.read"):
        statement = statement.where(sa.false())
    return visible_to_member(statement, model.owner_id, member)


def customer_label(customer: str, member: Membership) -> str | None:
    """The name of the filter's customer, None when the member cannot see it (one query)."""
    if not customer:
        return None
    kind, record_id = customer.split(":")
    model = KINDS[kind]
    return db.session.scalar(_visible(model, member).with_only_columns(model.name).where(model.id == int(record_id)))


def resolved(filters, member: Membership):
    """``filters`` (board or list) without a customer the member cannot see, and the customer's name."""
    label = customer_label(filters.customer, member)
    if filters.customer and label is None:
        filters = dataclasses.replace(filters, customer="")
    return filters, label


def chosen(model, record_id: int | None, member: Membership, kept: int | None = None) -> list[tuple[int, str]]:
    """The deal form's only choice for a picker: the record the form holds or was sent, when it is
    a live one the member may see (one query; none without an id). ``kept`` is the record the deal
    already has: it stays a choice even in the trash or out of the member's record scope (a seller's
    deal with a colleague's contact), so saving the deal keeps its link rather than failing or
    dropping it; its name says when it is in the trash."""
    if record_id is None or record_id > MAX_ID:
        return []
    if record_id == kept:
        statement = sa.select(model.id, model.name, model.deleted_at).where(model.id == record_id)
        return [(row.id, f"{row.name} ({_('in the trash')})" if row.deleted_at else row.name)
                for row in db.session.execute(statement)]  # fmt: skip
    return [(row.id, row.name) for row in db.session.execute(_visible(model, member).where(model.id == record_id))]


def search(kind: str, q: str, member: Membership, limit: int = RESULTS, company_id: int | None = None) -> list[Option]:
    """Live contacts and/or companies matching every word of ``q`` that the member may see,
    newest first (one query per kind). ``kind`` "customer" gives both, as "kind:id" values.
    ``company_id``: only that company's contacts (a company purchase's buyer), without their company."""
    if not q.strip():
        return []
    options = []
    for name, model in KINDS.items():
        if kind not in (name, "customer"):
            continue
        prefix = f"{name}:" if kind == "customer" else ""
        statement = _search_statement(model, q, member, company_id is None)
        if company_id is not None:
            statement = statement.where(Contact.company_id == company_id)
        for row in db.session.execute(statement.limit(limit)):
            detail = getattr(row, "company_name", None)
            options.append(Option(f"{prefix}{row.id}", row.name, name, detail))
    return options


def _search_statement(model, q: str, member: Membership, with_company: bool = True) -> sa.Select:
    dialect = db.engine.dialect.name
    statement = matching(_visible(model, member), model, q, dialect, phone_region=g.workspace.phone_region)
    if model is Contact and with_company:
        company = CONTACTS_COMPANY
        statement = statement.add_columns(company.name.label("company_name")).outerjoin(
            company, sa.and_(company.workspace_id == Contact.workspace_id, company.id == Contact.company_id)
        )
    order = search_order(q, dialect, [model.created_at, model.id], True)
    return statement.order_by(*(order or (model.created_at.desc(), model.id.desc())))


class PickedField(SelectField):
    """A record id chosen with the picker. Its choices are only the record it holds (``chosen``),
    so an id the member may not pick is refused with ``not_found`` rather than "Not a valid choice"."""

    def __init__(self, label=None, validators=None, not_found=_l("Choose one of the search results."), **kwargs):
        super().__init__(label, validators, coerce=optional_id, validate_choice=True, **kwargs)
        self.not_found = not_found

    def process_formdata(self, valuelist) -> None:
        self.unreadable = False
        try:
            super().process_formdata(valuelist)
        except ValueError:  # not an id at all: refused like any id that is not offered
            self.data, self.unreadable = None, True

    def pre_validate(self, form) -> None:
        if getattr(self, "unreadable", False) or not any(match for _v, _l, match, *_r in self.iter_choices()):
            raise ValidationError(str(self.not_found))

    @property
    def offered(self) -> int | None:
        """The id of the record among the choices (the one a new deal's link named, if visible)."""
        return next((choice.value for choice in self.choices if choice.value), None)

    @property
    def chosen_label(self) -> str:
        return next((str(label) for value, label, match, *_rest in self.iter_choices() if match and value), "")
