"""Adding and deleting purchases; each one re-classifies its contact and is audited on it.
The caller commits."""

from datetime import date

from crm.audit import service as audit
from crm.contacts import classification
from crm.contacts.models import Contact
from crm.extensions import db
from crm.purchases.models import Purchase

FIELDS = ("purchased_on", "product", "quantity", "unit_price", "amount", "currency")


def add_purchase(contact: Contact, workspace, data: dict, today: date) -> Purchase:
    """``amount`` defaults to quantity times unit price; the currency is the workspace's."""
    purchase = Purchase(contact_id=contact.id, company_id=contact.company_id, currency=workspace.currency)
    for name in ("purchased_on", "product", "quantity", "unit_price"):
        setattr(purchase, name, data[name])
    purchase.amount = data["amount"] if data.get("amount") is not None else data["quantity"] * data["unit_price"]
    changes = {name: values for name, values in audit.changes_of(purchase, FIELDS).items() if values[1]}
    db.session.add(purchase)
    db.session.flush()
    audit.record("purchase.created", "contact", contact.id, changes)
    classification.reclassify(contact, classification.rules_of(workspace), today)
    return purchase


def update_purchase(contact: Contact, workspace, purchase: Purchase, data: dict, today: date) -> dict:
    for name in ("purchased_on", "product", "quantity", "unit_price"):
        setattr(purchase, name, data[name])
    purchase.amount = data["amount"] if data.get("amount") is not None else data["quantity"] * data["unit_price"]
    changes = audit.changes_of(purchase, FIELDS)
    if changes:
        audit.record("purchase.updated", "contact", contact.id, {"purchase": [purchase.id, purchase.id], **changes})
        db.session.flush()
        classification.reclassify(contact, classification.rules_of(workspace), today)
    return changes


def delete_purchase(contact: Contact, workspace, purchase: Purchase, today: date) -> None:
    audit.record("purchase.deleted", "contact", contact.id, {"product": [purchase.product, None]})
    db.session.delete(purchase)
    db.session.flush()
    classification.reclassify(contact, classification.rules_of(workspace), today)
