from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from crm.auth import two_factor
from crm.form_fields import SelectField
from crm.i18n import LANGUAGES
from crm.i18n import lazy_gettext as _l

PASSWORD_MIN, PASSWORD_MAX = 10, 128


def password_field(label):
    return PasswordField(
        label,
        validators=[
            DataRequired(_l("Choose a password.")),
            Length(PASSWORD_MIN, PASSWORD_MAX, _l("Use between %(min)d and %(max)d characters.")),
        ],
        description=_l("At least %(min)d characters. A phrase of several words is easy to remember.", min=PASSWORD_MIN),
    )


class SignupForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(_l("Tell us your name.")), Length(max=120)])
    email = EmailField(
        _l("Work email"),
        validators=[
            DataRequired(_l("Enter your email address.")),
            Email(_l("Enter a valid email address.")),
            Length(max=254),
        ],
    )
    password = password_field(_l("Password"))
    business_name = StringField(
        _l("Business name"), validators=[DataRequired(_l("Name your business.")), Length(max=120)]
    )
    # Filled by the browser's Intl API when JavaScript runs; validated server-side.
    timezone = HiddenField()

    def validate_password(self, field):
        if field.data and self.email.data and field.data.strip().lower() == self.email.data.strip().lower():
            raise ValidationError(_l("Your password cannot be your email address."))


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email address.")), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])
    remember = BooleanField(_l("Keep me signed in on this device"))


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(_l("Enter your email address.")), Email(_l("Enter a valid email address."))],
    )


class ResetPasswordForm(FlaskForm):
    password = password_field(_l("New password"))
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[
            DataRequired(_l("Repeat the new password.")),
            EqualTo("password", _l("The two passwords differ.")),
        ],
    )


class ProfileForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(_l("Tell us your name.")), Length(max=120)])
    locale = SelectField(
        _l("Language"),
        choices=[SelectChoice("", _l("Same as my browser"))]
        + [SelectChoice(code, name) for code, name in LANGUAGES.items()],
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(_l("Enter your current password."))]
    )
    new_password = password_field(_l("New password"))


class TwoFactorSetupForm(FlaskForm):
    """Confirms the authenticator app with its first code, and the account with its password: a
    second factor set up by someone who found the account signed in would lock its owner out."""

    code = StringField(
        _l("Code from the app"),
        validators=[DataRequired(_l("Enter the 6-digit code shown in your authenticator app."))],
        description=_l("6 digits. A new one appears every 30 seconds."),
    )
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(_l("Enter your current password."))]
    )

    def validate_code(self, field):
        if not two_factor.looks_like_totp(field.data):
            raise ValidationError(_l("The code is 6 digits, for example 123456."))


class TwoFactorLoginForm(FlaskForm):
    code = StringField(
        _l("Authentication code"),
        validators=[DataRequired(_l("Enter the code from your authenticator app, or a recovery code."))],
        description=_l("The 6-digit code from your authenticator app, or one of your recovery codes."),
    )

    def validate_code(self, field):
        if not (two_factor.looks_like_totp(field.data) or two_factor.looks_like_recovery_code(field.data)):
            raise ValidationError(_l("Enter the 6 digits from your app, or a recovery code such as abcde-fghjk."))


class ConfirmPasswordForm(FlaskForm):
    """Asks again for the password before a change to two-factor settings (used with a prefix, as
    the page holds two of them)."""

    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(_l("Enter your current password."))]
    )
