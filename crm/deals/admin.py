"""Settings → Pipelines: adding, renaming and deleting pipelines, and adding, changing, reordering and
removing their stages. Every change is audited; the caller commits (one transaction per action).

The rules kept here: each pipeline has exactly one Won and one Lost stage (renamed, never removed)
and at least one open stage; open stages come first, in board order, then Won and Lost; a workspace
keeps at least one pipeline, and a pipeline with deals is not deleted.
"""

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext

from crm.audit import service as audit
from crm.db import utcnow
from crm.deals.models import DEFAULT_STAGES, OPEN, Deal, DealStageChange, Pipeline, Stage, display_name
from crm.deals.service import DealError, stages_of
from crm.extensions import db

STAGE_FIELDS = ("name", "probability", "rotting_days")


class PipelineInUse(DealError):
    """A refusal that is about the state of things (409), not about what was typed (422)."""


@dataclass
class StageData:
    name: str
    probability: int | None = None
    rotting_days: int | None = None


def deal_counts(pipeline_id: int | None = None) -> dict[int, int]:
    """{pipeline id or stage id: number of live deals}: per stage of ``pipeline_id``, else per pipeline."""
    key = Deal.pipeline_id if pipeline_id is None else Deal.stage_id
    statement = sa.select(key, sa.func.count()).where(Deal.deleted_at.is_(None)).group_by(key)
    if pipeline_id is not None:
        statement = statement.where(Deal.pipeline_id == pipeline_id)
    return dict(db.session.execute(statement).all())


def taken(model, name: str, except_id: int | None, **where) -> bool:
    statement = sa.select(model.id, model.name).filter_by(**where)
    return any(
        row.id != except_id and (row.name.casefold() == name.casefold() or _shown(row.name) == name.casefold())
        for row in db.session.execute(statement)
    )


def _shown(name: str) -> str:
    return display_name(name).casefold()


def _clean_name(name: str | None, current=None) -> str:
    """A stripped name; the translated default shown in the form stays the untranslated default, so
    it keeps following each reader's language."""
    name = (name or "").strip()
    if not name:
        raise DealError(_("Enter a name."), "name")
    if len(name) > 80:
        raise DealError(_("At most 80 characters."), "name")
    if current is not None and name == current.display_name:
        return current.name
    return name


def create_pipeline(name: str) -> Pipeline:
    """A pipeline at the end of the list, with the default stages (as a new workspace gets)."""
    name = _clean_name(name)
    if taken(Pipeline, name, None):
        raise DealError(_("Another pipeline has this name."), "name")
    last = db.session.scalar(sa.select(sa.func.max(Pipeline.position)))
    pipeline = Pipeline(name=name, position=0 if last is None else last + 1)
    db.session.add(pipeline)
    db.session.flush()
    for position, (stage_name, probability, kind, rotting_days) in enumerate(DEFAULT_STAGES):
        db.session.add(Stage(pipeline_id=pipeline.id, name=stage_name, position=position, probability=probability,
                             kind=kind, rotting_days=rotting_days))  # fmt: skip
    audit.record("pipeline.created", "pipeline", pipeline.id, {"name": [None, name]})
    return pipeline


def rename_pipeline(pipeline: Pipeline, name: str) -> dict:
    name = _clean_name(name, pipeline)
    if taken(Pipeline, name, pipeline.id):
        raise DealError(_("Another pipeline has this name."), "name")
    pipeline.name = name
    changes = audit.changes_of(pipeline, ("name",))
    if changes:
        audit.record("pipeline.updated", "pipeline", pipeline.id, changes)
    return changes


def delete_pipeline(pipeline: Pipeline) -> None:
    """Deletes a pipeline without live deals, with its stages. Its deals in the trash go with it
    (nothing could restore them into a pipeline that no longer exists). Deals that left it for
    another pipeline keep their history without its stages, as when a stage is removed
    (``delete_stage``): history rows cannot point at a stage that is gone."""
    live = deal_counts().get(pipeline.id, 0)
    if live:
        raise PipelineInUse(
            ngettext(
                "The pipeline still has %(num)d deal: move or delete it first.",
                "The pipeline still has %(num)d deals: move or delete them first.",
                live,
            )
        )
    if db.session.scalar(sa.select(sa.func.count()).select_from(Pipeline)) <= 1:
        raise PipelineInUse(_("A workspace keeps at least one pipeline."))
    trashed = sa.select(Deal.id).where(Deal.pipeline_id == pipeline.id)
    db.session.execute(sa.delete(DealStageChange).where(DealStageChange.deal_id.in_(trashed)))
    db.session.execute(sa.delete(Deal).where(Deal.pipeline_id == pipeline.id))
    its_stages = sa.select(Stage.id).where(Stage.pipeline_id == pipeline.id)
    db.session.execute(sa.delete(DealStageChange).where(DealStageChange.to_stage_id.in_(its_stages)))
    db.session.execute(
        sa.update(DealStageChange).where(DealStageChange.from_stage_id.in_(its_stages)).values(from_stage_id=None)
    )
    db.session.execute(sa.delete(Stage).where(Stage.pipeline_id == pipeline.id))
    audit.record("pipeline.deleted", "pipeline", pipeline.id, {"name": [pipeline.name, None]})
    db.session.delete(pipeline)


def _check_stage(stage: Stage | None, data: StageData, pipeline_id: int) -> str:
    name = _clean_name(data.name, stage)
    if taken(Stage, name, stage.id if stage else None, pipeline_id=pipeline_id):
        raise DealError(_("Another stage of this pipeline has this name."), "name")
    if stage is None or stage.kind == OPEN:
        if data.probability is None or not 0 <= data.probability <= 100:
            raise DealError(_("Enter a whole number from 0 to 100."), "probability")
        if data.rotting_days is not None and not 1 <= data.rotting_days <= 3650:
            raise DealError(_("Enter a number of days from 1 to 3650, or leave it empty."), "rotting_days")
    return name


def _renumber(stages: list[Stage]) -> None:
    """Open stages first in the given order, then Won and Lost; only changed rows are written."""
    ordered = [s for s in stages if s.kind == OPEN] + [s for s in stages if s.kind != OPEN]
    for position, stage in enumerate(ordered):
        if stage.position != position:
            stage.position = position


def create_stage(pipeline: Pipeline, data: StageData) -> Stage:
    """An open stage after the pipeline's last open one."""
    name = _check_stage(None, data, pipeline.id)
    stages = stages_of(pipeline.id)
    stage = Stage(pipeline_id=pipeline.id, name=name, probability=data.probability, kind=OPEN,
                  rotting_days=data.rotting_days, position=len(stages))  # fmt: skip
    db.session.add(stage)
    db.session.flush()
    _renumber([*stages, stage])
    audit.record("stage.created", "stage", stage.id, {field: [None, getattr(stage, field)] for field in STAGE_FIELDS})
    return stage


def update_stage(stage: Stage, data: StageData) -> dict:
    """Renames any stage; an open stage also takes a new win probability and rotting limit (Won is
    100% and Lost 0%, for good)."""
    stage.name = _check_stage(stage, data, stage.pipeline_id)
    fields = ("name",)
    if stage.kind == OPEN:
        stage.probability, stage.rotting_days = data.probability, data.rotting_days
        fields = STAGE_FIELDS
    changes = audit.changes_of(stage, fields)
    if changes:
        audit.record("stage.updated", "stage", stage.id, changes)
    return changes


def move_stage(stage: Stage, step: int) -> bool:
    """Swaps an open stage with its open neighbour ``step`` (-1 up, 1 down) places away."""
    if stage.kind != OPEN:
        return False
    stages = stages_of(stage.pipeline_id)
    open_stages = [s for s in stages if s.kind == OPEN]
    index = open_stages.index(stage)
    other = index + step
    if not 0 <= other < len(open_stages):
        return False
    open_stages[index], open_stages[other] = open_stages[other], open_stages[index]
    before = stage.position
    _renumber(open_stages + [s for s in stages if s.kind != OPEN])
    audit.record("stage.moved", "stage", stage.id, {"position": [before, stage.position]})
    return True


def reorder_stages(pipeline: Pipeline, ordered_ids: list[int]) -> bool:
    """Puts the pipeline's open stages in the posted order (a drag in the settings). Every id must be
    an open stage of this pipeline (anything else raises LookupError, a 404); an open stage not
    posted keeps its place after the posted ones. Returns whether anything changed."""
    stages = stages_of(pipeline.id)
    open_stages = {stage.id: stage for stage in stages if stage.kind == OPEN}
    if any(stage_id not in open_stages for stage_id in ordered_ids):
        raise LookupError("not an open stage of this pipeline")
    posted = list(dict.fromkeys(ordered_ids))
    ordered = [open_stages[i] for i in posted] + [s for s in open_stages.values() if s.id not in posted]
    before = {stage.id: stage.position for stage in stages}
    _renumber(ordered + [s for s in stages if s.kind != OPEN])
    moved = [stage for stage in stages if stage.position != before[stage.id]]
    for stage in moved:
        audit.record("stage.moved", "stage", stage.id, {"position": [before[stage.id], stage.position]})
    return bool(moved)


def delete_stage(stage: Stage, target: Stage | None, member_id: int | None) -> int:
    """Removes an open stage, first moving its deals to the end of ``target`` (another open stage
    of the same pipeline) with a stage-history row each, as a move on the board writes. Returns the
    number of deals moved.

    History rows cannot point at a stage that is gone (foreign keys): the rows of deals entering
    the removed stage are dropped and rows leaving it no longer say where from. The deals' history
    keeps every stage that still exists.
    """
    if stage.kind != OPEN:
        raise PipelineInUse(_("Won and Lost stages can be renamed but not removed."))
    stages = stages_of(stage.pipeline_id)
    if sum(1 for s in stages if s.kind == OPEN) <= 1:
        raise PipelineInUse(_("A pipeline keeps at least one open stage."))
    deals = list(db.session.scalars(
        sa.select(Deal).where(Deal.stage_id == stage.id).order_by(Deal.position, Deal.id)
    ))  # fmt: skip
    others = [s for s in stages if s.kind == OPEN and s.id != stage.id]
    if target is None and not any(deal.deleted_at is None for deal in deals):
        target = others[0]  # deals in the trash only: they need a stage, nobody sees which
    if deals and (target is None or target not in others):
        raise DealError(_("Choose the stage that receives its deals."), "target")
    if deals:
        last = db.session.scalar(sa.select(sa.func.max(Deal.position)).where(Deal.stage_id == target.id))
        start, now = (0 if last is None else last + 1), utcnow()
        for offset, deal in enumerate(deals):
            deal.stage_id, deal.position, deal.stage_entered_at = target.id, start + offset, now
            db.session.add(DealStageChange(deal_id=deal.id, from_stage_id=stage.id, to_stage_id=target.id, at=now,
                                           by_id=member_id))  # fmt: skip
            if deal.deleted_at is None:
                audit.record("deal.moved", "deal", deal.id, {"stage_id": [stage.id, target.id]})
        db.session.flush()
    db.session.execute(sa.delete(DealStageChange).where(DealStageChange.to_stage_id == stage.id))
    db.session.execute(
        sa.update(DealStageChange).where(DealStageChange.from_stage_id == stage.id).values(from_stage_id=None)
    )
    changes = {field: [getattr(stage, field), None] for field in STAGE_FIELDS}
    if deals:
        changes["moved_deals_to"] = [None, target.id]
    audit.record("stage.deleted", "stage", stage.id, changes)
    db.session.delete(stage)
    db.session.flush()
    _renumber([s for s in stages if s.id != stage.id])
    return len([deal for deal in deals if deal.deleted_at is None])
