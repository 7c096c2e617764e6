"""Amounts are written as babel writes them, in every language of the app: the board's fast path
(crm.i18n.money) agrees with babel's format_currency on random amounts."""

import random
from decimal import Decimal

import pytest
from babel.numbers import format_currency
from flask_babel import force_locale

from crm.i18n import LANGUAGES, money


@pytest.mark.parametrize("locale", sorted(LANGUAGES))
def test_money_writes_amounts_as_babel_does(app, locale):
    draw = random.Random(7)
    amounts = [Decimal(draw.randint(0, 10**10)) / draw.choice((1, 10, 100, 1000)) for _ in range(500)]
    amounts += [Decimal(0), Decimal("0.005"), Decimal("2.675"), Decimal("-1234.5"), 12]
    with app.test_request_context(), force_locale(locale):
        for currency in ("USD", "CNY", "EUR", "JPY", "GBP", "BHD", "CHF"):
            for amount in amounts:
                assert money(amount, currency) == format_currency(amount, currency, locale=locale), (currency, amount)


def test_a_records_currency_list_starts_with_the_workspaces_and_chinese_goes_by_code(app):
    from crm.workspaces.service import currency_choices

    with app.test_request_context(), force_locale("en"):
        english = currency_choices(first="EUR")
        names = [label for _code, label in english[1:]]
        assert english[0][0] == "EUR" and names == sorted(names, key=str.casefold)
        assert currency_choices()[0][0] != "EUR"  # the settings list: by name alone
    with app.test_request_context(), force_locale("zh_Hans"):
        chinese = currency_choices(first="CNY")
        codes = [code for code, _label in chinese[1:]]
        assert chinese[0] == ("CNY", "人民币 (CNY)") and codes == sorted(codes)
