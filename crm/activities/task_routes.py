"""My tasks: overdue, today, upcoming and recently done tasks assigned to the member."""

from flask import Blueprint, g, render_template, url_for

from crm.activities.models import Activity
from crm.activities.tasks import my_tasks
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
    return render_template("activities/tasks.html", sections=my_tasks(g.membership, g.workspace.timezone))
