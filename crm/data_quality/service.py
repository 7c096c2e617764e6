"""Running a data quality check: every live contact of the bound workspace, read a batch at a time
in id order as plain rows (constant memory), each batch's findings inserted and committed with the
progress. The same ``run_check`` is the background job of the page's button and the work of
`flask crm data-quality`. When a run finishes, the runs before it (and so their findings) go."""

import logging
from collections import Counter
from datetime import timedelta

import sqlalchemy as sa

from crm.contacts.models import Contact
from crm.data_quality.checks import KINDS, STALE_MONTHS, months_before, problems_of
from crm.data_quality.models import DONE, FAILED, RUNNING, DataQualityFinding, DataQualityRun
from crm.db import utcnow
from crm.extensions import db

log = logging.getLogger(__name__)
BATCH = 1000
# A running check that has not moved for this long has died with its process; another may start.
STALLED_AFTER = timedelta(minutes=10)


class AlreadyRunning(RuntimeError):
    """A check of this workspace is running; it is not started twice."""


def running_run() -> DataQualityRun | None:
    statement = sa.select(DataQualityRun).where(DataQualityRun.status == RUNNING).order_by(DataQualityRun.id.desc())
    return db.session.scalars(statement.limit(1)).first()


def stalled(run: DataQualityRun) -> bool:
    return run.status == RUNNING and run.updated_at < utcnow() - STALLED_AFTER


def stopped(run: DataQualityRun) -> bool:
    """Failed, or stalled while running."""
    return run.status == FAILED or stalled(run)


def start_run(user_id: int | None) -> DataQualityRun:
    """A new run of the bound workspace, to be handed to ``run_check`` after the caller commits.
    Raises AlreadyRunning unless the running one has stalled. A failed or stalled run is removed
    (with what it found), so the workspace keeps at most its last finished run and one other."""
    current = running_run()
    if current is not None and not stalled(current):
        raise AlreadyRunning
    db.session.execute(sa.delete(DataQualityRun).where(DataQualityRun.status != DONE))
    run = DataQualityRun(status=RUNNING, user_id=user_id, counts={})
    db.session.add(run)
    db.session.flush()
    return run


def run_check(run_id: int) -> None:
    """The check itself (a job: crm.jobs.enqueue, or called by the CLI), in the bound workspace."""
    run = db.session.get(DataQualityRun, run_id)
    if run is None or run.status != RUNNING:
        return  # already handled
    try:
        _check(run)
    except Exception as error:
        db.session.rollback()
        _fail(run_id, error)
        raise


def _live_contacts():
    return sa.select(Contact.id).where(Contact.deleted_at.is_(None))


def _check(run: DataQualityRun) -> None:
    started = utcnow()
    run.contacts_total = db.session.scalar(sa.select(sa.func.count()).select_from(_live_contacts().subquery()))
    db.session.commit()
    stale_before = months_before(started, STALE_MONTHS)
    counts: Counter = Counter()
    statement = sa.select(Contact.id, Contact.name, Contact.emails, Contact.phones, Contact.last_activity_at,
                          Contact.last_purchase_at, Contact.updated_at).where(Contact.deleted_at.is_(None))  # fmt: skip
    after = 0
    while batch := db.session.execute(statement.where(Contact.id > after).order_by(Contact.id).limit(BATCH)).all():
        findings = [
            {"workspace_id": run.workspace_id, "run_id": run.id, "contact_id": row.id, "kind": kind, "detail": detail}
            for row in batch
            for kind, detail in problems_of(row, stale_before)
        ]
        if findings:
            db.session.execute(sa.insert(DataQualityFinding), findings)
        counts.update(finding["kind"] for finding in findings)
        run.contacts_checked += len(batch)
        db.session.commit()
        after = batch[-1].id
    run.counts = {kind: counts[kind] for kind in KINDS}
    run.status, run.finished_at = DONE, utcnow()
    db.session.execute(sa.delete(DataQualityRun).where(DataQualityRun.id < run.id))
    db.session.commit()


def _fail(run_id: int, error: Exception) -> None:
    """A failed run keeps no findings; the report of the run before it stays on the page, which says
    the last check stopped (``failure`` is for whoever reads the database, not shown)."""
    db.session.execute(sa.delete(DataQualityFinding).where(DataQualityFinding.run_id == run_id))
    run = db.session.get(DataQualityRun, run_id)
    if run is not None:
        run.status, run.finished_at, run.failure = FAILED, utcnow(), repr(error)[:1000]
    db.session.commit()


def check_every_workspace(slug: str | None = None) -> list[tuple[str, str, dict]]:
    """``flask crm data-quality``: each workspace (or the one named by ``slug``) in its own
    transactions; (name, status, counts) for each: "done", "running" (one was already running:
    left alone) or "failed" (logged; the other workspaces are still checked)."""
    from crm.tenancy import ALL_WORKSPACES, workspace_scope
    from crm.workspaces.models import Workspace

    statement = sa.select(Workspace.id, Workspace.name).order_by(Workspace.id).execution_options(**ALL_WORKSPACES)
    if slug is not None:
        statement = statement.where(Workspace.slug == slug)
    results = []
    for workspace_id, name in db.session.execute(statement).all():
        with workspace_scope(workspace_id):
            try:
                run = start_run(None)
                db.session.commit()
                run_check(run.id)
            except AlreadyRunning:
                db.session.rollback()
                results.append((name, RUNNING, {}))
            except Exception:
                db.session.rollback()
                log.exception("data quality check of workspace %s failed", workspace_id)
                results.append((name, FAILED, {}))
            else:
                results.append((name, DONE, dict(run.counts)))
    return results
