"""One import writes in a workspace at a time: two imports of the same file run together each
matched its rows against the contacts before either wrote, and both created them. A second import
is refused while one runs (unless that one has died), a double-clicked Import starts one job, and the
database refuses a second running import even when two requests passed the look at once."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.db import utcnow
from crm.extensions import db
from crm.imports.models import Import
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import make_workspace
from tests.test_imports import check, contacts_of, import_id_of, imports_url, job_of, upload

FILE = "Name,Email\nAnn Lee,ann@example.com\nBo Chen,bo@example.com\n"
REFUSED = "Another import is running in this workspace. Try again when it has ended."


def checked_twice(client, app, ws) -> list[int]:
    """The same file uploaded and checked twice: both dry runs count two new contacts."""
    ids = []
    for _ in range(2):
        import_id = import_id_of(upload(client, ws, FILE))
        check(client, app, ws, import_id)
        ids.append(import_id)
    return ids


def set_status(app, ws, import_id: int, status: str, silent_for: timedelta | None = None) -> None:
    with app.app_context(), workspace_scope(ws.id):
        db.session.execute(sa.update(Import).where(Import.id == import_id).values(status=status))
        if silent_for:
            db.session.execute(sa.update(Import).where(Import.id == import_id).values(updated_at=utcnow() - silent_for))
        db.session.commit()


def run(client, ws, import_id: int):
    return post(client, imports_url(ws, f"{import_id}/run"), {})


def test_a_second_import_waits_until_the_running_one_has_ended(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    first, second = checked_twice(client, app, ws_a)
    set_status(app, ws_a, first, "importing")  # its worker is busy with it
    refused = run(client, ws_a, second)
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert REFUSED in page and "Import 2 contacts" in page  # the button stays, for when the other ends
    assert job_of(app, ws_a, second).status == "checked" and contacts_of(app, ws_a) == {}
    toast = post(client, imports_url(ws_a, f"{second}/run"), {}, headers={"HX-Request": "true"})  # boosted
    assert toast.status_code == 422 and REFUSED in toast.headers["HX-Trigger"]
    set_status(app, ws_a, first, "failed")
    assert run(client, ws_a, second).status_code == 303
    assert job_of(app, ws_a, second).status == "done" and sorted(contacts_of(app, ws_a)) == ["Ann Lee", "Bo Chen"]


def test_another_workspace_s_import_does_not_hold_this_one_up(app, client, auth, ws_a):
    other = make_workspace(app, "Other Co", "owner@other.example.com")
    auth.login(other.email, other.password)
    theirs = checked_twice(client, app, other)[0]
    set_status(app, other, theirs, "importing")
    auth.logout()
    auth.login(ws_a.email, ws_a.password)
    mine = checked_twice(client, app, ws_a)[0]
    assert run(client, ws_a, mine).status_code == 303
    assert sorted(contacts_of(app, ws_a)) == ["Ann Lee", "Bo Chen"]


def test_an_import_that_died_gives_way_and_says_where_it_stopped(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    dead, second = checked_twice(client, app, ws_a)
    set_status(app, ws_a, dead, "importing", silent_for=timedelta(minutes=11))  # its thread ended with a restart
    assert run(client, ws_a, second).status_code == 303
    assert job_of(app, ws_a, second).status == "done" and sorted(contacts_of(app, ws_a)) == ["Ann Lee", "Bo Chen"]
    assert job_of(app, ws_a, dead).status == "failed"
    page = client.get(imports_url(ws_a, str(dead))).get_data(as_text=True)
    assert "The import stopped before the end" in page


def test_two_requests_that_both_passed_the_look_start_one_import(app, client, auth, ws_a, monkeypatch):
    auth.login(ws_a.email, ws_a.password)
    first, second = checked_twice(client, app, ws_a)
    set_status(app, ws_a, first, "importing")
    # As if this request had looked before the first one's start was committed.
    monkeypatch.setattr("crm.imports.routes._another_import_runs", lambda job: False)
    refused = run(client, ws_a, second)
    assert refused.status_code == 422 and REFUSED in refused.get_data(as_text=True)
    assert job_of(app, ws_a, second).status == "checked" and contacts_of(app, ws_a) == {}


def test_a_double_clicked_import_starts_one_job(app, client, auth, ws_a, monkeypatch):
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, FILE))
    check(client, app, ws_a, import_id)
    started = []
    monkeypatch.setattr("crm.imports.routes.enqueue", lambda task, ws, job_id: started.append(job_id))
    from crm.imports import routes

    looked = routes._limit_error

    def the_other_click_starts_it_meanwhile(job):
        set_status(app, ws_a, import_id, "importing")  # committed by the first click's request
        return looked(job)

    monkeypatch.setattr("crm.imports.routes._limit_error", the_other_click_starts_it_meanwhile)
    second_click = run(client, ws_a, import_id)
    assert second_click.status_code == 303 and started == []
    page = client.get(second_click.headers["Location"]).get_data(as_text=True)
    assert "This import has already started." in page


def test_the_database_keeps_one_running_import_per_workspace(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    first, second = checked_twice(client, app, ws_a)
    set_status(app, ws_a, first, "importing")
    with pytest.raises(sa.exc.IntegrityError):
        set_status(app, ws_a, second, "importing")
    set_status(app, ws_a, second, "checking")  # a dry run writes nothing but its counts: it may run alongside
    assert job_of(app, ws_a, second).status == "checking"


def test_two_imports_of_the_same_file_clicked_at_once_create_each_contact_once(app, auth, ws_a, monkeypatch):
    """Two clicks in the same moment, on two imports of the same file: one starts, the other is
    told to wait (by the look for a running import, or by the database when both looked first)."""
    import threading

    from crm.imports import routes
    from tests.conftest import Auth

    clients = [app.test_client(), app.test_client()]
    for each in clients:
        Auth(each).login(ws_a.email, ws_a.password)
    ids = checked_twice(clients[0], app, ws_a)
    both_checked = threading.Barrier(2, timeout=10)
    limit_error = routes._limit_error

    waited = set()

    def check_then_wait(job):
        refusal = limit_error(job)
        if job.id not in waited:  # (a refused request's page checks again)
            waited.add(job.id)
            both_checked.wait()  # both requests have found their import checked and within the plan
        return refusal

    monkeypatch.setattr("crm.imports.routes._limit_error", check_then_wait)
    answers = {}

    def click(each, import_id):
        answers[import_id] = run(each, ws_a, import_id)

    threads = [threading.Thread(target=click, args=pair) for pair in zip(clients, ids, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(answer.status_code for answer in answers.values()) == [303, 422]
    assert sorted(contacts_of(app, ws_a)) == ["Ann Lee", "Bo Chen"]
    assert sorted(job_of(app, ws_a, import_id).status for import_id in ids) == ["checked", "done"]
    refused = next(answer for answer in answers.values() if answer.status_code == 422)
    assert REFUSED in refused.get_data(as_text=True)


def test_a_running_import_s_page_reloads_itself_without_javascript_only(app, client, auth, ws_a):
    from tests.test_pages import assert_valid_page

    auth.login(ws_a.email, ws_a.password)
    first, second = checked_twice(client, app, ws_a)
    reload = '<noscript><meta http-equiv="refresh" content="5"></noscript>'
    for status in ("checking", "importing"):
        set_status(app, ws_a, first, status)
        page = client.get(imports_url(ws_a, str(first))).get_data(as_text=True)
        assert_valid_page(page, imports_url(ws_a, str(first)))
        assert page.index(reload) < page.index("</head>")
    set_status(app, ws_a, first, "done")
    assert "refresh" not in client.get(imports_url(ws_a, str(first))).get_data(as_text=True)
    assert "refresh" not in client.get(imports_url(ws_a, str(second))).get_data(as_text=True)  # checked: waits
