"""Adding, changing and deleting purchases, made by a contact or by a company as a whole. A
contact's purchase re-classifies the contact and is audited on it; a company's is audited on the
company. The caller commits."""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from crm.audit import service as audit
from crm.contacts import classification
from crm.contacts.models import Company, Contact
from crm.extensions import db
from crm.purchases.models import Purchase

FIELDS = ("purchased_on", "product", "quantity", "unit_price", "amount", "currency", "base_amount")
CENT = Decimal("0.01")  # amounts are kept to the cent (Numeric(14, 2)), whatever the currency


def computed_amount(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """Quantity times unit price to the cent (half up, as PostgreSQL rounds a numeric): what a
    purchase is worth when no amount is given. Stored, compared and logged as such, so that a
    computed amount never reads back as one typed by hand (0.333 kg at 1.00 is 0.33)."""
    return (quantity * unit_price).quantize(CENT, rounding=ROUND_HALF_UP)


def add_purchase(contact: Contact, workspace, data: dict, today: date) -> Purchase:
    """``amount`` defaults to quantity times unit price; the currency to the workspace's."""
    purchase = Purchase(contact_id=contact.id, company_id=contact.company_id)
    _created(purchase, data, workspace, ("contact", contact.id))
    classification.reclassify(contact, classification.rules_of(workspace), today, workspace.timezone)
    return purchase


def add_purchases(contact: Contact, workspace, rows: list[dict], today: date) -> list[Purchase]:
    """Several purchases of one contact at once (a won deal's product lines), classified once after
    them all (one class change in the audit log, not one per line)."""
    made = []
    for data in rows:
        purchase = Purchase(contact_id=contact.id, company_id=contact.company_id)
        _created(purchase, data, workspace, ("contact", contact.id))
        made.append(purchase)
    classification.reclassify(contact, classification.rules_of(workspace), today, workspace.timezone)
    return made


def add_company_purchase(company: Company, workspace, data: dict) -> Purchase:
    """A purchase of the company as a whole: it counts in the company's figures, no contact's."""
    purchase = Purchase(contact_id=None, company_id=company.id)
    _created(purchase, data, workspace, ("company", company.id))
    return purchase


def update_purchase(contact: Contact | None, workspace, purchase: Purchase, data: dict, today: date) -> dict:
    _fill(purchase, data, workspace)
    changes = _logged(audit.changes_of(purchase, FIELDS), purchase, workspace)
    if changes:
        audit.record("purchase.updated", *_audited_on(purchase), {"purchase": [purchase.id, purchase.id], **changes})
        db.session.flush()
        _reclassify(contact, workspace, today)
    return changes


def delete_purchase(contact: Contact | None, workspace, purchase: Purchase, today: date) -> None:
    audit.record("purchase.deleted", *_audited_on(purchase), {"product": [purchase.product, None]})
    db.session.delete(purchase)
    db.session.flush()
    _reclassify(contact, workspace, today)


def delete_for_a_new_win(purchases: list[Purchase]) -> set[int]:
    """Deletes the purchases an earlier win of a deal recorded (audited each), which its new win
    records again; classifying their customers is the caller's. Returns their contacts' ids."""
    for purchase in purchases:
        audit.record("purchase.deleted", *_audited_on(purchase), {"product": [purchase.product, None]})
        db.session.delete(purchase)
    db.session.flush()
    return {purchase.contact_id for purchase in purchases if purchase.contact_id is not None}


def _fill(purchase: Purchase, data: dict, workspace) -> None:
    """A purchase in another currency than the workspace's comes with ``base_amount``, what it is
    worth in the workspace's; in the workspace's it is worth its amount."""
    for name in ("purchased_on", "product", "quantity", "unit_price"):
        setattr(purchase, name, data[name])
    given = data.get("amount")
    purchase.amount = given if given is not None else computed_amount(data["quantity"], data["unit_price"])
    purchase.currency = data.get("currency") or workspace.currency
    foreign = purchase.currency != workspace.currency
    purchase.base_amount = data["base_amount"] if foreign else purchase.amount


def _logged(changes: dict, purchase: Purchase, workspace) -> dict:
    """The changes to log: a purchase in the workspace's currency, and in it before, is worth its
    amount, which is logged already."""
    before = changes["currency"][0] if "currency" in changes else purchase.currency
    if purchase.currency == workspace.currency and before in (None, workspace.currency):
        changes.pop("base_amount", None)
    return changes


def _created(purchase: Purchase, data: dict, workspace, audited_on: tuple[str, int]) -> None:
    _fill(purchase, data, workspace)
    changes = {name: values for name, values in audit.changes_of(purchase, FIELDS).items() if values[1]}
    changes = _logged(changes, purchase, workspace)
    db.session.add(purchase)
    db.session.flush()
    audit.record("purchase.created", *audited_on, changes)


def _audited_on(purchase: Purchase) -> tuple[str, int]:
    return ("contact", purchase.contact_id) if purchase.contact_id else ("company", purchase.company_id)


def _reclassify(contact: Contact | None, workspace, today: date) -> None:
    if contact is not None:
        classification.reclassify(contact, classification.rules_of(workspace), today, workspace.timezone)
