from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from crm.i18n import lazy_gettext as _l


class SavedReplyForm(FlaskForm):
    title = StringField(_l("Title"), description=_l('What agents pick it by, such as "Refund on its way".'))
    body = TextAreaField(_l("Reply"))
