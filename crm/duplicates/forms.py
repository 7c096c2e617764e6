from dataclasses import dataclass

from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.validators import InputRequired

from crm.contacts.forms import GENDER_LABELS, choices
from crm.contacts.models import Contact
from crm.contacts.service import SENSITIVE_FIELDS
from crm.contacts.timeline import FIELD_LABELS
from crm.custom_fields.service import FieldDef, display
from crm.duplicates.service import FIELDS
from crm.i18n import lazy_gettext as _l


@dataclass
class Row:
    """One line of the side-by-side comparison; ``pick`` names its radio field when the values
    differ and the member may choose."""

    label: str
    left: str
    right: str
    pick: str | None = None


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
    """Every field of the two contacts side by side; sensitive values stay hidden from a member
    without ``contacts.sensitive`` (the merge then keeps the survivor's, or fills an empty one)."""
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
        if any(value is not None for value in stored):
            texts = [display(cf, value) for value in stored]
            differs = stored[0] != stored[1] and not cf.sensitive
            rows.append(Row(cf.label, *texts, f"pick_cf_{cf.key}" if differs else None))
    return rows


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
