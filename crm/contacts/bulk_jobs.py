"""Bulk changes larger than one request makes (more than ``bulk.MAX_AT_ONCE`` records: "all
matching" on a large workspace, or a whole trash tab), run as a job (crm.jobs): the same set-based
batches, each committed as it is done, audited as the member who asked. The job selects again what
the list's state selects, within that member's record scope; the permission was checked when it
was asked. Its ``BulkJob`` row says how far it has got, for the panel that follows it (``panel``)."""

import logging
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, g, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from crm.auth.models import User
from crm.billing.limits import LimitError
from crm.contacts import bulk, trash
from crm.contacts.company_list import CompanyListState, matching_companies
from crm.contacts.list_view import ListState
from crm.contacts.models import BulkJob, Company, Contact
from crm.contacts.queries import matching_contacts
from crm.custom_fields import service as custom_fields
from crm.db import utcnow
from crm.extensions import db
from crm.jobs import JOB_TIMEOUT, enqueue
from crm.workspaces.models import Membership, Workspace

log = logging.getLogger(__name__)
RUNNING, DONE, FAILED = "running", "done", "failed"
# A batch of 1,000 takes about a second (bench/bulk.py); a job silent for this long has died with
# its process (a thread of the web process, without REDIS_URL: crm/jobs.py).
STALLED_AFTER = timedelta(minutes=2)
KEPT_FOR = timedelta(days=30)  # ended jobs are forgotten after this (their changes are in the audit log)
QUEUED_AT_MOST = timedelta(seconds=JOB_TIMEOUT) + STALLED_AFTER
TRASH_TABS = {"trash:contacts": Contact, "trash:companies": Company}
FOLLOWED = "bulk_jobs"  # the session's {list name: [workspace id, job id]}: the member's latest change of each list


def start(list_name: str, action: str, state_args: dict, value) -> BulkJob:
    """Queues ``action`` on all that ``state_args`` selects in ``list_name`` ("contacts",
    "companies", or "trash:contacts"/"trash:companies" for restoring a whole tab). The job's row is
    committed first, so that the job and the panel find it. ``BulkError`` while the member's last
    change of this list still goes on (a second would take the panel from the first, and both would
    change the same records), or when the job cannot be queued."""
    _end_stalled_or_refuse(list_name)
    job = BulkJob(membership_id=g.membership.id, user_id=current_user.id, list_name=list_name, action=action,
                  state_args=state_args, value=value, status=RUNNING, done=0)  # fmt: skip
    _forget_old_jobs()
    db.session.add(job)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:  # another request of the member's started one since the check
        db.session.rollback()
        raise bulk.BulkError(_still_running()) from None
    try:
        enqueue(run, g.workspace.id, job.id)
    except Exception:  # Redis unreachable: the job would never run
        log.exception("bulk job %s could not be queued", job.id)
        db.session.delete(job)
        db.session.commit()
        raise bulk.BulkError(_("The change could not be started in the background: nothing was changed. Try again "
                               "in a moment.")) from None  # fmt: skip
    _set_followed(list_name, [g.workspace.id, job.id])
    db.session.expire(job)  # read again when shown: the job may have got on (or ended, run inline)
    return job


def _still_running() -> str:
    return _("A change of this list still goes on in the background: wait for its end, then ask again.")


def _end_stalled_or_refuse(list_name: str) -> None:
    """A running job of the member's on this list refuses the new one, unless it has died (then it
    is marked failed: it says so on its panel, and the new one may take its place)."""
    running = sa.select(BulkJob).where(BulkJob.membership_id == g.membership.id, BulkJob.list_name == list_name,
                                       BulkJob.status == RUNNING)  # fmt: skip
    for job in db.session.scalars(running):
        if not stalled(job):
            raise bulk.BulkError(_still_running())
        job.status, job.failure, job.finished_at = FAILED, "error", utcnow()
    db.session.flush()


def _forget_old_jobs() -> None:
    ended_long_ago = BulkJob.finished_at < utcnow() - KEPT_FOR
    db.session.execute(sa.delete(BulkJob).where(ended_long_ago).execution_options(synchronize_session=False))


def run(job_id: int) -> None:
    job = db.session.get(BulkJob, job_id)
    member = db.session.get(Membership, job.membership_id)
    g.workspace = db.session.get(Workspace, member.workspace_id)  # its zone, for "Automatic" levels
    g.audit_actor = db.session.get(User, job.user_id) if job.user_id else None
    model = TRASH_TABS.get(job.list_name)  # restoring a whole tab of the trash
    restored: list[int] = []
    try:
        if model is None:
            changed = _apply(job, member, _progress_of(job_id))
        else:
            restored = trash.restore(model, trash.in_trash(model, member), g.workspace, _progress_of(job_id))
            changed = len(restored)
    except LimitError:  # restored contacts would not fit the plan (it changed since): none restored
        db.session.rollback()
        _finish(job_id, FAILED, failure="limit")
        return
    except Exception:
        db.session.rollback()  # the batches committed so far stay
        _finish(job_id, FAILED, failure="error")
        raise
    _finish(job_id, DONE, changed=changed)
    if model is not None:
        trash.look_for_duplicates(model, restored, g.workspace.id)


def _apply(job: BulkJob, member: Membership, progress) -> int:
    """A change of the contacts or the companies list (the trash's restore is ``run``'s own)."""
    args = MultiDict([(key, item) for key, value in job.state_args.items()
                      for item in (value if isinstance(value, list) else [value])])  # fmt: skip
    if job.list_name == "contacts":
        return bulk.apply(job.action, matching_contacts(ListState.from_args(args), member), job.value, progress)
    definitions = custom_fields.definitions(g.workspace, "company")  # "companies"
    statement = matching_companies(CompanyListState.from_args(args), member, definitions, g.workspace.timezone)
    return bulk.apply_to_companies(job.action, statement, job.value, progress)


def _progress_of(job_id: int):
    """Commits each batch with how far the job has got."""

    def progress(done: int, total: int) -> None:
        _set(job_id, done=done, total=total)
        db.session.commit()

    return progress


def _finish(job_id: int, status: str, **values) -> None:
    _set(job_id, status=status, finished_at=utcnow(), **values)
    db.session.commit()


def _set(job_id: int, **values) -> None:
    statement = sa.update(BulkJob).where(BulkJob.id == job_id).values(updated_at=utcnow(), **values)
    db.session.execute(statement.execution_options(synchronize_session=False))


def stalled(job: BulkJob) -> bool:
    """Running, yet silent for too long. An RQ job that has not started may be queued behind others
    (an import, up to crm.jobs.JOB_TIMEOUT), not longer; a thread starts at once."""
    if job.status != RUNNING:
        return False
    queued = job.total is None and current_app.config["REDIS_URL"]
    return job.updated_at < utcnow() - (QUEUED_AT_MOST if queued else STALLED_AFTER)


def list_url(job: BulkJob) -> str:
    """The list the job changes, as it was when the change was asked for."""
    if job.list_name.startswith("trash:"):
        return url_for("ws.trash.index", kind=job.list_name.removeprefix("trash:"))
    endpoint = "ws.contacts.index" if job.list_name == "contacts" else "ws.companies.index"
    return url_for(endpoint, **job.state_args)


@dataclass(frozen=True)
class Panel:
    """What the job's panel shows (contacts/_bulk_job.html)."""

    job: BulkJob
    stalled: bool
    list_url: str
    label: str  # the action, as the bar names it
    noun: str  # "contacts" or "companies"
    done_text: str | None  # when done: what it did


def panel(job: BulkJob, oob: bool = False) -> str:
    """The job's progress panel: polled while the job runs; then what it did, or where it stopped."""
    return render_template("contacts/_bulk_job.html", oob=oob, announce=True, job_panel=panel_of(job))


def panel_of(job: BulkJob) -> Panel:
    done_text = bulk.done_message(job.list_name, job.action, job.changed or 0) if job.status == DONE else None
    noun = "contacts" if job.list_name.endswith("contacts") else "companies"
    return Panel(job, stalled(job), list_url(job), _label(job), noun, done_text)


def own_job(job_id: int) -> BulkJob | None:
    """A job the signed-in member asked for (the tenancy wall keeps it to the workspace)."""
    return db.session.scalar(sa.select(BulkJob).where(BulkJob.id == job_id, BulkJob.membership_id == g.membership.id))


def followed_panel(list_name: str) -> Panel | None:
    """The panel of the member's latest background change on this list, for the list's page: while
    it runs, and once more after it has ended, so that a reload of the list keeps following it. The
    session remembers it (``start``): a page with none to follow makes no query for it."""
    kept = _followed().get(list_name)
    if kept is None or kept[0] != g.workspace.id:
        return None
    job = own_job(kept[1])
    if job is None:
        _set_followed(list_name, None)
        return None
    seen_ended(job)
    return panel_of(job)


def seen_ended(job: BulkJob) -> None:
    """Once its end has been shown, the job is no longer followed (a newer one of its list still is)."""
    if (job.status != RUNNING or stalled(job)) and _followed().get(job.list_name) == [job.workspace_id, job.id]:
        _set_followed(job.list_name, None)


def _followed() -> dict[str, list[int]]:
    """The session's {list name: [workspace id, job id]}; anything else there is ignored."""
    kept = session.get(FOLLOWED)
    if not isinstance(kept, dict):
        return {}
    return {name: pair for name, pair in kept.items()
            if isinstance(pair, list) and len(pair) == 2 and all(isinstance(i, int) for i in pair)}  # fmt: skip


def _set_followed(list_name: str, pair: list[int] | None) -> None:
    followed = {name: kept for name, kept in _followed().items() if name != list_name}
    if pair is not None:
        followed[list_name] = pair
    session[FOLLOWED] = followed


def _label(job: BulkJob) -> str:
    if job.list_name.startswith("trash:"):
        return _("Restore")
    actions = bulk.ACTIONS if job.list_name == "contacts" else bulk.COMPANY_ACTIONS
    return str(actions[job.action][0]) if job.action in actions else job.action
