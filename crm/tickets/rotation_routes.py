"""Settings → Ticket assignment (``settings.manage``): who takes turns on each queue."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from crm.extensions import db
from crm.permissions import require
from crm.tickets import rotation
from crm.tickets.models import QUEUE_LABELS, QUEUES

bp = Blueprint("ticket_assignment", __name__, url_prefix="/settings/ticket-assignment")


def _page(chosen: dict[str, list[int]], error: str | None = None, status: int = 200):
    queues = [(queue, QUEUE_LABELS[queue], rotation.eligible_members(queue)) for queue in QUEUES]
    context = {"queues": queues, "chosen": chosen, "form": FlaskForm(), "error": error}
    return render_template("tickets_admin/assignment.html", **context), status


@bp.get("/")
@require("settings.manage")
def index():
    return _page(rotation.rotations())


@bp.post("/")
@require("settings.manage")
def update():
    form = FlaskForm()
    chosen = {queue: request.form.getlist(f"members-{queue}", type=int) for queue in QUEUES}
    if not form.validate_on_submit():
        return _page(chosen, _("The form expired. Try again."), 400)
    eligible = {queue: [member.id for member in rotation.eligible_members(queue)] for queue in QUEUES}
    if any(set(chosen[queue]) - set(eligible[queue]) for queue in QUEUES):
        return _page(chosen, _("Choose members who may work that queue."), 422)
    for queue in QUEUES:  # turns follow the names' order
        rotation.set_rotation(queue, [member_id for member_id in eligible[queue] if member_id in chosen[queue]])
    db.session.commit()
    flash(_("Ticket assignment saved."), "success")
    return redirect(url_for(".index"), 303)
