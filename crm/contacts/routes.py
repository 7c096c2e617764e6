from babel.dates import format_skeleton
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import format_date, format_decimal, get_locale
from flask_babel import gettext as _

from crm.activities.routes import activity_form
from crm.audit import queries as audit_queries
from crm.audit import service as audit
from crm.audit.service import ACTIONS
from crm.billing.limits import LimitError
from crm.contacts import bulk, bulk_jobs, classification, edit_clash, list_rows, phones, queries, service, timeline
from crm.contacts import export as contacts_export
from crm.contacts.forms import GENDER_LABELS, LEVEL_LABELS, LIFECYCLE_LABELS, ContactForm
from crm.contacts.list_view import COLUMNS, MAX_TAGS, SORTS, ListState
from crm.contacts.models import BulkJob, Company, Contact
from crm.contacts.pages import contact_or_404, handed_over, member_name
from crm.contacts.timeline_text import contact_entries
from crm.csv_stream import csv_download
from crm.custom_fields import service as custom_fields
from crm.custom_fields.forms import custom_form, custom_payload
from crm.db import utcnow
from crm.deals.models import Deal
from crm.deals.summary import open_deals
from crm.duplicates import service as duplicates
from crm.extensions import db
from crm.htmx import is_boosted, is_htmx, wants_partial
from crm.i18n import workspace_today
from crm.imports import history as imports_history
from crm.pagination import rows_loaded
from crm.permissions import may_open, require
from crm.purchases.forms import PurchaseForm
from crm.security import record_id
from crm.tickets.summary import contact_open_tickets
from crm.xlsx_stream import xlsx_download

TAG_SUGGESTIONS = 500
LOOKALIKES = 3  # named after a new contact that looks like others
bp = Blueprint("contacts", __name__, url_prefix="/contacts")
bp.add_app_template_global(may_open, "may_open")  # for templates/_macros/records.html


@bp.app_context_processor
def contact_helpers() -> dict:
    def phone(e164: str) -> str:
        return phones.display(e164, g.workspace.phone_region)

    return {
        "display_phone": phone,
        "record_visible": record_visible,
        "lifecycle_labels": LIFECYCLE_LABELS,
        "level_labels": LEVEL_LABELS,
        "gender_labels": GENDER_LABELS,
        "format_date": format_date,
        "month_and_day": lambda day: format_skeleton("MMMd", day, locale=get_locale()),  # "Dec 8", "12月8日"
        "restore_days": service.RESTORE_DAYS,
        "bulk_max_ticked": bulk.MAX_SELECTED,
        "contact_entries": contact_entries,
        "import_headline": imports_history.headline,
        "classification_reasons": lambda contact: classification.reasons(contact, g.workspace),
    }


def record_visible(record: Contact | Company | None) -> bool:
    """Whether the member may open this contact's or company's page (for links from other pages)."""
    return record is not None and may_open(record.deleted_at, record.owner_id)


def sees_sensitive() -> bool:
    return g.membership.can("contacts.sensitive")


def _form(contact: Contact | None = None, stored: bool = False, **kwargs) -> ContactForm:
    """The contact form: as posted, or drawn from the stored contact (a GET, or ``stored``)."""
    drawn = stored or request.method != "POST"  # a POST is the whole new state
    if stored:
        kwargs["formdata"] = None
    form = custom_form(
        ContactForm,
        "contact",
        contact,
        sees_sensitive(),
        obj=contact if drawn else None,
        owners=queries.owner_choices(keep=contact.owner_id if contact is not None else None),
        companies=queries.company_choices(g.membership, keep=contact.company_id if contact is not None else None),
        region=g.workspace.phone_region,
        sensitive=sees_sensitive(),
        **kwargs,
    )
    if contact is not None and contact.last_purchase_at is not None:
        del form.lifecycle  # the customer tier rules set it from the purchases (classification.lifecycle_for)
    if contact is not None and drawn:
        form.fill_from(contact)
        edit_clash.remember(form)
    return form


@bp.get("/")
@require("contacts.read")
def index():
    state = ListState.from_args(request.args)
    context = _list_context(state, request.args.get("after"))
    if wants_partial("contacts-more"):
        return render_template(
            "contacts/_rows.html", more_page=True, loaded=rows_loaded(request.args), **_with_bulk(context)
        )
    _with_bulk(context)
    if wants_partial("contact-results"):
        return render_template("contacts/_results.html", export_oob=True, **context)
    return render_template("contacts/index.html", owner_filter=queries.owner_filter_choices(g.membership, state.owner),
                           job_panel=bulk_jobs.followed_panel("contacts"), **context)  # fmt: skip


@bp.post("/bulk")
@require("contacts.read")  # and, below, the permission of the chosen action
def bulk_action():
    state = ListState.from_args(request.form)
    action = request.form.get("action", "")
    if action in bulk.ACTIONS and not g.membership.can(bulk.ACTIONS[action][1]):
        abort(403)
    none_ticked = _("Select at least one contact, or choose all matching contacts.")
    too_many = _("Select at most %(count)d contacts.", count=bulk.MAX_SELECTED)
    try:
        if action in bulk.EXPORTS:  # sent as a plain form (app.js): the answer is the file itself
            ids = bulk.ticked_ids(request.form, none_ticked, too_many)
            return _download("xlsx" if action == "export_xlsx" else "csv", state, "cols" in request.form, ids)
        if action not in bulk.ACTIONS:
            raise bulk.BulkError(_("Choose an action."), field="bulk-action")
        statement = bulk.selection(queries.matching_contacts(state, g.membership), Contact, request.form,
                                   none_ticked, too_many)  # fmt: skip
        raw = request.form.get(bulk.VALUE_FIELDS.get(action, ""), "").strip()
        value = bulk.check_value(action, raw, dict(queries.owner_choices()))
        in_background = bulk.too_large(request.form, statement, Contact)
        job = bulk_jobs.start("contacts", action, state.as_args(), value) if in_background else None
    except bulk.BulkError as error:
        if isinstance(error, bulk.OwnerNotChosen) and not is_htmx():
            return bulk.choose_owner_page(queries.owner_choices(), "contacts", url_for(".index", **state.as_args()))
        flash(str(error), "error")
        if wants_partial("contact-results"):
            return bulk.refused(error)
        return _list_after_bulk(state, 422)
    if job:
        flash(_("More than %(count)s contacts: the change goes on in the background, a thousand at a time.",
                count=format_decimal(bulk.MAX_AT_ONCE)), "success")  # fmt: skip
        return _list_after_bulk(state, job=job)
    changed = bulk.apply(action, statement, value)
    db.session.commit()
    flash(bulk.done_message("contacts", action, changed), "success")
    return _list_after_bulk(state)


def _list_after_bulk(state: ListState, status: int = 200, job: BulkJob | None = None):
    """The list drawn again after a bulk change (with the panel of a job it started), or the
    refusal; without JavaScript, the list's page again, or the job's own page."""
    if wants_partial("contact-results"):
        if status == 422:
            return bulk.REFUSED
        context = _list_context(state, None)
        results = render_template("contacts/_results.html", **_with_bulk(context))
        return (results + bulk_jobs.panel(job, oob=True) if job else results), status
    if job:
        return redirect(url_for(".bulk_job", job_id=job.id), 303)
    return redirect(url_for(".index", **state.as_args()), 303)


def _list_context(state: ListState, after: str | None) -> dict:
    custom_columns = {field.name: field for field in custom_fields.definitions(g.workspace, "contact")}
    shown = state.shown(sees_sensitive(), custom_columns)
    page = list_rows.contact_rows(state, after, g.membership, shown, custom_columns)
    gone = queries.gone_filters(state.custom, custom_columns.values())
    ignored = queries.ignored_filters(state.unreadable, state.custom, custom_columns.values())
    return {"page": page, "state": state, "sensitive": sees_sensitive(), "columns": COLUMNS, "sorts": SORTS,
            "shown": shown, "custom_columns": custom_columns, "gone_filters": gone, "ignored_filters": ignored,
            "max_tags": MAX_TAGS,
            "number_cells": [key in list_rows.NUMBER_COLUMNS for key in shown],
            "rows_html": list_rows.rows_html}  # fmt: skip


def _with_bulk(context: dict) -> dict:
    """The bulk actions this member may run (the owner choices load only when needed)."""
    context["bulk_actions"] = {key: label for key, (label, perm) in bulk.ACTIONS.items() if g.membership.can(perm)}
    return context


@bp.get("/bulk-jobs/<int:job_id>")
@require("contacts.read")
def bulk_job(job_id: int):
    """How far a background bulk change has got (its panel polls here), for the member who asked."""
    job = bulk_jobs.own_job(job_id)
    if job is None and wants_partial("bulk-job"):  # forgotten while its panel polled: 286 stops the polling
        return '<div id="bulk-job"></div>', 286
    if job is None:
        abort(404)
    bulk_jobs.seen_ended(job)
    if wants_partial("bulk-job"):
        return bulk_jobs.panel(job)
    return render_template("contacts/bulk_job.html", job_panel=bulk_jobs.panel_of(job))


@bp.get("/bulk-count")
@require("contacts.read")
def bulk_count():
    """How many contacts "all matching" would change, for the bulk bar to say before it asks."""
    count = None
    if request.args.get("scope") == "all":
        statement = queries.matching_contacts(ListState.from_args(request.args), g.membership)
        count = bulk.capped_count(statement, Contact)
    return render_template("contacts/_bulk_count.html", count=count, cap=bulk.COUNT_CAP, noun="contacts")


@bp.get("/owner-choices")
@require("contacts.write")
def owner_choices():
    """The bulk bar's owner select, fetched when "Assign owner" is chosen (keeps the list page's
    queries within budget)."""
    return render_template("contacts/_owner_select.html", owners=queries.owner_choices())


@bp.get("/tags")
@require("contacts.read")
def tag_suggestions():
    """The tag filter's suggestions (a datalist), fetched when the field is first focused: the
    workspace's tags in name order (of the member's own contacts, for a role limited to them), the
    most a list can usefully offer."""
    return render_template("contacts/_tag_options.html", tags=queries.tag_names(g.membership, TAG_SUGGESTIONS))


@bp.get("/export.csv")
@require("contacts.export")
def export():
    return _download("csv", ListState.from_args(request.args), "cols" in request.args)


@bp.get("/export.xlsx")
@require("contacts.export")
def export_xlsx():
    """The same rows as the CSV, in a workbook written to a temporary file (crm/xlsx_stream.py)."""
    return _download("xlsx", ListState.from_args(request.args), "cols" in request.args)


def _download(file_format: str, state: ListState, columns_chosen: bool, ids: list[int] | None = None):
    plan = _export_plan(file_format, state, columns_chosen, ids or [])
    if file_format == "xlsx":
        return xlsx_download(contacts_export.rows(plan), f"contacts-{g.workspace.slug}.xlsx", _("Contacts"))
    return csv_download(contacts_export.csv_lines(g.workspace.id, plan), f"contacts-{g.workspace.slug}.csv")


def _export_plan(file_format: str, state: ListState, columns_chosen: bool, ids: list[int]) -> contacts_export.Plan:
    """The list's contacts (or its ticked ``ids``) to export, after committing its audit entry. The
    CSV's rows are read after the view returns, with the member and role loaded after that commit."""
    filters = {**state.as_args(), **({"ids": ids} if ids else {})}
    audit.record("contact.exported", "contact", None, {"filters": [None, filters], "format": [None, file_format]})
    db.session.commit()
    labels = {
        "lifecycle": {key: str(label) for key, label in LIFECYCLE_LABELS.items()},
        "level": {key: str(label) for key, label in LEVEL_LABELS.items()},
        "countries": dict(get_locale().territories),
        "zone": g.workspace.timezone,
    }
    custom = {field.name: field for field in custom_fields.definitions(g.workspace, "contact")}
    keys, fields = contacts_export.columns_of(state, columns_chosen, sees_sensitive(), custom)
    return contacts_export.Plan(state, g.membership, keys, fields, sees_sensitive(), labels, ids)


@bp.get("/new")
@require("contacts.write")
def new():
    form = _form()
    if (company_id := record_id(request.args.get("company"))) is not None and not form.is_submitted():
        form.company_id.data = company_id
    form.owner_id.data = form.owner_id.data or g.membership.id
    return render_template("contacts/new.html", form=form)


@bp.post("/")
@require("contacts.write")
def create():
    form = _form()
    if not form.validate_on_submit():
        return render_template("contacts/new.html", form=form), 422
    data = form.service_data()
    level = data.pop("level")
    data["custom"], data["custom_audit"] = custom_payload(form, None)
    try:
        contact = service.create_contact(data)
    except LimitError as error:
        db.session.rollback()
        return render_template("contacts/new.html", form=form, limit_error=error), 422
    service.set_level(contact, level, g.workspace, workspace_today())
    likely = duplicates.refresh_for(contact)[:LOOKALIKES]
    shown = queries.visible_contacts(likely, g.membership)
    lookalikes = [shown[contact_id].name for contact_id in likely if contact_id in shown]
    db.session.commit()
    if lookalikes:  # the warning while typing is easy to miss, and a form posted without it has none
        flash(_("Contact %(name)s added. It may be the same person as %(others)s: compare them under Duplicates.",
                name=contact.name, others=", ".join(lookalikes)), "success")  # fmt: skip
    else:
        flash(_("Contact %(name)s added.", name=contact.name), "success")
    return redirect(url_for(".show", contact_id=contact.id), 303)


def _show(contact: Contact):
    entries, more = timeline.page(contact.id, member=g.membership)
    context = {"contact": contact, "sensitive": sees_sensitive(), "actions": ACTIONS, "entries": entries, "more": more}
    if g.membership.can("deals.read"):
        context["open_deals"] = open_deals(g.membership, Deal.contact_id, contact.id)
    if g.membership.can("tickets.read"):
        context["open_tickets"] = contact_open_tickets(g.membership, contact.id)
    if g.membership.can("notes.write"):
        context["activity_form"] = activity_form(contact.owner_id, formdata=None)
    if g.membership.can("contacts.write"):
        context["purchase_form"] = PurchaseForm(formdata=None)
    context["history"] = _history(contact) if g.membership.can("audit.view") else []
    return render_template("contacts/show.html", **context)


def _history(contact: Contact) -> list:
    return imports_history.with_imports(audit_queries.history_of("contact", contact.id), "contact", contact.id)


@bp.get("/<int:contact_id>")
@require("contacts.read")
def show(contact_id: int):
    contact = contact_or_404(contact_id)
    if wants_partial("contact-details"):
        return render_template("contacts/_details.html", contact=contact, sensitive=sees_sensitive(), focus_edit=True)
    return _show(contact)


@bp.get("/<int:contact_id>/timeline")
@require("contacts.read")
def timeline_page(contact_id: int):
    contact = contact_or_404(contact_id)
    entries, more = timeline.page(contact.id, request.args.get("after"), member=g.membership)
    return render_template("contacts/_timeline_entries.html", contact=contact, entries=entries, more=more)


@bp.get("/<int:contact_id>/edit")
@require("contacts.write")
def edit(contact_id: int):
    contact = contact_or_404(contact_id)
    form = _form(contact)
    if wants_partial("contact-details"):
        return render_template("contacts/_edit.html", contact=contact, form=form)
    return render_template("contacts/edit.html", contact=contact, form=form)


@bp.post("/<int:contact_id>")
@require("contacts.write")
def update(contact_id: int):
    contact = contact_or_404(contact_id)
    form = _form(contact)
    partial = wants_partial("contact-details")
    template = "contacts/_edit.html" if partial else "contacts/edit.html"
    if not form.validate_on_submit():
        return render_template(template, contact=contact, form=form), 422
    data = form.service_data()
    level = data.pop("level")
    data["custom"], data["custom_audit"] = custom_payload(form, contact)
    saved_from = utcnow()
    stored = _form(contact, stored=True)
    meanwhile = edit_clash.changed_meanwhile(form, stored, "contact", contact.id)
    changes = service.update_contact(contact, data)
    if level != (contact.level if contact.level_pinned else ""):
        changes["level"] = level
    if edit_clash.refused(form, meanwhile, changes, stored):
        db.session.rollback()
        return render_template(template, contact=contact_or_404(contact_id), form=form), edit_clash.STATUS
    service.set_level(contact, level, g.workspace, workspace_today())
    duplicates.refresh_for(contact)
    db.session.commit()
    if handed_over(contact.owner_id):  # under "own records": no longer theirs to open
        if contact.owner_id is None:
            flash(_("Contact %(name)s saved. It has no owner now, so it is no longer on your list.",
                    name=contact.name), "success")  # fmt: skip
        else:
            flash(_("Contact %(name)s saved and handed over to %(owner)s.", name=contact.name,
                    owner=member_name(contact.owner_id)), "success")  # fmt: skip
        return leave_for(url_for(".index"))
    flash(_("Contact saved."), "success")
    if partial:
        contact = contact_or_404(contact_id)
        # What changed goes on top of the timeline, and the history is drawn again, out of band.
        entries, _more = timeline.page(contact.id, member=g.membership)
        changed = [entry for entry in entries if entry.at >= saved_from]
        history = _history(contact) if g.membership.can("audit.view") else None
        return render_template("contacts/_details.html", contact=contact, sensitive=sees_sensitive(), with_summary=True,
                               head_oob=True, focus_edit=True, new_entries=changed, history_oob=history,
                               actions=ACTIONS)  # fmt: skip
    return redirect(url_for(".show", contact_id=contact.id), 303)


@bp.post("/<int:contact_id>/delete")
@require("contacts.delete")
def delete(contact_id: int):
    contact = contact_or_404(contact_id)
    service.delete_contact(contact)
    db.session.commit()
    flash(_("Contact %(name)s moved to the trash.", name=contact.name), "success")
    return leave_for(url_for(".index"))


def leave_for(url: str):
    """303 for plain and boosted forms; a targeted htmx request is told to load the page itself."""
    if is_htmx() and not is_boosted():
        return "", 204, {"HX-Redirect": url}
    return redirect(url, 303)
