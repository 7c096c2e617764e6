"""My tasks: overdue, today, upcoming and recently done tasks assigned to the member."""

from flask import Blueprint, g, render_template, request, url_for

from crm.activities.models import Activity
from crm.activities.tasks import SECTIONS, my_tasks, task_page
from crm.htmx import wants_partial
from crm.permissions import require

bp = Blueprint("tasks", __name__, url_prefix="/tasks")


@bp.app_context_processor
def task_helpers() -> dict:
    return {"task_done_url": task_done_url}


def task_done_url(task: Activity) -> str:
    """Where a task is marked done: on its contact's timeline, else its deal's, else its company's."""
    if task.contact_id is not None:
        return url_for("ws.activities.toggle_done", contact_id=task.contact_id, activity_id=task.id)
    if task.deal_id is not None:
        return url_for("ws.deal_activities.toggle_done", deal_id=task.deal_id, activity_id=task.id)
    return url_for("ws.company_activities.toggle_done", company_id=task.company_id, activity_id=task.id)


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
