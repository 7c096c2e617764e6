from datetime import date

from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, ValidationError

from crm.audit.service import ACTIONS, RECORD_TYPES
from crm.form_fields import SelectField
from crm.i18n import lazy_gettext as _l

# Days outside these are typing mistakes, and the last days of year 9999 overflow the filter's
# date arithmetic (a server error). The reports' filters take the same years.
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)


def _within_years(form, field) -> None:
    if field.data and not EARLIEST <= field.data <= LATEST:
        raise ValidationError(_l("Choose a date from 2000 to 2100."))


class AuditFilterForm(FlaskForm):
    """The filters of the audit log, read from the query string (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    actor = SelectField(_l("Person"), default="")
    action = SelectField(_l("Action"), default="")
    record_type = SelectField(_l("Record type"), default="")
    since = DateField(_l("From"), validators=[Optional(), _within_years])
    until = DateField(_l("To"), validators=[Optional(), _within_years])

    def __init__(self, people, *args, **kwargs):
        super().__init__(*args, **kwargs)
        everyone = SelectChoice("", _l("Everyone"))
        self.actor.choices = [everyone] + [SelectChoice(str(user_id), label) for user_id, label in people]
        self.action.choices = [SelectChoice("", _l("All actions"))] + [
            SelectChoice(key, label) for key, label in ACTIONS.items()
        ]
        self.record_type.choices = [SelectChoice("", _l("All records"))] + [
            SelectChoice(key, label) for key, label in RECORD_TYPES.items()
        ]

    def validate_until(self, field):
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("The end date is before the start date."))
