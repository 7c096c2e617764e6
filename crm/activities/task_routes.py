"""My tasks: overdue, today, upcoming and recently done tasks assigned to the member, corrected
(due date, reminder, text, assignee) and finished (or reopened) right there, whatever record each is on.
A task changed in place draws the sections again as far as each was loaded ("Show more"), so the
member keeps the rows they had and their place."""

from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm.activities import service
from crm.activities.routes import edit_form, own_record_form, save_correction
from crm.activities.tasks import SECTIONS, how_far_loaded, my_task, my_tasks, section_of, task_page, tasks_as_loaded
from crm.extensions import db
from crm.htmx import wants_partial
from crm.permissions import every_member, require

bp = Blueprint("tasks", __name__, url_prefix="/tasks")


@bp.get("/")
@every_member
def index():
    """All sections, or the next page of one ("Show more": its rows for htmx, else a page of its own).
    Open to every member, whatever their role reads: a task is given to members who may open its
    record (``contacts.read``, or ``deals.read`` for a deal's), and stays theirs to see and finish if
    their role or the record's owner changes after; reminders of such tasks link here."""
    section = request.args.get("section")
    if section not in SECTIONS:
        return render_template("activities/tasks.html", sections=my_tasks(g.membership, g.workspace.timezone))
    page = task_page(g.membership, g.workspace.timezone, section, request.args.get("after"))
    if wants_partial(f"more-{section}"):  # with how far the section is loaded now (out of band)
        return render_template("activities/_task_items.html", name=section, page=page, oob=True)
    return render_template("activities/tasks.html", sections={section: page}, one_section=True)


@bp.post("/<int:task_id>/done")
@require("notes.write")
def done(task_id: int):
    """Marks one of the member's tasks done (``done=1``) or not done. Any task My tasks lists is theirs
    to finish, on a record they may not open too (a deal's task given to someone without
    ``deals.read``, or a customer who changed hands), so this asks only that it is assigned to them;
    a record's own page (its timeline) finishes tasks by what may be done on that record. In place,
    the sections are drawn again as far as they were loaded; without JavaScript, My tasks again."""
    task = my_task(g.membership, task_id) or abort(404)
    loaded = how_far_loaded(g.membership, g.workspace.timezone, request.form)
    service.set_done(task, done=request.form.get("done") == "1")
    db.session.commit()
    if wants_partial("task-sections"):
        return _sections_as_loaded(task, loaded)
    return redirect(url_for(".index"), 303)


@bp.route("/<int:task_id>/edit", methods=["GET", "POST"])
@require("notes.write")
def edit(task_id: int):
    """A task's edit form in its place in My tasks (GET; ``?cancel=1`` gives the task back), or
    the sections drawn again as far as they were loaded once it is saved (a new due date moves it to
    another section). Every task
    listed is the member's own, and a task's assignee may correct it (crm/activities/service.py
    may_correct), on a record they may not open too: it is theirs to finish, and to reschedule, so
    this asks ``notes.write`` only, as Mark done does (a deal's task given to someone without
    ``contacts.read``, a customer's to someone whose role lost it). It is
    handed on only to members who may open its record, as on that record's page (a deal's task: the
    deal's, even with a person: crm/activities/routes.py own_record_form)."""
    task = my_task(g.membership, task_id) or abort(404)
    swap = wants_partial(f"task-{task.id}")
    if request.method == "GET" and request.args.get("cancel"):
        return render_template("activities/_task_item.html", task=task) if swap else redirect(url_for(".index"), 303)
    form = edit_form(task, own_record_form(task))
    # In place it answers the swap; on a page of its own (no JavaScript, a new tab) it is a plain form.
    template, target = ("activities/_task_edit.html", f"task-{task.id}") if swap else ("activities/edit.html", "")
    context = {"form": form, "activity": task, "edit_url": request.path, "target": target, "save_moves": True,
               "record_name": _("My tasks"), "record_url": url_for(".index")}  # fmt: skip
    if request.method == "GET":
        return render_template(template, **context)
    if not form.validate_on_submit():
        return render_template(template, **context), 422
    loaded = how_far_loaded(g.membership, g.workspace.timezone, request.form)
    save_correction(task, form)
    flash(_("Saved."), "success")
    if not swap:
        return redirect(url_for(".index"), 303)
    response = make_response(_sections_as_loaded(task, loaded))
    response.headers["HX-Retarget"], response.headers["HX-Reswap"] = "#task-sections", "outerHTML"
    return response


def _sections_as_loaded(task, loaded: dict) -> str:
    """The sections drawn again after ``task`` changed in place, each as far as the page had loaded it
    (``loaded``: crm/activities/tasks.py how_far_loaded). Where the task went past the loaded rows of
    its section, the focus goes to that section's "Show more", which brings it."""
    timezone = g.workspace.timezone
    sections = tasks_as_loaded(g.membership, timezone, loaded)
    shown = any(item.id == task.id for page in sections.values() for item in page.items)
    return render_template("activities/_task_sections.html", sections=sections,
                           follow=None if shown else section_of(task, timezone))  # fmt: skip
