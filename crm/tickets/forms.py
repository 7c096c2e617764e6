from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from crm.contacts.forms import choices, optional_id
from crm.deals.customers import PickedField
from crm.form_fields import SelectField
from crm.i18n import lazy_gettext as _l
from crm.tickets.models import (
    CHANNEL_LABELS,
    EMAIL,
    IN_PERSON,
    INTERNAL,
    NORMAL,
    PHONE,
    PRIORITY_LABELS,
    PUBLIC,
    STAFF,
)
from crm.tickets.service import BODY_MAX, SUBJECT_MAX

# The channels staff record a ticket from; the portal opens its own.
STAFF_CHANNELS = (PHONE, EMAIL, IN_PERSON, STAFF)
REPLY_KINDS = {PUBLIC: _l("Reply to customer"), INTERNAL: _l("Internal note")}


class TicketForm(FlaskForm):
    """A ticket staff open for a customer. The contact comes from the picker: only a live contact
    the member may see is a choice (crm/deals/customers.py), so any other id fails validation."""

    contact_id = PickedField(_l("Customer"), not_found=_l("Choose a contact from the search results."))
    subject = StringField(
        _l("Subject"), validators=[DataRequired(_l("Give the ticket a subject.")), Length(max=SUBJECT_MAX)]
    )
    body = TextAreaField(
        _l("Description"),
        description=_l("What the customer told you. The customer sees it on their tracking page."),
        validators=[DataRequired(_l("Describe the complaint.")), Length(max=BODY_MAX)],
    )
    channel = SelectField(_l("Channel"), default=PHONE, validate_choice=True)
    priority = SelectField(_l("Priority"), default=NORMAL, validate_choice=True)
    category_id = SelectField(_l("Category"), coerce=optional_id, validate_choice=True)

    def __init__(self, *args, contacts=(), categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.contact_id.choices = choices([("", _l("None")), *contacts])
        self.channel.choices = choices([(key, CHANNEL_LABELS[key]) for key in STAFF_CHANNELS])
        self.priority.choices = choices(PRIORITY_LABELS.items())
        self.category_id.choices = choices([("", _l("None")), *((c.id, c.display_name) for c in categories)])

    def validate_contact_id(self, field) -> None:
        if field.data is None:
            raise ValidationError(str(_l("Choose the customer the ticket is about.")))


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Message"), validators=[DataRequired(_l("Write a message.")), Length(max=BODY_MAX)])
    kind = RadioField(_l("Send as"), choices=choices(REPLY_KINDS.items()), default=PUBLIC, validate_choice=True)
