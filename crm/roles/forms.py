from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from crm.form_fields import SelectField
from crm.i18n import lazy_gettext as _l
from crm.permissions import RECORD_SCOPES
from crm.roles.service import NAME_MAX


class NewRoleForm(FlaskForm):
    name = StringField(_l("Role name"), validators=[DataRequired(_l("Name the role.")), Length(max=NAME_MAX)])
    copy_from = SelectField(_l("Start from"), coerce=int, validate_choice=True)

    def __init__(self, roles, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.copy_from.choices = [SelectChoice(0, _l("No permissions"))] + [
            SelectChoice(role.id, role.display_name) for role in roles
        ]


class RoleForm(FlaskForm):
    name = StringField(_l("Role name"), validators=[DataRequired(_l("Name the role.")), Length(max=NAME_MAX)])
    record_scope = SelectField(
        _l("Records they see"),
        choices=[SelectChoice(key, label) for key, label in RECORD_SCOPES.items()],
        description=_l("Applies to contacts, deals, tickets and notes: lists, search, counts, exports and reports."),
    )
