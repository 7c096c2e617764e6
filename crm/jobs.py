"""Background jobs: in-process by default, RQ workers on Redis when REDIS_URL is set.

A task is a plain module-level function. The workspace id is always passed explicitly (None for
account-level tasks such as password-reset mail) and the task runs in a fresh app context bound
to it, so a job never inherits the binding or identity map of whoever queued it.
"""

import importlib
import logging
from collections.abc import Callable

from flask import Flask, current_app, has_app_context
from redis import Redis
from rq import Queue

from crm.extensions import db
from crm.tenancy import bind_workspace

log = logging.getLogger(__name__)
QUEUE_NAME = "kehu"


def enqueue(task: Callable, workspace_id: int | None, *args) -> None:
    path = f"{task.__module__}:{task.__qualname__}"
    if current_app.config["REDIS_URL"]:
        queue(current_app.config["REDIS_URL"]).enqueue(run_task, path, workspace_id, args)
        return
    try:
        _run(current_app._get_current_object(), path, workspace_id, args)
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
