"""Settings → Custom fields (define, reorder, change, delete), and revealing a sensitive value
on a record's page (logged in the audit log)."""

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import escape

from crm.audit import service as audit
from crm.contacts import queries
from crm.custom_fields import reserved, service
from crm.custom_fields.forms import DefinitionForm, RenameOptionForm
from crm.custom_fields.models import ENTITIES, KINDS, WITH_OPTIONS, CustomField
from crm.deals import queries as deal_queries
from crm.extensions import db
from crm.permissions import require

bp = Blueprint("custom_fields", __name__, url_prefix="/settings/custom-fields")
reveal_bp = Blueprint("custom_field_values", __name__)
# A global, not a context variable: the lists' filter macros are imported without their context.
bp.add_app_template_global(service.filter_choices, "custom_filter_choices")


@bp.app_context_processor
def custom_field_helpers() -> dict:
    def custom_fields_of(entity: str):
        return service.definitions(g.workspace, entity) if g.get("workspace") else []

    def custom_columns_of(entity: str) -> dict:
        return {field.name: field for field in custom_fields_of(entity)}

    return {
        "custom_fields_of": custom_fields_of,
        "custom_columns_of": custom_columns_of,
        "custom_display": service.page_text,
        "mask": service.MASK,
    }


def _field_or_404(field_id: int) -> CustomField:
    return db.session.get(CustomField, field_id) or abort(404)


def _page(status: int = 200, forms: dict | None = None):
    forms = forms or {}
    fields = {entity: service.definitions(g.workspace, entity) for entity in ENTITIES}
    context = {
        "entities": ENTITIES,
        "kinds": KINDS,
        "fields": fields,
        # made before such labels were refused: marked, so that the admin can rename them
        "clashing": {f.id for each in fields.values() for f in each if reserved.built_in_field(f.entity, f.label)},
        "forms": {entity: forms.get(entity) or DefinitionForm(prefix=entity, formdata=None) for entity in ENTITIES},
    }
    return render_template("custom_fields/index.html", **context), status


def _labels_of(entity: str, but: int | None = None) -> frozenset[str]:
    """The labels in use for ``entity`` (but one field's): two fields of one label would be two
    identical columns, filters and export headers."""
    return frozenset(f.label.casefold() for f in service.definitions(g.workspace, entity) if f.id != but)


@bp.get("/")
@require("settings.manage")
def index():
    return _page()


@bp.post("/")
@require("settings.manage")
def create():
    entity = request.form.get("entity", "")
    if entity not in ENTITIES:
        abort(400)
    form = DefinitionForm(prefix=entity)
    form.taken_labels, form.entity = _labels_of(entity), entity
    if not form.validate_on_submit():
        return _page(422, {entity: form})
    field = service.create_field(g.workspace, entity, form.label.data.strip(), form.kind.data, form.choices_list(),
                                 form.required.data, form.sensitive.data)  # fmt: skip
    db.session.commit()
    flash(_("Field %(label)s added.", label=field.label), "success")
    return redirect(url_for(".index"), 303)


@bp.route("/<int:field_id>", methods=["GET", "POST"])
@require("settings.manage")
def edit(field_id: int):
    field = _field_or_404(field_id)
    form = DefinitionForm(obj=field if request.method == "GET" else None)
    if request.method == "GET":
        form.options.data = "\n".join(field.options or [])
    form.kind.data, form.sensitive.data = field.kind, field.sensitive  # fixed once made
    form.taken_labels, form.entity, form.kept_label = _labels_of(field.entity, but=field.id), field.entity, field.label
    if request.method == "POST":
        if form.validate_on_submit():
            service.update_field(g.workspace, field, form.label.data.strip(), form.choices_list(), form.required.data)
            db.session.commit()
            flash(_("Field %(label)s saved.", label=field.label), "success")
            return redirect(url_for(".index"), 303)
        return _edit_page(field, form, 422)
    return _edit_page(field, form)


def _edit_page(field: CustomField, form: DefinitionForm, status: int = 200, rename: RenameOptionForm | None = None):
    built_in = reserved.built_in_field(field.entity, field.label)  # a label made before such were refused
    header = reserved.header(field) if built_in else None
    if rename is None and field.kind in WITH_OPTIONS:
        rename = RenameOptionForm(prefix="rename", formdata=None, options=field.options)
    context = {"definition": field, "form": form, "kinds": KINDS, "built_in": built_in, "header": header,
               "rename": rename}  # fmt: skip
    return render_template("custom_fields/edit.html", **context), status


RENAMED = {
    "contact": lambda n, option: ngettext("%(num)s contact now has %(option)s.",
                                          "%(num)s contacts now have %(option)s.", n, option=option),
    "company": lambda n, option: ngettext("%(num)s company now has %(option)s.",
                                          "%(num)s companies now have %(option)s.", n, option=option),
    "deal": lambda n, option: ngettext("%(num)s deal now has %(option)s.",
                                       "%(num)s deals now have %(option)s.", n, option=option),
}  # fmt: skip


@bp.post("/<int:field_id>/options/rename")
@require("settings.manage")
def rename_option(field_id: int):
    """One choice renamed, on the records that hold it too: the settings page says how many."""
    field = _field_or_404(field_id)
    if field.kind not in WITH_OPTIONS:
        abort(404)
    rename = RenameOptionForm(prefix="rename", options=field.options)
    if not rename.validate_on_submit():
        form = DefinitionForm(obj=field)
        form.options.data = "\n".join(field.options or [])
        return _edit_page(field, form, 422, rename)
    old, new = rename.option.data, rename.new_name.data.strip()
    count = service.rename_option(g.workspace, field, old, new)
    db.session.commit()
    flash(_("Choice %(old)s renamed %(new)s.", old=old, new=new) + " " + RENAMED[field.entity](count, new), "success")
    return redirect(url_for(".edit", field_id=field.id), 303)


@bp.post("/<int:field_id>/move")
@require("settings.manage")
def move(field_id: int):
    service.move_field(g.workspace, _field_or_404(field_id), -1 if request.form.get("direction") == "up" else 1)
    db.session.commit()
    return redirect(url_for(".index"), 303)


@bp.get("/<int:field_id>/delete")
@require("settings.manage")
def remove(field_id: int):
    """Asks first, saying how many records hold a value: deleting the field deletes them all, for good."""
    field = _field_or_404(field_id)
    context = {"definition": field, "holding": service.records_holding(field)}
    return render_template("custom_fields/delete.html", **context)


@bp.post("/<int:field_id>/delete")
@require("settings.manage")
def delete(field_id: int):
    field = _field_or_404(field_id)
    if request.form.get("confirmed") != "yes":  # not from the question's page (a form of an older page)
        return redirect(url_for(".remove", field_id=field.id), 303)
    service.delete_field(g.workspace, field)
    db.session.commit()
    flash(_("Field %(label)s and its values are deleted.", label=field.label), "success")
    return redirect(url_for(".index"), 303)


@reveal_bp.post("/reveal/<entity>/<int:record_id>/<int:field_id>")
@require("contacts.sensitive")
def reveal(entity: str, record_id: int, field_id: int):
    """Shows one sensitive value, once, and logs who saw what."""
    finders = {"contact": queries.contact_or_none, "company": queries.company_or_none}
    if g.membership.can("deals.read"):
        finders["deal"] = deal_queries.deal_or_none
    if entity not in finders:
        abort(404)
    finder = finders[entity]
    record = finder(record_id, g.membership) or abort(404)
    field = next((f for f in service.definitions(g.workspace, entity) if f.id == field_id and f.sensitive), None)
    if field is None or record.custom.get(field.key) is None:
        abort(404)
    audit.record("custom_field.revealed", entity, record.id, {field.label: [None, service.MASK]})
    db.session.commit()
    value = service.page_text(field, record.custom[field.key], reveal=True)
    # The Reveal button is gone: the value takes the focus, so keyboard and screen-reader users land on it.
    return f'<span class="revealed" tabindex="-1" autofocus>{escape(value)}</span>'
