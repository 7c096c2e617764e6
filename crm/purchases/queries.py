"""Purchases rolled up on a company: its own and its contacts' latest purchases and what it spent."""

from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.contacts.models import Contact
from crm.extensions import db
from crm.permissions import visible_to_member
from crm.purchases.models import Purchase

ROLLUP_LIMIT = 20


def of_company(company_id: int, member) -> sa.Select:
    """The company's own purchases and those of its contacts the member may see (record scope)."""
    visible = visible_to_member(sa.select(Contact.id).where(Contact.deleted_at.is_(None)), Contact.owner_id, member)
    return sa.select(Purchase).where(
        Purchase.company_id == company_id, sa.or_(Purchase.contact_id.is_(None), Purchase.contact_id.in_(visible))
    )


def company_purchase_or_none(company_id: int, purchase_id: int) -> Purchase | None:
    """A purchase the company made as a whole (one of a contact is changed on the contact's page)."""
    return db.session.scalar(
        sa.select(Purchase).where(
            Purchase.id == purchase_id, Purchase.company_id == company_id, Purchase.contact_id.is_(None)
        )
    )


def company_purchases(company_id: int, member) -> list[Purchase]:
    statement = of_company(company_id, member).options(so.joinedload(Purchase.contact))
    ordered = statement.order_by(Purchase.purchased_on.desc(), Purchase.id.desc()).limit(ROLLUP_LIMIT)
    return list(db.session.scalars(ordered))


def company_totals(company_id: int, member, today: date) -> tuple[Decimal, Decimal]:
    """(lifetime, last 12 months) spent by the company, in one query."""
    purchases = of_company(company_id, member).subquery()
    recent = purchases.c.purchased_on > today - timedelta(days=365)
    row = db.session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(purchases.c.base_amount), 0),
            sa.func.coalesce(sa.func.sum(sa.case((recent, purchases.c.base_amount), else_=0)), 0),
        )
    ).one()
    return Decimal(str(row[0])), Decimal(str(row[1]))
