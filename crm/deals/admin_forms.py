"""Forms of Settings → Pipelines. The service checks the same rules again (and names' uniqueness)."""

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from crm.contacts.forms import choices, optional_id
from crm.deals.admin import StageData
from crm.form_fields import SelectField
from crm.i18n import lazy_gettext as _l


class PipelineForm(FlaskForm):
    name = StringField(_l("Pipeline name"), validators=[DataRequired(_l("Enter a name.")), Length(max=80)])


class StageForm(FlaskForm):
    """An open stage's fields; a Won or Lost stage's form keeps only its name (``closed=True``)."""

    name = StringField(_l("Stage name"), validators=[DataRequired(_l("Enter a name.")), Length(max=80)])
    probability = IntegerField(
        _l("Win probability (%)"),
        validators=[
            InputRequired(_l("Enter a whole number from 0 to 100.")),
            NumberRange(min=0, max=100, message=_l("Enter a whole number from 0 to 100.")),
        ],
    )
    rotting_days = IntegerField(
        _l("Rotting after (days)"),
        description=_l("A deal left in this stage longer is flagged on the board. Leave empty for never."),
        validators=[
            Optional(),
            NumberRange(min=1, max=3650, message=_l("Enter a number of days from 1 to 3650, or leave it empty.")),
        ],
    )

    def __init__(self, *args, closed: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if closed:
            delattr(self, "probability")
            delattr(self, "rotting_days")

    def data_for_service(self) -> StageData:
        if "probability" not in self:
            return StageData(self.name.data)
        return StageData(self.name.data, self.probability.data, self.rotting_days.data)


class RemoveStageForm(FlaskForm):
    target = SelectField(_l("Move its deals to"), coerce=optional_id, validate_choice=False)

    def __init__(self, *args, stages=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.target.choices = choices([("", _l("Choose a stage")), *((s.id, s.display_name) for s in stages)])


class LostReasonForm(FlaskForm):
    name = StringField(_l("Reason"), validators=[DataRequired(_l("Enter a name.")), Length(max=120)])
