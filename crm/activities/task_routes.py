"""My tasks: overdue, today, upcoming and recently done tasks assigned to the member."""

from flask import Blueprint, g, render_template

from crm.activities.tasks import my_tasks
from crm.permissions import require

bp = Blueprint("tasks", __name__, url_prefix="/tasks")


@bp.get("/")
@require("contacts.read")
def index():
    return render_template("activities/tasks.html", sections=my_tasks(g.membership, g.workspace.timezone))
