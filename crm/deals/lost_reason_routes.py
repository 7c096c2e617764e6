"""Settings → Lost reasons: the list the Lost form offers. The list answers its own fragment to
htmx (drag order, move, retire, restore, delete); adding and renaming are plain forms."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm.deals import lost_reasons
from crm.deals.admin import PipelineInUse
from crm.deals.admin_forms import LostReasonForm
from crm.deals.models import LostReason
from crm.deals.service import DealError
from crm.extensions import db
from crm.htmx import answer_list, wants_partial
from crm.permissions import require
from crm.security import record_id

bp = Blueprint("lost_reasons", __name__, url_prefix="/settings/lost-reasons")

REASON_LIST = "lost-reason-list"


def _reason_or_404(reason_id: int) -> LostReason:
    return db.session.get(LostReason, reason_id) or abort(404)


def _list_context(error: str | None = None) -> dict:
    return {"reasons": lost_reasons.reasons(), "usage": lost_reasons.usage(), "error": error}


def _index(status: int = 200, form: LostReasonForm | None = None, error: str | None = None):
    context = {**_list_context(error), "form": form or LostReasonForm(formdata=None)}
    return render_template("deals/admin/lost_reasons.html", **context), status


def _answer_list(error: str | None = None):
    return answer_list(REASON_LIST, lambda: render_template("deals/admin/_lost_reasons.html", **_list_context(error)),
                       lambda: _index(error=error), error)  # fmt: skip


@bp.get("/")
@require("settings.manage")
def index():
    if wants_partial(REASON_LIST):
        return render_template("deals/admin/_lost_reasons.html", **_list_context())
    return _index()


@bp.post("/")
@require("settings.manage")
def create():
    form = LostReasonForm()
    if form.validate_on_submit():
        try:
            reason = lost_reasons.create_reason(form.name.data)
        except DealError as error:
            db.session.rollback()
            form.name.errors = [*form.name.errors, str(error)]
        else:
            db.session.commit()
            flash(_("Lost reason %(name)s added.", name=reason.display_name), "success")
            return redirect(url_for(".index"), 303)
    return _index(422, form=form)


@bp.get("/<int:reason_id>")
@require("settings.manage")
def edit(reason_id: int):
    reason = _reason_or_404(reason_id)
    form = LostReasonForm(formdata=None, data={"name": reason.display_name})
    return render_template("deals/admin/lost_reason.html", reason=reason, form=form)


@bp.post("/<int:reason_id>")
@require("settings.manage")
def update(reason_id: int):
    reason = _reason_or_404(reason_id)
    form = LostReasonForm()
    if form.validate_on_submit():
        try:
            lost_reasons.rename_reason(reason, form.name.data)
        except DealError as error:
            db.session.rollback()
            form.name.errors = [*form.name.errors, str(error)]
        else:
            db.session.commit()
            flash(_("Lost reason %(name)s saved.", name=reason.display_name), "success")
            return redirect(url_for(".index"), 303)
    return render_template("deals/admin/lost_reason.html", reason=_reason_or_404(reason_id), form=form), 422


@bp.post("/<int:reason_id>/active")
@require("settings.manage")
def set_active(reason_id: int):
    """Retires a reason (no longer offered; its deals keep it) or puts it back in use."""
    reason = _reason_or_404(reason_id)
    wanted = request.form.get("active")
    if wanted not in ("0", "1"):
        abort(400)
    try:
        lost_reasons.set_active(reason, wanted == "1")
    except PipelineInUse as error:
        db.session.rollback()
        return _answer_list(str(error))
    db.session.commit()
    return _answer_list()


@bp.post("/<int:reason_id>/delete")
@require("settings.manage")
def delete(reason_id: int):
    reason = _reason_or_404(reason_id)
    try:
        lost_reasons.delete_reason(reason)
    except PipelineInUse as error:
        db.session.rollback()
        return _answer_list(str(error))
    db.session.commit()
    return _answer_list()


@bp.post("/<int:reason_id>/move")
@require("settings.manage")
def move(reason_id: int):
    reason = _reason_or_404(reason_id)
    step = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if step is None:
        abort(400)
    if lost_reasons.move(reason, step):
        db.session.commit()
    return _answer_list()


@bp.post("/order")
@require("settings.manage")
def order():
    """The list's new order after a drag (ids of other workspaces are not in the list: ignored)."""
    if lost_reasons.reorder([i for i in map(record_id, request.form.getlist("order")) if i is not None]):
        db.session.commit()
    return _answer_list()
