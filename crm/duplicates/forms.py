from dataclasses import dataclass

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.validators import InputRequired

from crm.contacts.forms import GENDER_LABELS, choices
from crm.contacts.models import Contact
from crm.contacts.service import SENSITIVE_FIELDS
from crm.contacts.timeline import FIELD_LABELS
from crm.custom_fields.service import MASK, FieldDef, display, from_storage
from crm.duplicates.service import FIELDS
from crm.i18n import lazy_gettext as _l


@dataclass
class Row:
    """One line of the side-by-side comparison; ``pick`` names its radio field when the values
    differ and the member may choose. A sensitive custom field's values are masked, with its id
    for the logged Reveal (``field_id``) to a member who may see them, and ``note`` says to one
    who may not what becomes of the other's value."""

    label: str
    left: str
    right: str
    pick: str | None = None
    field_id: int | None = None
    note: str | None = None


class MergeForm(FlaskForm):
    survivor = RadioField(_l("Keep this record"), validators=[InputRequired(_l("Choose the record to keep."))])
    pick_names: dict[str, str] = {}  # form field name -> field key (FIELDS or "cf:<key>")

    def picks(self) -> dict[str, int]:
        return {key: int(self[name].data) for name, key in self.pick_names.items()}


def _text(contact: Contact, field: str) -> str:
    value = getattr(contact, field)
    if value in (None, ""):
        return ""
    if field == "company_id":
        return contact.company.name if contact.company else ""
    if field == "owner_id":
        return contact.owner.user.name if contact.owner else ""
    if field == "gender":
        return str(GENDER_LABELS.get(value, value))
    if field == "birthday":
        return value.isoformat()
    return str(value)


def comparison(left: Contact, right: Contact, custom: list[FieldDef], sensitive: bool) -> list[Row]:
    """Every field of the two contacts side by side. Sensitive details stay hidden from a member
    without ``contacts.sensitive`` (the merge then keeps the survivor's, or fills an empty one);
    sensitive custom values are masked for everyone, compared decrypted, and offered as a choice
    to a member with it."""
    rows = []
    for field in FIELDS:
        if field in SENSITIVE_FIELDS and not sensitive:
            continue
        texts = _text(left, field), _text(right, field)
        if any(texts):
            rows.append(
                Row(str(FIELD_LABELS.get(field, field)), *texts, f"pick_{field}" if texts[0] != texts[1] else None)
            )
    for cf in custom:
        stored = (left.custom or {}).get(cf.key), (right.custom or {}).get(cf.key)
        if all(value is None for value in stored):
            continue
        if not cf.sensitive:
            texts = [display(cf, value) for value in stored]
            rows.append(Row(cf.label, *texts, f"pick_cf_{cf.key}" if stored[0] != stored[1] else None))
        elif sensitive:
            rows.append(_sensitive_row(cf, (left, right), stored))
        else:
            rows.append(_hidden_row(cf, stored))
    return rows


def _sensitive_row(cf: FieldDef, contacts: tuple[Contact, Contact], stored: tuple) -> Row:
    """Masked values, named after their contacts where the member chooses between them."""
    if from_storage(cf, stored[0]) == from_storage(cf, stored[1]):
        return Row(cf.label, MASK, MASK, field_id=cf.id)
    texts = [_("%(name)s's value", name=contact.name) if value is not None else ""
             for contact, value in zip(contacts, stored, strict=True)]  # fmt: skip
    return Row(cf.label, *texts, f"pick_cf_{cf.key}", field_id=cf.id)


def _hidden_row(cf: FieldDef, stored: tuple) -> Row:
    texts = [MASK if value is not None else "" for value in stored]
    note = None
    if all(value is not None for value in stored):  # said whether the two differ or not: that is hidden too
        note = _(
            "%(field)s is hidden from you: the record you keep keeps its own, and the other record's "
            "stays with it in the trash.",
            field=cf.label,
        )
    return Row(cf.label, *texts, note=note)


def merge_form(left: Contact, right: Contact, rows: list[Row], **kwargs) -> MergeForm:
    sides = choices([(str(left.id), left.name), (str(right.id), right.name)])
    attributes = {"pick_names": {}}
    for row in rows:
        if row.pick:
            key = row.pick.removeprefix("pick_")
            attributes["pick_names"][row.pick] = f"cf:{key[3:]}" if key.startswith("cf_") else key
            keep = left if row.left else right  # the filled value, the left one when both are
            attributes[row.pick] = RadioField(row.label, choices=sides, default=str(keep.id))
    form_class = type("ContactMergeForm", (MergeForm,), attributes)
    form = form_class(**kwargs)
    form.survivor.choices = sides
    if form.survivor.data is None:
        form.survivor.data = str(left.id)
    return form
