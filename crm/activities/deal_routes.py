"""A deal's timeline (activities and stage changes), logging notes, calls, emails, meetings and tasks
on a deal's page, finishing tasks and deleting entries. Needs what the same actions on a contact
need (``notes.write``) and ``deals.read``; the deal is found within the member's record scope."""

from functools import partial

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from crm.activities import deal_timeline, entry_text, service
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
from crm.contacts import classification
from crm.contacts.models import Contact
from crm.contacts.timeline import Entry
from crm.deals import queries as deal_queries
from crm.deals.models import Deal
from crm.extensions import db
from crm.i18n import lazy_gettext as _l
from crm.i18n import workspace_today
from crm.permissions import require, scope_allows

bp = Blueprint("deal_activities", __name__, url_prefix="/deals/<int:deal_id>")

DEAL_EVENT_LABELS = {"created": _l("Deal created"), "won": _l("Deal won"), "lost": _l("Deal lost")}


@bp.app_context_processor
def deal_timeline_helpers() -> dict:
    return {"deal_entries": entry_text.deal_entries, "deal_visible": deal_visible}


def deal_visible(deal: Deal | None) -> bool:
    """Whether the member may open this deal's page (for links from other records' pages)."""
    if deal is None or deal.deleted_at is not None or not g.membership.can("deals.read"):
        return False
    return scope_allows(deal.owner_id)


def deal_or_404(deal_id: int) -> Deal:
    return deal_queries.deal_or_none(deal_id, g.membership) or abort(404)


def activity_of_or_404(deal: Deal, activity_id: int) -> Activity:
    activity = db.session.get(Activity, activity_id)
    if activity is None or activity.deal_id != deal.id:
        abort(404)
    return activity


def timeline_context(deal: Deal) -> dict:
    """What the deal page needs for its timeline section."""
    entries, more = deal_timeline.page(deal.id)
    context = {"timeline_entries": entries, "timeline_more": more}
    if g.membership.can("notes.write"):
        context["activity_form"] = activity_form(deal.owner_id, "deals.read", formdata=None)
    return context


def back_to(deal: Deal):
    return redirect(url_for("ws.deals.show", deal_id=deal.id), 303)


@bp.get("/timeline")
@require("deals.read")
def timeline(deal_id: int):
    deal = deal_or_404(deal_id)
    entries, more = deal_timeline.page(deal.id, request.args.get("after"))
    return render_template("activities/_deal_timeline_entries.html", deal=deal, timeline_entries=entries,
                           timeline_more=more)  # fmt: skip


@bp.post("/activities/")
@require("notes.write", "deals.read")
def create(deal_id: int):
    deal = deal_or_404(deal_id)

    def log(data: dict) -> Activity:
        activity = service.log_deal_activity(deal, g.membership.id, data)
        if activity.contact_id is not None:  # in touch with the deal's contact again
            contact = db.session.get(Contact, activity.contact_id)
            rules = classification.rules_of(g.workspace)
            classification.reclassify(contact, rules, workspace_today(), g.workspace.timezone)
        return activity

    def composer(form: ActivityForm, created: Entry | None) -> str:
        return render_template("activities/_composer.html", deal=deal, created=created, form=form,
                               action_url=url_for(".create", deal_id=deal.id),
                               entry_template="activities/_deal_entry.html")  # fmt: skip

    new_form = partial(activity_form, deal.owner_id, "deals.read")
    return save_from_composer(new_form, log, composer, deal.title, url_for("ws.deals.show", deal_id=deal.id))


@bp.post("/activities/<int:activity_id>/done")
@require("notes.write", "deals.read")
def toggle_done(deal_id: int, activity_id: int):
    activity = assigned_task(activity_id)
    if activity is not None and activity.deal_id == deal_id and activity.deal.deleted_at is None:
        deal = activity.deal  # theirs to finish, whoever's deal it is (crm/activities/routes.py)
    else:
        deal = deal_or_404(deal_id)
        activity = activity_of_or_404(deal, activity_id)
    return finish_task(activity, lambda entry: render_template("activities/_deal_entry.html", deal=deal, entry=entry),
                       lambda: back_to(deal))  # fmt: skip


@bp.route("/activities/<int:activity_id>/edit", methods=["GET", "POST"])
@require("notes.write", "deals.read")
def edit(deal_id: int, activity_id: int):
    deal = deal_or_404(deal_id)
    activity = activity_of_or_404(deal, activity_id)
    return edit_activity(activity, "deals.delete", own_record_form(activity),
                         lambda entry: render_template("activities/_deal_entry.html", deal=deal, entry=entry),
                         deal.title, url_for("ws.deals.show", deal_id=deal.id))  # fmt: skip


@bp.post("/activities/<int:activity_id>/delete")
@require("notes.write", "deals.read")
def delete(deal_id: int, activity_id: int):
    deal = deal_or_404(deal_id)
    activity = activity_of_or_404(deal, activity_id)
    return remove_activity(activity, "deals.delete", lambda: back_to(deal))
