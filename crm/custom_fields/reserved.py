"""The names a custom field's label may not take: those of the built-in fields of its record type,
by their labels (on forms, list columns, exports and the import's targets) in English and in
Simplified Chinese, and by their keys (the names the audit log keeps their changes under). They are
compared without case or spaces, full-width letters folded (a full-width "Name", "company name" and
"CompanyName" all name a built-in field of companies).

A custom label equal to a built-in name made an import guess the custom field for the column of
the built-in one (a contact without a name), an export with two "Name" columns, and a history
entry where the custom change overwrote the built-in one ("tags"). New labels are refused; a
workspace that has one already gets its exports headed "Name (custom)", its imports taking "Name"
for the built-in field, and its audit changes logged apart (``header``, ``audit_name``)."""

import re
import unicodedata
from functools import cache

from flask_babel import force_locale, gettext

from crm.i18n import LANGUAGES

_names: dict[str, dict[str, object]] = {}  # entity -> folded name -> the built-in field's label (lazy)


def fold(text: str) -> str:
    """A name as labels are compared: NFKC, case-folded, without spaces or underscores."""
    return re.sub(r"[\s_]+", "", unicodedata.normalize("NFKC", text).casefold())


@cache
def keys(entity: str) -> tuple[str, ...]:
    """The keys the built-in fields of ``entity`` are audited under."""
    from crm.contacts.service import COMPANY_FIELDS, CONTACT_FIELDS
    from crm.deals.service import CLOSED_FIELDS
    from crm.deals.service import FIELDS as DEAL_FIELDS

    return {
        "contact": (*CONTACT_FIELDS, "tags", "level", "tier"),
        "company": COMPANY_FIELDS,
        "deal": (*DEAL_FIELDS, *CLOSED_FIELDS),
    }[entity]


def _labels(entity: str) -> tuple[dict, list]:
    """The label of each built-in key of ``entity``, and the other labels its fields go by (lazy texts)."""
    from wtforms.fields.core import UnboundField

    from crm.audit.change_text import FIELD_LABELS
    from crm.contacts import company_export, company_list, list_view
    from crm.contacts import export as contact_export
    from crm.contacts.forms import CompanyForm, ContactForm
    from crm.deals import list_export, list_queries
    from crm.deals.forms import DealForm
    from crm.imports.fields import COMPANY_TARGETS, TARGETS

    form_class = {"contact": ContactForm, "company": CompanyForm, "deal": DealForm}[entity]
    fields = ((name, getattr(form_class, name)) for name in dir(form_class))
    on_form = {name: field.args[0] for name, field in fields if isinstance(field, UnboundField) and field.args}
    by_key = {key: on_form.get(key) or FIELD_LABELS.get(key, key) for key in keys(entity)}
    others = list(on_form.values())
    if entity == "contact":
        others += [column.label for column in contact_export.COLUMNS.values()]
        others += [*list_view.COLUMNS.values(), *(target.label for target in TARGETS)]
    elif entity == "company":
        others += [
            *company_export.HEADER,
            *company_list.COLUMNS.values(),
            *(target.label for target in COMPANY_TARGETS),
        ]
    else:
        others += [*list_export.HEADER, *list_queries.SORTS.values()]
    return by_key, others


def _built_in_names(entity: str) -> dict[str, object]:
    """Folded name -> the label to name the field by, made once a process from the labels in each
    language (needs an app context, as every translated text does)."""
    if entity not in _names:
        by_key, others = _labels(entity)
        names = {fold(key): label for key, label in by_key.items()}
        for locale in LANGUAGES:
            with force_locale(locale):
                for label in [*by_key.values(), *others]:
                    names.setdefault(fold(str(label)), label)
        _names[entity] = names
    return _names[entity]


def built_in_field(entity: str, label: str) -> str | None:
    """The label (in the reader's language) of the built-in field of ``entity`` that ``label``
    names, if one does."""
    found = _built_in_names(entity).get(fold(label))
    return str(found) if found is not None else None


def header(field) -> str:
    """A custom field's column heading in exports: its label, with "(custom)" after one that a
    built-in field's heading has too (made before such labels were refused)."""
    if built_in_field(field.entity, field.label) is None:
        return field.label
    return gettext("%(label)s (custom)", label=field.label)


def headers(field) -> set[str]:
    """Every heading an export may have given ``field``'s column, in any language."""
    if built_in_field(field.entity, field.label) is None:
        return {field.label}
    found = {field.label}
    for locale in LANGUAGES:
        with force_locale(locale):
            found.add(gettext("%(label)s (custom)", label=field.label))
    return found


def audit_name(field) -> str:
    """The name a custom field's changes are logged under: its label, unless that is a built-in
    field's key, whose change in the same entry it would overwrite ("tags")."""
    return f"{field.label} (custom)" if field.label in keys(field.entity) else field.label
