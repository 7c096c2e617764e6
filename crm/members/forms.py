from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length

from crm.auth.forms import password_field
from crm.form_fields import SelectField
from crm.i18n import lazy_gettext as _l


def role_choices(roles) -> list[SelectChoice]:
    return [SelectChoice(role.id, role.display_name) for role in roles]


class InviteForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        validators=[
            DataRequired(_l("Enter the email address to invite.")),
            Email(_l("Enter a valid email address.")),
            Length(max=254),
        ],
    )
    role_id = SelectField(_l("Role"), coerce=int, validate_choice=True)

    def __init__(self, roles, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role_id.choices = role_choices(roles)


class MemberRoleForm(FlaskForm):
    role_id = SelectField(_l("Role"), coerce=int, validate_choice=True)

    def __init__(self, roles, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role_id.choices = role_choices(roles)


class JoinForm(FlaskForm):
    """A new account for the invited address (the email comes from the invitation)."""

    name = StringField(_l("Your name"), validators=[DataRequired(_l("Tell us your name.")), Length(max=120)])
    password = password_field(_l("Password"))
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(_l("Repeat the password.")), EqualTo("password", _l("The two passwords differ."))],
    )
