"""Background jobs in both modes: in-process (the embedded default) and RQ on the Redis server of
this machine (127.0.0.1:6379, database 15). A missing Redis fails these tests; it never skips."""

import re

import pytest
import sqlalchemy as sa
from redis import Redis
from rq import SimpleWorker

from crm import create_app
from crm.extensions import db
from crm.jobs import enqueue, queue
from crm.notes.models import Note
from crm.tenancy import workspace_scope
from tests import tasks
from tests.conftest import app_config, post

REDIS_URL = "redis://127.0.0.1:6379/15"


def notes_of(app, ws) -> list[str]:
    with app.app_context(), workspace_scope(ws.id):
        return list(db.session.scalars(sa.select(Note.body)))


@pytest.fixture
def redis_app(app, smtp_server):
    Redis.from_url(REDIS_URL).flushdb()
    config = {
        **app_config(app.config["SQLALCHEMY_DATABASE_URI"], smtp_server.port),
        "REDIS_URL": REDIS_URL,
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "CHECK_DATABASE_ROLE": False,
    }
    yield create_app(config)
    Redis.from_url(REDIS_URL).flushdb()


def run_worker(app) -> None:
    with app.app_context():
        jobs = queue(app.config["REDIS_URL"])
        SimpleWorker([jobs], connection=jobs.connection).work(burst=True)


def test_in_process_job_runs_at_once_in_the_given_workspace(app, ws_a, ws_b):
    with app.app_context():
        enqueue(tasks.add_note, ws_a.id, ws_a.membership_id, "from a job")
    assert notes_of(app, ws_a) == ["from a job"]
    assert notes_of(app, ws_b) == []


def test_in_process_job_does_not_share_the_callers_session(app, ws_a, ws_b):
    with app.app_context(), workspace_scope(ws_b.id):
        enqueue(tasks.add_note, ws_a.id, ws_a.membership_id, "isolated")
        assert db.session.scalar(sa.select(sa.func.count(Note.id))) == 0
    assert notes_of(app, ws_a) == ["isolated"]


def test_redis_job_waits_for_a_worker_then_runs_in_the_given_workspace(redis_app, app, ws_a, ws_b):
    with redis_app.app_context():
        enqueue(tasks.add_note, ws_a.id, ws_a.membership_id, "via redis")
        assert queue(REDIS_URL).count == 1
    assert notes_of(app, ws_a) == []
    run_worker(redis_app)
    assert notes_of(app, ws_a) == ["via redis"]
    assert notes_of(app, ws_b) == []
    assert queue(REDIS_URL).count == 0


def test_password_reset_mail_goes_through_the_worker(redis_app, mailbox, ws_a):
    client = redis_app.test_client()
    post(client, "/password/forgot", {"email": ws_a.email})
    assert mailbox.messages == []
    run_worker(redis_app)
    assert len(mailbox.messages) == 1
    assert re.search(r"/password/reset/\S+", mailbox.messages[0].get_body(("plain",)).get_content())


def test_rate_limits_are_kept_in_redis(redis_app, ws_a):
    client = redis_app.test_client()
    statuses = [post(client, "/login", {"email": ws_a.email, "password": "wrong"}).status_code for _ in range(11)]
    assert statuses[-1] == 429
    keys = Redis.from_url(REDIS_URL).keys("*")
    assert any(b"/login" in key for key in keys), keys


def test_a_bulk_change_too_large_for_a_request_goes_through_the_worker(redis_app, app, ws_a, monkeypatch):
    from crm.audit.models import AuditEntry
    from crm.contacts.models import Contact
    from tests.factories import make_contact

    fair = [make_contact(app, ws_a, f"Fair {number}", tags=["fair"]) for number in range(3)]
    monkeypatch.setattr("crm.contacts.bulk.MAX_AT_ONCE", 2)
    client = redis_app.test_client()
    post(client, "/login", {"email": ws_a.email, "password": ws_a.password})
    response = post(client, f"/w/{ws_a.slug}/contacts/bulk", {"scope": "all", "tag": "fair", "action": "delete"})
    assert response.status_code == 303 and queue(REDIS_URL).count == 1

    def trashed() -> list[bool]:
        with app.app_context(), workspace_scope(ws_a.id):
            return [db.session.get(Contact, contact_id).deleted_at is not None for contact_id in fair]

    assert trashed() == [False] * 3  # waits for the worker
    run_worker(redis_app)
    assert trashed() == [True] * 3
    with app.app_context(), workspace_scope(ws_a.id):
        actors = set(db.session.scalars(sa.select(AuditEntry.actor_id).where(AuditEntry.action == "contact.deleted")))
    assert actors == {ws_a.user_id}
