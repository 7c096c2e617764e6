from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField


class SavedReplyForm(FlaskForm):
    title = StringField(_l("Title"), description=_l('What agents pick it by, such as "Refund on its way".'))
    body = TextAreaField(_l("Reply"))
