from flask_wtf import FlaskForm
from wtforms import ColorField, MultipleFileField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from crm.form_fields import SelectField
from crm.i18n import lazy_gettext as _l
from crm.portal.service import INTRO_MAX
from crm.tickets.service import BODY_MAX, COMMENT_MAX, NAME_MAX, REFERENCE_MAX, SUBJECT_MAX


def _optional_int(value):
    if value in (None, ""):
        return None
    return int(value)


class ComplaintForm(FlaskForm):
    """The portal's complaint form; ``website`` is the honeypot (hidden from people and screen
    readers, so whatever fills it is a robot)."""

    name = StringField(_l("Your name"), validators=[DataRequired(_l("Enter your name.")), Length(max=NAME_MAX)])
    email = StringField(
        _l("Email"),
        validators=[DataRequired(_l("Enter your email address.")), Length(max=320)],
        description=_l("We send the number of your complaint and a private link to follow it here."),
    )
    phone = StringField(_l("Phone (optional)"), validators=[Optional(), Length(max=40)])
    reference = StringField(
        _l("Order or reference number (optional)"), validators=[Optional(), Length(max=REFERENCE_MAX)]
    )
    category_id = SelectField(
        _l("What is it about?"),
        coerce=_optional_int,
        validate_choice=False,  # checked against the active categories in the view
        validators=[InputRequired(_l("Choose what your complaint is about."))],
    )
    subject = StringField(_l("Subject"), validators=[DataRequired(_l("Enter a subject.")), Length(max=SUBJECT_MAX)])
    description = TextAreaField(
        _l("Description"),
        validators=[DataRequired(_l("Tell us what happened.")), Length(max=BODY_MAX)],
        description=_l("What happened, when, and what you would like us to do."),
    )
    attachments = MultipleFileField(
        _l("Photos or documents (optional)"), description=_l("Up to 5 images or PDF files, 10 MB each.")
    )
    website = StringField(_l("Leave this field empty"))


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Your reply"), validators=[DataRequired(_l("Write your reply.")), Length(max=BODY_MAX)])
    attachments = MultipleFileField(_l("Photos or documents (optional)"))


class PrivacyForm(FlaskForm):
    """A request about the customer's own data; ``website`` is the honeypot, as on the complaint form."""

    name = StringField(_l("Your name"), validators=[DataRequired(_l("Enter your name.")), Length(max=NAME_MAX)])
    email = StringField(
        _l("Email"),
        validators=[DataRequired(_l("Enter your email address.")), Length(max=320)],
        description=_l("The address you use with us: we find your data by it and answer to it."),
    )
    kind = RadioField(
        _l("What would you like?"),
        choices=[
            SelectChoice("privacy_copy", _l("Send me a copy of my data")),
            SelectChoice("privacy_erasure", _l("Delete my data")),
        ],
        validators=[InputRequired(_l("Choose what you would like."))],
    )
    details = TextAreaField(_l("Anything we should know (optional)"), validators=[Optional(), Length(max=BODY_MAX)])
    website = StringField(_l("Leave this field empty"))


class MyRequestsForm(FlaskForm):
    email = StringField(
        _l("Email"),
        validators=[DataRequired(_l("Enter your email address.")), Length(max=320)],
        description=_l("We send a link that shows every request you made with this address."),
    )


SCORES = [
    SelectChoice(1, _l("1: Very dissatisfied")),
    SelectChoice(2, _l("2: Dissatisfied")),
    SelectChoice(3, _l("3: Neither satisfied nor dissatisfied")),
    SelectChoice(4, _l("4: Satisfied")),
    SelectChoice(5, _l("5: Very satisfied")),
]


class RatingForm(FlaskForm):
    score = RadioField(
        _l("How satisfied are you with how we handled your complaint?"),
        choices=SCORES,
        coerce=int,
        validate_choice=False,  # the service checks 1 to 5
        validators=[InputRequired(_l("Choose a score from 1 to 5."))],
    )
    comment = TextAreaField(_l("Comment (optional)"), validators=[Optional(), Length(max=COMMENT_MAX)])


class IntroForm(FlaskForm):
    intro = TextAreaField(
        _l("Introduction on the portal's home page"),
        validators=[Optional(), Length(max=INTRO_MAX)],
        description=_l("A few words for your customers. Left empty, the portal shows a standard text."),
    )


class BrandColorForm(FlaskForm):
    """The portal's colour as text (the value saved) and as a colour picker: app.js keeps the two in
    step; without JavaScript the view takes the one the admin changed."""

    brand_color = StringField(
        _l("Colour code"),
        validators=[Optional(), Length(max=20)],
        description=_l(
            "# and six hexadecimal digits, such as #1a5fb4. Left empty, the portal keeps its standard blue."
        ),
    )
    brand_picker = ColorField(_l("Pick a colour"), validators=[Optional(), Length(max=20)])


class CategoryForm(FlaskForm):
    name = StringField(_l("Category"), validators=[DataRequired(_l("Enter a name.")), Length(max=120)])
