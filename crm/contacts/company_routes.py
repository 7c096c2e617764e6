from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _

from crm.activities import company_routes as company_activities
from crm.audit import queries as audit_queries
from crm.audit import service as audit
from crm.audit.service import ACTIONS
from crm.contacts import bulk, bulk_jobs, company_export, company_list, edit_clash, queries, service
from crm.contacts.company_list import CompanyListState
from crm.contacts.forms import SIZE_LABELS, CompanyForm
from crm.contacts.models import BulkJob, Company
from crm.contacts.pages import company_or_404, handed_over, member_name
from crm.contacts.routes import leave_for
from crm.csv_stream import csv_download
from crm.custom_fields import service as custom_fields
from crm.custom_fields.forms import custom_form, custom_payload
from crm.deals.models import Deal
from crm.deals.summary import open_deals
from crm.extensions import db
from crm.htmx import is_htmx, trigger, wants_partial
from crm.imports import history as imports_history
from crm.pagination import rows_loaded
from crm.permissions import require
from crm.purchases import company_routes as company_purchases
from crm.tickets.summary import company_open_tickets
from crm.xlsx_stream import xlsx_download

bp = Blueprint("companies", __name__, url_prefix="/companies")


def _form(company: Company | None = None, stored: bool = False) -> CompanyForm:
    """The company form: as posted, or drawn from the stored company (a GET, or ``stored``)."""
    drawn = stored or request.method != "POST"  # a POST is the whole new state
    form = custom_form(
        CompanyForm,
        "company",
        company,
        g.membership.can("contacts.sensitive"),
        obj=company if drawn else None,
        owners=queries.owner_choices(keep=company.owner_id if company is not None else None),
        region=g.workspace.phone_region,
        **({"formdata": None} if stored else {}),
    )
    if company is not None and drawn:
        form.fill_from(company)
        edit_clash.remember(form)
    return form


def _list_state() -> CompanyListState:
    return CompanyListState.from_args(request.args)


@bp.get("/")
@require("contacts.read")
def index():
    state = _list_state()
    context = _list_context(state, request.args.get("after"))
    if wants_partial("companies-more"):
        return render_template("companies/_rows.html", more_page=True, loaded=rows_loaded(request.args), **context)
    if wants_partial("company-results"):
        return render_template("companies/_results.html", export_oob=True, **context)
    filters = {"owner_filter": queries.owner_filter_choices(g.membership, state.owner),
               "sizes": [(size, size) for size in company_list.SIZES], "sorts": company_list.SORTS,
               "columns": company_list.COLUMNS,
               "job_panel": bulk_jobs.followed_panel("companies")}  # fmt: skip
    return render_template("companies/index.html", **filters, **context)


def _list_context(state: CompanyListState, after: str | None) -> dict:
    definitions = custom_fields.definitions(g.workspace, "company")
    page = company_list.company_page(state, after, g.membership, definitions, g.workspace.timezone)
    shown = state.shown_columns
    return {"page": page, "state": state, "custom_definitions": definitions,
            "gone_filters": queries.gone_filters(state.custom, definitions),
            "ignored_filters": queries.ignored_filters(state.unreadable, state.custom, definitions),
            "shown_columns": [(name, company_list.COLUMNS[name]) for name in shown],
            "column_cells": company_list.cell_writer(shown, g.workspace.phone_region, g.workspace.timezone),
            "shown_custom": [field for field in definitions if field.name in state.columns],
            "bulk_actions": {key: label for key, (label, permission) in bulk.COMPANY_ACTIONS.items()
                             if g.membership.can(permission)}}  # fmt: skip


@bp.post("/bulk")
@require("contacts.read")  # and, below, the permission of the chosen action
def bulk_action():
    state = CompanyListState.from_args(request.form)
    action = request.form.get("action", "")
    if action in bulk.COMPANY_ACTIONS and not g.membership.can(bulk.COMPANY_ACTIONS[action][1]):
        abort(403)
    none_ticked = _("Select at least one company, or choose all matching companies.")
    too_many = _("Select at most %(count)d companies.", count=bulk.MAX_SELECTED)
    try:
        if action in bulk.EXPORTS:  # sent as a plain form (app.js): the answer is the file itself
            ids = bulk.ticked_ids(request.form, none_ticked, too_many)
            return _download("xlsx" if action == "export_xlsx" else "csv", state, ids)
        if action not in bulk.COMPANY_ACTIONS:
            raise bulk.BulkError(_("Choose an action."), field="bulk-action")
        definitions = custom_fields.definitions(g.workspace, "company")
        statement = company_list.matching_companies(state, g.membership, definitions, g.workspace.timezone)
        statement = bulk.selection(statement, Company, request.form, none_ticked, too_many)
        value = bulk.check_value(action, request.form.get("bulk_owner", "").strip(), dict(queries.owner_choices()))
        in_background = bulk.too_large(request.form, statement, Company)
        job = bulk_jobs.start("companies", action, state.as_args(), value) if in_background else None
    except bulk.BulkError as error:
        if isinstance(error, bulk.OwnerNotChosen) and not is_htmx():
            return bulk.choose_owner_page(queries.owner_choices(), "companies", url_for(".index", **state.as_args()))
        flash(str(error), "error")
        if wants_partial("company-results"):
            return bulk.refused(error)
        return _list_after_bulk(state, 422)
    if job:
        flash(_("More than %(count)s companies: the change goes on in the background, a thousand at a time.",
                count=format_decimal(bulk.MAX_AT_ONCE)), "success")  # fmt: skip
        return _list_after_bulk(state, job=job)
    changed = bulk.apply_to_companies(action, statement, value)
    db.session.commit()
    flash(bulk.done_message("companies", action, changed), "success")
    return _list_after_bulk(state)


@bp.get("/bulk-count")
@require("contacts.read")
def bulk_count():
    """How many companies "all matching" would change, for the bulk bar to say before it asks."""
    count = None
    if request.args.get("scope") == "all":
        definitions = custom_fields.definitions(g.workspace, "company")
        statement = company_list.matching_companies(_list_state(), g.membership, definitions, g.workspace.timezone)
        count = bulk.capped_count(statement, Company)
    return render_template("contacts/_bulk_count.html", count=count, cap=bulk.COUNT_CAP, noun="companies")


def _list_after_bulk(state: CompanyListState, status: int = 200, job: BulkJob | None = None):
    if wants_partial("company-results"):
        if status == 422:
            return bulk.REFUSED
        results = render_template("companies/_results.html", **_list_context(state, None))
        return (results + bulk_jobs.panel(job, oob=True) if job else results), status
    if job:
        return redirect(url_for("ws.contacts.bulk_job", job_id=job.id), 303)
    return redirect(url_for(".index", **state.as_args()), 303)


@bp.get("/export.csv")
@require("contacts.export")
def export():
    return _download("csv", _list_state())


@bp.get("/export.xlsx")
@require("contacts.export")
def export_xlsx():
    return _download("xlsx", _list_state())


def _download(file_format: str, state: CompanyListState, ids: list[int] | None = None):
    plan = _export_plan(file_format, state, ids or [])
    if file_format == "xlsx":
        return xlsx_download(company_export.rows(plan), f"companies-{g.workspace.slug}.xlsx", _("Companies"))
    return csv_download(company_export.csv_lines(g.workspace.id, plan), f"companies-{g.workspace.slug}.csv")


def _export_plan(file_format: str, state: CompanyListState, ids: list[int]) -> company_export.Plan:
    """The list's companies (or its ticked ``ids``) to export, after committing its audit entry (CSV
    rows are read after the view returns)."""
    filters = {**state.as_args(cols=None), **({"ids": ids} if ids else {})}
    audit.record("company.exported", "company", None, {"filters": [None, filters], "format": [None, file_format]})
    db.session.commit()
    fields = custom_fields.definitions(g.workspace, "company")
    sensitive = g.membership.can("contacts.sensitive")
    countries = dict(get_locale().territories)
    return company_export.Plan(state, g.membership, fields, sensitive, g.workspace.timezone, ids, countries)


@bp.get("/new")
@require("contacts.write")
def new():
    form = _form()
    form.owner_id.data = g.membership.id
    return render_template("companies/new.html", form=form)


@bp.post("/")
@require("contacts.write")
def create():
    form = _form()
    if not form.validate_on_submit():
        return render_template("companies/new.html", form=form), 422
    data = form.service_data()
    data["custom"], data["custom_audit"] = custom_payload(form, None)
    company = service.create_company(data)
    db.session.commit()
    flash(_("Company %(name)s added.", name=company.name), "success")
    return leave_for(url_for(".show", company_id=company.id))


@bp.get("/<int:company_id>")
@require("contacts.read")
def show(company_id: int):
    company = company_or_404(company_id)
    if wants_partial("company-details"):
        return render_template("companies/_details.html", company=company, sizes=SIZE_LABELS, focus_edit=True)
    history = []
    if g.membership.can("audit.view"):
        history = imports_history.with_imports(audit_queries.history_of("company", company.id), "company", company.id)
    # One more than either list shows: whether there are more to see, or too many for a select.
    contacts = queries.company_contacts(
        company, g.membership, limit=max(company_purchases.BUYERS_IN_SELECT, queries.PER_PAGE) + 1
    )
    deals = open_deals(g.membership, Deal.company_id, company.id) if g.membership.can("deals.read") else None
    tickets = company_open_tickets(g.membership, company.id) if g.membership.can("tickets.read") else None
    return render_template(
        "companies/show.html",
        **company_purchases.section_context(company, contacts=contacts),
        **company_activities.timeline_context(company),
        open_deals=deals,
        open_tickets=tickets,
        sizes=SIZE_LABELS,
        contacts=contacts[: queries.PER_PAGE],
        more_contacts=len(contacts) > queries.PER_PAGE,
        history=history,
        actions=ACTIONS,
    )


@bp.get("/<int:company_id>/edit")
@require("contacts.write")
def edit(company_id: int):
    company = company_or_404(company_id)
    form = _form(company)
    if wants_partial("company-details"):
        return render_template("companies/_edit.html", company=company, form=form)
    return render_template("companies/edit.html", company=company, form=form)


@bp.post("/<int:company_id>")
@require("contacts.write")
def update(company_id: int):
    company = company_or_404(company_id)
    form = _form(company)
    partial = wants_partial("company-details")
    template = "companies/_edit.html" if partial else "companies/edit.html"
    if not form.validate_on_submit():
        return render_template(template, company=company, form=form), 422
    data = form.service_data()
    data["custom"], data["custom_audit"] = custom_payload(form, company)
    stored = _form(company, stored=True)
    meanwhile = edit_clash.changed_meanwhile(form, stored, "company", company.id)
    if edit_clash.refused(form, meanwhile, service.update_company(company, data), stored):
        db.session.rollback()
        return render_template(template, company=company_or_404(company_id), form=form), edit_clash.STATUS
    db.session.commit()
    if handed_over(company.owner_id):  # under "own records": no longer theirs to open
        if company.owner_id is None:
            flash(_("Company %(name)s saved. It has no owner now, so it is no longer on your list.",
                    name=company.name), "success")  # fmt: skip
        else:
            flash(_("Company %(name)s saved and handed over to %(owner)s.", name=company.name,
                    owner=member_name(company.owner_id)), "success")  # fmt: skip
        return leave_for(url_for(".index"))
    flash(_("Company saved."), "success")
    if partial:  # what changed goes on top of the timeline, which is asked to draw itself again
        details = render_template(
            "companies/_details.html",
            company=company_or_404(company_id),
            sizes=SIZE_LABELS,
            focus_edit=True,
            head_oob=True,
        )
        return trigger(make_response(details), "timeline-changed")
    return leave_for(url_for(".show", company_id=company.id))


@bp.post("/<int:company_id>/delete")
@require("contacts.delete")
def delete(company_id: int):
    company = company_or_404(company_id)
    service.delete_company(company)
    db.session.commit()
    flash(_("Company %(name)s moved to the trash.", name=company.name), "success")
    return leave_for(url_for(".index"))
