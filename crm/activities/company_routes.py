"""A company's timeline (crm/activities/company_timeline.py), logging notes, calls,
emails, meetings and tasks on a company's page, finishing tasks and deleting entries. Needs what
the same actions on a contact need; the company is found within the member's record scope."""

from functools import partial

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from markupsafe import Markup

from crm.activities import company_timeline, service
from crm.activities.deal_routes import deal_visible
from crm.activities.entry_text import activity_writer, writing
from crm.activities.forms import ActivityForm
from crm.activities.models import Activity
from crm.activities.routes import (
    activity_form,
    assigned_task,
    edit_activity,
    finish_task,
    own_record_form,
    remove_activity,
    save_from_composer,
)
from crm.activities.service import delete_permission
from crm.contacts.models import Company
from crm.contacts.pages import company_or_404
from crm.contacts.routes import record_visible
from crm.contacts.timeline import Entry
from crm.contacts.timeline_text import entries_html
from crm.permissions import require

bp = Blueprint("company_activities", __name__, url_prefix="/companies/<int:company_id>")


@bp.app_context_processor
def company_timeline_helpers() -> dict:
    return {"company_entries": company_entries}


def company_entries(company: Company, entries: list) -> Markup:
    """A company's timeline entries as HTML, each naming the person or deal it is about. Its
    purchases are changed in its Purchases section, so their entries here have no buttons."""
    shared = writing()
    write_activity = activity_writer(
        shared,
        url_for("ws.company_activities.create", company_id=company.id),  # also drawn by the companies' views
        delete_permission,
        deal_link=lambda item: item.deal if item.deal_id and deal_visible(item.deal) else None,
        contact_link=lambda item: item.contact if item.contact_id and record_visible(item.contact) else None,
    )
    return entries_html(shared, entries, write_activity, people=True)


def timeline_context(company: Company) -> dict:
    """What the company page needs for its timeline section."""
    entries, more = company_timeline.page(company.id, g.membership)
    context = {"timeline_entries": entries, "timeline_more": more}
    if g.membership.can("notes.write"):
        context["activity_form"] = activity_form(company.owner_id, formdata=None)
    return context


def activity_of_or_404(company: Company, activity_id: int) -> Activity:
    return company_timeline.visible_activity(company.id, activity_id, g.membership) or abort(404)


def back_to(company: Company):
    return redirect(url_for("ws.companies.show", company_id=company.id), 303)


@bp.get("/timeline")
@require("contacts.read")
def timeline(company_id: int):
    company = company_or_404(company_id)
    entries, more = company_timeline.page(company.id, g.membership, request.args.get("after"))
    return render_template("activities/_company_timeline_entries.html", company=company, timeline_entries=entries,
                           timeline_more=more)  # fmt: skip


@bp.post("/activities/")
@require("notes.write", "contacts.read")
def create(company_id: int):
    company = company_or_404(company_id)

    def log(data: dict) -> Activity:
        return service.log_activity(None, g.membership.id, data, company=company)

    def composer(form: ActivityForm, created: Entry | None) -> str:
        return render_template("activities/_composer.html", company=company, created=created, form=form,
                               action_url=url_for(".create", company_id=company.id),
                               entry_template="activities/_company_entry.html")  # fmt: skip

    new_form = partial(activity_form, company.owner_id)
    return save_from_composer(
        new_form, log, composer, company.name, url_for("ws.companies.show", company_id=company.id)
    )


@bp.post("/activities/<int:activity_id>/done")
@require("notes.write", "contacts.read")
def toggle_done(company_id: int, activity_id: int):
    activity = assigned_task(activity_id)
    if activity is not None and activity.company_id == company_id and activity.company.deleted_at is None:
        company = activity.company  # theirs to finish, whoever's company it is (crm/activities/routes.py)
    else:
        company = company_or_404(company_id)
        activity = activity_of_or_404(company, activity_id)
    return finish_task(activity, lambda entry: company_entries(company, [entry]), lambda: back_to(company))


@bp.route("/activities/<int:activity_id>/edit", methods=["GET", "POST"])
@require("notes.write", "contacts.read")
def edit(company_id: int, activity_id: int):
    company = company_or_404(company_id)
    activity = activity_of_or_404(company, activity_id)
    # A deal's or person's entry is handed on as on that record's page, not by who may see the company.
    return edit_activity(activity, delete_permission(activity), own_record_form(activity),
                         lambda entry: company_entries(company, [entry]), company.name,
                         url_for("ws.companies.show", company_id=company.id))  # fmt: skip


@bp.post("/activities/<int:activity_id>/delete")
@require("notes.write", "contacts.read")
def delete(company_id: int, activity_id: int):
    company = company_or_404(company_id)
    activity = activity_of_or_404(company, activity_id)
    return remove_activity(activity, delete_permission(activity), lambda: back_to(company))
