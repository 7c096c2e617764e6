"""Activities and tasks on companies: logging each kind from the company page; the company's
timeline (what was logged on the company, on its people and on its deals, newest first, in pages);
which entries a member sees there (record scope, deals.read, the trash); tasks in My tasks and
reminder emails; bad input, isolation, permissions, query counts and the migration's back-fill."""

import re
from datetime import timedelta

import sqlalchemy as sa

from crm.activities.models import Activity
from crm.audit.models import AuditEntry
from crm.cli import crm_cli
from crm.contacts.models import Company, Contact
from crm.db import utcnow
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import (
    assign_role,
    make_activity,
    make_company,
    make_company_activity,
    make_contact,
    make_deal,
    make_deal_activity,
    make_member,
    make_role,
)
from tests.query_counter import count_queries
from tests.test_pages import assert_valid_page

COMPOSER = {"HX-Request": "true", "HX-Target": "activity-composer"}
MORE = {"HX-Request": "true", "HX-Target": "timeline-more"}


def company_url(ws, company_id: int, rest: str = "") -> str:
    return f"/w/{ws.slug}/companies/{company_id}{rest}"


def activities_of(app, ws) -> list[Activity]:
    with app.app_context(), workspace_scope(ws.id):
        rows = list(db.session.scalars(sa.select(Activity).order_by(Activity.id)))
        db.session.expunge_all()
        return rows


def company_audit(app, ws, company_id: int) -> list[str]:
    with app.app_context(), workspace_scope(ws.id):
        statement = sa.select(AuditEntry.action).where(
            AuditEntry.record_type == "company", AuditEntry.record_id == company_id
        )
        return list(db.session.scalars(statement.order_by(AuditEntry.id)))


def timeline_of(page: str) -> str:
    return page.split('id="timeline-list"')[1].split("</ol>")[0]


def trash(app, ws, model, record_id: int) -> None:
    with app.app_context(), workspace_scope(ws.id):
        db.session.get(model, record_id).deleted_at = utcnow()
        db.session.commit()


def test_log_each_kind_on_a_company_without_leaving_the_page(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    auth.login(ws_a.email, ws_a.password)
    page = client.get(company_url(ws_a, acme)).get_data(as_text=True)
    assert f'data-hx-post="/w/{ws_a.slug}/companies/{acme}/activities/"' in page
    assert "Nothing yet: calls, notes, purchases, deals and tickets of this company" in page
    assert_valid_page(page, company_url(ws_a, acme))
    for kind in ("note", "call", "email", "meeting", "task"):
        data = {"kind": kind, "body": f"A {kind} with <b>Acme</b>"}
        if kind == "task":
            data |= {"due_at": "2030-01-02T09:30", "assignee_id": str(ws_a.membership_id)}
        response = post(client, company_url(ws_a, acme, "/activities/"), data, headers=COMPOSER)
        body = response.get_data(as_text=True)
        assert response.status_code == 200, kind
        assert body.lstrip().startswith('<form id="activity-composer"')
        assert (
            'data-hx-swap-oob="afterbegin:#timeline-list"' in body and f"A {kind} with &lt;b&gt;Acme&lt;/b&gt;" in body
        )
        assert 'id="contact-summary"' not in body  # a company has no customer summary to refresh
        assert f'<option selected value="{kind}">' in body  # the next one is often of the same type
    logged = activities_of(app, ws_a)
    assert [a.kind for a in logged] == ["note", "call", "email", "meeting", "task"]
    assert {(a.company_id, a.contact_id, a.deal_id) for a in logged} == {(acme, None, None)}
    assert logged[-1].assignee_id == ws_a.membership_id and logged[-1].due_at.year == 2030
    assert company_audit(app, ws_a, acme) == ["company.created", *["activity.created"] * 5]
    page = client.get(company_url(ws_a, acme)).get_data(as_text=True)
    timeline = timeline_of(page)
    assert timeline.index("A task with") < timeline.index("A note with") and "Mark done" in timeline
    # Each entry's buttons post to the company's activity routes (the page is drawn by the companies' view).
    actions = set(re.findall(r'action="([^"]+)"', timeline))
    expected = {company_url(ws_a, acme, f"/activities/{a.id}/delete") for a in logged}
    expected.add(company_url(ws_a, acme, f"/activities/{logged[-1].id}/done"))
    assert actions == expected
    assert_valid_page(page, company_url(ws_a, acme))
    # Without htmx: post/redirect/get back to the company.
    response = post(client, company_url(ws_a, acme, "/activities/"), {"kind": "note", "body": "Plain post"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/companies/{acme}")


def test_the_timeline_gathers_the_companys_people_and_deals_and_keeps_them_when_a_person_moves(app, client, auth, ws_a):
    acme, globex = make_company(app, ws_a, "Acme Ltd"), make_company(app, ws_a, "Globex")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    deal_id = make_deal(app, ws_a, "Tea chests", company_id=acme)
    make_activity(app, ws_a, ann, "Called Ann at Acme", kind="call")
    make_deal_activity(app, ws_a, deal_id, "Sent the tea price list")
    auth.login(ws_a.email, ws_a.password)
    update = {"name": "Ann Lee", "company_id": str(globex), "owner_id": str(ws_a.membership_id)}
    assert post(client, f"/w/{ws_a.slug}/contacts/{ann}", update).status_code == 303  # Ann moves to Globex
    make_activity(app, ws_a, ann, "Called Ann at Globex", kind="call")
    acme_timeline = timeline_of(client.get(company_url(ws_a, acme)).get_data(as_text=True))
    assert "Called Ann at Acme" in acme_timeline and "Sent the tea price list" in acme_timeline
    assert "Called Ann at Globex" not in acme_timeline
    assert f'with <a href="/w/{ws_a.slug}/contacts/{ann}">Ann Lee</a>' in acme_timeline
    assert f'on the deal <a href="/w/{ws_a.slug}/deals/{deal_id}">Tea chests</a>' in acme_timeline
    globex_timeline = timeline_of(client.get(company_url(ws_a, globex)).get_data(as_text=True))
    assert "Called Ann at Globex" in globex_timeline and "Called Ann at Acme" not in globex_timeline


def test_a_deal_activity_goes_to_the_deals_company_before_its_contacts(app, ws_a):
    acme, globex = make_company(app, ws_a, "Acme Ltd"), make_company(app, ws_a, "Globex")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=globex)
    with_company = make_deal(app, ws_a, "Tea for Acme", contact_id=ann, company_id=acme)
    without_company = make_deal(app, ws_a, "Tea for Ann", contact_id=ann)
    make_deal_activity(app, ws_a, with_company, "For Acme")
    make_deal_activity(app, ws_a, without_company, "For Ann")
    assert [(a.body, a.company_id) for a in activities_of(app, ws_a)] == [("For Acme", acme), ("For Ann", globex)]


def test_entries_of_people_and_deals_a_member_may_not_open_stay_off_the_company_timeline(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    seller = make_member(app, ws_a, "sam@alpha.example.com")
    own = make_role(app, ws_a, "Own", ("contacts.read", "deals.read", "notes.write"), record_scope="own")
    assign_role(app, ws_a, seller.membership_id, own)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Company, acme).owner_id = seller.membership_id
        db.session.commit()
    sams = make_contact(app, ws_a, "Sam's Bo", company_id=acme, owner_id=seller.membership_id)
    alices = make_contact(app, ws_a, "Alice's Cy", company_id=acme, owner_id=ws_a.membership_id)
    gone = make_contact(app, ws_a, "Gone Di", company_id=acme, owner_id=seller.membership_id)
    alices_deal = make_deal(app, ws_a, "Alice's deal", company_id=acme, owner_id=ws_a.membership_id)
    sams_deal = make_deal(app, ws_a, "Sam's deal", company_id=acme, owner_id=seller.membership_id)
    make_company_activity(app, ws_a, acme, "About the whole company")
    make_activity(app, ws_a, sams, "Note on Bo")
    secret = make_activity(app, ws_a, alices, "Note on Cy")
    make_activity(app, ws_a, gone, "Note on Di")
    make_deal_activity(app, ws_a, alices_deal, "Note on Alice's deal")
    make_deal_activity(app, ws_a, sams_deal, "Note on Sam's deal")
    trash(app, ws_a, Contact, gone)
    auth.login(seller.email, seller.password)
    timeline = timeline_of(client.get(company_url(ws_a, acme)).get_data(as_text=True))
    for shown in ("About the whole company", "Note on Bo", "Note on Sam&#39;s deal"):
        assert shown in timeline, shown
    for hidden in ("Note on Cy", "Note on Di", "Note on Alice&#39;s deal"):
        assert hidden not in timeline, hidden
    # Nor can they reach a hidden entry through the company's routes.
    for action in ("done", "delete"):
        assert post(client, company_url(ws_a, acme, f"/activities/{secret}/{action}"), {"done": "1"}).status_code == 404
    assert "Note on Cy" in [a.body for a in activities_of(app, ws_a)]
    # Without deals.read, no deal's entry shows; with every record in scope, the others do.
    no_deals = make_role(app, ws_a, "No deals", ("contacts.read", "notes.write"))
    assign_role(app, ws_a, seller.membership_id, no_deals)
    timeline = timeline_of(client.get(company_url(ws_a, acme)).get_data(as_text=True))
    assert "Note on Cy" in timeline and "deal" not in timeline and "Note on Di" not in timeline


def test_pages_of_the_timeline_cover_every_entry_once_newest_first(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    start = utcnow() - timedelta(days=30)
    for number in range(23):
        if number % 2:
            make_activity(app, ws_a, ann, f"note {number:02d}", occurred_at=start + timedelta(days=number))
        else:
            make_company_activity(app, ws_a, acme, f"note {number:02d}", occurred_at=start + timedelta(days=number))
    auth.login(ws_a.email, ws_a.password)
    page = client.get(company_url(ws_a, acme)).get_data(as_text=True)
    first = timeline_of(page)
    assert first.count('<li id="entry-') == 20 and first.index("note 22") < first.index("note 21")
    assert "note 02" not in first
    link = re.search(r'id="timeline-more".*?data-hx-get="([^"]+)"', page, re.S).group(1).replace("&amp;", "&")
    with count_queries(app) as queries:
        rest = client.get(link, headers=MORE).get_data(as_text=True)
    # member, the company, then one query a source: activities, purchases, changes, deal events, tickets
    assert len(queries) == 7, queries
    assert "<html" not in rest and "timeline-more" not in rest
    everything = first.split('id="timeline-more"')[0] + rest
    for label in [f"note {n:02d}" for n in range(23)]:
        assert everything.count(f">{label}<") == 1, label
    assert client.get(company_url(ws_a, acme, "/timeline"), query_string={"after": "garbage"}).status_code == 400


def test_company_page_queries_do_not_grow_with_the_timeline(app, client, auth, ws_a):
    quiet, busy = make_company(app, ws_a, "Quiet Ltd"), make_company(app, ws_a, "Busy Ltd")
    colleague = make_member(app, ws_a, "colleague@alpha.example.com")
    people = [make_contact(app, ws_a, f"Person {n}", company_id=busy) for n in range(3)]
    deal_id = make_deal(app, ws_a, "Busy deal", company_id=busy)
    make_deal(app, ws_a, "Quiet deal", company_id=quiet)  # both pages list an open deal
    for number in range(25):
        fields = {"kind": "task", "due_at": utcnow(), "assignee_id": colleague.membership_id} if number % 3 else {}
        fields["author_id"] = colleague.membership_id
        if number % 5 == 0:
            make_deal_activity(app, ws_a, deal_id, f"entry {number}", **fields)
        else:
            make_activity(app, ws_a, people[number % 3], f"entry {number}", **fields)
    auth.login(ws_a.email, ws_a.password)

    def queries_for(company_id: int) -> tuple[int, str]:
        client.get(company_url(ws_a, company_id))
        with count_queries(app) as queries:
            page = client.get(company_url(ws_a, company_id)).get_data(as_text=True)
        return len(queries), page

    few, _ = queries_for(quiet)
    many, page = queries_for(busy)
    assert "entry 24" in page and "Assigned to Test User" in page and "on the deal" in page
    assert many == few, (few, many)


def test_a_company_task_in_my_tasks_reminders_and_the_trash(app, client, auth, mailbox, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    gone = make_company(app, ws_a, "Gone Ltd")
    me, now = ws_a.membership_id, utcnow()
    task = make_company_activity(app, ws_a, acme, "Renew Acme's contract", kind="task", due_at=now - timedelta(days=1),
                                 assignee_id=me, remind_at=now - timedelta(minutes=5))  # fmt: skip
    make_company_activity(app, ws_a, gone, "Ghost task", kind="task", due_at=now, assignee_id=me)
    trash(app, ws_a, Company, gone)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/tasks/").get_data(as_text=True)
    overdue = page.split('id="tasks-overdue"')[1].split("</section>")[0]
    assert f'<a href="/w/{ws_a.slug}/companies/{acme}">Acme Ltd</a>' in overdue and "Renew Acme" in overdue
    assert f'action="/w/{ws_a.slug}/tasks/{task}/done"' in overdue
    assert "Ghost task" not in page
    care = client.get(f"/w/{ws_a.slug}/care/", headers={"HX-Request": "true", "HX-Target": "care-lists"})
    assert f'<a href="/w/{ws_a.slug}/companies/{acme}">Acme Ltd</a>' in care.get_data(as_text=True)
    result = app.test_cli_runner().invoke(crm_cli, ["send-reminders"])
    assert "1 reminder(s) sent." in result.output
    text = mailbox.messages[0].get_body(("plain",)).get_content()
    assert "Renew Acme's contract" in text and "Company: Acme Ltd" in text and "Customer:" not in text
    assert f"/w/{ws_a.slug}/companies/{acme}" in text
    done = post(client, f"/w/{ws_a.slug}/companies/{acme}/activities/{task}/done", {"done": "1", "next": "tasks"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/tasks/")
    assert activities_of(app, ws_a)[0].done_at is not None
    assert company_audit(app, ws_a, acme)[-1] == "activity.done"


def test_a_task_is_done_and_deleted_from_the_company_page_by_its_author_or_a_deleter(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    seller = make_member(app, ws_a, "sam@alpha.example.com", role="sales")
    task = make_activity(app, ws_a, ann, "Call Ann back", kind="task", due_at=utcnow(),
                         assignee_id=seller.membership_id, author_id=ws_a.membership_id)  # fmt: skip
    auth.login(seller.email, seller.password)
    target = {"HX-Request": "true", "HX-Target": f"entry-activity-{task}"}
    done = post(client, company_url(ws_a, acme, f"/activities/{task}/done"), {"done": "1"}, headers=target)
    body = done.get_data(as_text=True)
    assert done.status_code == 200 and body.lstrip().startswith(f'<li id="entry-activity-{task}"')
    assert "Reopen" in body and f'with <a href="/w/{ws_a.slug}/contacts/{ann}">Ann Lee</a>' in body
    assert activities_of(app, ws_a)[0].done_at is not None
    assert post(client, company_url(ws_a, acme, f"/activities/{task}/delete"), {}).status_code == 403  # not theirs
    auth.logout()
    auth.login(ws_a.email, ws_a.password)  # the owner holds contacts.delete
    response = post(client, company_url(ws_a, acme, f"/activities/{task}/delete"), {}, headers=target)
    assert response.status_code == 200 and response.get_data(as_text=True) == ""
    assert activities_of(app, ws_a) == []


def test_bad_input_is_422_and_saves_nothing(app, client, auth, ws_a, ws_b):
    acme = make_company(app, ws_a, "Acme Ltd")
    auth.login(ws_a.email, ws_a.password)
    for data, message in (
        ({"kind": "call", "body": "  "}, "Write something first."),
        ({"kind": "task", "body": "Call back"}, "A task needs a due date."),
        ({"kind": "task", "body": "Call back", "due_at": "2030-01-02T09:30", "assignee_id": str(ws_b.membership_id)},
         "Not a valid choice."),
    ):  # fmt: skip
        response = post(client, company_url(ws_a, acme, "/activities/"), data, headers=COMPOSER)
        body = response.get_data(as_text=True)
        assert response.status_code == 422 and message in body, data
        assert body.lstrip().startswith('<form id="activity-composer"'), data
    response = post(client, company_url(ws_a, acme, "/activities/"), {"kind": "call", "body": ""})
    assert response.status_code == 422  # without htmx: the form on a page of its own (tests/test_composer_pages.py)
    assert "The activity was not saved: Write something first." in response.get_data(as_text=True)
    assert activities_of(app, ws_a) == [] and company_audit(app, ws_a, acme) == ["company.created"]


def test_another_workspaces_company_or_activity_is_404(app, client, auth, ws_a, ws_b):
    mine, other_mine = make_company(app, ws_a, "Mine Ltd"), make_company(app, ws_a, "Also Mine")
    theirs = make_company(app, ws_b, "Secret Ltd")
    their_task = make_company_activity(app, ws_b, theirs, "Secret task", kind="task", due_at=utcnow(),
                                       assignee_id=ws_b.membership_id)  # fmt: skip
    my_task = make_company_activity(app, ws_a, mine, "My task", kind="task", due_at=utcnow())
    auth.login(ws_a.email, ws_a.password)
    response = client.get(company_url(ws_a, theirs, "/timeline"))
    assert response.status_code == 404 and "Secret" not in response.get_data(as_text=True)
    for url in (
        company_url(ws_a, theirs, "/activities/"),
        company_url(ws_a, theirs, f"/activities/{their_task}/done"),
        company_url(ws_a, theirs, f"/activities/{their_task}/delete"),
        company_url(ws_a, mine, f"/activities/{their_task}/done"),  # their activity under my company
        company_url(ws_a, other_mine, f"/activities/{my_task}/done"),  # an activity of another company
        company_url(ws_a, other_mine, f"/activities/{my_task}/delete"),
    ):
        assert post(client, url, {"kind": "note", "body": "x", "done": "1"}).status_code == 404, url
    assert [a.done_at for a in activities_of(app, ws_b)] == [None]
    assert [(a.body, a.done_at) for a in activities_of(app, ws_a)] == [("My task", None)]


def test_permissions_notes_write_and_own_scope(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd", owner_id=ws_a.membership_id)
    make_company_activity(app, ws_a, acme, "Visible note")
    viewer = make_member(app, ws_a, "vic@alpha.example.com", role="viewer")  # contacts.read, no notes.write
    auth.login(viewer.email, viewer.password)
    page = client.get(company_url(ws_a, acme)).get_data(as_text=True)
    assert "Visible note" in page and 'id="activity-composer"' not in page and "entry-actions" not in page
    assert client.get(company_url(ws_a, acme, "/timeline")).status_code == 200
    assert post(client, company_url(ws_a, acme, "/activities/"), {"kind": "note", "body": "x"}).status_code == 403
    auth.logout()
    seller = make_member(app, ws_a, "sam@alpha.example.com")
    own = make_role(app, ws_a, "Own", ("contacts.read", "notes.write"), record_scope="own")
    assign_role(app, ws_a, seller.membership_id, own)
    auth.login(seller.email, seller.password)
    assert client.get(company_url(ws_a, acme, "/timeline")).status_code == 404  # not their company
    assert post(client, company_url(ws_a, acme, "/activities/"), {"kind": "note", "body": "x"}).status_code == 404
    assert [a.body for a in activities_of(app, ws_a)] == ["Visible note"]


def test_migration_fills_the_company_of_earlier_activities_and_down_drops_company_only_ones(app, ws_a):
    from flask_migrate import downgrade, upgrade

    acme, globex = make_company(app, ws_a, "Acme Ltd"), make_company(app, ws_a, "Globex")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    bo = make_contact(app, ws_a, "Bo Chen")
    deal_id = make_deal(app, ws_a, "Tea", contact_id=ann, company_id=globex)
    make_activity(app, ws_a, ann, "With Ann")
    make_activity(app, ws_a, bo, "With Bo")
    make_deal_activity(app, ws_a, deal_id, "On the deal")
    make_company_activity(app, ws_a, acme, "On Acme alone")
    with app.app_context():
        downgrade(revision="0027")
        upgrade()
    rows = [(a.body, a.company_id) for a in activities_of(app, ws_a)]
    assert rows == [("With Ann", acme), ("With Bo", None), ("On the deal", globex)]


def test_a_company_in_the_trash_keeps_its_peoples_and_deals_tasks_in_my_tasks(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    deal_id = make_deal(app, ws_a, "Tea chests", company_id=acme)
    me, now = ws_a.membership_id, utcnow()
    make_activity(app, ws_a, ann, "Call Ann", kind="task", due_at=now, assignee_id=me)
    make_deal_activity(app, ws_a, deal_id, "Quote the tea", kind="task", due_at=now, assignee_id=me)
    make_company_activity(app, ws_a, acme, "Renew Acme", kind="task", due_at=now, assignee_id=me)
    trash(app, ws_a, Company, acme)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/tasks/").get_data(as_text=True)
    assert "Call Ann" in page and "Quote the tea" in page and "Renew Acme" not in page


def test_a_deals_entry_shows_through_the_deal_and_needs_deals_delete_to_remove(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    gone = make_contact(app, ws_a, "Gone Di", company_id=acme)
    with_gone = make_deal(app, ws_a, "Deal with Di", contact_id=gone, company_id=acme)
    alone = make_deal(app, ws_a, "Deal alone", company_id=acme)
    make_deal_activity(app, ws_a, with_gone, "Entry on Di's deal")
    entry = make_deal_activity(app, ws_a, alone, "Entry on the lone deal")
    trash(app, ws_a, Contact, gone)
    clerk = make_member(app, ws_a, "cleo@alpha.example.com")
    role = make_role(app, ws_a, "Clerk", ("contacts.read", "contacts.delete", "deals.read", "notes.write"))
    assign_role(app, ws_a, clerk.membership_id, role)
    auth.login(clerk.email, clerk.password)
    timeline = timeline_of(client.get(company_url(ws_a, acme)).get_data(as_text=True))
    assert "Entry on Di&#39;s deal" in timeline  # its person is in the trash, its deal is not
    lone = timeline.split(f'id="entry-activity-{entry}"')[1].split("</li>")[0]
    assert "Entry on the lone deal" in lone and "/delete" not in lone  # the deal's page would ask deals.delete
    assert post(client, company_url(ws_a, acme, f"/activities/{entry}/delete"), {}).status_code == 403
    assert "Entry on the lone deal" in [a.body for a in activities_of(app, ws_a)]


def test_a_task_edited_on_the_company_page_goes_only_to_who_may_open_its_own_record(app, client, auth, ws_a):
    """A person's or a deal's task on the company's timeline is handed on as on that person's or deal's
    page: not to whoever may see the company."""
    sam = make_member(app, ws_a, "sam@alpha.example.com")  # sees his own records only: Acme, not Ann
    assign_role(app, ws_a, sam.membership_id,
                make_role(app, ws_a, "Own", ("contacts.read", "notes.write"), record_scope="own"))  # fmt: skip
    vic = make_member(app, ws_a, "vic@alpha.example.com")  # every customer, no deals
    assign_role(app, ws_a, vic.membership_id, make_role(app, ws_a, "No deals", ("contacts.read", "notes.write")))
    acme = make_company(app, ws_a, "Acme Ltd", owner_id=sam.membership_id)
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme, owner_id=ws_a.membership_id)
    deal = make_deal(app, ws_a, "Tea chests", company_id=acme, owner_id=ws_a.membership_id)
    due = utcnow() + timedelta(days=1)
    on_ann = make_activity(app, ws_a, ann, "Call Ann", kind="task", due_at=due, assignee_id=ws_a.membership_id)
    on_deal = make_deal_activity(app, ws_a, deal, "Send the quote", kind="task", due_at=due,
                                 assignee_id=ws_a.membership_id)  # fmt: skip
    auth.login(ws_a.email, ws_a.password)

    def choices(task_id: int) -> str:
        form = client.get(company_url(ws_a, acme, f"/activities/{task_id}/edit"),
                          headers={"HX-Request": "true", "HX-Target": f"entry-activity-{task_id}"})  # fmt: skip
        return form.get_data(as_text=True).split(f'name="entry{task_id}-assignee_id"')[1].split("</select>")[0]

    def hand(task_id: int, body: str, member_id: int):
        return post(client, company_url(ws_a, acme, f"/activities/{task_id}/edit"),
                    {f"entry{task_id}-body": body, f"entry{task_id}-due_at": due.strftime("%Y-%m-%dT%H:%M"),
                     f"entry{task_id}-assignee_id": str(member_id)},
                    headers={"HX-Request": "true", "HX-Target": f"entry-activity-{task_id}"})  # fmt: skip

    ann_choices, deal_choices = choices(on_ann), choices(on_deal)
    assert f'value="{sam.membership_id}"' not in ann_choices and f'value="{vic.membership_id}"' in ann_choices
    assert f'value="{vic.membership_id}"' not in deal_choices and f'value="{sam.membership_id}"' not in deal_choices
    assert f'value="{ws_a.membership_id}"' in deal_choices
    assert hand(on_ann, "Call Ann", sam.membership_id).status_code == 422  # Sam may not open Ann
    assert hand(on_deal, "Send the quote", vic.membership_id).status_code == 422  # Vic may not read deals
    with app.app_context(), workspace_scope(ws_a.id):
        assert {db.session.get(Activity, task).assignee_id for task in (on_ann, on_deal)} == {ws_a.membership_id}
    assert hand(on_ann, "Call Ann", vic.membership_id).status_code == 200
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Activity, on_ann).assignee_id == vic.membership_id
