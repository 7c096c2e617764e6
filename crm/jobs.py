"""Background jobs: RQ workers on Redis when REDIS_URL is set; otherwise in-process, in a thread
of the web process (JOBS_INLINE: in the request itself, as tests do). A thread dies with its
worker process, so production with long jobs (imports) should run RQ workers.

A task is a plain module-level function. The workspace id is always passed explicitly (None for
account-level tasks such as password-reset mail) and the task runs in a fresh app context bound
to it, so a job never inherits the binding or identity map of whoever queued it.
"""

import importlib
import logging
import threading
from collections.abc import Callable

from flask import Flask, current_app, has_app_context
from redis import Redis
from rq import Queue

from crm.extensions import db
from crm.tenancy import bind_workspace

log = logging.getLogger(__name__)
QUEUE_NAME = "kehu"
JOB_TIMEOUT = 60 * 60  # a 50 MB import takes minutes, not an hour


def enqueue(task: Callable, workspace_id: int | None, *args) -> None:
    path = f"{task.__module__}:{task.__qualname__}"
    if current_app.config["REDIS_URL"]:
        queue(current_app.config["REDIS_URL"]).enqueue(run_task, path, workspace_id, args, job_timeout=JOB_TIMEOUT)
        return
    app = current_app._get_current_object()
    if app.config["JOBS_INLINE"]:
        _run_logged(app, path, workspace_id, args)
    else:
        threading.Thread(target=_run_logged, args=(app, path, workspace_id, args), daemon=True).start()


def _run_logged(app: Flask, path: str, workspace_id: int | None, args: tuple) -> None:
    try:
        _run(app, path, workspace_id, args)
    except Exception:
        # Same contract as a worker: a failed job is logged, it does not fail the request.
        log.exception("in-process job %s failed", path)


def queue(redis_url: str) -> Queue:
    return Queue(QUEUE_NAME, connection=Redis.from_url(redis_url))


def run_task(path: str, workspace_id: int | None, args: tuple) -> None:
    """Entry point of RQ jobs."""
    app = current_app._get_current_object() if has_app_context() else _worker_app()
    _run(app, path, workspace_id, args)


def _run(app: Flask, path: str, workspace_id: int | None, args: tuple) -> None:
    module_name, _, name = path.partition(":")
    task = getattr(importlib.import_module(module_name), name)
    with app.app_context():
        if workspace_id is not None:
            bind_workspace(workspace_id)
        try:
            task(*args)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise


_app: Flask | None = None


def _worker_app() -> Flask:
    global _app
    if _app is None:
        from crm import create_app

        _app = create_app()
    return _app
