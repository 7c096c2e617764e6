"""Correcting a timeline entry in place: its text, when a call happened, a task's due time, reminder
and assignee. Whoever may delete the entry may edit it (its author; others with the delete
permission of where it shows). Audited; a task whose times move is reminded again; bad input
changes nothing; another workspace's entry is a 404."""

import re
from datetime import timedelta

import sqlalchemy as sa

from crm.activities.models import Activity
from crm.audit.models import AuditEntry
from crm.db import utcnow
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import (
    make_activity,
    make_company,
    make_company_activity,
    make_contact,
    make_deal,
    make_deal_activity,
    make_member,
)
from tests.test_pages import assert_valid_page


def swap(activity_id: int) -> dict:
    return {"HX-Request": "true", "HX-Target": f"entry-activity-{activity_id}"}


def stored(app, ws, activity_id: int) -> Activity:
    with app.app_context(), workspace_scope(ws.id):
        activity = db.session.get(Activity, activity_id)
        db.session.expunge(activity)
        return activity


def minute(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def test_the_author_corrects_a_call_in_place_and_it_is_audited(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee")
    call = make_activity(app, ws_a, ann, "Caled about the lid", kind="call")
    make_activity(app, ws_a, ann, "Wrote this morning", occurred_at=utcnow() - timedelta(hours=2))
    auth.login(ws_a.email, ws_a.password)
    url = f"/w/{ws_a.slug}/contacts/{ann}/activities/{call}/edit"
    page = client.get(f"/w/{ws_a.slug}/contacts/{ann}").get_data(as_text=True)
    assert f'data-hx-get="{url}"' in page  # the entry's Edit
    form = client.get(url, headers=swap(call)).get_data(as_text=True)
    assert form.startswith(f'<li id="entry-activity-{call}" class="entry call editing">')
    assert f'id="entry{call}-body"' in form and "Caled about the lid</textarea>" in form and "autofocus" in form
    assert f'id="entry{call}-due_at"' not in form  # a call has no due time
    yesterday = (utcnow() - timedelta(days=1)).replace(second=0, microsecond=0)
    data = {f"entry{call}-body": "Called about the lid", f"entry{call}-occurred_at": minute(yesterday)}
    response = post(client, url, data, headers=swap(call))
    entry = response.get_data(as_text=True).lstrip()
    assert response.status_code == 200 and entry.startswith(f'<li id="entry-activity-{call}" class="entry call">')
    assert "Called about the lid" in entry
    saved = stored(app, ws_a, call)
    assert (saved.body, saved.occurred_at, saved.kind) == ("Called about the lid", yesterday, "call")
    with app.app_context(), workspace_scope(ws_a.id):
        audit = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "activity.updated")).one()
        assert (audit.record_type, audit.record_id) == ("contact", ann)
        assert audit.changes["body"] == ["Caled about the lid", "Called about the lid"]
    timeline = client.get(f"/w/{ws_a.slug}/contacts/{ann}").get_data(as_text=True).split('id="timeline-list"')[1]
    assert timeline.index("Wrote this morning") < timeline.index("Called about the lid")  # moved to its time
    cancel = client.get(url, query_string={"cancel": "1"}, headers=swap(call)).get_data(as_text=True).lstrip()
    assert cancel.startswith(f'<li id="entry-activity-{call}" class="entry call">')  # the entry, unchanged


def test_a_tasks_new_due_time_is_reminded_again(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee")
    colleague = make_member(app, ws_a, "sam@alpha.example.com", role="sales")
    due = utcnow() + timedelta(days=1)
    task = make_activity(app, ws_a, ann, "Send samples", kind="task", due_at=due, remind_at=due - timedelta(hours=1))
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Activity, task).reminded_at = utcnow()
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    url = f"/w/{ws_a.slug}/contacts/{ann}/activities/{task}/edit"
    form = client.get(url, headers=swap(task)).get_data(as_text=True)
    assert f'id="entry{task}-due_at"' in form and f'id="entry{task}-occurred_at"' not in form
    later = (due + timedelta(days=2)).replace(second=0, microsecond=0)
    data = {f"entry{task}-body": "Send samples", f"entry{task}-due_at": minute(later),
            f"entry{task}-remind_at": minute(later - timedelta(hours=2)),
            f"entry{task}-assignee_id": str(colleague.membership_id)}  # fmt: skip
    assert post(client, url, data, headers=swap(task)).status_code == 200
    saved = stored(app, ws_a, task)
    assert (saved.due_at, saved.assignee_id, saved.reminded_at, saved.kind) == (
        later, colleague.membership_id, None, "task")  # fmt: skip


def test_bad_input_changes_nothing(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee")
    note = make_activity(app, ws_a, ann, "First words")
    task = make_activity(app, ws_a, ann, "Call back", kind="task", due_at=utcnow() + timedelta(days=1))
    auth.login(ws_a.email, ws_a.password)
    base = f"/w/{ws_a.slug}/contacts/{ann}/activities"
    tomorrow = minute(utcnow() + timedelta(days=1))
    for activity_id, data, message in (
        (note, {f"entry{note}-body": "  "}, "Write something first."),
        (note, {f"entry{note}-body": "Later words", f"entry{note}-occurred_at": tomorrow}, "plan what is to come"),
        (task, {f"entry{task}-body": "Call back", f"entry{task}-due_at": ""}, "A task needs a due date."),
        (task, {f"entry{task}-body": "Call back", f"entry{task}-due_at": tomorrow, f"entry{task}-kind": "note",
                f"entry{task}-remind_at": minute(utcnow() + timedelta(days=3))}, "before the task is due"),
    ):  # fmt: skip
        response = post(client, f"{base}/{activity_id}/edit", data, headers=swap(activity_id))
        assert response.status_code == 422 and message in response.get_data(as_text=True), message
        assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert stored(app, ws_a, note).body == "First words" and stored(app, ws_a, task).kind == "task"
    page = client.get(f"{base}/{note}/edit")  # without htmx: a page of its own
    assert page.status_code == 200
    assert_valid_page(page.get_data(as_text=True), f"{base}/{note}/edit")
    plain = post(client, f"{base}/{note}/edit", {f"entry{note}-body": "Plain words"})
    assert plain.status_code == 303 and plain.headers["Location"].endswith(f"/contacts/{ann}")


def test_only_who_may_delete_an_entry_may_edit_it(app, client, auth, ws_a, ws_b):
    ann = make_contact(app, ws_a, "Ann Lee")
    note = make_activity(app, ws_a, ann, "The owner's note")
    seller = make_member(app, ws_a, "sam@alpha.example.com", role="sales")  # notes.write, not contacts.delete
    own = make_activity(app, ws_a, ann, "Sam's note", author_id=seller.membership_id)
    auth.login(seller.email, seller.password)
    page = client.get(f"/w/{ws_a.slug}/contacts/{ann}").get_data(as_text=True)
    assert f"/activities/{own}/edit" in page and f"/activities/{note}/edit" not in page
    url = f"/w/{ws_a.slug}/contacts/{ann}/activities/{note}/edit"
    assert client.get(url, headers=swap(note)).status_code == 403
    assert post(client, url, {f"entry{note}-body": "Rewritten"}, headers=swap(note)).status_code == 403
    own_url = f"/w/{ws_a.slug}/contacts/{ann}/activities/{own}/edit"
    assert post(client, own_url, {f"entry{own}-body": "Sam's words"}).status_code == 303
    assert stored(app, ws_a, note).body == "The owner's note" and stored(app, ws_a, own).body == "Sam's words"
    auth.logout()
    # Another workspace's owner: 404, on their own workspace's address and on this one's.
    auth.login(ws_b.email, ws_b.password)
    assert client.get(f"/w/{ws_b.slug}/contacts/{ann}/activities/{note}/edit").status_code == 404
    assert client.get(url).status_code == 404
    theirs = make_contact(app, ws_b, "Bo Chen")
    assert client.get(f"/w/{ws_b.slug}/contacts/{theirs}/activities/{note}/edit").status_code == 404


def test_entries_on_deals_and_companies_are_edited_there(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    deal = make_deal(app, ws_a, "Tea chests", company_id=acme)
    on_deal = make_deal_activity(app, ws_a, deal, "Quoted the chests")
    on_company = make_company_activity(app, ws_a, acme, "Met their buyer", kind="meeting")
    auth.login(ws_a.email, ws_a.password)
    for url, activity_id, text in (
        (f"/w/{ws_a.slug}/deals/{deal}/activities/{on_deal}/edit", on_deal, "Quoted the tea chests"),
        (f"/w/{ws_a.slug}/companies/{acme}/activities/{on_company}/edit", on_company, "Met their new buyer"),
    ):
        response = post(client, url, {f"entry{activity_id}-body": text}, headers=swap(activity_id))
        assert response.status_code == 200 and text in response.get_data(as_text=True)
        assert re.search(rf'href="{re.escape(url)}"', response.get_data(as_text=True))  # edited again from there
        assert stored(app, ws_a, activity_id).body == text


def test_correcting_the_text_keeps_times_assignee_and_reminders_as_they_were(app, client, auth, ws_a):
    from crm.workspaces.models import Membership

    ann = make_contact(app, ws_a, "Ann Lee")
    sam = make_member(app, ws_a, "sam@alpha.example.com", role="sales")
    due = utcnow() + timedelta(days=1)
    task = make_activity(app, ws_a, ann, "Send smaples", kind="task", due_at=due, assignee_id=sam.membership_id,
                         remind_at=utcnow() - timedelta(hours=1))  # fmt: skip
    call = make_activity(app, ws_a, ann, "Caled", kind="call")
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Activity, task).reminded_at = utcnow()  # this morning's reminder went out
        db.session.get(Membership, sam.membership_id).status = "disabled"  # Sam left since
        db.session.commit()
    before = stored(app, ws_a, call)
    auth.login(ws_a.email, ws_a.password)
    base = f"/w/{ws_a.slug}/contacts/{ann}/activities"
    form = client.get(f"{base}/{task}/edit", headers=swap(task)).get_data(as_text=True)
    assert f'<option selected value="{sam.membership_id}">' in form or f'value="{sam.membership_id}" selected' in form
    shown = {name: value for name, value in re.findall(rf'name="(entry{task}-\w+)"[^>]*value="([^"]*)"', form)}
    data = {**shown, f"entry{task}-body": "Send samples", f"entry{task}-assignee_id": str(sam.membership_id),
            f"entry{task}-due_at": minute(due + timedelta(days=7))}  # fmt: skip
    assert post(client, f"{base}/{task}/edit", data, headers=swap(task)).status_code == 200
    saved = stored(app, ws_a, task)
    assert saved.assignee_id == sam.membership_id and saved.reminded_at is not None  # not sent twice
    call_form = client.get(f"{base}/{call}/edit", headers=swap(call)).get_data(as_text=True)
    when = re.search(rf'name="entry{call}-occurred_at"[^>]*value="([^"]+)"', call_form).group(1)
    post(client, f"{base}/{call}/edit", {f"entry{call}-body": "Called", f"entry{call}-occurred_at": when})
    assert stored(app, ws_a, call).occurred_at == before.occurred_at  # shown to the minute, kept to the microsecond
    with app.app_context(), workspace_scope(ws_a.id):
        audit = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "activity.updated")).all()
        assert [sorted(entry.changes) for entry in audit] == [["body", "due_at"], ["body"]]


def test_moving_a_call_back_in_time_moves_the_last_activity_back(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee")
    older = make_activity(app, ws_a, ann, "Old call", kind="call", occurred_at=utcnow() - timedelta(days=30))
    call = make_activity(app, ws_a, ann, "Logged now, made in spring", kind="call")
    auth.login(ws_a.email, ws_a.password)
    spring = (utcnow() - timedelta(days=90)).replace(second=0, microsecond=0)
    data = {f"entry{call}-body": "Made in spring", f"entry{call}-occurred_at": minute(spring)}
    response = post(client, f"/w/{ws_a.slug}/contacts/{ann}/activities/{call}/edit", data, headers=swap(call))
    assert 'id="contact-summary"' in response.get_data(as_text=True)  # the summary follows, out of band
    with app.app_context(), workspace_scope(ws_a.id):
        from crm.contacts.models import Contact

        assert db.session.get(Contact, ann).last_activity_at == stored(app, ws_a, older).occurred_at


def test_without_javascript_the_edit_form_is_a_page_of_its_own_that_goes_back_to_its_record(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann <Lee>", company_id=acme)
    deal = make_deal(app, ws_a, "Tea chests", company_id=acme)
    on_contact = make_activity(app, ws_a, ann, "Caled about the lid", kind="call")
    task = make_activity(app, ws_a, ann, "Send samples", kind="task", due_at=utcnow() + timedelta(days=1))
    on_deal = make_deal_activity(app, ws_a, deal, "Quoted the chests")
    on_company = make_company_activity(app, ws_a, acme, "Met their buyer", kind="meeting")
    auth.login(ws_a.email, ws_a.password)
    contact_url, deal_url = f"/w/{ws_a.slug}/contacts/{ann}", f"/w/{ws_a.slug}/deals/{deal}"
    company_url = f"/w/{ws_a.slug}/companies/{acme}"
    for record_url, back_text, activity_id, text in (
        (contact_url, "Back to Ann &lt;Lee&gt;", on_contact, "Called about the lid"),
        (contact_url, "Back to Ann &lt;Lee&gt;", task, "Send the samples"),
        (deal_url, "Back to Tea chests", on_deal, "Quoted the tea chests"),
        (company_url, "Back to Acme Ltd", on_company, "Met their new buyer"),
        (company_url, "Back to Acme Ltd", on_contact, "Called about the lid at last"),  # Ann's, on Acme's timeline
    ):
        url = f"{record_url}/activities/{activity_id}/edit"
        response = client.get(url)  # no HX-Request: the Edit link opened without htmx
        page = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert_valid_page(page, url)
        assert f'<p><a href="{record_url}">{back_text}</a></p>\n<h1>Edit the entry</h1>' in page, url
        assert f"<title>Edit the entry · {back_text.removeprefix('Back to ')} · Kehu CRM</title>" in page
        # A plain form here: its htmx attributes would swap an entry of a timeline this page has not.
        assert '<ol class="timeline" id="timeline-list" data-hx-disable>' in page
        assert client.get(url, query_string={"cancel": "1"}).headers["Location"] == record_url  # Cancel goes back
        data = {f"entry{activity_id}-body": text}
        if activity_id == task:
            data[f"entry{activity_id}-due_at"] = minute(utcnow() + timedelta(days=2))
        saved = post(client, url, data)
        assert (saved.status_code, saved.headers["Location"]) == (303, record_url), url
        assert stored(app, ws_a, activity_id).body == text
        assert "Saved." in client.get(record_url).get_data(as_text=True)  # the toast, on the record's page


def test_without_javascript_a_refused_edit_keeps_its_page_and_the_way_back(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee")
    task = make_activity(app, ws_a, ann, "Send samples", kind="task", due_at=utcnow() + timedelta(days=1))
    auth.login(ws_a.email, ws_a.password)
    url = f"/w/{ws_a.slug}/contacts/{ann}/activities/{task}/edit"
    response = post(client, url, {f"entry{task}-body": "Send the samples", f"entry{task}-due_at": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "A task needs a due date." in page
    assert f'<a href="/w/{ws_a.slug}/contacts/{ann}">Back to Ann Lee</a>' in page and "<h1>Edit the entry</h1>" in page
    assert "Send the samples</textarea>" in page  # what was typed stays
    assert_valid_page(page, url)
    assert stored(app, ws_a, task).body == "Send samples"
