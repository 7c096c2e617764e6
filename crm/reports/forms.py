from datetime import date

from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, ValidationError

from crm.form_fields import SelectField
from crm.i18n import lazy_gettext as _l
from crm.security import record_id

# Dates outside these are typing mistakes, and would overflow date arithmetic near year 9999.
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)


def _within_years(form, field) -> None:
    if field.data and not EARLIEST <= field.data <= LATEST:
        raise ValidationError(_l("Choose a date from 2000 to 2100."))


class SalesFilterForm(FlaskForm):
    """The Sales report's filters, read from the query string (a GET form: no CSRF token). The
    period's first day is ``from`` in the URL (``start`` here: ``from`` is a Python keyword)."""

    class Meta:
        csrf = False

    pipeline = SelectField(_l("Pipeline"), validate_choice=False)
    start = DateField(_l("From"), name="from", validators=[Optional(), _within_years])
    until = DateField(_l("Until"), validators=[Optional(), _within_years])
    owner = SelectField(_l("Owner"), default="")
    currency = SelectField(_l("Currency"), validate_choice=False)

    def __init__(self, pipelines, owners, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pipeline.choices = [SelectChoice(str(pipeline.id), pipeline.display_name) for pipeline in pipelines]
        self.owner.choices = [SelectChoice("", _l("Anyone")), SelectChoice("me", _l("Me")),
                              SelectChoice("none", _l("Nobody"))] + [
            SelectChoice(str(member_id), name) for member_id, name in owners
        ]  # fmt: skip

    def validate_pipeline(self, field) -> None:
        # Any id is looked up (another workspace's is a 404, like in a URL path); only junk is refused.
        if field.data and record_id(field.data) is None:
            raise ValidationError(_l("Choose one of the pipelines."))

    def validate_until(self, field) -> None:
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_l("The end of the period is before its start."))

    def validate_currency(self, field) -> None:
        if field.data and not (len(field.data) == 3 and field.data.isalpha() and field.data.isupper()):
            raise ValidationError(_l("Choose a currency."))


class ServiceFilterForm(FlaskForm):
    """The Service report's filters, read from the query string like the Sales report's."""

    class Meta:
        csrf = False

    start = DateField(_l("From"), name="from", validators=[Optional(), _within_years])
    until = DateField(_l("Until"), validators=[Optional(), _within_years])
    category = SelectField(_l("Category"), validate_choice=False, default="")
    channel = SelectField(_l("Channel"), default="")
    level = SelectField(_l("Customer level"), default="")

    def __init__(self, categories, channels, levels, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [SelectChoice("", _l("Any category"))] + [
            SelectChoice(str(category.id), category.display_name) for category in categories
        ]
        self.channel.choices = [SelectChoice("", _l("Any channel"))] + [
            SelectChoice(key, label) for key, label in channels.items()
        ]
        self.level.choices = [SelectChoice("", _l("Any level"))] + [
            SelectChoice(key, label) for key, label in levels.items()
        ]

    def validate_category(self, field) -> None:
        # Any id is looked up (another workspace's is a 404, like the Sales report's pipeline).
        if field.data and record_id(field.data) is None:
            raise ValidationError(_l("Choose one of the categories."))

    def validate_until(self, field) -> None:
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_l("The end of the period is before its start."))
