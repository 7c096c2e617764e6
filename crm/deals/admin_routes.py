"""Settings → Pipelines: the workspace's pipelines and, per pipeline, its stages. A stage is loaded
through its pipeline (a stage of another pipeline is a 404). Plain forms with post/redirect/get,
boosted by htmx; the stage list also answers its own fragment to the move buttons."""

from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from crm.deals import admin, queries
from crm.deals.admin_forms import PipelineForm, RemoveStageForm, StageForm
from crm.deals.forms import STATUS_LABELS
from crm.deals.models import OPEN, Pipeline, Stage
from crm.deals.service import DealError, stages_of
from crm.extensions import db
from crm.htmx import is_htmx, trigger, wants_partial
from crm.permissions import require
from crm.security import record_id

bp = Blueprint("pipeline_admin", __name__, url_prefix="/settings/pipelines")

STAGE_LIST = "stage-list"


@bp.context_processor
def stage_kinds() -> dict:
    return {"deal_statuses": STATUS_LABELS}


def _pipeline_or_404(pipeline_id: int) -> Pipeline:
    return db.session.get(Pipeline, pipeline_id) or abort(404)


def _stage_or_404(pipeline: Pipeline, stage_id: int) -> Stage:
    stage = db.session.get(Stage, stage_id)
    if stage is None or stage.pipeline_id != pipeline.id:
        abort(404)
    return stage


def _field_error(form, error: DealError) -> None:
    field = form[error.field] if error.field and error.field in form else form.name
    field.errors = [*field.errors, str(error)]


def _refused(body: str, message: str, status: int = 409):
    """A refusal about the state of things: the page with the message, and a toast for htmx (which
    does not swap a 409)."""
    response = make_response(body, status)
    if is_htmx():
        trigger(response, "toast", [{"level": "error", "message": message}])
    return response


def _index(status: int = 200, form: PipelineForm | None = None, error: str | None = None):
    context = {
        "pipelines": queries.pipelines(),
        "deal_counts": admin.deal_counts(),
        "form": form or PipelineForm(formdata=None),
        "error": error,
    }
    return render_template("deals/admin/index.html", **context), status


@bp.get("/")
@require("settings.manage")
def index():
    return _index()


@bp.post("/")
@require("settings.manage")
def create():
    form = PipelineForm()
    if form.validate_on_submit():
        try:
            pipeline = admin.create_pipeline(form.name.data)
        except DealError as error:
            db.session.rollback()
            _field_error(form, error)
        else:
            db.session.commit()
            flash(_("Pipeline %(name)s added with the default stages.", name=pipeline.display_name), "success")
            return redirect(url_for(".show", pipeline_id=pipeline.id), 303)
    return _index(422, form=form)


def _show(pipeline: Pipeline, status: int = 200, form=None, stage_form=None, error: str | None = None):
    if form is None:
        form = PipelineForm(formdata=None, prefix="pipeline", data={"name": pipeline.display_name})
    context = {
        **_stage_list_context(pipeline),
        "form": form,
        "stage_form": stage_form or StageForm(formdata=None, prefix="stage"),
        "error": error,
    }
    return render_template("deals/admin/show.html", **context), status


def _stage_list_context(pipeline: Pipeline) -> dict:
    stages = stages_of(pipeline.id)
    return {
        "pipeline": pipeline,
        "stages": stages,
        "deal_counts": admin.deal_counts(pipeline.id),
    }


@bp.get("/<int:pipeline_id>")
@require("settings.manage")
def show(pipeline_id: int):
    pipeline = _pipeline_or_404(pipeline_id)
    if wants_partial(STAGE_LIST):
        return render_template("deals/admin/_stages.html", **_stage_list_context(pipeline))
    return _show(pipeline)


@bp.post("/<int:pipeline_id>")
@require("settings.manage")
def update(pipeline_id: int):
    pipeline = _pipeline_or_404(pipeline_id)
    form = PipelineForm(prefix="pipeline")
    if form.validate_on_submit():
        try:
            admin.rename_pipeline(pipeline, form.name.data)
        except DealError as error:
            db.session.rollback()
            _field_error(form, error)
        else:
            db.session.commit()
            flash(_("Pipeline %(name)s saved.", name=pipeline.display_name), "success")
            return redirect(url_for(".show", pipeline_id=pipeline.id), 303)
    return _show(_pipeline_or_404(pipeline_id), 422, form=form)


@bp.post("/<int:pipeline_id>/delete")
@require("settings.manage")
def delete(pipeline_id: int):
    pipeline = _pipeline_or_404(pipeline_id)
    name = pipeline.display_name
    try:
        admin.delete_pipeline(pipeline)
    except DealError as error:
        db.session.rollback()
        body, _status = _index(error=str(error))
        return _refused(body, str(error))
    db.session.commit()
    flash(_("Pipeline %(name)s deleted.", name=name), "success")
    return redirect(url_for(".index"), 303)


@bp.post("/<int:pipeline_id>/stages/")
@require("settings.manage")
def create_stage(pipeline_id: int):
    pipeline = _pipeline_or_404(pipeline_id)
    form = StageForm(prefix="stage")
    if form.validate_on_submit():
        try:
            stage = admin.create_stage(pipeline, form.data_for_service())
        except DealError as error:
            db.session.rollback()
            _field_error(form, error)
        else:
            db.session.commit()
            flash(_("Stage %(name)s added.", name=stage.display_name), "success")
            return redirect(url_for(".show", pipeline_id=pipeline.id), 303)
    return _show(_pipeline_or_404(pipeline_id), 422, stage_form=form)


def _edit_page(pipeline: Pipeline, stage: Stage, form: StageForm, status: int = 200):
    return render_template("deals/admin/stage.html", pipeline=pipeline, stage=stage, form=form), status


@bp.get("/<int:pipeline_id>/stages/<int:stage_id>")
@require("settings.manage")
def edit_stage(pipeline_id: int, stage_id: int):
    pipeline = _pipeline_or_404(pipeline_id)
    stage = _stage_or_404(pipeline, stage_id)
    form = StageForm(formdata=None, closed=stage.kind != OPEN, obj=stage)
    form.name.data = stage.display_name
    return _edit_page(pipeline, stage, form)


@bp.post("/<int:pipeline_id>/stages/<int:stage_id>")
@require("settings.manage")
def update_stage(pipeline_id: int, stage_id: int):
    pipeline = _pipeline_or_404(pipeline_id)
    stage = _stage_or_404(pipeline, stage_id)
    form = StageForm(closed=stage.kind != OPEN)
    if form.validate_on_submit():
        try:
            admin.update_stage(stage, form.data_for_service())
        except DealError as error:
            db.session.rollback()
            _field_error(form, error)
        else:
            db.session.commit()
            flash(_("Stage %(name)s saved.", name=stage.display_name), "success")
            return redirect(url_for(".show", pipeline_id=pipeline.id), 303)
    pipeline = _pipeline_or_404(pipeline_id)
    return _edit_page(pipeline, _stage_or_404(pipeline, stage_id), form, 422)


@bp.post("/<int:pipeline_id>/stages/<int:stage_id>/move")
@require("settings.manage")
def move_stage(pipeline_id: int, stage_id: int):
    """Move up or down: the keyboard's way to reorder (the list answers its fragment to htmx)."""
    pipeline = _pipeline_or_404(pipeline_id)
    stage = _stage_or_404(pipeline, stage_id)
    step = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if step is None:
        abort(400)
    if admin.move_stage(stage, step):
        db.session.commit()
    if wants_partial(STAGE_LIST):
        return render_template("deals/admin/_stages.html", **_stage_list_context(pipeline))
    return redirect(url_for(".show", pipeline_id=pipeline.id), 303)


@bp.post("/<int:pipeline_id>/stages/order")
@require("settings.manage")
def order_stages(pipeline_id: int):
    """The open stages' new order after a drag; a stage id of another pipeline (or workspace) is a
    404 and changes nothing."""
    pipeline = _pipeline_or_404(pipeline_id)
    ids = [i for i in map(record_id, request.form.getlist("order")) if i is not None]
    try:
        changed = admin.reorder_stages(pipeline, ids)
    except LookupError:
        db.session.rollback()
        abort(404)
    if changed:
        db.session.commit()
    if is_htmx():
        return render_template("deals/admin/_stages.html", **_stage_list_context(pipeline))
    return redirect(url_for(".show", pipeline_id=pipeline.id), 303)


def _remove_page(pipeline: Pipeline, stage: Stage, form: RemoveStageForm, status: int = 200):
    context = {"pipeline": pipeline, "stage": stage, "form": form,
               "deal_count": admin.deal_counts(pipeline.id).get(stage.id, 0)}  # fmt: skip
    return render_template("deals/admin/remove_stage.html", **context), status


def _remove_form(pipeline: Pipeline, stage: Stage) -> RemoveStageForm:
    """The stages that may receive the deals: the pipeline's other open stages."""
    return RemoveStageForm(stages=[s for s in stages_of(pipeline.id) if s.kind == OPEN and s.id != stage.id])


@bp.get("/<int:pipeline_id>/stages/<int:stage_id>/delete")
@require("settings.manage")
def remove_stage(pipeline_id: int, stage_id: int):
    """Asks which stage receives the deals of the stage to remove."""
    pipeline = _pipeline_or_404(pipeline_id)
    stage = _stage_or_404(pipeline, stage_id)
    return _remove_page(pipeline, stage, _remove_form(pipeline, stage))


@bp.post("/<int:pipeline_id>/stages/<int:stage_id>/delete")
@require("settings.manage")
def delete_stage(pipeline_id: int, stage_id: int):
    pipeline = _pipeline_or_404(pipeline_id)
    stage = _stage_or_404(pipeline, stage_id)
    form = _remove_form(pipeline, stage)
    if not form.validate_on_submit():
        return _remove_page(pipeline, stage, form, 422)
    target = db.session.get(Stage, form.target.data) if form.target.data else None
    name = stage.display_name
    try:
        moved = admin.delete_stage(stage, target, g.membership.id)
    except admin.PipelineInUse as error:
        db.session.rollback()
        pipeline = _pipeline_or_404(pipeline_id)
        body, _status = _show(pipeline, error=str(error))
        return _refused(body, str(error))
    except DealError as error:
        db.session.rollback()
        pipeline = _pipeline_or_404(pipeline_id)
        stage = _stage_or_404(pipeline, stage_id)
        form = _remove_form(pipeline, stage)
        _field_error(form, error)
        return _remove_page(pipeline, stage, form, 422)
    db.session.commit()
    if moved:
        flash(ngettext("Stage %(name)s removed; its %(num)d deal moved to %(target)s.",
                       "Stage %(name)s removed; its %(num)d deals moved to %(target)s.",
                       moved, name=name, target=target.display_name), "success")  # fmt: skip
    else:
        flash(_("Stage %(name)s removed.", name=name), "success")
    return redirect(url_for(".show", pipeline_id=pipeline.id), 303)
