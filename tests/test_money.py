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
