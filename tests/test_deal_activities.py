"""Activities and tasks on deals: logging each kind from the deal page (on the contact's timeline
too), the deal's timeline (activities and stage changes, newest first, in pages), tasks in My tasks
and reminder emails, bad input, isolation, permissions and record scope, query counts; the open
deals and deal events on contact and company pages; merge, backup and the migration."""

import re
from datetime import timedelta

import sqlalchemy as sa

from crm.activities.models import Activity
from crm.audit.models import AuditEntry
from crm.cli import crm_cli
from crm.contacts.models import Contact
from crm.db import utcnow
from crm.deals.models import Deal, DealStageChange
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import (
    assign_role,
    default_pipeline,
    make_activity,
    make_company,
    make_contact,
    make_deal,
    make_deal_activity,
    make_member,
    make_merge,
    make_pipeline,
    make_role,
    make_workspace,
)
from tests.query_counter import count_queries
from tests.test_pages import assert_valid_page

COMPOSER = {"HX-Request": "true", "HX-Target": "activity-composer"}
MORE = {"HX-Request": "true", "HX-Target": "timeline-more"}


def deal_url(ws, deal_id: int, rest: str = "") -> str:
    return f"/w/{ws.slug}/deals/{deal_id}{rest}"


def activities_of(app, ws, deal_id: int | None = None) -> list[Activity]:
    with app.app_context(), workspace_scope(ws.id):
        statement = sa.select(Activity).order_by(Activity.id)
        if deal_id is not None:
            statement = statement.where(Activity.deal_id == deal_id)
        rows = list(db.session.scalars(statement))
        db.session.expunge_all()
        return rows


def deal_audit(app, ws, deal_id: int) -> list[str]:
    with app.app_context(), workspace_scope(ws.id):
        statement = sa.select(AuditEntry.action).where(
            AuditEntry.record_type == "deal", AuditEntry.record_id == deal_id
        )
        return list(db.session.scalars(statement.order_by(AuditEntry.id)))


def timeline_of(page: str) -> str:
    return page.split('id="timeline-list"')[1].split("</ol>")[0]


def test_a_deal_task_goes_only_to_members_who_read_deals(app, client, auth, ws_a):
    helper = make_member(app, ws_a, "help@alpha.example.com")
    no_deals = make_role(app, ws_a, "Service desk", ("contacts.read", "notes.write", "tickets.read"))
    assign_role(app, ws_a, helper.membership_id, no_deals)
    deal_id = make_deal(app, ws_a, "Tea chests", contact_id=make_contact(app, ws_a, "Ann Lee"))
    auth.login(ws_a.email, ws_a.password)
    page = client.get(deal_url(ws_a, deal_id)).get_data(as_text=True)
    assignees = page.split('name="assignee_id"')[1].split("</select>")[0]
    assert f'value="{ws_a.membership_id}"' in assignees and f'value="{helper.membership_id}"' not in assignees
    task = {
        "kind": "task",
        "body": "Quote them",
        "due_at": "2030-01-02T09:30",
        "assignee_id": str(helper.membership_id),
    }
    refused = post(client, deal_url(ws_a, deal_id, "/activities/"), task, headers=COMPOSER)
    assert refused.status_code == 422 and activities_of(app, ws_a, deal_id) == []


def test_log_each_kind_on_a_deal_without_leaving_the_page(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee")
    deal_id = make_deal(app, ws_a, "Tea chests", contact_id=ann, owner_id=ws_a.membership_id)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(deal_url(ws_a, deal_id)).get_data(as_text=True)
    assert f'data-hx-post="/w/{ws_a.slug}/deals/{deal_id}/activities/"' in page and "Entered Lead in" in timeline_of(
        page
    )
    for kind in ("note", "call", "email", "meeting", "task"):
        data = {"kind": kind, "body": f"A {kind} about <b>tea</b>"}
        if kind == "task":
            data |= {"due_at": "2030-01-02T09:30", "assignee_id": str(ws_a.membership_id)}
        response = post(client, deal_url(ws_a, deal_id, "/activities/"), data, headers=COMPOSER)
        body = response.get_data(as_text=True)
        assert response.status_code == 200, kind
        assert body.lstrip().startswith('<form id="activity-composer"')
        assert (
            'data-hx-swap-oob="afterbegin:#timeline-list"' in body and f"A {kind} about &lt;b&gt;tea&lt;/b&gt;" in body
        )
        assert f"/deals/{deal_id}/activities/" in body  # the fresh composer posts to the deal again
    logged = activities_of(app, ws_a, deal_id)
    assert [a.kind for a in logged] == ["note", "call", "email", "meeting", "task"]
    assert {(a.deal_id, a.contact_id) for a in logged} == {(deal_id, ann)}  # on the contact's timeline too
    assert logged[-1].assignee_id == ws_a.membership_id and logged[-1].due_at.year == 2030
    assert deal_audit(app, ws_a, deal_id) == ["deal.created", *["activity.created"] * 5]
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Contact, ann).last_activity_at is not None
    page = client.get(deal_url(ws_a, deal_id)).get_data(as_text=True)
    assert "A meeting about &lt;b&gt;tea&lt;/b&gt;" in timeline_of(page) and "Mark done" in timeline_of(page)
    assert_valid_page(page, deal_url(ws_a, deal_id))
    contact_page = client.get(f"/w/{ws_a.slug}/contacts/{ann}").get_data(as_text=True)
    assert "A call about &lt;b&gt;tea&lt;/b&gt;" in contact_page
    assert f'on the deal <a href="/w/{ws_a.slug}/deals/{deal_id}">Tea chests</a>' in contact_page
    # Without htmx: post/redirect/get back to the deal.
    response = post(client, deal_url(ws_a, deal_id, "/activities/"), {"kind": "note", "body": "Plain post"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/deals/{deal_id}")


def test_an_activity_on_a_deal_without_a_contact_belongs_to_the_deal_only(app, client, auth, ws_a):
    deal_id = make_deal(app, ws_a, "Nobody's deal")
    auth.login(ws_a.email, ws_a.password)
    response = post(client, deal_url(ws_a, deal_id, "/activities/"), {"kind": "call", "body": "Cold call"},
                    headers=COMPOSER)  # fmt: skip
    assert response.status_code == 200
    [activity] = activities_of(app, ws_a)
    assert (activity.deal_id, activity.contact_id) == (deal_id, None)


def test_bad_input_is_422_and_saves_nothing(app, client, auth, ws_a, ws_b):
    deal_id = make_deal(app, ws_a, "Tea")
    stranger = ws_b.membership_id
    auth.login(ws_a.email, ws_a.password)
    for data, message in (
        ({"kind": "call", "body": "  "}, "Write something first."),
        ({"kind": "call", "body": "x" * 5001}, "Field cannot be longer than 5000 characters."),
        ({"kind": "shout", "body": "Hello"}, "Not a valid choice."),
        ({"kind": "task", "body": "Call back"}, "A task needs a due date."),
        ({"kind": "task", "body": "Call back", "due_at": "soon"}, "Not a valid datetime value."),
        ({"kind": "task", "body": "Call back", "due_at": "2030-01-02T09:30", "remind_at": "2030-01-03T09:30"},
         "The reminder must come before the task is due."),
        ({"kind": "task", "body": "Call back", "due_at": "2030-01-02T09:30", "assignee_id": str(stranger)},
         "Not a valid choice."),
    ):  # fmt: skip
        response = post(client, deal_url(ws_a, deal_id, "/activities/"), data, headers=COMPOSER)
        assert response.status_code == 422, data
        body = response.get_data(as_text=True)
        assert message in body and body.lstrip().startswith('<form id="activity-composer"'), data
    assert activities_of(app, ws_a) == []
    assert deal_audit(app, ws_a, deal_id) == ["deal.created"]


def test_timeline_pages_cover_activities_and_stage_changes_once_newest_first(app, client, auth, ws_a):
    deal_id = make_deal(app, ws_a, "Tea")
    start = utcnow() - timedelta(days=30)
    with app.app_context(), workspace_scope(ws_a.id):  # created before the activities happened
        db.session.execute(sa.update(DealStageChange).values(at=start - timedelta(days=1)))
        db.session.commit()
    for number in range(22):
        make_deal_activity(app, ws_a, deal_id, f"note {number:02d}", occurred_at=start + timedelta(days=number))
    auth.login(ws_a.email, ws_a.password)
    post(client, deal_url(ws_a, deal_id, "/move?direction=next"), {})  # into Qualified, now: the newest entry
    page = client.get(deal_url(ws_a, deal_id)).get_data(as_text=True)
    first = timeline_of(page)
    assert first.count('<li id="entry-') == 20
    assert first.index("Entered Qualified") < first.index("note 21") < first.index("note 20")
    assert "note 02" not in first
    link = re.search(r'id="timeline-more".*?data-hx-get="([^"]+)"', page, re.S).group(1).replace("&amp;", "&")
    rest = client.get(link, headers=MORE).get_data(as_text=True)
    assert "<html" not in rest and "timeline-more" not in rest
    everything = first.split('id="timeline-more"')[0] + rest
    for label in [f"note {n:02d}" for n in range(22)]:
        assert everything.count(f">{label}<") == 1, label
    assert everything.count("Entered Lead in") == 1 and "Deal created" in rest  # the oldest entry comes last
    assert client.get(deal_url(ws_a, deal_id, "/timeline"), query_string={"after": "garbage"}).status_code == 400


def test_a_task_is_done_reopened_and_deleted_by_its_author_or_a_deal_deleter(app, client, auth, ws_a):
    deal_id = make_deal(app, ws_a, "Tea")
    seller = make_member(app, ws_a, "sam@alpha.example.com", role="sales")
    task = make_deal_activity(app, ws_a, deal_id, "Send the quote", kind="task", due_at=utcnow(),
                              assignee_id=seller.membership_id, author_id=ws_a.membership_id)  # fmt: skip
    auth.login(seller.email, seller.password)
    target = {"HX-Request": "true", "HX-Target": f"entry-activity-{task}"}
    done = post(client, deal_url(ws_a, deal_id, f"/activities/{task}/done"), {"done": "1"}, headers=target)
    assert done.status_code == 200 and "Reopen" in done.get_data(as_text=True)
    assert done.get_data(as_text=True).lstrip().startswith(f'<li id="entry-activity-{task}"')
    assert activities_of(app, ws_a)[0].done_at is not None
    post(client, deal_url(ws_a, deal_id, f"/activities/{task}/done"), {"done": "0"}, headers=target)
    assert activities_of(app, ws_a)[0].done_at is None
    assert deal_audit(app, ws_a, deal_id)[-2:] == ["activity.done", "activity.reopened"]
    assert post(client, deal_url(ws_a, deal_id, f"/activities/{task}/delete"), {}).status_code == 403  # not theirs
    note = make_deal_activity(app, ws_a, deal_id, "A note", kind="note")
    assert post(client, deal_url(ws_a, deal_id, f"/activities/{note}/done"), {"done": "1"}).status_code == 404
    auth.logout()
    auth.login(ws_a.email, ws_a.password)  # the owner holds deals.delete
    response = post(client, deal_url(ws_a, deal_id, f"/activities/{task}/delete"), {}, headers=target)
    assert response.status_code == 200 and response.get_data(as_text=True) == ""
    assert [a.id for a in activities_of(app, ws_a)] == [note]
    assert deal_audit(app, ws_a, deal_id)[-1] == "activity.deleted"


def test_tasks_on_deals_in_my_tasks_and_reminders(app, client, auth, mailbox, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee")
    lone = make_deal(app, ws_a, "Lone deal")
    with_contact = make_deal(app, ws_a, "Ann's deal", contact_id=ann)
    gone = make_deal(app, ws_a, "Gone deal")
    me, now = ws_a.membership_id, utcnow()
    lone_task = make_deal_activity(app, ws_a, lone, "Chase the lone deal", kind="task", due_at=now - timedelta(days=1),
                                   assignee_id=me, remind_at=now - timedelta(minutes=5))  # fmt: skip
    make_deal_activity(app, ws_a, with_contact, "Call Ann about it", kind="task", due_at=now + timedelta(days=3),
                       assignee_id=me)  # fmt: skip
    make_deal_activity(app, ws_a, gone, "Ghost task", kind="task", due_at=now, assignee_id=me)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Deal, gone).deleted_at = utcnow()
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/tasks/").get_data(as_text=True)
    overdue = page.split('id="tasks-overdue"')[1].split("</section>")[0]
    assert f'<a href="/w/{ws_a.slug}/deals/{lone}">Lone deal</a>' in overdue and "Chase the lone deal" in overdue
    assert f'action="/w/{ws_a.slug}/tasks/{lone_task}/done"' in overdue
    upcoming = page.split('id="tasks-upcoming"')[1].split("</section>")[0]
    assert f'<a href="/w/{ws_a.slug}/contacts/{ann}">Ann Lee</a>' in upcoming and "Ann&#39;s deal" in upcoming
    assert "Ghost task" not in page
    care = client.get(f"/w/{ws_a.slug}/care/", headers={"HX-Request": "true", "HX-Target": "care-lists"})
    assert "Chase the lone deal" in care.get_data(as_text=True)
    done = post(client, f"/w/{ws_a.slug}/deals/{lone}/activities/{lone_task}/done", {"done": "1", "next": "tasks"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/tasks/")
    # Reminder: the done task is not reminded; an open one is, once, with a link to the deal.
    make_deal_activity(app, ws_a, lone, "Remind me", kind="task", due_at=now + timedelta(hours=1), assignee_id=me,
                       remind_at=now - timedelta(minutes=1))  # fmt: skip
    result = app.test_cli_runner().invoke(crm_cli, ["send-reminders"])
    assert "1 reminder(s) sent." in result.output
    text = mailbox.messages[0].get_body(("plain",)).get_content()
    assert "Remind me" in text and "Deal: Lone deal" in text and "Customer:" not in text
    assert f"/w/{ws_a.slug}/deals/{lone}" in text


def test_a_reminder_of_a_deal_task_with_a_person_links_to_the_deal_as_my_tasks_does(app, client, auth, mailbox, ws_a):
    """A task logged on a deal is the deal's even when the deal has a person (every page hands it on by
    the deal's rule): its reminder links to the deal's page, not the person's. An assignee who may
    not open the deal (their role lost deals.read) is sent to My tasks, though they may open the person."""
    ann = make_contact(app, ws_a, "Ann Lee")
    deal = make_deal(app, ws_a, "Ann's deal", contact_id=ann)
    seller = make_member(app, ws_a, "sam@alpha.example.com")
    now = utcnow()
    for body, assignee in (("Send Ann the quote", ws_a.membership_id), ("Chase the quote", seller.membership_id)):
        make_deal_activity(app, ws_a, deal, body, kind="task", due_at=now + timedelta(hours=1), assignee_id=assignee,
                           remind_at=now - timedelta(minutes=1))  # fmt: skip
    customers_only = make_role(app, ws_a, "Customers only", ("contacts.read", "notes.write"))
    assign_role(app, ws_a, seller.membership_id, customers_only)
    auth.login(ws_a.email, ws_a.password)
    tasks = client.get(f"/w/{ws_a.slug}/tasks/").get_data(as_text=True)
    assert f'<a href="/w/{ws_a.slug}/deals/{deal}">Ann&#39;s deal</a>' in tasks  # the deal's page, as in My tasks
    assert "2 reminder(s) sent." in app.test_cli_runner().invoke(crm_cli, ["send-reminders"]).output
    texts = {message["To"]: message.get_body(("plain",)).get_content() for message in mailbox.messages}
    links = {to: re.findall(r"https?://\S+", text) for to, text in texts.items()}
    assert links == {
        ws_a.email: [f"http://127.0.0.1:5000/w/{ws_a.slug}/deals/{deal}"],
        seller.email: [f"http://127.0.0.1:5000/w/{ws_a.slug}/tasks/"],  # no link to a deal they may not open
    }


def test_another_workspaces_deal_or_activity_is_404(app, client, auth, ws_a, ws_b):
    mine = make_deal(app, ws_a, "Mine")
    other_mine = make_deal(app, ws_a, "Also mine")
    theirs = make_deal(app, ws_b, "Secret deal")
    their_task = make_deal_activity(app, ws_b, theirs, "Secret task", kind="task", due_at=utcnow())
    my_task = make_deal_activity(app, ws_a, mine, "My task", kind="task", due_at=utcnow())
    contact_note = make_activity(app, ws_a, make_contact(app, ws_a, "Ann"), "Contact note")
    auth.login(ws_a.email, ws_a.password)
    for url in (deal_url(ws_a, theirs, "/timeline"),):
        response = client.get(url)
        assert response.status_code == 404 and "Secret" not in response.get_data(as_text=True)
    for url in (
        deal_url(ws_a, theirs, "/activities/"),
        deal_url(ws_a, theirs, f"/activities/{their_task}/done"),
        deal_url(ws_a, theirs, f"/activities/{their_task}/delete"),
        deal_url(ws_a, mine, f"/activities/{their_task}/done"),  # their activity under my deal
        deal_url(ws_a, other_mine, f"/activities/{my_task}/done"),  # an activity of another deal
        deal_url(ws_a, mine, f"/activities/{contact_note}/delete"),  # a contact's activity
    ):
        assert post(client, url, {"kind": "note", "body": "x", "done": "1"}).status_code == 404, url
    assert [a.done_at for a in activities_of(app, ws_b)] == [None]
    assert len(activities_of(app, ws_a)) == 2 and activities_of(app, ws_a)[0].done_at is None


def test_permissions_notes_write_and_deals_read(app, client, auth, ws_a):
    deal_id = make_deal(app, ws_a, "Tea")
    make_deal_activity(app, ws_a, deal_id, "Visible note")
    viewer = make_member(app, ws_a, "vic@alpha.example.com", role="viewer")  # deals.read, no notes.write
    agent = make_member(app, ws_a, "sue@alpha.example.com", role="support")  # notes.write, no deals.read
    auth.login(viewer.email, viewer.password)
    page = client.get(deal_url(ws_a, deal_id)).get_data(as_text=True)
    assert "Visible note" in page and 'id="activity-composer"' not in page and "entry-actions" not in page
    assert client.get(deal_url(ws_a, deal_id, "/timeline")).status_code == 200
    assert post(client, deal_url(ws_a, deal_id, "/activities/"), {"kind": "note", "body": "x"}).status_code == 403
    auth.logout()
    auth.login(agent.email, agent.password)
    assert client.get(deal_url(ws_a, deal_id, "/timeline")).status_code == 403
    assert post(client, deal_url(ws_a, deal_id, "/activities/"), {"kind": "note", "body": "x"}).status_code == 403
    assert [a.body for a in activities_of(app, ws_a)] == ["Visible note"]


def test_own_scope_sees_its_deals_timeline_and_its_assigned_tasks(app, client, auth, ws_a):
    seller = make_member(app, ws_a, "sam@alpha.example.com", role="sales")
    own_role = make_role(app, ws_a, "Own deals", ("contacts.read", "deals.read", "notes.write"), record_scope="own")
    assign_role(app, ws_a, seller.membership_id, own_role)
    theirs = make_deal(app, ws_a, "Alice's deal", owner_id=ws_a.membership_id)
    mine = make_deal(app, ws_a, "Sam's deal", owner_id=seller.membership_id)
    make_deal_activity(app, ws_a, theirs, "Do this for Alice", kind="task", due_at=utcnow(),
                       assignee_id=seller.membership_id)  # fmt: skip
    auth.login(seller.email, seller.password)
    assert client.get(deal_url(ws_a, mine)).status_code == 200
    assert client.get(deal_url(ws_a, theirs, "/timeline")).status_code == 404
    assert post(client, deal_url(ws_a, theirs, "/activities/"), {"kind": "note", "body": "x"}).status_code == 404
    assert post(client, deal_url(ws_a, mine, "/activities/"), {"kind": "note", "body": "Mine"}).status_code == 303
    tasks = client.get(f"/w/{ws_a.slug}/tasks/").get_data(as_text=True)
    assert "Do this for Alice" in tasks  # assigned to them, as contact tasks are
    assert f'href="/w/{ws_a.slug}/deals/{theirs}"' not in tasks  # but no link to a deal they may not open
    [task] = re.findall(rf'action="(/w/{ws_a.slug}/tasks/\d+/done)"', tasks)
    assert post(client, task, {"done": "1", "next": "tasks"}).status_code == 303  # theirs to finish
    assert "Do this for Alice" in client.get(f"/w/{ws_a.slug}/tasks/").get_data(as_text=True).split("Done lately")[1]


def test_deal_page_queries_do_not_grow_with_the_timeline(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee")
    quiet = make_deal(app, ws_a, "Quiet", contact_id=ann)
    busy = make_deal(app, ws_a, "Busy", contact_id=ann)
    colleague = make_member(app, ws_a, "colleague@alpha.example.com")
    for number in range(25):
        make_deal_activity(app, ws_a, busy, f"call {number}", kind="call" if number % 2 else "task", due_at=utcnow(),
                           assignee_id=colleague.membership_id, author_id=colleague.membership_id)  # fmt: skip
    auth.login(ws_a.email, ws_a.password)

    def queries_for(deal_id: int) -> tuple[int, str]:
        client.get(deal_url(ws_a, deal_id))
        with count_queries(app) as queries:
            page = client.get(deal_url(ws_a, deal_id)).get_data(as_text=True)
        return len(queries), page

    few, _ = queries_for(quiet)
    many, page = queries_for(busy)
    assert "call 23" in page and "Assigned to Test User" in page
    assert many == few, (few, many)
    with count_queries(app) as queries:
        client.get(deal_url(ws_a, busy, "/timeline"), query_string={"after": re.search(
            r'after=([^"&]+)', page).group(1)}, headers=MORE)  # fmt: skip
    assert len(queries) == 4, queries  # member, the deal, activities, stage changes


def test_contact_and_company_pages_show_open_deals_and_the_contact_timeline_deal_events(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    sales = default_pipeline(app, ws_a)
    make_deal(app, ws_a, "Tea chests", sales.stages["Qualified"], 1200, contact_id=ann, company_id=acme)
    make_deal(app, ws_a, "Cups", value=300, contact_id=ann, company_id=acme)
    won = make_deal(app, ws_a, "Won order", value=50, contact_id=ann)
    lost = make_deal(app, ws_a, "Lost order", value=70, contact_id=ann)
    auth.login(ws_a.email, ws_a.password)
    assert post(client, deal_url(ws_a, won, "/won"), {}).status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):  # lost as the service records it (its reasons aside)
        deal = db.session.get(Deal, lost)
        db.session.add(DealStageChange(deal_id=lost, from_stage_id=deal.stage_id, to_stage_id=sales.stages["Lost"]))
        deal.status, deal.stage_id = "lost", sales.stages["Lost"]
        db.session.commit()
    page = client.get(f"/w/{ws_a.slug}/contacts/{ann}").get_data(as_text=True)
    head = page.split('class="open-deals"')[1].split("</section>")[0]
    assert "2 open deals" in head and "$1,500.00" in head and "Tea chests" in head and "Won order" not in head
    # The closed ones are counted, and the deals list shows them all.
    assert "1 won ($50.00) · 1 lost" in " ".join(head.split())
    assert f'href="/w/{ws_a.slug}/deals/list?customer=contact:{ann}&amp;status=all">See all deals</a>' in head
    listed = client.get(f"/w/{ws_a.slug}/deals/list?customer=contact:{ann}&status=all").get_data(as_text=True)
    assert "Won order" in listed and "Lost order" in listed
    timeline = timeline_of(page)
    assert timeline.count("Deal created") == 4 and timeline.count("Deal won") == 1 and "Deal lost" in timeline
    assert f'<a href="/w/{ws_a.slug}/deals/{won}">Won order</a>' in timeline
    assert_valid_page(page, "contact page")
    company = client.get(f"/w/{ws_a.slug}/companies/{acme}").get_data(as_text=True)
    assert "2 open deals" in company and "$1,500.00" in company and "won" not in company.split("open-deals")[1][:600]
    chinese = client.get(f"/w/{ws_a.slug}/contacts/{ann}", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    head = chinese.get_data(as_text=True).split('class="open-deals"')[1].split("</section>")[0]
    assert "US$1,500.00：" in head and "（US$1,200.00）" in head  # Chinese punctuation, from the catalogue
    # Support reads contacts but not deals: neither the head nor the events.
    agent = make_member(app, ws_a, "sue@alpha.example.com", role="support")
    auth.logout()
    auth.login(agent.email, agent.password)
    page = client.get(f"/w/{ws_a.slug}/contacts/{ann}").get_data(as_text=True)
    assert "open deals" not in page and "Deal created" not in page and "Tea chests" not in page


def test_own_scope_sees_only_its_deals_on_a_contact_page(app, client, auth, ws_a):
    seller = make_member(app, ws_a, "sam@alpha.example.com", role="sales")
    own_role = make_role(app, ws_a, "Own", ("contacts.read", "deals.read", "notes.write"), record_scope="own")
    assign_role(app, ws_a, seller.membership_id, own_role)
    ann = make_contact(app, ws_a, "Ann Lee", owner_id=seller.membership_id)
    make_deal(app, ws_a, "Alice's big deal", value=9000, contact_id=ann, owner_id=ws_a.membership_id)
    make_deal(app, ws_a, "Sam's deal", value=100, contact_id=ann, owner_id=seller.membership_id)
    auth.login(seller.email, seller.password)
    page = client.get(f"/w/{ws_a.slug}/contacts/{ann}").get_data(as_text=True)
    assert "1 open deal" in page and "$100.00" in page and "Alice&#39;s big deal" not in page
    assert "$9,000.00" not in page
    head = page.split('id="open-deals-title"')[1].split("</section>")[0]
    assert head.count("$100.00") == 1  # one deal: its value once, after it, not again as the total


def test_contact_page_queries_stay_flat_with_deals(app, client, auth, ws_a):
    plain = make_contact(app, ws_a, "Plain")
    busy = make_contact(app, ws_a, "Busy")
    for number in range(12):
        deal_id = make_deal(app, ws_a, f"Deal {number}", contact_id=busy, value=number)
        make_deal_activity(app, ws_a, deal_id, f"deal call {number}", kind="call")
    make_deal(app, ws_a, "Plain deal", contact_id=plain)
    auth.login(ws_a.email, ws_a.password)

    def queries_for(contact_id: int) -> int:
        client.get(f"/w/{ws_a.slug}/contacts/{contact_id}")
        with count_queries(app) as queries:
            client.get(f"/w/{ws_a.slug}/contacts/{contact_id}")
        return len(queries)

    assert queries_for(busy) == queries_for(plain) == 10  # open deals: their totals and first few in one


def test_merging_contacts_moves_deal_activities_too(app, ws_a):
    survivor = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"])
    merged = make_contact(app, ws_a, "Ann L.", emails=["ann@example.com"])
    deal_id = make_deal(app, ws_a, "Tea", contact_id=merged)
    activity = make_deal_activity(app, ws_a, deal_id, "On the deal")
    make_merge(app, ws_a, survivor, merged)
    [moved] = [a for a in activities_of(app, ws_a) if a.id == activity]
    assert (moved.contact_id, moved.deal_id) == (survivor, deal_id)


def test_backup_and_restore_keep_deal_activities(app, client, auth, ws_a):
    from tests.test_backup import download, restore

    ann = make_contact(app, ws_a, "Ann Lee")
    deal_id = make_deal(app, ws_a, "Tea", contact_id=ann)
    lone = make_deal(app, ws_a, "Lone")
    make_deal_activity(app, ws_a, deal_id, "With Ann")
    make_deal_activity(app, ws_a, lone, "Lone task", kind="task", due_at=utcnow())
    auth.login(ws_a.email, ws_a.password)
    backup = download(client, ws_a)
    copy = make_workspace(app, "Alpha Copy", ws_a.email)
    assert restore(client, copy, backup).status_code == 303
    with app.app_context(), workspace_scope(copy.id):
        rows = db.session.execute(
            sa.select(Activity.body, Deal.title, Contact.name)
            .join(Activity.deal)
            .outerjoin(Activity.contact)
            .order_by(Activity.body)
        ).all()
    assert [tuple(row) for row in rows] == [("Lone task", "Lone", None), ("With Ann", "Tea", "Ann Lee")]


def test_migration_down_drops_deal_only_activities_and_up_again(app, ws_a):
    from flask_migrate import downgrade, upgrade

    ann = make_contact(app, ws_a, "Ann Lee")
    deal_id = make_deal(app, ws_a, "Tea", contact_id=ann)
    lone = make_deal(app, ws_a, "Lone")
    make_activity(app, ws_a, ann, "Contact note")
    make_deal_activity(app, ws_a, deal_id, "Deal note with Ann")
    make_deal_activity(app, ws_a, lone, "Lone note")
    with app.app_context():
        downgrade(revision="0019")
        upgrade()
    assert [(a.body, a.deal_id) for a in activities_of(app, ws_a)] == [("Contact note", None),
                                                                        ("Deal note with Ann", None)]  # fmt: skip


def test_a_customer_with_only_closed_deals_elsewhere_links_to_the_pipeline_holding_them(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee")
    partners = make_pipeline(app, ws_a, "Partners")
    won = make_deal(app, ws_a, "Partner order", partners.stages["Talk"], 80, contact_id=ann)
    auth.login(ws_a.email, ws_a.password)
    assert post(client, deal_url(ws_a, won, "/won"), {}).status_code == 303
    page = client.get(f"/w/{ws_a.slug}/contacts/{ann}").get_data(as_text=True)
    head = page.split('class="open-deals"')[1].split("</section>")[0]
    assert ">Deals:</h2>" in head and "0 open" not in head and "1 won ($80.00)" in head
    listed = client.get(f"/w/{ws_a.slug}/deals/list?customer=contact:{ann}&status=all").get_data(as_text=True)
    assert "Partner order" in listed  # the first pipeline, Sales, holds none of hers
