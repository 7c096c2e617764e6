"""Numbers in a spreadsheet's cells as other systems write them: grouped with commas, spaces or
points ("1,234.56", "1 234,56", "1.234,56"), with a decimal comma ("12,5"), and amounts with a
currency sign or code around them ("¥1,200", "$12", "1 200 €", "CNY 300").

A point or comma followed by exactly three digits could group thousands or start decimals: a comma
groups them (as the amount fields of the forms read "25,000", crm/form_fields.py AmountField), a
single point is refused as ambiguous ("2.500": 2.5 or 2,500?) rather than guessed. Decimals beyond
what is kept are refused too, never rounded away without a word."""

import re
from decimal import Decimal, InvalidOperation

from crm.i18n import lazy_gettext as _l

MAX_LENGTH = 40  # longer than any amount with its currency ("-999,999,999,999.99 CNY" and spaces)
SPACES = re.compile(r"[\s\u00a0\u202f\u2009_']")
# Each pattern has one way to match a text (see AmountField on runs of digits).
PLAIN = re.compile(r"-?\d+(?:\.\d+)?")
COMMA_GROUPS = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?")  # 1,234 or 1,234.56
POINT_GROUPS = re.compile(r"-?[1-9]\d{0,2}(?:\.\d{3})+(?:,\d+)?")  # 1.234,56 or 1.234.567
DECIMAL_COMMA = re.compile(r"-?\d+,\d+")  # 12,5
AMBIGUOUS_POINT = re.compile(r"-?[1-9]\d{0,2}\.\d{3}")  # 2.500
# Signs and codes written around an amount -> the currencies they may stand for, the likeliest first.
SIGNS = {"¥": ("CNY", "JPY"), "￥": ("CNY", "JPY"), "元": ("CNY",), "RMB": ("CNY",), "$": ("USD", "AUD", "CAD", "HKD",
         "MXN", "NZD", "SGD", "TWD"), "US$": ("USD",), "HK$": ("HKD",), "€": ("EUR",), "£": ("GBP",),
         "₩": ("KRW",), "₹": ("INR",), "₫": ("VND",), "฿": ("THB",), "R$": ("BRL",),
         "人民币": ("CNY",), "美元": ("USD",), "欧元": ("EUR",), "英镑": ("GBP",), "日元": ("JPY",),
         "港币": ("HKD",), "港元": ("HKD",)}  # fmt: skip
SIGN_AROUND = re.compile(
    r"(?P<before>[^\d\s.,-]*)\s*(?P<number>-?[\d.,\s\u00a0\u202f\u2009_']*\d)\s*(?P<after>[^\d\s.,]*)"
)


class NotANumber(ValueError):
    """The text is no number this reads; the message says why."""


def read_number(raw: str, places: int | None = None) -> Decimal:
    """The number ``raw`` writes; with ``places``, at most that many decimals."""
    text = SPACES.sub("", raw)
    if len(text) > MAX_LENGTH:
        raise NotANumber(_l("%(value)s is not a number.", value=raw))
    if AMBIGUOUS_POINT.fullmatch(text):
        whole, decimals = text.split(".")
        as_decimals = f"{whole}.{decimals.rstrip('0').ljust(2, '0')}"
        raise NotANumber(_l("%(value)s is ambiguous: write %(thousands)s or %(decimals)s.", value=raw,
                            thousands=whole + decimals, decimals=as_decimals))  # fmt: skip
    if COMMA_GROUPS.fullmatch(text):
        text = text.replace(",", "")
    elif POINT_GROUPS.fullmatch(text):
        text = text.replace(".", "").replace(",", ".")
    elif DECIMAL_COMMA.fullmatch(text):
        text = text.replace(",", ".")
    elif not PLAIN.fullmatch(text):
        raise NotANumber(_l("%(value)s is not a number.", value=raw))
    try:
        number = Decimal(text)
    except InvalidOperation as error:
        raise NotANumber(_l("%(value)s is not a number.", value=raw)) from error
    if places is not None and number.as_tuple().exponent < -places:
        raise NotANumber(_l("%(value)s has more than %(places)d decimals.", value=raw, places=places))
    return number


def read_amount(raw: str, currency: str) -> tuple[Decimal, str | None]:
    """An amount of money, and the currency a sign or code around it stands for (None without one;
    ``currency``, the workspace's, where the sign may stand for it)."""
    if len(raw) > MAX_LENGTH * 2:  # before a pattern reads it
        raise NotANumber(_l("%(value)s is not a number.", value=raw))
    match = SIGN_AROUND.fullmatch(raw.strip())
    if match is None or (match["before"] and match["after"]):
        return read_number(raw, 2), None
    sign = match["before"] or match["after"]
    if not sign:
        return read_number(raw, 2), None
    written = currency_of(sign, currency)
    if written is None:
        raise NotANumber(_l("%(value)s is not an amount: %(sign)s is no currency.", value=raw, sign=sign))
    return read_number(match["number"], 2), written


def currency_of(sign: str, preferred: str) -> str | None:
    """The currency a sign or code stands for: ``preferred`` when it may, else the likeliest."""
    from crm.workspaces.service import CURRENCIES

    if sign.upper() in CURRENCIES:
        return sign.upper()
    candidates = SIGNS.get(sign) or SIGNS.get(sign.upper())
    if not candidates:
        return None
    return preferred if preferred in candidates else candidates[0]
