"""Logging notes, calls, emails, meetings and tasks on a contact's page, and finishing tasks. Needs
``notes.write`` and ``contacts.read``, as on a company's page (crm/activities/company_routes.py);
the contact is found within the member's record scope."""

from datetime import timedelta
from functools import partial

from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from crm.activities import service
from crm.activities.forms import ActivityForm
from crm.activities.models import Activity
from crm.contacts import classification, queries
from crm.contacts.pages import back_to, composer_page, contact_or_404, errors_text, item_of_or_404
from crm.contacts.timeline import ACTIVITY, Entry
from crm.db import utcnow
from crm.extensions import db
from crm.htmx import trigger, wants_partial
from crm.i18n import workspace_today
from crm.permissions import require

bp = Blueprint("activities", __name__, url_prefix="/contacts/<int:contact_id>/activities")
BACKDATED = timedelta(minutes=2)  # an entry logged this much earlier than now is not the newest


def activity_form(owner_id: int | None, read_permission: str = "contacts.read", **kwargs) -> ActivityForm:
    """The composer of a record owned by ``owner_id``: a task goes to someone who can open that
    record (whose role has ``read_permission``; a member who sees only their own records, only on
    theirs), by default to its author."""
    assignees = queries.roster().who_may_see(owner_id, read_permission)
    form = ActivityForm(assignees=assignees, **kwargs)
    if form.assignee_id.raw_data is None and any(member_id == g.membership.id for member_id, _name in assignees):
        form.assignee_id.data = g.membership.id
    return form


def own_record_form(activity: Activity):
    """The activity form (a ``new_form``) of the record an entry belongs to, wherever it is edited (its
    deal's, contact's or company's page, My tasks): a task is handed on only to members who may open
    that record, by its owner and record scope, so the same task offers the same assignees everywhere.

    Decision: an entry logged on a deal belongs to the deal, even when it has the deal's contact too.
    It was logged on the deal (an entry logged on a person never has a deal); the deal's contact gets
    it on their timeline as a copy (service.log_deal_activity); it is audited on the deal
    (service._record_of); and it goes to the deal's owner, who may not own that person. Else the
    entry is its contact's, else its company's."""
    if activity.deal_id is not None:
        return partial(activity_form, activity.deal.owner_id, "deals.read")
    if activity.contact_id is not None:
        return partial(activity_form, activity.contact.owner_id)
    return partial(activity_form, activity.company.owner_id)


def logged(kind: str) -> str:
    """What a toast says once an activity is logged (read out by screen readers: WCAG 4.1.3)."""
    messages = {"note": _("Note added."), "call": _("Call logged."), "email": _("Email logged."),
                "meeting": _("Meeting logged."), "task": _("Task added.")}  # fmt: skip
    return messages[kind]


def save_from_composer(new_form, log, composer, record_name: str, record_url: str):
    """The composer's POST on a contact, deal or company. ``new_form(**kwargs)`` makes the record's
    form; ``log(data)`` saves the activity (and what else the record needs) and returns it; htmx gets
    ``composer(form, created)`` back: the form with its errors, or a fresh one of the same type with
    the new entry. A plain form post goes back to the record's page (``record_url``) once saved, or
    gets the form with its errors on a page of its own."""
    form = new_form()
    swap = wants_partial("activity-composer")
    if not form.validate_on_submit():
        if swap:
            return composer(form, None), 422
        message = _("The activity was not saved: %(errors)s", errors=errors_text(form))
        return composer_page(_("Log an activity"), message, composer(form, None), record_name, record_url)
    activity = log(form.service_data())
    db.session.commit()
    flash(logged(activity.kind), "success")  # a toast after the swap too: the box is empty again
    if swap:
        fresh = new_form(formdata=None)
        fresh.kind.data = activity.kind  # calls come in runs: the next is often of the same type
        if activity.occurred_at < utcnow() - BACKDATED:
            # Logged at an earlier time: its place is down the timeline, which is drawn again.
            return trigger(make_response(composer(fresh, None)), "timeline-changed")
        return composer(fresh, Entry(activity.occurred_at, ACTIVITY, activity))
    return redirect(record_url, 303)


@bp.post("/")
@require("notes.write", "contacts.read")
def create(contact_id: int):
    contact = contact_or_404(contact_id)

    def log(data: dict) -> Activity:
        activity = service.log_activity(contact, g.membership.id, data)
        rules = classification.rules_of(g.workspace)  # in touch again
        classification.reclassify(contact, rules, workspace_today(), g.workspace.timezone)
        return activity

    def composer(form: ActivityForm, created: Entry | None) -> str:
        return render_template("activities/_composer.html", contact=contact, form=form, created=created)

    new_form = partial(activity_form, contact.owner_id)
    return save_from_composer(new_form, log, composer, contact.name, url_for("ws.contacts.show", contact_id=contact.id))


@bp.post("/<int:activity_id>/done")
@require("notes.write", "contacts.read")
def toggle_done(contact_id: int, activity_id: int):
    activity = assigned_task(activity_id)
    if activity is not None and activity.contact_id == contact_id and activity.contact.deleted_at is None:
        contact = activity.contact  # theirs to finish, whoever's customer it is
    else:
        contact = contact_or_404(contact_id)
        activity = item_of_or_404(Activity, contact, activity_id)
    return finish_task(activity, lambda entry: render_template("contacts/_entry.html", contact=contact, entry=entry),
                       lambda: back_to(contact))  # fmt: skip


def assigned_task(activity_id: int) -> Activity | None:
    """A task assigned to the signed-in member. It is theirs to finish even on a record their role
    may not open (it was given to them, or the record changed hands since): My tasks lists it."""
    activity = db.session.get(Activity, activity_id)
    if activity is not None and activity.kind == "task" and activity.assignee_id == g.membership.id:
        return activity
    return None


@bp.route("/<int:activity_id>/edit", methods=["GET", "POST"])
@require("notes.write", "contacts.read")
def edit(contact_id: int, activity_id: int):
    contact = contact_or_404(contact_id)
    activity = item_of_or_404(Activity, contact, activity_id)

    def render_entry(entry: Entry) -> str:  # with the summary: its last activity may have moved
        return render_template("contacts/_entry.html", contact=contact, entry=entry) + render_template(
            "contacts/_summary.html", contact=contact, oob=True
        )

    # A deal's entry on its person's timeline is handed on, corrected and deleted as on the deal's page
    # (own_record_form, service.delete_permission).
    return edit_activity(activity, service.delete_permission(activity), own_record_form(activity), render_entry,
                         contact.name, url_for("ws.contacts.show", contact_id=contact.id))  # fmt: skip


@bp.post("/<int:activity_id>/delete")
@require("notes.write", "contacts.read")
def delete(contact_id: int, activity_id: int):
    contact = contact_or_404(contact_id)
    activity = item_of_or_404(Activity, contact, activity_id)
    # With the summary: its last activity and lifecycle may have moved back.
    summary = partial(render_template, "contacts/_summary.html", contact=contact, oob=True)
    return remove_activity(activity, service.delete_permission(activity), lambda: back_to(contact), summary)


def finish_task(activity: Activity, render_entry, back):
    """Marks a task done or not done (the form's ``done``) and answers with its timeline entry
    (``render_entry(entry)``), My tasks, or ``back()``: shared by contacts' and deals' timelines."""
    if activity.kind != "task":
        abort(404)
    if not service.may_finish(activity, g.membership):
        abort(403)
    service.set_done(activity, done=request.form.get("done") == "1")
    db.session.commit()
    if wants_partial(f"entry-activity-{activity.id}"):
        return render_entry(Entry(activity.occurred_at, ACTIVITY, activity))
    if request.form.get("next") == "tasks":
        return redirect(url_for("ws.tasks.index"), 303)
    return back()


def edit_activity(activity: Activity, delete_permission: str, new_form, render_entry, record_name: str,
                  record_url: str):  # fmt: skip
    """An entry's edit form in its place (GET; ``?cancel=1`` gives the entry back), or the corrected
    entry (POST). Whoever may delete the entry may correct it (its author, others with
    ``delete_permission``), and a task's assignee too: to move its due date or hand it on.
    ``new_form(**kwargs)`` makes the record's activity form, ``render_entry`` writes the entry.
    Without htmx (no JavaScript, or the Edit link opened in a tab of its own) the form is a page of
    its own, with a way back to the record it is on (``record_name`` at ``record_url``), where
    saving and Cancel go back to."""
    if not service.may_correct(activity, g.membership, delete_permission):
        abort(403)
    swap = wants_partial(f"entry-activity-{activity.id}")
    entry = Entry(activity.occurred_at, ACTIVITY, activity)
    if request.method == "GET" and request.args.get("cancel"):
        return render_entry(entry) if swap else redirect(record_url, 303)
    form = edit_form(activity, new_form)
    template = "activities/_edit_entry.html" if swap else "activities/edit.html"
    context = {"form": form, "activity": activity, "edit_url": request.path, "record_name": record_name,
               "record_url": record_url}  # fmt: skip
    if request.method == "GET":
        return render_template(template, **context)
    if not form.validate_on_submit():
        return render_template(template, **context), 422
    save_correction(activity, form)
    flash(_("Saved."), "success")  # a toast after the swap too (WCAG 4.1.3)
    if swap:
        return render_entry(Entry(activity.occurred_at, ACTIVITY, activity))
    return redirect(record_url, 303)


def edit_form(activity: Activity, new_form) -> ActivityForm:
    """An entry's edit form: filled from the entry for a GET, else from what was posted (its type
    stays); its assignee kept as a choice."""
    form = new_form(prefix=f"entry{activity.id}", **({"formdata": None} if request.method == "GET" else {}))
    _keep_assignee(form, activity)
    form.occurred_at.description = _("When it happened, in %(zone)s.", zone=g.workspace.timezone)
    if request.method == "GET":
        form.fill_from(activity)
    else:
        form.kind.data = activity.kind
    return form


def save_correction(activity: Activity, form: ActivityForm) -> None:
    """Saves a validated edit form on its entry, in one transaction."""
    changes = service.update_activity(activity, form.service_data())
    if "occurred_at" in changes and activity.contact is not None:  # its lifecycle may follow
        rules = classification.rules_of(g.workspace)
        classification.reclassify(activity.contact, rules, workspace_today(), g.workspace.timezone)
    db.session.commit()


def _keep_assignee(form: ActivityForm, activity: Activity) -> None:
    """A task's assignee stays a choice of its edit form even if they may no longer be given tasks
    here (disabled, or the record changed hands): correcting the text must not unassign them."""
    choices = form.assignee_id.choices
    if activity.assignee_id is not None and all(choice.value != activity.assignee_id for choice in choices):
        name = queries.roster().names.get(activity.assignee_id, f"#{activity.assignee_id}")
        form.assignee_id.choices = [*choices, SelectChoice(activity.assignee_id, name)]


def remove_activity(activity: Activity, delete_permission: str, back, removed=lambda: ""):
    """Deletes an entry: its author may, anyone else needs ``delete_permission``. Its contact, if it
    has one (on a deal's or a company's page too), is classified again as when an entry is logged or
    moved: the lifecycle counts from the last activity. htmx gets ``removed()`` in the entry's place
    (nothing, or what else the page shows out of band)."""
    if activity.author_id != g.membership.id and not g.membership.can(delete_permission):
        abort(403)
    activity_id = activity.id
    contact = service.delete_activity(activity)
    if contact is not None:
        classification.reclassify(
            contact, classification.rules_of(g.workspace), workspace_today(), g.workspace.timezone
        )
    db.session.commit()
    flash(_("Deleted."), "success")  # a toast after the swap too (WCAG 4.1.3)
    if wants_partial(f"entry-activity-{activity_id}"):
        return removed()
    return back()
