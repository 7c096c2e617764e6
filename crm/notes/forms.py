from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from crm.i18n import lazy_gettext as _l
from crm.notes.models import BODY_MAX


class NoteForm(FlaskForm):
    body = TextAreaField(
        _l("Note"),
        validators=[
            DataRequired(_l("Write something first.")),
            Length(max=BODY_MAX, message=_l("Keep it under %(max)d characters.")),
        ],
    )
