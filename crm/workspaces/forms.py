from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Regexp

from crm.workspaces.service import SLUG_PATTERN, time_zones


class NewWorkspaceForm(FlaskForm):
    name = StringField(_l("Business name"), validators=[DataRequired(_l("Name your business.")), Length(max=120)])
    timezone = HiddenField()


class WorkspaceSettingsForm(FlaskForm):
    name = StringField(_l("Business name"), validators=[DataRequired(_l("Name your business.")), Length(max=120)])
    slug = StringField(
        _l("Web address"),
        validators=[
            DataRequired(_l("Choose a web address.")),
            Regexp(
                SLUG_PATTERN,
                message=_l("Use 1 to 50 lower-case letters, digits and dashes, not starting or ending with a dash."),
            ),
        ],
        description=_l("Your workspace lives at /w/<address>/. Changing it breaks saved links."),
    )
    timezone = SelectField(_l("Time zone"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = [SelectChoice(zone, zone) for zone in time_zones()]
