"""Classifying every customer of a workspace again as a run that Settings -> Customer tiers follows
(``ClassificationRun``): after the rules are saved (in the request for a small workspace, else as a
job through crm.jobs) and nightly (`flask crm recompute`).

As bulk changes do (crm/contacts/bulk_jobs.py), a run commits each batch with how far it has got,
and a unique index over the running ones holds one per workspace. Rules saved again while a run goes
on start no second one: the running run is told to start over (``again``), which it does after the
batch at hand, so two runs never write the same customers at once and everyone ends up classified
by the rules saved last. A run keeps the money cut-offs it worked out for the rules given as shares,
for the page to show without computing percentiles."""

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_datetime, format_time

from crm.contacts import classification
from crm.contacts.bulk_jobs import QUEUED_AT_MOST, STALLED_AFTER
from crm.contacts.models import ClassificationRun, Contact
from crm.db import utcnow
from crm.extensions import db
from crm.i18n import in_zone

log = logging.getLogger(__name__)
RUNNING, DONE, FAILED = "running", "done", "failed"
SHARE_KEYS = ("tier_a", "tier_b", "tier_c", "vip_value")  # the order the page lists cut-offs in
INLINE_LIMIT = 2000  # live customers with purchases classified during a request; more go to a job


class StartOver(Exception):
    """The rules were saved again while the run went on."""


def running() -> ClassificationRun | None:
    return db.session.scalar(sa.select(ClassificationRun).where(ClassificationRun.status == RUNNING))


def stalled(run: ClassificationRun) -> bool:
    """Running, yet silent for too long: its thread died with its process (a batch of 1,000 takes well
    under a second: bench/classify.py). An RQ job not started yet may be queued behind others, up to
    crm.jobs.JOB_TIMEOUT."""
    if run.status != RUNNING:
        return False
    queued = run.total is None and current_app.config["REDIS_URL"]
    return run.updated_at < utcnow() - (QUEUED_AT_MOST if queued else STALLED_AFTER)


def request_run(user_id: int | None) -> ClassificationRun | None:
    """Asks for the bound workspace's customers to be classified again, in transactions of its own:
    a new run, committed, for the caller to hand to ``run``; or None when one already runs, which
    has been told to start over (with the rules as they now are). A run that died is marked failed
    and a new one takes its place."""
    for _attempt in range(3):
        current = running()
        if current is not None and not stalled(current):
            told = db.session.execute(
                sa.update(ClassificationRun)
                .where(ClassificationRun.id == current.id, ClassificationRun.status == RUNNING)
                .values(again=True, updated_at=ClassificationRun.updated_at)  # not a sign of life
                .execution_options(synchronize_session=False)
            )
            db.session.commit()
            if told.rowcount:
                return None
            continue  # it ended in the meantime: start another
        if current is not None:
            current.status, current.finished_at = FAILED, utcnow()
        new = ClassificationRun(user_id=user_id, status=RUNNING, done=0, changed=0, again=False)
        db.session.add(new)
        try:
            db.session.commit()
        except sa.exc.IntegrityError:  # another request started one since the look: tell that one
            db.session.rollback()
            continue
        return new
    raise RuntimeError("no classification run could be started or joined")


def live_buyers() -> int:
    """The bound workspace's live customers with purchases: what a run goes through."""
    statement = sa.select(sa.func.count()).select_from(Contact)
    return db.session.scalar(statement.where(Contact.deleted_at.is_(None), Contact.last_purchase_at.isnot(None)))


def run(run_id: int) -> None:
    """The run itself (a job: crm.jobs.enqueue; or called in the request or by the command), in the
    bound workspace. Each batch is committed with the progress; told to start over, it does."""
    from crm.workspaces.models import Workspace

    current = db.session.get(ClassificationRun, run_id)
    if current is None or current.status != RUNNING:
        return  # already ended (marked failed as dead)
    workspace = db.session.get(Workspace, current.workspace_id)
    try:
        while True:
            # Told to start over before this point: these rules are read after it (commit first).
            _set(run_id, again=False, done=0, total=None, changed=0)
            db.session.commit()
            try:
                changed = classification.reclassify_all(
                    workspace, classification.today_in(workspace), _progress_of(run_id, workspace)
                )
            except StartOver:
                continue
            finished = _set(run_id, ClassificationRun.again.is_(False), status=DONE, finished_at=utcnow(),
                            changed=changed)  # fmt: skip
            if finished.rowcount:
                # The workspace keeps its latest finished run (its cut-offs), and a running one.
                older = sa.delete(ClassificationRun).where(ClassificationRun.id < run_id)
                db.session.execute(older.execution_options(synchronize_session=False))
                db.session.commit()
                return
            db.session.commit()  # told to start over as it finished
    except Exception:
        db.session.rollback()  # the batches committed so far stay
        _set(run_id, status=FAILED, finished_at=utcnow())
        db.session.commit()
        raise


def _progress_of(run_id: int, workspace):
    def progress(done: int, total: int, changed: int) -> None:
        values = {"done": done, "total": total, "changed": changed}
        if done == 0:  # the cut-offs were just worked out; they are committed with the workspace
            values["cutoffs"] = classification.cutoffs_stated(workspace)
        _set(run_id, **values)
        db.session.commit()
        if db.session.scalar(sa.select(ClassificationRun.again).where(ClassificationRun.id == run_id)):
            raise StartOver

    return progress


def _set(run_id: int, *where, **values):
    statement = sa.update(ClassificationRun).where(ClassificationRun.id == run_id, *where)
    return db.session.execute(statement.values(updated_at=utcnow(), **values).execution_options(
        synchronize_session=False))  # fmt: skip


def give_up(run_id: int) -> None:
    """A run that could not be queued (Redis down) is failed at once, not left to look dead."""
    _set(run_id, status=FAILED, finished_at=utcnow())
    db.session.commit()


@dataclass(frozen=True)
class Cutoff:
    key: str  # tier_a, tier_b, tier_c or vip_value
    top: int  # the share, in %
    amount: float | None  # None: nobody bought in the last 12 months


@dataclass(frozen=True)
class Panel:
    """What the tiers page shows of the classification (contacts/_tier_run.html)."""

    run: ClassificationRun | None  # the latest
    stalled: bool
    finished_when: str | None  # when done: the time (today) or the day and time
    cutoffs: list[Cutoff]  # of the rules given as shares, in use now
    cutoffs_pending: list[str]  # share rules whose cut-off is worked out at the next run


def panel(workspace) -> Panel:
    """The latest run, and the cut-offs in use: those of the latest run that worked them out (one
    query for both), or before any run kept them, those stored on the workspace."""
    runs = list(db.session.scalars(sa.select(ClassificationRun).order_by(ClassificationRun.id.desc()).limit(2)))
    latest = runs[0] if runs else None
    worked_out = next((run.cutoffs for run in runs if run.total is not None and run.cutoffs is not None), None)
    if worked_out is None and not runs:
        worked_out = classification.cutoffs_stated(workspace)
    worked_out = worked_out or {}
    by_share = classification.cutoffs_stated(workspace)  # the rules as they stand say which to show
    cutoffs = [Cutoff(key, worked_out[key]["top"], worked_out[key]["from"]) for key in SHARE_KEYS
               if key in by_share and key in worked_out]  # fmt: skip
    pending = [key for key in SHARE_KEYS if key in by_share and key not in worked_out]
    finished_when = None
    if latest is not None and latest.status == DONE:
        local = in_zone(latest.finished_at, workspace.timezone)
        today = classification.today_in(workspace)
        finished_when = format_time(local, "short") if local.date() == today else format_datetime(local, "short")
    return Panel(latest, stalled(latest) if latest else False, finished_when, cutoffs, pending)


def classify_every_workspace() -> list[tuple[str, int | None]]:
    """``flask crm recompute``: each workspace in a run of its own, on its own "today"; (name, how
    many customers changed class), or None where a run was already going on (told to start over)."""
    from crm.tenancy import ALL_WORKSPACES, workspace_scope
    from crm.workspaces.models import Workspace

    statement = sa.select(Workspace.id, Workspace.name).order_by(Workspace.id).execution_options(**ALL_WORKSPACES)
    results = []
    for workspace_id, name in db.session.execute(statement).all():
        with workspace_scope(workspace_id):
            started = request_run(None)
            if started is not None:
                run(started.id)
            results.append((name, None if started is None else db.session.get(ClassificationRun, started.id).changed))
    return results
