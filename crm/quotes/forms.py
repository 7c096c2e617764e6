from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from crm.contacts.forms import choices
from crm.form_fields import SelectField
from crm.i18n import lazy_gettext as _l
from crm.quotes.models import ACCEPTED, DECLINED, SENT, STATUS_LABELS
from crm.quotes.service import DETAILS_MAX


class QuoteForm(FlaskForm):
    """What a draft lets change; everything else was copied from the deal."""

    valid_until = DateField(_l("Valid until"), validators=[InputRequired(_l("Enter a date."))])
    notes = TextAreaField(
        _l("Notes and terms"),
        validators=[Optional(), Length(max=5000)],
        description=_l("Printed at the end of the quote: payment terms, delivery, anything the customer should know."),
    )


class StatusForm(FlaskForm):
    status = SelectField(_l("New status"), validate_choice=True)
    win_deal = BooleanField(_l("Also mark the deal won"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = choices((status, STATUS_LABELS[status]) for status in (SENT, ACCEPTED, DECLINED))


class DetailsForm(FlaskForm):
    business_details = TextAreaField(
        _l("Business details on quotes"),
        validators=[Optional(), Length(max=DETAILS_MAX)],
        description=_l("Legal name, address, tax ID, phone, email, bank account: printed on every new quote."),
    )
