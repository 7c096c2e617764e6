from decimal import ROUND_HALF_UP, Decimal

from flask_wtf import FlaskForm
from wtforms import DecimalField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, StopValidation

from crm.contacts.forms import choices, optional_id
from crm.form_fields import PlainNumber, SelectField, TrimsText
from crm.i18n import lazy_gettext as _l

MAX_PRICE = Decimal("9999999999.99")  # Numeric(12, 2)
MAX_QUANTITY = Decimal("999999999.999")  # Numeric(12, 3)
PRICE_RANGE = NumberRange(min=0, max=MAX_PRICE, message=_l("Enter an amount of 0 or more."))
PERCENT_RANGE = NumberRange(min=0, max=100, message=_l("Enter a percentage from 0 to 100."))


def finite(form, field) -> None:
    """DecimalField takes "NaN" and "Infinity", which no range check can compare."""
    if field.data is not None and not field.data.is_finite():
        raise StopValidation(_l("Enter a number."))


def positive(form, field) -> None:
    if field.data is not None and not Decimal(0) < field.data <= MAX_QUANTITY:
        raise StopValidation(_l("Enter a quantity above 0."))


def _rounded(value: Decimal | None, places: str) -> Decimal | None:
    return None if value is None else value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def rounded_to(places: str):
    """A filter rounding a field's number to what its column keeps before the validators see it: a
    quantity of 0.0004 passed "above 0" and was stored as 0 (a failed CHECK: a server error), a
    price of 9999999999.999 passed the maximum and became too large for its column."""

    def rounded(value):
        if isinstance(value, Decimal) and value.is_finite() and value.adjusted() < 20:
            return _rounded(value, places)
        return value  # none, not finite or huge: the validators refuse it as it is

    return rounded


CENTS, THOUSANDTHS = rounded_to("0.01"), rounded_to("0.001")


class ProductForm(FlaskForm):
    Meta = TrimsText
    name = StringField(_l("Name"), validators=[DataRequired(_l("Give the product a name.")), Length(max=200)])
    sku = StringField(
        _l("SKU"), description=_l("Optional; unique in the workspace."), validators=[Optional(), Length(max=64)]
    )
    unit_price = DecimalField(
        _l("Unit price"), places=2, filters=[CENTS],
        validators=[InputRequired(_l("Enter the unit price.")), finite, PRICE_RANGE],
    )  # fmt: skip
    currency = SelectField(_l("Currency"), validate_choice=True)
    tax_rate = DecimalField(
        _l("Tax rate (%)"), places=2, default=Decimal("0"), filters=[CENTS],
        validators=[InputRequired(_l("Enter the tax rate (0 if none).")), finite, PERCENT_RANGE],
    )  # fmt: skip

    def __init__(self, *args, currencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.currency.choices = choices(currencies)

    def service_data(self) -> dict:
        return {
            "name": self.name.data.strip(),
            "sku": (self.sku.data or "").strip() or None,
            "unit_price": _rounded(self.unit_price.data, "0.01"),
            "currency": self.currency.data,
            "tax_rate": _rounded(self.tax_rate.data, "0.01"),
        }


class _Quantity(PlainNumber, DecimalField):
    """A line's quantity, shown without trailing zeros ("1", not "1.000")."""


class _LineFields(FlaskForm):
    quantity = _Quantity(
        _l("Quantity"), places=3, default=Decimal(1), filters=[THOUSANDTHS],
        validators=[InputRequired(_l("Enter the quantity.")), finite, positive],
    )  # fmt: skip
    discount_percent = DecimalField(
        _l("Discount (%)"), places=2, default=Decimal(0), filters=[CENTS],
        validators=[Optional(), finite, PERCENT_RANGE],
    )  # fmt: skip

    def service_data(self) -> dict:
        data = {
            "name": (self.name.data or "").strip(),
            "quantity": _rounded(self.quantity.data, "0.001"),
            "unit_price": _rounded(self.unit_price.data, "0.01"),
            "discount_percent": _rounded(self.discount_percent.data, "0.01") or Decimal(0),
            "tax_rate": _rounded(self.tax_rate.data, "0.01"),
        }
        return {name: value for name, value in data.items() if value not in (None, "")}


class ItemForm(_LineFields):
    """A new line: a product (its name, price and tax rate fill what is left empty) or free text."""

    product_id = SelectField(_l("Product"), coerce=optional_id, validate_choice=False)
    name = StringField(
        _l("Name"), description=_l("Leave empty to use the product's name."), validators=[Optional(), Length(max=200)]
    )
    unit_price = DecimalField(
        _l("Unit price"), places=2, description=_l("Leave empty to use the product's price."), filters=[CENTS],
        validators=[Optional(), finite, PRICE_RANGE],
    )  # fmt: skip
    tax_rate = DecimalField(
        _l("Tax rate (%)"), places=2, filters=[CENTS], validators=[Optional(), finite, PERCENT_RANGE]
    )

    def __init__(self, *args, products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.product_id.choices = choices([("", _l("None: a free-text line")), *products])


class LineForm(_LineFields):
    """A line edited in place (every field present; the row's prefix keeps the page's ids apart)."""

    name = StringField(_l("Name"), validators=[DataRequired(_l("Name the line.")), Length(max=200)])
    unit_price = DecimalField(
        _l("Unit price"), places=2, filters=[CENTS],
        validators=[InputRequired(_l("Enter the unit price.")), finite, PRICE_RANGE],
    )  # fmt: skip
    tax_rate = DecimalField(
        _l("Tax rate (%)"), places=2, filters=[CENTS],
        validators=[InputRequired(_l("Enter the tax rate (0 if none).")), finite, PERCENT_RANGE],
    )  # fmt: skip
