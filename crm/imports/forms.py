from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import RadioField, StringField
from wtforms.validators import Length, Optional

from crm.contacts.forms import choices
from crm.form_fields import SelectField
from crm.i18n import lazy_gettext as _l
from crm.imports.fields import Target
from crm.imports.models import Import

MODE_LABELS = {
    "create": _l("Skip them: only add new contacts"),
    "update": _l("Update them with the filled cells of the file"),
}
MATCH_LABELS = {"email": _l("Email address"), "phone": _l("Phone number"), "external_id": _l("ID in your old system")}
ENTITY_LABELS = {
    "contacts": _l("Contacts (people)"),
    "companies": _l("Companies"),
    "purchases": _l("Purchases of your customers"),
}
NAME_TARGETS = {"name", "first_name", "last_name"}


class UploadForm(FlaskForm):
    entity = RadioField(_l("The file holds"), choices=choices(ENTITY_LABELS.items()), default="contacts")
    file = FileField(
        _l("Spreadsheet"),
        description=_l("CSV (any common encoding and separator) or XLSX; the first row holds the column names."),
        validators=[FileRequired(_l("Choose a file to upload."))],
    )


class MappingForm(FlaskForm):
    mode = RadioField(_l("Rows for contacts already in Kehu"), choices=choices(MODE_LABELS.items()), default="create")
    match_by = SelectField(
        _l("Recognise existing contacts by"),
        description=_l("A row matches a contact with the same value; a row repeating an earlier one is skipped."),
        choices=choices(MATCH_LABELS.items()),
        default="email",
    )
    save_as = StringField(
        _l("Save these choices as"),
        description=_l("Optional. Give them a name to use them again: a later file with these columns gets them."),
        validators=[Optional(), Length(max=80)],
        filters=[lambda text: text.strip() if text else text],
    )
    entity = "contacts"
    targets: dict[str, Target] = {}
    column_names: list[str] = []
    may_update = True

    def columns(self):
        return [self[name] for name in self.column_names]

    def mapping(self) -> list[str]:
        return [field.data or "" for field in self.columns()]

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        mapping = self.mapping()
        self._needed(set(mapping))
        first_column = {}
        for field, key in zip(self.columns(), mapping, strict=True):
            if key and key not in self.targets:  # not offered to this member (a sensitive field), or gone
                field.errors.append(_l("Choose one of the fields listed."))
            elif key and not self.targets[key].several and key in first_column:
                field.errors.append(_l("Already chosen for the column %(column)s.", column=first_column[key]))
            first_column.setdefault(key, field.label.text)
        if self.mode and self.mode.data == "update" and self.match_by.data not in mapping:
            self.match_by.errors.append(_l("To update contacts, import a column as this value."))
        if self.mode and self.mode.data == "update" and not self.may_update:
            self.mode.errors.append(_l("Your role changes only your own contacts: import new contacts only."))
        return valid and not self.form_errors and not any(field.errors for field in self)

    def _needed(self, mapped: set[str]) -> None:
        updating = self.mode is not None and self.mode.data == "update"  # a matched contact keeps its name
        if self.entity == "contacts" and not NAME_TARGETS & mapped and not updating:
            self.form_errors.append(_l("Choose the column that holds the name (or the first and last name)."))
        if self.entity == "companies" and "name" not in mapped:
            self.form_errors.append(_l("Choose the column that holds the name."))
        if self.entity != "purchases":
            return
        if not {"product", "purchased_on"} <= mapped:
            self.form_errors.append(_l("Choose the columns that hold the date and the product."))
        if not {"amount", "unit_price"} & mapped:
            self.form_errors.append(_l("Choose the column that holds the amount (or the unit price)."))
        if self.match_by.data not in mapped and "company" not in mapped:
            self.match_by.errors.append(_l("Choose the column that holds this, so each purchase finds its customer."))


def mapping_form(job: Import, targets: list[Target], may_update: bool, **kwargs) -> MappingForm:
    """The form for ``job``'s columns, each preset to the stored (first: guessed) mapping;
    ``may_update`` is false for a role limited to its own records. Companies are only added; the
    purchases of a file are all added, to the customer found by ``match_by``."""
    column_choices = choices([("", _l("Do not import")), *((target.key, target.label) for target in targets)])
    names = [f"column_{index}" for index in range(len(job.headers))]
    attributes = {"targets": {t.key: t for t in targets}, "column_names": names, "may_update": may_update,
                  "entity": job.entity}  # fmt: skip
    for index, (name, header) in enumerate(zip(names, job.headers, strict=True)):
        preset = job.mapping[index] if index < len(job.mapping) else ""
        attributes[name] = SelectField(header, choices=column_choices, default=preset, validate_choice=True)
    if job.entity != "contacts":
        attributes["mode"] = None
    if job.entity == "companies":
        attributes["match_by"] = None
    if job.entity == "purchases":
        attributes["match_by"] = SelectField(
            _l("Find each purchase's customer by"), choices=choices(MATCH_LABELS.items()), default="email"
        )
    form_class = type("ImportMappingForm", (MappingForm,), attributes)
    return form_class(mode=job.mode, match_by=job.match_by, **kwargs)
