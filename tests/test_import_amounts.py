"""Amounts in a purchases file as other systems write them: grouped with points or spaces, with a
decimal comma, with a currency sign or code; ambiguous ones and extra decimals are bad rows, never
stored rounded; a purchase in another currency needs its worth in the workspace's."""

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.imports.amounts import NotANumber, read_amount, read_number
from crm.purchases.models import Purchase
from crm.tenancy import workspace_scope
from crm.workspaces.models import Workspace
from tests.conftest import post
from tests.factories import make_contact
from tests.test_imports import check, import_id_of, imports_url, job_of, upload


def set_currency(app, ws, currency: str) -> None:
    with app.app_context(), workspace_scope(ws.id):
        db.session.get(Workspace, ws.id).currency = currency
        db.session.commit()


def purchases_of(app, ws) -> dict[str, tuple]:
    with app.app_context(), workspace_scope(ws.id):
        rows = db.session.execute(sa.select(Purchase.product, Purchase.amount, Purchase.currency, Purchase.base_amount))
        return {product: (amount, currency, base) for product, amount, currency, base in rows}


def import_purchases(app, client, ws, text: str, **mapping) -> tuple[int, str]:
    import_id = import_id_of(upload(client, ws, text, entity="purchases"))
    check(client, app, ws, import_id, **mapping)
    dry_run = client.get(imports_url(ws, str(import_id))).get_data(as_text=True)
    post(client, imports_url(ws, f"{import_id}/run"), {})
    return import_id, dry_run


@pytest.mark.parametrize(
    ("raw", "number"),
    [("1.234,56", "1234.56"), ("1 234,50", "1234.50"), ("1,234.5", "1234.5"), ("25,000", "25000"), ("12,5", "12.5"),
     ("1.234.567", "1234567"), ("12.50", "12.50"), ("-3", "-3"), ("1\u00a0200", "1200")],
)  # fmt: skip
def test_numbers_grouped_or_with_a_decimal_comma_are_read(app, raw, number):
    assert read_number(raw, 2) == Decimal(number)


@pytest.mark.parametrize(
    ("raw", "message"),
    [("2.500", "2.500 is ambiguous: write 2500 or 2.50."), ("1.234", "1.234 is ambiguous: write 1234 or 1.234."),
     ("1.2345", "1.2345 has more than 2 decimals."), ("0.125", "0.125 has more than 2 decimals."),
     ("1e3", "1e3 is not a number."), ("NaN", "NaN is not a number."), ("12..5", "12..5 is not a number.")],
)  # fmt: skip
def test_ambiguous_numbers_and_extra_decimals_are_refused(app, raw, message):
    with app.test_request_context(), pytest.raises(NotANumber) as refused:
        read_number(raw, 2)
    assert str(refused.value.args[0]) == message


@pytest.mark.parametrize(
    ("raw", "read"),
    [("¥1,200", ("1200", "CNY")), ("1 200 €", ("1200", "EUR")), ("CNY 300", ("300", "CNY")), ("$12", ("12", "USD")),
     ("300 元", ("300", "CNY")), ("人民币 300", ("300", "CNY")), ("20美元", ("20", "USD")),
     ("US$5", ("5", "USD")), ("42", ("42", None))],
)  # fmt: skip
def test_a_currency_sign_or_code_says_the_amounts_currency(app, raw, read):
    assert read_amount(raw, "CNY") == (Decimal(read[0]), read[1])


def test_a_sign_that_may_stand_for_the_workspace_currency_does(app):
    assert read_amount("¥500", "JPY") == (Decimal("500"), "JPY")
    assert read_amount("$12", "HKD") == (Decimal("12"), "HKD")


def test_european_amounts_are_stored_as_written_and_ambiguous_ones_are_bad_rows(app, client, auth, ws_a):
    make_contact(app, ws_a, "Ann", emails=["ann@example.com"])
    set_currency(app, ws_a, "CNY")
    auth.login(ws_a.email, ws_a.password)
    text = ("Date;Email;Product;Amount\n"
            "2025-01-02;ann@example.com;Tea;1.234,56\n"
            "2025-01-03;ann@example.com;Cups;2.500\n"
            "2025-01-03;ann@example.com;Pot;1.2345\n"
            "2025-01-04;ann@example.com;Tray;¥1,200\n"
            "2025-01-04;ann@example.com;Kettle;1 200,5 CNY\n")  # fmt: skip
    import_id, dry_run = import_purchases(app, client, ws_a, text)
    assert "2.500 is ambiguous: write 2500 or 2.50." in dry_run
    assert "1.2345 has more than 2 decimals." in dry_run
    job = job_of(app, ws_a, import_id)
    assert (job.created_count, job.invalid_count) == (3, 2)
    assert purchases_of(app, ws_a) == {
        "Tea": (Decimal("1234.56"), "CNY", Decimal("1234.56")),
        "Tray": (Decimal("1200"), "CNY", Decimal("1200")),
        "Kettle": (Decimal("1200.50"), "CNY", Decimal("1200.50")),
    }


def test_a_purchases_currency_column_is_offered_and_another_currency_needs_its_worth(app, client, auth, ws_a):
    make_contact(app, ws_a, "Ann", emails=["ann@example.com"])
    set_currency(app, ws_a, "CNY")
    auth.login(ws_a.email, ws_a.password)
    today = date.today()
    text = ("日期,邮箱,产品,金额,币种,本币金额\n"
            f"{today},ann@example.com,Tea,100,USD,\n"
            f"{today},ann@example.com,Cups,50,usd,360\n"
            f"{today},ann@example.com,Pot,80,CNY,999\n"
            f"{today},ann@example.com,Tray,$20,CNY,\n"
            f"{today},ann@example.com,Mat,€10,,75\n"
            f"{today},ann@example.com,Cloth,10,XYZ,\n"
            f"{today},ann@example.com,Spoon,5,美元,36\n")  # fmt: skip
    import_id = import_id_of(upload(client, ws_a, text, entity="purchases"))
    page = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert "Currency (code, such as CNY or USD)" in page
    assert "Worth in the workspace currency (for purchases in another currency)" in page
    assert job_of(app, ws_a, import_id).mapping == ["purchased_on", "email", "product", "amount", "currency",
                                                    "base_amount"]  # fmt: skip
    check(client, app, ws_a, import_id)
    dry_run = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert ("Purchases in USD need their worth in CNY: add a column with it (Worth in the workspace currency), "
            "or write the amounts in CNY.") in dry_run  # fmt: skip
    assert "$20 is in USD, but the row&#39;s currency is CNY." in dry_run
    assert "XYZ is not a currency: write its code, such as CNY or USD." in dry_run
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    assert job_of(app, ws_a, import_id).invalid_count == 3
    assert purchases_of(app, ws_a) == {
        "Cups": (Decimal("50"), "USD", Decimal("360")),
        "Pot": (Decimal("80"), "CNY", Decimal("80")),  # its worth is its amount, as on the form
        "Mat": (Decimal("10"), "EUR", Decimal("75")),
        "Spoon": (Decimal("5"), "USD", Decimal("36")),
    }


def test_a_purchase_for_an_unknown_email_is_a_bad_row_even_with_a_company(app, client, auth, ws_a):
    from tests.factories import make_company

    acme = make_company(app, ws_a, "Acme Ltd")
    make_contact(app, ws_a, "Ann", emails=["ann@example.com"], company_id=acme)
    auth.login(ws_a.email, ws_a.password)
    today = date.today()
    text = (f"Date,Email,Product,Amount,Company\n{today},anne@example.com,Tea,500,Acme Ltd\n"
            f"{today},,Chairs,900,Acme Ltd\n")  # fmt: skip
    import_id, dry_run = import_purchases(app, client, ws_a, text)
    assert "No contact has anne@example.com." in dry_run
    job = job_of(app, ws_a, import_id)
    assert (job.created_count, job.invalid_count) == (1, 1)
    with app.app_context(), workspace_scope(ws_a.id):
        stored = db.session.execute(sa.select(Purchase.product, Purchase.contact_id, Purchase.company_id)).all()
    assert stored == [("Chairs", None, acme)]  # a row without an address is the company's own
