"""Parsing an import file in a second (forked) process while this one writes: the outcome is the
one of parsing here, row for row, in the importer's language; a parser that dies or fails is
handled. The helpers (upload, check) are those of test_imports. The test process has threads (the
test mail server), which make the runner parse here; the tests let it fork all the same."""

import os

import pytest
import sqlalchemy as sa

from crm.auth.models import User
from crm.contacts.models import Contact, ContactIdentity, ContactTag, Tag
from crm.extensions import db
from crm.imports import parsing, runner
from crm.imports.models import ImportProblem
from crm.tenancy import CrossWorkspaceWrite, workspace_scope
from tests.conftest import post
from tests.factories import make_contact
from tests.test_imports import check, import_id_of, imports_url, job_of, upload

ROWS = (
    "姓名,邮箱,手机,公司,标签,生日\n"
    "王小明,Wang@Example.com,+86 138 0013 8000,上海贸易,vip; 展会,1990-05-01\n"
    "Ann Lee,ann@example.com,,Acme Ltd,,3/4/1985\n"
    "Bad Mail,not-an-email,,,,\n"
    ",nameless@example.com,,,,\n"
    "Wang Again,wang@example.com,,,,\n"
    "Bad Date,bd@example.com,,,,31/31/2020\n"
    "Bad Phone,bp@example.com,12,,,\n"
) + "".join(f"Person {n},p{n}@example.com,+1 415 555 {n:04d},Co {n % 3},t{n % 4},\n" for n in range(1, 24))


@pytest.fixture
def forking(monkeypatch):
    """Files of any size are parsed apart, in batches of 4 rows; the parsers started are kept."""
    started = []

    class Apart(parsing._Apart):
        def __init__(self, *args):
            super().__init__(*args)
            started.append(self)

    monkeypatch.setattr(parsing, "_Apart", Apart)
    monkeypatch.setattr(parsing, "APART_FROM_BYTES", 0)
    monkeypatch.setattr(parsing, "can_fork", lambda: True)
    monkeypatch.setattr(runner, "BATCH", 4)
    return started


def _import(app, client, auth, ws, text: str = ROWS) -> int:
    with app.app_context():
        db.session.get(User, ws.user_id).locale = "zh_Hans"  # the reasons are written in the importer's language
        db.session.commit()
    auth.login(ws.email, ws.password)
    import_id = import_id_of(upload(client, ws, text))
    check(client, app, ws, import_id)
    post(client, imports_url(ws, f"{import_id}/run"), {})
    auth.logout()
    return import_id


def _outcome(app, ws, import_id: int) -> dict:
    job = job_of(app, ws, import_id)
    with app.app_context(), workspace_scope(ws.id):
        problems = db.session.execute(
            sa.select(ImportProblem.line, ImportProblem.kind, ImportProblem.column, ImportProblem.reason)
            .where(ImportProblem.import_id == import_id).order_by(ImportProblem.line, ImportProblem.id)
        ).all()  # fmt: skip
        contacts = db.session.scalars(sa.select(Contact).where(Contact.deleted_at.is_(None)).order_by(Contact.id))
        saved = [(c.name, c.emails, c.phones, c.birthday, c.search_text, c.company.name if c.company else None,
                  sorted(tag.name for tag in c.tags)) for c in contacts]  # fmt: skip
        identities = db.session.execute(
            sa.select(ContactIdentity.kind, ContactIdentity.value).order_by(ContactIdentity.value)
        ).all()
    counts = (job.status, job.rows_total, job.rows_done, job.created_count, job.updated_count, job.skipped_count,
              job.invalid_count, job.companies_created)  # fmt: skip
    return {"counts": counts, "problems": problems, "contacts": saved, "identities": identities}


def test_parsing_apart_gives_what_parsing_here_gives(app, client, auth, ws_a, ws_b, monkeypatch, forking):
    apart = _outcome(app, ws_a, _import(app, client, auth, ws_a))
    assert len(forking) == 2 and all(parser.child.exitcode == 0 for parser in forking)  # the dry run and the import
    monkeypatch.setattr(parsing, "APART_FROM_BYTES", 1 << 40)
    here = _outcome(app, ws_b, _import(app, client, auth, ws_b))
    assert len(forking) == 2
    assert apart == here
    assert apart["counts"] == ("done", 30, 30, 25, 0, 1, 4, 5)
    # Written in the parser process, in the importer's language.
    assert (4, "invalid", "邮箱", "not-an-email 不是有效的电子邮件地址。") in apart["problems"]
    assert (5, "invalid", "姓名", "需要填写姓名。") in apart["problems"]


def test_a_parser_that_dies_leaves_the_rest_to_this_process(app, client, auth, ws_a, monkeypatch, forking):
    def dies_after_one_batch(parse, path, layout, size, sender):
        batch = next(parsing.batched(parsing.rows(path, layout), size))
        sender.send((len(batch), parse(batch)))
        os._exit(3)

    monkeypatch.setattr(parsing, "_child", dies_after_one_batch)
    outcome = _outcome(app, ws_a, _import(app, client, auth, ws_a))
    assert [parser.child.exitcode for parser in forking] == [3, 3]
    assert outcome["counts"] == ("done", 30, 30, 25, 0, 1, 4, 5)
    assert len(outcome["contacts"]) == 25 and len(outcome["problems"]) == 5


def test_an_error_in_the_parser_process_stops_the_check_as_it_would_here(app, client, auth, ws_a, monkeypatch, forking):
    original = runner.Work.parse

    def fails_on_row_10(self, batch):
        if any(line == 10 for line, _cells in batch):
            raise LookupError("no such thing")
        return original(self, batch)

    monkeypatch.setattr(runner.Work, "parse", fails_on_row_10)
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, ROWS))
    check(client, app, ws_a, import_id)
    job = job_of(app, ws_a, import_id)
    assert forking and not forking[0].child.is_alive()
    assert (
        job.status == "uploaded"
        and job.failure == "The check stopped unexpectedly. Try again, or upload the file again."
    )
    assert job.rows_done == 8  # the two batches before the one with row 10


def test_the_bulk_inserts_refuse_shared_values_of_another_workspace(app, ws_a, ws_b):
    from crm.imports.work import insert_rows

    with app.app_context(), workspace_scope(ws_a.id), pytest.raises(CrossWorkspaceWrite):
        insert_rows(Tag, [{"name": "theirs"}], {"workspace_id": ws_b.id})
    with app.app_context(), workspace_scope(ws_b.id):
        assert db.session.scalar(sa.select(sa.func.count(Tag.id))) == 0


def test_identities_and_tag_links_still_cannot_name_another_workspaces_contact(app, ws_a, ws_b):
    """They lost their own key to workspaces (0026); the composite key to contacts still holds."""
    contact_id = make_contact(app, ws_a)
    with app.app_context(), workspace_scope(ws_b.id):
        tag_id = db.session.scalar(sa.insert(Tag).values(workspace_id=ws_b.id, name="vip").returning(Tag.id))
        for table, values in (
            (ContactIdentity, {"kind": "email", "value": "a@example.com"}),
            (ContactTag, {"tag_id": tag_id}),
        ):
            with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
                db.session.execute(sa.insert(table).values(workspace_id=ws_b.id, contact_id=contact_id, **values))
        db.session.rollback()


def test_no_fork_while_another_thread_runs():
    """A job in a thread of the web process parses in that thread: a fork would copy a lock another
    thread holds, locked for ever."""
    import threading

    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert not parsing.can_fork()
    finally:
        release.set()
        other.join()
