"""Bulk changes too large for one request run in the background, and a panel follows them: how far
they have got while they run, what they did, or where they stopped. Jobs run inline in tests, so a
job has ended by the time the request that started it answers; running and stalled jobs are rows
written here."""

import re
from datetime import timedelta

import sqlalchemy as sa

from crm.contacts.models import BulkJob, Contact
from crm.db import utcnow
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import make_bulk_job, make_contact, make_member
from tests.test_pages import assert_valid_page

BULK = {"HX-Request": "true", "HX-Target": "contact-results"}
PANEL = {"HX-Request": "true", "HX-Target": "bulk-job"}


def contacts_url(ws, rest: str = "") -> str:
    return f"/w/{ws.slug}/contacts/{rest}"


def owners(app, ws, contact_ids: list[int]) -> list[int | None]:
    with app.app_context(), workspace_scope(ws.id):
        return [db.session.get(Contact, contact_id).owner_id for contact_id in contact_ids]


def silent_for(app, ws, job_id: int, how_long: timedelta) -> None:
    """As if the job had said nothing for ``how_long``."""
    with app.app_context(), workspace_scope(ws.id):
        db.session.execute(sa.update(BulkJob).where(BulkJob.id == job_id).values(updated_at=utcnow() - how_long))
        db.session.commit()


def test_the_list_shows_the_background_change_and_what_it_did(app, client, auth, ws_a, ws_b, monkeypatch):
    fair = [make_contact(app, ws_a, f"Fair {n}", tags=["fair"]) for n in range(3)]
    seller = make_member(app, ws_a, "seller@alpha.example.com")
    monkeypatch.setattr("crm.contacts.bulk.MAX_AT_ONCE", 2)
    auth.login(ws_a.email, ws_a.password)
    assert '<div id="bulk-job"></div>' in client.get(contacts_url(ws_a)).get_data(as_text=True)  # the panel's place
    every_fair = {"scope": "all", "tag": "fair", "action": "owner", "bulk_owner": str(seller.membership_id)}
    response = post(client, contacts_url(ws_a, "bulk"), every_fair, headers=BULK)
    body = response.get_data(as_text=True)
    panel = body[body.index('<div id="bulk-job"') :]
    assert 'data-hx-swap-oob="true"' in panel and "3 contacts changed." in panel  # the job ran inline
    assert "Show the list again" in panel and f'href="{contacts_url(ws_a)}?tag=fair"' in panel
    with app.app_context(), workspace_scope(ws_a.id):
        job_id = db.session.scalar(sa.select(BulkJob.id))
    assert owners(app, ws_a, fair) == [seller.membership_id] * 3
    # Without JavaScript the bar leads to the job's own page.
    plain = post(client, contacts_url(ws_a, "bulk"), {**every_fair, "bulk_owner": "none"})
    assert plain.status_code == 303 and re.search(r"/contacts/bulk-jobs/\d+$", plain.headers["Location"])
    page = client.get(plain.headers["Location"]).get_data(as_text=True)
    assert "3 contacts changed." in page and owners(app, ws_a, fair) == [None] * 3
    assert_valid_page(page, plain.headers["Location"])
    # Only the member who asked follows the job; another workspace gets 404 for it.
    auth.logout()
    auth.login(seller.email, seller.password)
    assert client.get(contacts_url(ws_a, f"bulk-jobs/{job_id}")).status_code == 404
    auth.logout()
    auth.login(ws_b.email, ws_b.password)
    assert client.get(f"/w/{ws_b.slug}/contacts/bulk-jobs/{job_id}").status_code == 404


def test_a_running_job_is_polled_with_how_far_it_has_got(app, client, auth, ws_a):
    job_id = make_bulk_job(app, ws_a, total=5000, done=2000)
    auth.login(ws_a.email, ws_a.password)
    panel = client.get(contacts_url(ws_a, f"bulk-jobs/{job_id}"), headers=PANEL).get_data(as_text=True)
    assert "2,000 of 5,000 contacts done" in panel and 'value="40"' in panel
    assert f'data-hx-get="/w/{ws_a.slug}/contacts/bulk-jobs/{job_id}"' in panel and "every 2s" in panel
    assert "In the background: Assign owner" in panel
    counting = make_bulk_job(app, ws_a, list_name="trash:contacts", total=None, done=0)
    assert "Finding the records" in client.get(contacts_url(ws_a, f"bulk-jobs/{counting}"), headers=PANEL).get_data(
        as_text=True
    )


def test_a_job_that_died_or_failed_says_where_it_stopped_and_is_no_longer_polled(app, client, auth, ws_a, monkeypatch):
    stalled = make_bulk_job(app, ws_a, total=5000, done=3000)
    silent_for(app, ws_a, stalled, timedelta(minutes=5))
    failed = make_bulk_job(app, ws_a, status="failed", total=5000, done=1000)
    auth.login(ws_a.email, ws_a.password)
    for job_id, done in ((stalled, "3,000"), (failed, "1,000")):
        panel = client.get(contacts_url(ws_a, f"bulk-jobs/{job_id}"), headers=PANEL).get_data(as_text=True)
        assert f"stopped after {done} of 5,000" in panel and "data-hx-get" not in panel
        # Its end goes into the page's live region, which stays (read out when its text changes).
        assert f'<p id="bulk-job-said" data-hx-swap-oob="innerHTML">“Assign owner” stopped after {done}' in panel
    # Not started for as long: dead as a thread, but with RQ maybe queued behind an import.
    waiting = make_bulk_job(app, ws_a, list_name="companies", total=None, done=0)
    silent_for(app, ws_a, waiting, timedelta(minutes=5))
    dead = client.get(contacts_url(ws_a, f"bulk-jobs/{waiting}"), headers=PANEL).get_data(as_text=True)
    assert "stopped before it began: nothing was changed" in dead
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:6379/0")
    queued = client.get(contacts_url(ws_a, f"bulk-jobs/{waiting}"), headers=PANEL).get_data(as_text=True)
    assert "Finding the records" in queued and "data-hx-get" in queued
    # ... but not for longer than a job may run: then it is lost (no worker, Redis emptied).
    silent_for(app, ws_a, waiting, timedelta(hours=2))
    lost = client.get(contacts_url(ws_a, f"bulk-jobs/{waiting}"), headers=PANEL).get_data(as_text=True)
    assert "stopped before it began" in lost


def test_a_job_that_fails_midway_keeps_its_done_batches_and_says_so(app, client, auth, ws_a, monkeypatch):
    fair = [make_contact(app, ws_a, f"Fair {n}", tags=["fair"]) for n in range(3)]
    monkeypatch.setattr("crm.contacts.bulk.MAX_AT_ONCE", 2)
    monkeypatch.setattr("crm.contacts.batch.BATCH", 1)
    from crm.contacts import batch

    set_owner, calls = batch.set_owner, []

    def fails_on_the_second_batch(model, ids, owner_id):
        calls.append(ids)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return set_owner(model, ids, owner_id)

    monkeypatch.setattr(batch, "set_owner", fails_on_the_second_batch)
    auth.login(ws_a.email, ws_a.password)
    every_fair = {"scope": "all", "tag": "fair", "action": "owner", "bulk_owner": str(ws_a.membership_id)}
    body = post(client, contacts_url(ws_a, "bulk"), every_fair, headers=BULK).get_data(as_text=True)
    assert "stopped after 1 of 3" in body
    assert owners(app, ws_a, fair) == [ws_a.membership_id, None, None]  # the first batch was committed


def test_the_list_keeps_following_the_change_after_a_reload_until_its_end_is_seen(app, client, auth, ws_a,
                                                                                   monkeypatch):  # fmt: skip
    make_contact(app, ws_a, "Fair Ann", tags=["fair"])
    auth.login(ws_a.email, ws_a.password)
    job_id = make_bulk_job(app, ws_a, total=5000, done=1000)
    with client.session_transaction() as session:
        session["bulk_jobs"] = {"contacts": [ws_a.id, job_id]}  # as the bar's request that started it leaves it
    companies = client.get(f"/w/{ws_a.slug}/companies/").get_data(as_text=True)
    assert '<div id="bulk-job"></div>' in companies  # another list's page does not show it
    page = client.get(contacts_url(ws_a)).get_data(as_text=True)
    assert "1,000 of 5,000 contacts done" in page and f"bulk-jobs/{job_id}" in page
    assert_valid_page(page, contacts_url(ws_a))
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.execute(sa.update(BulkJob).values(status="done", done=5000, changed=4990))
        db.session.commit()
    assert "<p>4,990 contacts changed.</p>" in client.get(contacts_url(ws_a)).get_data(as_text=True)
    assert '<div id="bulk-job"></div>' in client.get(contacts_url(ws_a)).get_data(as_text=True)


def test_a_job_started_by_the_bar_is_followed_by_the_list(app, client, auth, ws_a, monkeypatch):
    fair = [make_contact(app, ws_a, f"Fair {n}", tags=["fair"]) for n in range(3)]
    monkeypatch.setattr("crm.contacts.bulk.MAX_AT_ONCE", 2)
    auth.login(ws_a.email, ws_a.password)
    post(client, contacts_url(ws_a, "bulk"), {"scope": "all", "tag": "fair", "action": "delete"}, headers=BULK)
    assert all(stored_deleted(app, ws_a, fair))
    ended = "<p>3 contacts moved to the trash.</p>"  # the panel's, not a toast
    assert ended in client.get(contacts_url(ws_a)).get_data(as_text=True)
    assert ended not in client.get(contacts_url(ws_a)).get_data(as_text=True)


def stored_deleted(app, ws, contact_ids: list[int]) -> list[bool]:
    with app.app_context(), workspace_scope(ws.id):
        return [db.session.get(Contact, contact_id).deleted_at is not None for contact_id in contact_ids]


def test_a_restore_that_no_longer_fits_the_plan_says_so(app, client, auth, ws_a):
    job_id = make_bulk_job(app, ws_a, status="failed", failure="limit", total=None)
    auth.login(ws_a.email, ws_a.password)
    panel = client.get(contacts_url(ws_a, f"bulk-jobs/{job_id}"), headers=PANEL).get_data(as_text=True)
    assert "would not all fit the plan\u2019s contacts limit, so none was restored" in panel


def test_a_polled_job_that_is_gone_stops_the_polling(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    gone = client.get(contacts_url(ws_a, "bulk-jobs/999999"), headers=PANEL)
    assert gone.status_code == 286 and gone.get_data(as_text=True) == '<div id="bulk-job"></div>'
    assert client.get(contacts_url(ws_a, "bulk-jobs/999999")).status_code == 404


def test_a_second_background_change_of_a_list_waits_for_the_first(app, client, auth, ws_a, monkeypatch):
    fair = [make_contact(app, ws_a, f"Fair {n}", tags=["fair"]) for n in range(3)]
    monkeypatch.setattr("crm.contacts.bulk.MAX_AT_ONCE", 2)
    running = make_bulk_job(app, ws_a, total=5000, done=1000)  # the member's, on the contacts list
    auth.login(ws_a.email, ws_a.password)
    every_fair = {"scope": "all", "tag": "fair", "action": "delete"}
    refused = post(client, contacts_url(ws_a, "bulk"), every_fair, headers=BULK)
    assert refused.status_code == 422 and "still goes on in the background" in refused.headers["HX-Trigger"]
    assert not any(stored_deleted(app, ws_a, fair))
    # A change that fits one request needs no job, and the other lists are not held up.
    ticked = post(client, contacts_url(ws_a, "bulk"), {"scope": "selected", "ids": [str(fair[0])], "action": "delete"},
                  headers=BULK)  # fmt: skip
    assert ticked.status_code == 200 and stored_deleted(app, ws_a, fair) == [True, False, False]
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.execute(sa.update(BulkJob).where(BulkJob.id == running).values(status="done"))
        db.session.commit()
    monkeypatch.setattr("crm.contacts.bulk.MAX_AT_ONCE", 1)  # the two left go to a job again
    second = post(client, contacts_url(ws_a, "bulk"), every_fair, headers=BULK)
    assert second.status_code == 200 and "goes on in the background" in second.headers["HX-Trigger"]
    assert all(stored_deleted(app, ws_a, fair))


def test_each_list_follows_its_own_latest_change(app, client, auth, ws_a):
    contacts_job = make_bulk_job(app, ws_a, total=5000, done=1000)
    ended = make_bulk_job(app, ws_a, status="done", total=10, done=10, changed=10)
    auth.login(ws_a.email, ws_a.password)
    with client.session_transaction() as session:
        session["bulk_jobs"] = {"contacts": [ws_a.id, contacts_job], "companies": [ws_a.id, 999999]}
    # An ended job's panel polled in another tab does not stop the list following its own job.
    assert "10 contacts changed." in client.get(contacts_url(ws_a, f"bulk-jobs/{ended}"), headers=PANEL).get_data(
        as_text=True
    )
    assert "1,000 of 5,000 contacts done" in client.get(contacts_url(ws_a)).get_data(as_text=True)
    # A job that is gone is forgotten; the page shows the empty place.
    assert '<div id="bulk-job"></div>' in client.get(f"/w/{ws_a.slug}/companies/").get_data(as_text=True)
    for odd in (7, [ws_a.id], {"contacts": "x"}, {"contacts": [ws_a.id]}):  # never written so, but never a 500
        with client.session_transaction() as session:
            session["bulk_jobs"] = odd
        assert client.get(contacts_url(ws_a)).status_code == 200


def running_jobs(app, ws) -> list[tuple[int, str]]:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.execute(sa.select(BulkJob.id, BulkJob.list_name).where(BulkJob.status == "running")).all()


def test_two_requests_at_once_start_one_job(app, client, auth, ws_a, monkeypatch):
    fair = [make_contact(app, ws_a, f"Fair {n}", tags=["fair"]) for n in range(3)]
    monkeypatch.setattr("crm.contacts.bulk.MAX_AT_ONCE", 2)
    first = make_bulk_job(app, ws_a, total=5000, done=1000)
    # As if this request had checked before the first one's row was committed.
    monkeypatch.setattr("crm.contacts.bulk_jobs._end_stalled_or_refuse", lambda list_name: None)
    auth.login(ws_a.email, ws_a.password)
    second = post(client, contacts_url(ws_a, "bulk"), {"scope": "all", "tag": "fair", "action": "delete"}, headers=BULK)
    assert second.status_code == 422 and "still goes on in the background" in second.headers["HX-Trigger"]
    assert running_jobs(app, ws_a) == [(first, "contacts")] and not any(stored_deleted(app, ws_a, fair))


def test_a_dead_job_gives_way_to_the_next_and_says_where_it_stopped(app, client, auth, ws_a, monkeypatch):
    fair = [make_contact(app, ws_a, f"Fair {n}", tags=["fair"]) for n in range(3)]
    monkeypatch.setattr("crm.contacts.bulk.MAX_AT_ONCE", 2)
    dead = make_bulk_job(app, ws_a, total=5000, done=3000)
    silent_for(app, ws_a, dead, timedelta(minutes=5))
    auth.login(ws_a.email, ws_a.password)
    again = post(client, contacts_url(ws_a, "bulk"), {"scope": "all", "tag": "fair", "action": "delete"}, headers=BULK)
    assert again.status_code == 200 and all(stored_deleted(app, ws_a, fair))
    panel = client.get(contacts_url(ws_a, f"bulk-jobs/{dead}"), headers=PANEL).get_data(as_text=True)
    assert "stopped after 3,000 of 5,000" in panel and running_jobs(app, ws_a) == []


def test_a_job_the_queue_refuses_changes_nothing_and_says_so(app, client, auth, ws_a, monkeypatch):
    fair = [make_contact(app, ws_a, f"Fair {n}", tags=["fair"]) for n in range(3)]
    monkeypatch.setattr("crm.contacts.bulk.MAX_AT_ONCE", 2)
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    auth.login(ws_a.email, ws_a.password)
    every_fair = {"scope": "all", "tag": "fair", "action": "delete"}
    refused = post(client, contacts_url(ws_a, "bulk"), every_fair, headers=BULK)
    assert refused.status_code == 422 and "could not be started in the background" in refused.headers["HX-Trigger"]
    plain = post(client, contacts_url(ws_a, "bulk"), every_fair)  # without JavaScript: the list, with the toast
    assert plain.status_code == 303 and "could not be started" in client.get(plain.headers["Location"]).get_data(
        as_text=True
    )
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(BulkJob)) == 0
    assert not any(stored_deleted(app, ws_a, fair))
    assert '<div id="bulk-job"></div>' in client.get(contacts_url(ws_a)).get_data(as_text=True)
