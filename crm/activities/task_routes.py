"""My tasks: overdue, today, upcoming and recently done tasks assigned to the member, finished
(or reopened) right there, whatever record each is on."""

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from crm.activities import service
from crm.activities.tasks import SECTIONS, my_task, my_tasks, task_page
from crm.extensions import db
from crm.htmx import wants_partial
from crm.permissions import require

bp = Blueprint("tasks", __name__, url_prefix="/tasks")


@bp.get("/")
@require("contacts.read")
def index():
    """All sections, or the next page of one ("Show more": its rows for htmx, else a page of its own)."""
    section = request.args.get("section")
    if section not in SECTIONS:
        return render_template("activities/tasks.html", sections=my_tasks(g.membership, g.workspace.timezone))
    page = task_page(g.membership, g.workspace.timezone, section, request.args.get("after"))
    if wants_partial(f"more-{section}"):
        return render_template("activities/_task_items.html", name=section, page=page)
    return render_template("activities/tasks.html", sections={section: page}, one_section=True)


@bp.post("/<int:task_id>/done")
@require("notes.write")
def done(task_id: int):
    """Marks one of the member's tasks done (``done=1``) or not done. Any task My tasks lists is theirs
    to finish, on a record they may not open too (a deal's task given to someone without
    ``deals.read``, or a customer who changed hands), so this asks only that it is assigned to them;
    a record's own page (its timeline) finishes tasks by what may be done on that record."""
    task = my_task(g.membership, task_id) or abort(404)
    service.set_done(task, done=request.form.get("done") == "1")
    db.session.commit()
    return redirect(url_for(".index"), 303)
