from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

from crm.i18n import lazy_gettext as _l


class RestoreForm(FlaskForm):
    file = FileField(
        _l("Backup file"),
        description=_l("A ZIP file downloaded with “Download backup”, from this or another Kehu server."),
        validators=[FileRequired(_l("Choose a backup file."))],
    )
