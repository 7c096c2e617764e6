from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from crm.contacts.forms import choices, optional_id
from crm.deals.customers import PickedField
from crm.form_fields import AmountField, SelectField, TrimsText
from crm.i18n import lazy_gettext as _l

MAX_VALUE = 10**10 - 1  # Numeric(12, 2)
STATUS_LABELS = {"open": _l("Open"), "won": _l("Won"), "lost": _l("Lost")}


class DealForm(FlaskForm):
    Meta = TrimsText
    """The fields of a deal. Every select's choices come from the bound workspace (and the member's
    record scope), so an id of anything else fails validation."""

    title = StringField(_l("Title"), validators=[DataRequired(_l("Give the deal a title.")), Length(max=200)])
    value = AmountField(
        _l("Value"),
        places=2,
        validators=[
            InputRequired(_l("Enter the deal's value (0 if not known yet).")),
            NumberRange(min=0, max=MAX_VALUE, message=_l("Enter an amount of 0 or more.")),
        ],
    )
    currency = SelectField(_l("Currency"), validate_choice=True)
    stage_id = SelectField(_l("Stage"), coerce=optional_id, validate_choice=True)
    # The stage the edit form showed: a stage left as shown does not move a deal someone else has
    # moved since the form was opened (crm.deals.routes.update).
    stage_seen = HiddenField()
    contact_id = PickedField(_l("Contact"), not_found=_l("Choose a contact from the search results."))
    company_id = PickedField(_l("Company"), not_found=_l("Choose a company from the search results."))
    owner_id = SelectField(_l("Owner"), coerce=optional_id, validate_choice=True)
    expected_close_on = DateField(_l("Expected close date"), validators=[Optional()])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])

    def __init__(self, *args, stages=(), contacts=(), companies=(), owners=(), currencies=(), priced_by_lines=False,
                 **kwargs):  # fmt: skip
        super().__init__(*args, **kwargs)
        if priced_by_lines:  # value and currency follow the deal's product lines (crm/products/service.py)
            delattr(self, "value")
            delattr(self, "currency")
        if stages:
            self.stage_id.choices = choices(stages)
        else:  # a closed deal keeps its outcome stage: won, lost or reopened, never moved by the form
            delattr(self, "stage_id")
            delattr(self, "stage_seen")
        self.contact_id.choices = choices([("", _l("None")), *contacts])
        self.company_id.choices = choices([("", _l("None")), *companies])
        self.owner_id.choices = choices([("", _l("Nobody")), *owners])
        if "currency" in self:
            self.currency.choices = choices(currencies)

    def service_data(self) -> dict:
        data = {name: self[name].data for name in ("title", "value", "currency", "contact_id", "company_id",
                                                   "owner_id", "expected_close_on") if name in self}  # fmt: skip
        data["title"] = data["title"].strip()
        data["notes"] = (self.notes.data or "").strip() or None
        return data


class WonForm(FlaskForm):
    purchase = BooleanField(_l("Record the deal's value as a purchase of the customer"))

    def with_lines(self) -> "WonForm":
        """The deal has product lines: each becomes a purchase of its own."""
        self.purchase.label.text = _l("Record each product line as a purchase of the customer")
        return self


class LostForm(FlaskForm):
    """Why a deal was lost: an active reason of the workspace's list, and optional details."""

    reason_id = SelectField(
        _l("Why was it lost?"), coerce=optional_id, validate_choice=True,
        validators=[DataRequired(_l("Choose why the deal was lost."))],
    )  # fmt: skip
    details = TextAreaField(_l("Details (optional)"), validators=[Optional(), Length(max=300)])

    def __init__(self, *args, reasons=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.reason_id.choices = choices([("", _l("Choose a reason")), *((r.id, r.display_name) for r in reasons)])
