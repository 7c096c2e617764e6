"""A purchase's amount: quantity times unit price to the cent (half up) when none is given, stored,
compared and logged as such, so it keeps following the quantity and price; "Amount paid" is taken as
typed, more than quantity times unit price too (tax, delivery); an import refuses a row too large for
a purchase; and a customer's sums hold many purchases of the largest
amount (Numeric(18, 2))."""

import re
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.contacts.models import Contact
from crm.extensions import db
from crm.purchases.models import Purchase
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import make_company, make_contact, make_purchase
from tests.test_import_amounts import import_purchases, purchases_of
from tests.test_imports import job_of

TODAY = date.today().isoformat()


def purchases_url(ws, contact_id: int, rest: str = "") -> str:
    return f"/w/{ws.slug}/contacts/{contact_id}/purchases/{rest}"


def the_purchase(app, ws) -> Purchase:
    with app.app_context(), workspace_scope(ws.id):
        purchase = db.session.scalars(sa.select(Purchase)).one()
        db.session.expunge(purchase)
        return purchase


def contact_row(app, ws, contact_id: int) -> Contact:
    with app.app_context(), workspace_scope(ws.id):
        contact = db.session.get(Contact, contact_id)
        db.session.expunge(contact)
        return contact


def logged_amounts(app, ws, action: str) -> list:
    with app.app_context(), workspace_scope(ws.id):
        entries = db.session.scalars(sa.select(AuditEntry.changes).where(AuditEntry.action == action))
        return [changes["amount"] for changes in entries if "amount" in changes]


def amount_input(page: str, prefix: str) -> str:
    tag = re.search(rf'<input[^>]*id="{prefix}amount"[^>]*>', page).group(0)
    found = re.search(r'value="([^"]*)"', tag)
    return found.group(1) if found else ""


def test_a_computed_amount_is_kept_to_the_cent_and_follows_a_new_quantity(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee")
    auth.login(ws_a.email, ws_a.password)
    data = {"purchased_on": TODAY, "product": "Loose tea", "quantity": "0.333", "unit_price": "1.00"}
    assert post(client, purchases_url(ws_a, ann), data).status_code == 303
    purchase = the_purchase(app, ws_a)
    assert purchase.amount == Decimal("0.33")
    assert logged_amounts(app, ws_a, "purchase.created") == [[None, "0.33"]]  # what is stored, not 0.33300
    page = client.get(f"/w/{ws_a.slug}/contacts/{ann}").get_data(as_text=True)
    assert "= <strong>$0.33</strong>" in page  # quantity times price, not "paid"
    prefix = f"purchase-{purchase.id}-"
    form = client.get(purchases_url(ws_a, ann, f"{purchase.id}/edit")).get_data(as_text=True)
    assert amount_input(form, prefix) == ""  # computed, not typed: a new quantity recomputes it
    # The member changes the quantity to 3 and saves the form as it was filled.
    edited = {f"{prefix}purchased_on": TODAY, f"{prefix}product": "Loose tea", f"{prefix}quantity": "3",
              f"{prefix}unit_price": "1.00", f"{prefix}amount": amount_input(form, prefix),
              f"{prefix}currency": "USD"}  # fmt: skip
    assert post(client, purchases_url(ws_a, ann, str(purchase.id)), edited).status_code == 303
    assert the_purchase(app, ws_a).amount == Decimal("3.00")
    assert contact_row(app, ws_a, ann).lifetime_value == Decimal("3.00")
    assert logged_amounts(app, ws_a, "purchase.updated") == [["0.33", "3.00"]]


def test_half_a_cent_rounds_up_on_every_database(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee")
    auth.login(ws_a.email, ws_a.password)
    data = {"purchased_on": TODAY, "product": "Loose tea", "quantity": "0.125", "unit_price": "1.00"}
    assert post(client, purchases_url(ws_a, ann), data).status_code == 303
    assert the_purchase(app, ws_a).amount == Decimal("0.13")  # SQLite stored 0.125 and read back 0.12
    assert logged_amounts(app, ws_a, "purchase.created") == [[None, "0.13"]]
    assert contact_row(app, ws_a, ann).lifetime_value == Decimal("0.13")


def test_an_import_computes_an_amount_as_the_form_does(app, client, auth, ws_a):
    make_contact(app, ws_a, "Ann", emails=["ann@example.com"])
    auth.login(ws_a.email, ws_a.password)
    text = f"Date,Email,Product,Quantity,Unit price\n{TODAY},ann@example.com,Tea,0.125,1.00\n"
    import_purchases(app, client, ws_a, text)
    assert purchases_of(app, ws_a) == {"Tea": (Decimal("0.13"), "USD", Decimal("0.13"))}  # was 0.12 (half even)


def test_an_amount_paid_above_quantity_times_price_is_taken_as_typed_on_the_forms_and_in_an_import(
    app, client, auth, ws_a
):
    """Tax, delivery or a surcharge make a purchase's paid amount more than quantity times unit price
    (a price before VAT, say): the forms and an import take it as typed."""
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"])
    acme = make_company(app, ws_a, "Acme Ltd")
    auth.login(ws_a.email, ws_a.password)
    with_vat = {"purchased_on": TODAY, "product": "Tea", "quantity": "2", "unit_price": "10.00", "amount": "24.00"}
    assert post(client, purchases_url(ws_a, ann), with_vat).status_code == 303
    company = {"buyer": "", "purchased_on": TODAY, "product": "Fleet", "quantity": "2", "unit_price": "25",
               "amount": "59.50"}  # fmt: skip
    assert post(client, f"/w/{ws_a.slug}/companies/{acme}/purchases/", company).status_code == 303
    text = f"Date,Email,Product,Quantity,Unit price,Amount\n{TODAY},ann@example.com,Pot,2,30.00,71.40\n"
    import_id, _dry_run = import_purchases(app, client, ws_a, text)
    assert job_of(app, ws_a, import_id).invalid_count == 0
    found = purchases_of(app, ws_a)
    assert (found["Tea"][0], found["Fleet"][0], found["Pot"][0]) == (
        Decimal("24.00"),
        Decimal("59.50"),
        Decimal("71.40"),
    )
    assert contact_row(app, ws_a, ann).lifetime_value == Decimal("95.40")


def test_a_customer_who_bought_more_than_a_purchase_may_hold_is_saved_and_shown(app, client, auth, ws_a):
    """Each purchase may be up to 999,999,999,999.99; the customer's sums (lifetime, 12 months, the
    12 months before) hold many such: PostgreSQL refused a second one (numeric field overflow, a 500)."""
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    make_purchase(app, ws_a, ann, "Plant", amount=Decimal("999999999999.99"), on=date.today() - timedelta(days=400))
    make_purchase(app, ws_a, ann, "Plant", amount=Decimal("999999999999.99"), on=date.today() - timedelta(days=500))
    auth.login(ws_a.email, ws_a.password)
    data = {"purchased_on": TODAY, "product": "Plant", "quantity": "1", "unit_price": "999999999999.99"}
    for _ in range(2):
        assert post(client, purchases_url(ws_a, ann), data).status_code == 303
    contact = contact_row(app, ws_a, ann)
    assert contact.lifetime_value == Decimal("3999999999999.96")
    assert contact.value_12m == contact.value_prev_12m == Decimal("1999999999999.98")
    assert contact.tier == "A"
    page = client.get(f"/w/{ws_a.slug}/contacts/{ann}").get_data(as_text=True)
    assert "$3,999,999,999,999.96" in page
    listed = client.get(f"/w/{ws_a.slug}/contacts/?cols=value&sort=value").get_data(as_text=True)
    assert "$3,999,999,999,999.96" in listed
    company = client.get(f"/w/{ws_a.slug}/companies/{acme}").get_data(as_text=True)
    assert "$3,999,999,999,999.96" in company


def test_an_import_row_too_large_for_a_purchase_is_a_bad_row_not_a_failed_import(app, client, auth, ws_a):
    """A quantity above the form's 999,999,999, or quantity times price above the largest amount, made
    PostgreSQL refuse the insert (numeric field overflow): the whole import failed, and SQLite kept them."""
    make_contact(app, ws_a, "Ann", emails=["ann@example.com"])
    auth.login(ws_a.email, ws_a.password)
    text = ("Date,Email,Product,Quantity,Unit price\n"
            f"{TODAY},ann@example.com,Tea,5000000000,1.00\n"
            f"{TODAY},ann@example.com,Cups,999999,9999999999\n"
            f"{TODAY},ann@example.com,Pot,2,3.50\n")  # fmt: skip
    import_id, dry_run = import_purchases(app, client, ws_a, text)
    assert "5000000000 is not a possible quantity." in dry_run
    assert "Quantity times unit price is too large." in dry_run
    job = job_of(app, ws_a, import_id)
    assert (job.status, job.created_count, job.invalid_count) == ("done", 1, 2)
    assert purchases_of(app, ws_a) == {"Pot": (Decimal("7.00"), "USD", Decimal("7.00"))}


def test_an_import_row_whose_amount_over_its_quantity_is_too_large_a_price_is_a_bad_row(app, client, auth, ws_a):
    """The unit price worked out from the amount (amount / quantity) can pass the largest price when the
    quantity is a fraction: PostgreSQL refused the insert and the whole import failed."""
    make_contact(app, ws_a, "Ann", emails=["ann@example.com"])
    auth.login(ws_a.email, ws_a.password)
    text = ("Date,Email,Product,Quantity,Amount\n"
            f"{TODAY},ann@example.com,Gold,0.001,5000000000\n"
            f"{TODAY},ann@example.com,Pot,2,7\n")  # fmt: skip
    import_id, dry_run = import_purchases(app, client, ws_a, text)
    assert "Amount divided by quantity is too large a unit price." in dry_run
    job = job_of(app, ws_a, import_id)
    assert (job.status, job.created_count, job.invalid_count) == ("done", 1, 1)
    assert purchases_of(app, ws_a) == {"Pot": (Decimal("7.00"), "USD", Decimal("7.00"))}
