from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length, Regexp

from crm.form_fields import SelectField
from crm.i18n import lazy_gettext as _l
from crm.workspaces.service import (
    CURRENCIES,
    SLUG_PATTERN,
    currency_choices,
    phone_region_choices,
    phone_regions,
    time_zones,
)


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
        description=_l("Your workspace lives at /w/<address>/. Links with the old address keep working."),
    )
    timezone = SelectField(_l("Time zone"))
    # The lists are checked by AnyOf with a clear message rather than WTForms' "Not a valid choice".
    currency = SelectField(
        _l("Default currency"),
        validate_choice=False,
        validators=[AnyOf(CURRENCIES, message=_l("Choose a currency from the list."))],
        description=_l(
            "Used for new deals and purchases unless another currency is chosen. Tiers, levels and "
            "totals add up purchases in it."
        ),
    )
    currency_confirmed = BooleanField(_l("Change it anyway: the purchases recorded keep their figures"))
    phone_region = SelectField(
        _l("Default phone region"),
        validate_choice=False,
        validators=[AnyOf(phone_regions(), message=_l("Choose a region from the list."))],
        description=_l("Phone numbers typed without a +country code are read as numbers of this region."),
    )
    require_two_factor = BooleanField(_l("Require two-factor authentication for every member"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = [SelectChoice(zone, zone) for zone in time_zones()]
        self.currency.choices = currency_choices()
        self.phone_region.choices = phone_region_choices()


class LogoForm(FlaskForm):
    logo = FileField(
        _l("Logo"),
        validators=[FileRequired(_l("Choose an image file."))],
        description=_l("PNG, JPEG or WebP, at most 512 KB."),
    )


class DeleteWorkspaceForm(FlaskForm):
    confirm_name = StringField(_l("Workspace name"), validators=[DataRequired(_l("Type the name of the workspace."))])
