"""The settings form for a custom field, and the WTForms fields that custom fields add to the
contact and company forms."""

from decimal import Decimal

from flask import g
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, StringField, TextAreaField, URLField
from wtforms.validators import URL, DataRequired, InputRequired, Length, Optional, ValidationError

from crm.contacts.forms import choices
from crm.custom_fields import reserved, service
from crm.custom_fields.models import KINDS, WITH_OPTIONS
from crm.custom_fields.service import FieldDef
from crm.form_fields import AmountField, PlainNumber, SelectField, SelectMultipleField
from crm.i18n import lazy_gettext as _l

MAX_OPTIONS = 100


MAX_NUMBER = Decimal("999999999999")


class DefinitionForm(FlaskForm):
    label = StringField(_l("Label"), validators=[DataRequired(_l("Name the field.")), Length(max=80)])
    kind = SelectField(_l("Type"), choices=choices(KINDS.items()), default="text")
    options = TextAreaField(_l("Choices"), description=_l("One per line, for the list types."))
    required = BooleanField(_l("Required"))
    sensitive = BooleanField(
        _l("Sensitive"),
        description=_l(
            "Encrypted, and masked except for roles allowed to see sensitive details; every reveal is logged."
        ),
    )

    taken_labels: frozenset[str] = frozenset()  # the other fields' labels (case-folded), set by the route
    entity = ""  # whose field it is: its built-in fields' names are refused (set by the route)
    kept_label: str | None = None  # the label of the field being edited: kept as it is, it is not refused again

    def validate_label(self, field):
        label = (field.data or "").strip()
        if label.casefold() in self.taken_labels:
            raise ValidationError(_l("Another field already has this label."))
        built_in = reserved.built_in_field(self.entity, label) if self.entity else None
        if built_in is not None and (self.kept_label is None or reserved.fold(label) != reserved.fold(self.kept_label)):
            raise ValidationError(_l("Taken by a built-in field (%(field)s): choose another label.", field=built_in))

    def validate_required(self, field):
        if field.data and self.kind.data == "checkbox":
            raise ValidationError(_l("A yes/no field cannot be required: unticked is an answer."))

    def choices_list(self) -> list[str]:
        lines = [line.strip()[:80] for line in (self.options.data or "").splitlines()]
        return list(dict.fromkeys(line for line in lines if line))

    def validate_options(self, field):
        if self.kind.data in WITH_OPTIONS and not self.choices_list():
            raise ValidationError(_l("Give at least one choice, one per line."))
        if len(self.choices_list()) > MAX_OPTIONS:
            raise ValidationError(_l("At most %(count)d choices.", count=MAX_OPTIONS))


class RenameOptionForm(FlaskForm):
    """Renames one choice of a list field, on the records that hold it too (``service.rename_option``)."""

    option = SelectField(_l("Choice"))
    new_name = StringField(_l("New name"), validators=[DataRequired(_l("Enter the new name.")), Length(max=80)])

    def __init__(self, *args, options=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.option.choices = choices([(option, option) for option in options])
        self.others = options

    def validate_new_name(self, field):
        name = (field.data or "").strip()
        if any(o.casefold() == name.casefold() for o in self.others if o != self.option.data):
            raise ValidationError(_l("Another choice already has this name."))


class NumberField(PlainNumber, AmountField):
    """A custom number, typed as an amount is ("25,000", "25 000"; "1,5" and "1e3" refused with the
    amount's reasons), with as many decimals as typed (``_storable_number`` bounds it), and drawn as
    stored: 12.345 and 42, not rounded to 12.34 nor padded to 42.00."""


def _storable_number(form, field) -> None:
    """Numbers are kept as JSON numbers (doubles): exact to 15 significant digits, so at most 12
    before the decimal point; "NaN" and "1e400" are refused rather than lost."""
    if field.data is not None and not (field.data.is_finite() and abs(field.data) <= MAX_NUMBER):
        raise ValidationError(_l("Enter a number between -999,999,999,999 and 999,999,999,999."))


def _presence(field: FieldDef, keep_hint: bool) -> list:
    if field.required and not keep_hint:
        return [InputRequired(_l("%(label)s is required.", label=field.label))]
    return [Optional()]


def _wtforms_field(field: FieldDef, editing_sensitive: bool):
    """A form field for ``field``; a sensitive value is never put back in the form (that would
    reveal it unlogged): left empty, it keeps what is stored."""
    keep = field.sensitive and editing_sensitive
    description = _l("Leave empty to keep the value stored.") if keep else ""  # or tick the box to remove it
    presence = _presence(field, keep)
    kind = field.kind
    if kind == "long_text":
        return TextAreaField(field.label, description=description, validators=[*presence, Length(max=5000)])
    if kind == "number":
        return NumberField(field.label, places=None, description=description, validators=[*presence, _storable_number])
    if kind == "date":
        return DateField(field.label, description=description, validators=presence)
    options = [(option, option) for option in field.options]
    if kind == "select":
        return SelectField(field.label, description=description, choices=choices([("", "—"), *options]),
                           validators=presence)  # fmt: skip
    if kind == "multi_select":
        return SelectMultipleField(field.label, description=description, choices=choices(options), validators=presence)
    if kind == "checkbox":
        return BooleanField(field.label, description=description)
    if kind == "url":
        return URLField(field.label, description=description,
                        validators=[*presence, URL(message=_l("Enter a full web address, such as https://example.com.")),
                                    Length(max=500)])  # fmt: skip
    return StringField(field.label, description=description, validators=[*presence, Length(max=500)])


def _clear_box(field: FieldDef) -> BooleanField:
    """Beside a sensitive field when editing: its value is never shown, so removing it is a box."""

    def allowed(form, box):
        if box.data and field.required:
            raise ValidationError(_l("%(label)s is required.", label=field.label))
        if box.data and form[field.name].data not in (None, "", [], False):
            raise ValidationError(_l("Either enter a new value or remove the stored one."))

    return BooleanField(_l("Remove the stored %(label)s", label=field.label), validators=[allowed])


def clear_name(field: FieldDef) -> str:
    """A name no custom field can have (keys hold only letters, digits and underscores)."""
    return f"{field.name}-clear"


def with_custom_fields(form_class, fields: list[FieldDef], editing: bool):
    """``form_class`` with a field for each custom field (``editing``: a record already exists)."""
    attributes = {f.name: _wtforms_field(f, editing) for f in fields}
    if editing:
        attributes.update({clear_name(f): _clear_box(f) for f in fields if f.sensitive})
    return type(form_class.__name__, (form_class,), attributes)


def custom_form(form_class, entity: str, record, sees_sensitive: bool, **kwargs):
    """A contact or company form with the workspace's custom fields for ``entity`` (sensitive
    ones only for members who may see them), filled from ``record`` when showing it."""
    fields = [f for f in service.definitions(g.workspace, entity) if sees_sensitive or not f.sensitive]
    form = with_custom_fields(form_class, fields, editing=record is not None)(**kwargs)
    form.custom_fields, form.custom_editing = fields, record is not None
    if record is not None:
        for field in fields:
            if field.kind in WITH_OPTIONS and not field.sensitive:
                _keep_retired_options(form[field.name], field, record.custom.get(field.key))
    drawn = kwargs.get("formdata", True) is None or not form.is_submitted()  # formdata=None: the record drawn again
    if record is not None and drawn:
        for field in fields:
            if not field.sensitive:
                form[field.name].data = service.from_storage(field, record.custom.get(field.key))
    return form


def _keep_retired_options(form_field, field: FieldDef, stored) -> None:
    """An option the record holds that the settings have since renamed or removed stays a choice
    of this record's form, marked, so that saving the record keeps it unless someone changes it."""
    held = stored if isinstance(stored, list) else [stored] if stored not in (None, "") else []
    retired = [str(value) for value in held if value not in field.options]
    if retired:
        marked = [(value, _l("%(option)s (no longer offered)", option=value)) for value in retired]
        form_field.choices = [*form_field.choices, *choices(marked)]


def custom_payload(form, record) -> tuple[dict, dict]:
    """The record's new custom values and their audit changes, from a validated form."""
    submitted = {}
    for field in form.custom_fields:
        value = form[field.name].data
        if field.sensitive and form.custom_editing and form[clear_name(field)].data:
            value = None  # the box "Remove the stored ..." was ticked
        elif field.sensitive and form.custom_editing and value in (None, "", [], False):
            continue  # left empty: keep the stored value
        submitted[field.key] = value
    return service.merged(form.custom_fields, record.custom if record is not None else {}, submitted)
