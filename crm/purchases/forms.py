from decimal import Decimal

from flask import g
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from crm.contacts.forms import EARLIEST_DAY
from crm.deals.customers import PickedField
from crm.form_fields import AmountField, PastDay, QuantityField, SelectField
from crm.i18n import lazy_gettext as _l
from crm.i18n import workspace_today
from crm.purchases.service import computed_amount
from crm.workspaces.service import currency_choices

MAX_MONEY = Decimal("999999999999.99")
MAX_QUANTITY = Decimal("999999999")
QUANTITY_RANGE = _l("Enter a quantity from 0.001 to 999,999,999.")
MONEY_RANGE = _l("Enter an amount from 0 to 999,999,999,999.99.")


class PurchaseForm(FlaskForm):
    purchased_on = DateField(
        _l("Date"),
        default=workspace_today,  # a fresh form (no form data) offers today, where the workspace is
        validators=[
            InputRequired(_l("Enter the date of the purchase.")),
            # A purchase to come would count in "the last 12 months" and make the customer "new" already;
            # one before 1900 is a year mistyped (0001, 1024).
            PastDay(
                EARLIEST_DAY,
                too_early=_l("Enter a purchase date from 1900 on."),
                in_future=_l("A purchase cannot be dated in the future."),
            ),
        ],
    )
    product = StringField(_l("Product"), validators=[DataRequired(_l("Enter what was bought.")), Length(max=200)])
    quantity = QuantityField(
        _l("Quantity"),
        places=3,
        default=Decimal("1"),
        validators=[
            InputRequired(_l("Enter a quantity.")),
            NumberRange(min=Decimal("0.001"), max=MAX_QUANTITY, message=QUANTITY_RANGE),
        ],
    )
    unit_price = AmountField(
        _l("Unit price"),
        places=2,
        validators=[
            InputRequired(_l("Enter a price.")),
            NumberRange(min=Decimal("0"), max=MAX_MONEY, message=MONEY_RANGE),
        ],
    )
    amount = AmountField(
        _l("Amount paid"),
        places=2,
        description=_l("Leave empty for quantity times unit price; after a discount, enter what was paid."),
        validators=[Optional(), NumberRange(min=Decimal("0"), max=MAX_MONEY, message=MONEY_RANGE)],
    )
    currency = SelectField(_l("Currency"), default=lambda: g.workspace.currency, validate_choice=True)
    base_amount = AmountField(
        _l("Worth in the workspace currency"),
        places=2,
        description=_l("For a purchase in another currency: what it is worth in yours. Tiers and totals add it up."),
        validators=[Optional(), NumberRange(min=Decimal("0"), max=MAX_MONEY, message=MONEY_RANGE)],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency.choices = currency_choices(first=g.workspace.currency)
        self.base_amount.label.text = _("Worth in %(currency)s", currency=g.workspace.currency)

    @property
    def foreign(self) -> bool:
        """In another currency than the workspace's."""
        return self.currency.data != g.workspace.currency

    @classmethod
    def to_edit(cls, purchase, **kwargs) -> "PurchaseForm":
        """The form filled from ``purchase``. "Amount paid" stays empty when it is quantity times unit
        price, so that changing either recomputes it; an amount entered by hand (a discount) shows."""
        form = cls(obj=purchase, **kwargs)
        if purchase.amount == computed_amount(purchase.quantity, purchase.unit_price):
            form.amount.data = None
        if not form.foreign:
            form.base_amount.data = None
        return form

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.foreign and self.base_amount.data is None and not self.base_amount.errors:  # Optional() stopped it
            needed = _("Enter what it is worth in %(currency)s: tiers and totals add up in it.",
                       currency=g.workspace.currency)  # fmt: skip
            self.base_amount.errors = [needed]
            return False
        return valid

    def validate_unit_price(self, field):
        if self.quantity.errors or field.errors or self.quantity.data is None or field.data is None:
            return
        if self.quantity.data * field.data > MAX_MONEY:
            raise ValidationError(_l("Quantity times unit price is too large."))

    def service_data(self) -> dict:
        return {
            "purchased_on": self.purchased_on.data,
            "product": self.product.data.strip(),
            "quantity": self.quantity.data,
            "unit_price": self.unit_price.data,
            "amount": self.amount.data,
            "currency": self.currency.data,
            "base_amount": self.base_amount.data if self.foreign else None,
        }


class CompanyPurchaseForm(PurchaseForm):
    """A purchase entered on a company's page: by one of its contacts, or by the company itself.

    ``buyers`` are the contacts offered: all of the company's (that the member may see) when they fit
    a select, and the contact the form was sent or holds. With more (``searched``), the page shows a
    picker that searches the company's contacts instead; either way any live contact of the company
    the member may see is a valid buyer, and any other id is refused with ``not_found``.
    ``typed``: the picker's text as typed without JavaScript (crm/purchases/buyers.py) when it named
    no single contact, with the ``problem`` the field shows."""

    buyer = PickedField(
        _l("Bought by"),
        not_found=_l("Choose one of this company's contacts, or the company itself."),
        description=_l("A contact's purchase also counts towards that contact's tier and level."),
    )

    def __init__(self, *args, buyers: list[tuple[int, str]] = (), searched: bool = False, typed: str | None = None,
                 problem: str | None = None, **kwargs):  # fmt: skip
        super().__init__(*args, **kwargs)
        self.searched, self.typed, self.problem = searched, typed, problem
        self.buyer.choices = [SelectChoice("", _l("The company itself"))] + [
            SelectChoice(contact_id, name) for contact_id, name in buyers
        ]

    def validate_buyer(self, field) -> None:
        if self.problem:
            raise ValidationError(self.problem)
