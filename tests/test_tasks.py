"""Follow-ups and customer care: My tasks, reminder emails (once each), and the care lists of the
workspace home."""

import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from crm.activities.models import Activity
from crm.auth.models import User
from crm.cli import crm_cli
from crm.contacts.models import Contact
from crm.db import utcnow
from crm.extensions import db
from crm.pagination import encode_cursor
from crm.tenancy import workspace_scope
from crm.workspaces.models import Workspace
from tests.conftest import post
from tests.factories import make_activity, make_contact, make_member, make_purchase
from tests.test_pages import assert_valid_page

CARE = {"HX-Request": "true", "HX-Target": "care-lists"}


def task(app, ws, contact_id, body, due, assignee_id, **fields) -> int:
    return make_activity(app, ws, contact_id, body, kind="task", due_at=due, assignee_id=assignee_id, **fields)


def test_my_tasks_sorted_into_overdue_today_upcoming_and_done(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    me, now = ws_a.membership_id, utcnow()
    colleague = make_member(app, ws_a, "colleague@alpha.example.com")
    task(app, ws_a, contact_id, "Send the catalogue", now - timedelta(days=2), me)
    task(app, ws_a, contact_id, "Call about the order", now + timedelta(days=5), me)
    done = task(app, ws_a, contact_id, "Book the meeting", now - timedelta(days=1), me)
    task(app, ws_a, contact_id, "Someone else's task", now - timedelta(days=2), colleague.membership_id)
    auth.login(ws_a.email, ws_a.password)
    post(client, f"/w/{ws_a.slug}/contacts/{contact_id}/activities/{done}/done", {"done": "1", "next": "tasks"})
    page = client.get(f"/w/{ws_a.slug}/tasks/").get_data(as_text=True)
    overdue, upcoming, finished = (page.split(f'id="tasks-{name}"')[1] for name in ("overdue", "upcoming", "done"))
    assert "Send the catalogue" in overdue.split("</section>")[0]
    assert "Call about the order" in upcoming.split("</section>")[0]
    assert "Book the meeting" in finished.split("</section>")[0]
    assert "Someone else" not in page


def test_a_forged_cursor_is_refused_rather_than_failing(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    task(app, ws_a, contact_id, "Send the catalogue", utcnow() - timedelta(days=2), ws_a.membership_id)
    auth.login(ws_a.email, ws_a.password)
    for values in (
        ["2026-01-01T00:00:00", "1"],
        ["0001-01-01T00:00:00+14:00", "1"],
        ["2026-01-01T00:00:00+00:00", "99999999999999999999"],
    ):
        response = client.get(
            f"/w/{ws_a.slug}/tasks/", query_string={"section": "overdue", "after": encode_cursor(values)}
        )
        assert response.status_code == 400, values
    genuine = encode_cursor(["1900-01-01T00:00:00+00:00", "1"])
    page = client.get(f"/w/{ws_a.slug}/tasks/", query_string={"section": "overdue", "after": genuine})
    assert page.status_code == 200 and "Send the catalogue" in page.get_data(as_text=True)


def test_reminders_are_emailed_once_to_the_assignee(app, client, mailbox, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    colleague = make_member(app, ws_a, "colleague@alpha.example.com")
    now = utcnow()
    task(app, ws_a, contact_id, "Call Ann back", now + timedelta(hours=2), colleague.membership_id,
         remind_at=now - timedelta(minutes=1))  # fmt: skip
    task(app, ws_a, contact_id, "Later", now + timedelta(days=2), colleague.membership_id,
         remind_at=now + timedelta(days=1))  # fmt: skip
    runner = app.test_cli_runner()
    first = runner.invoke(crm_cli, ["send-reminders"])
    assert first.exit_code == 0 and "1 reminder(s) sent." in first.output
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message["To"] == colleague.email and "Call Ann back" in message["Subject"]
    assert f"/w/{ws_a.slug}/contacts/{contact_id}" in message.get_body(("plain",)).get_content()
    again = runner.invoke(crm_cli, ["send-reminders"])
    assert "0 reminder(s) sent." in again.output and len(mailbox.messages) == 1


def test_a_task_written_over_several_lines_is_reminded_under_its_first_line(app, mailbox, ws_a):
    contact_id, now = make_contact(app, ws_a, "Ann Lee"), utcnow()
    text = "Call  Ann\tback about the order\r\nShe asked for:\n- the blue cups\u2028- a new invoice"
    call = task(app, ws_a, contact_id, text, now + timedelta(hours=2), ws_a.membership_id,
                remind_at=now - timedelta(minutes=1))  # fmt: skip
    result = app.test_cli_runner().invoke(crm_cli, ["send-reminders"])
    assert result.exit_code == 0 and "1 reminder(s) sent." in result.output
    [message] = mailbox.messages
    assert message["Subject"] == "Reminder: Call Ann back about the order"  # first line, whitespace folded
    body = message.get_body(("plain",)).get_content()
    assert "She asked for:" in body and "- the blue cups" in body and "a new invoice" in body  # all of it here
    assert reminded(app, ws_a, call) is not None


def test_reminder_links_start_with_the_public_address(app, mailbox, ws_a, monkeypatch):
    monkeypatch.setitem(app.config, "SERVER_NAME", "crm.example.com")  # as production must have it
    monkeypatch.setitem(app.config, "PREFERRED_URL_SCHEME", "https")
    contact_id = make_contact(app, ws_a, "Ann Lee")
    now = utcnow()
    task(app, ws_a, contact_id, "Call Ann back", now + timedelta(hours=2), ws_a.membership_id,
         remind_at=now - timedelta(minutes=1))  # fmt: skip
    assert "1 reminder(s) sent." in app.test_cli_runner().invoke(crm_cli, ["send-reminders"]).output
    assert mailbox.links() == [f"https://crm.example.com/w/{ws_a.slug}/contacts/{contact_id}"]
    assert "127.0.0.1" not in mailbox.messages[0].get_body(("plain",)).get_content()


def test_without_a_public_address_development_links_go_to_make_run(app, mailbox, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    now = utcnow()
    task(app, ws_a, contact_id, "Call Ann back", now + timedelta(hours=2), ws_a.membership_id,
         remind_at=now - timedelta(minutes=1))  # fmt: skip
    app.test_cli_runner().invoke(crm_cli, ["send-reminders"])
    assert mailbox.links() == [f"http://127.0.0.1:5000/w/{ws_a.slug}/contacts/{contact_id}"]


def in_zone(app, ws, zone: str) -> None:
    with app.app_context():
        db.session.get(Workspace, ws.id).timezone = zone
        db.session.commit()


def test_the_reminder_gives_the_due_time_in_the_workspace_time_zone_and_names_it(app, mailbox, ws_a, ws_b):
    in_zone(app, ws_a, "Asia/Shanghai")  # ws_b stays on UTC: each workspace's mail has its own zone
    chinese = make_member(app, ws_a, "wei@alpha.example.com")
    with app.app_context():
        db.session.scalar(sa.select(User).where(User.email == chinese.email)).locale = "zh_Hans"
        db.session.commit()
    due, now = datetime(2026, 12, 8, 1, 0, tzinfo=UTC), utcnow()
    for ws, assignee in ((ws_a, ws_a.membership_id), (ws_a, chinese.membership_id), (ws_b, ws_b.membership_id)):
        task(app, ws, make_contact(app, ws, "Ann Lee"), "Call Ann back", due, assignee,
             remind_at=now - timedelta(minutes=1))  # fmt: skip
    assert "3 reminder(s) sent." in app.test_cli_runner().invoke(crm_cli, ["send-reminders"]).output
    bodies = {message["To"]: message.get_body(("plain",)).get_content() for message in mailbox.messages}
    assert "Due: Tuesday, December 8, 2026, 9:00\N{NARROW NO-BREAK SPACE}AM (Asia/Shanghai)" in bodies[ws_a.email]
    assert "2026年12月8日星期二 09:00" in bodies[chinese.email] and "Asia/Shanghai" in bodies[chinese.email]
    assert "Due: Tuesday, December 8, 2026, 1:00\N{NARROW NO-BREAK SPACE}AM (UTC)" in bodies[ws_b.email]


def test_a_reminder_on_a_record_in_the_trash_waits_for_it_to_come_back(app, client, mailbox, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    now = utcnow()
    task(app, ws_a, contact_id, "Call Ann back", now + timedelta(hours=2), ws_a.membership_id,
         remind_at=now - timedelta(minutes=1))  # fmt: skip
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Contact, contact_id).deleted_at = now
        db.session.commit()
    runner = app.test_cli_runner()
    assert "0 reminder(s) sent." in runner.invoke(crm_cli, ["send-reminders"]).output  # no link to a 404
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Contact, contact_id).deleted_at = None
        db.session.commit()
    assert "1 reminder(s) sent." in runner.invoke(crm_cli, ["send-reminders"]).output
    assert "Call Ann back" in mailbox.messages[0]["Subject"]


def born_on(day: date) -> date:
    """A birthday on that month and day (1992 was a leap year, so 29 February works too)."""
    return date(1992, day.month, day.day)


def test_care_lists_show_who_needs_attention(app, client, auth, ws_a):
    today = date.today()
    birthday = make_contact(app, ws_a, "Birthday Ann", birthday=born_on(today + timedelta(days=3)),
                            owner_id=ws_a.membership_id)  # fmt: skip
    make_contact(app, ws_a, "Far Birthday", birthday=born_on(today + timedelta(days=30)), owner_id=ws_a.membership_id)
    quiet = make_contact(app, ws_a, "Quiet VIP", owner_id=ws_a.membership_id)
    make_purchase(app, ws_a, quiet, amount=30000, on=today - timedelta(days=250))
    lost = make_contact(app, ws_a, "Lost VIP", owner_id=ws_a.membership_id)
    make_purchase(app, ws_a, lost, amount=30000, on=today - timedelta(days=800))  # churned
    with app.app_context(), workspace_scope(ws_a.id):
        from crm.contacts.service import set_level

        set_level(db.session.get(Contact, lost), "vip", db.session.get(Workspace, ws_a.id), today)  # by hand
        db.session.commit()
    make_contact(app, ws_a, "Nobody's customer")
    task(app, ws_a, birthday, "Overdue call", utcnow() - timedelta(days=1), ws_a.membership_id)
    auth.login(ws_a.email, ws_a.password)
    home = client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)
    assert 'data-hx-get="/w/alpha-trading/care/"' in home
    care = client.get(f"/w/{ws_a.slug}/care/", headers=CARE).get_data(as_text=True)
    assert "Overdue call" in care and "Birthday Ann" in care and "Far Birthday" not in care
    soon = today + timedelta(days=3)
    assert f'<span class="hint">{soon:%b} {soon.day}</span>' in care  # "Dec 8", not "Dec8"
    chinese = client.get(f"/w/{ws_a.slug}/care/", headers={**CARE, "Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert f'<span class="hint">{soon.month}月{soon.day}日</span>' in chinese
    # the language's colon: full-width in Chinese
    assert "Birthday Ann</a>: Overdue call" in care and "Birthday Ann</a>\uff1aOverdue call" in chinese
    assert "Quiet VIP" in care and "Lost VIP" in care and "VIP · Churned" in care
    # Dormant and churned both: the heading names neither alone.
    assert '<h3 id="care-quiet">VIP and potential customers gone quiet</h3>' in care
    assert "1 customer</a>" in care and "owner=none" in care
    full = client.get(f"/w/{ws_a.slug}/care/").get_data(as_text=True)
    assert "<h1>Customer care</h1>" in full


def test_a_long_care_list_says_so_on_the_home_and_shows_in_full_on_the_care_page(app, client, auth, ws_a):
    from crm.contacts.care import LIMIT

    soon = born_on(date.today() + timedelta(days=2))
    for number in range(LIMIT + 2):
        make_contact(app, ws_a, f"Guest {number:02}", birthday=soon, owner_id=ws_a.membership_id)
    auth.login(ws_a.email, ws_a.password)
    home = client.get(f"/w/{ws_a.slug}/care/", headers=CARE).get_data(as_text=True)
    assert home.count("Guest ") == LIMIT and "Guest 09" in home and "Guest 10" not in home
    assert f'<a href="/w/{ws_a.slug}/care/">See them all</a>' in home
    page = client.get(f"/w/{ws_a.slug}/care/").get_data(as_text=True)
    assert page.count("Guest ") == LIMIT + 2 and "See them all" not in page


def test_birthdays_come_soonest_first_across_new_year_and_29_february(app, ws_a):
    from crm.contacts.care import birthdays_soon
    from crm.workspaces.models import Membership

    for name, born in (
        ("Jan 2", date(1990, 1, 2)),
        ("Dec 30", date(1985, 12, 30)),
        ("Dec 28", date(1970, 12, 28)),
        ("Jan 10", date(1990, 1, 10)),
        ("Leap", date(1992, 2, 29)),
        ("Mar 1", date(1991, 3, 1)),
    ):
        make_contact(app, ws_a, name, birthday=born)  # fmt: skip
    with app.app_context(), workspace_scope(ws_a.id):
        owner = db.session.get(Membership, ws_a.membership_id)
        assert [c.name for c in birthdays_soon(owner, date(2026, 12, 28))] == ["Dec 28", "Dec 30", "Jan 2"]
        assert [c.name for c in birthdays_soon(owner, date(2027, 2, 25))] == ["Leap", "Mar 1"]  # 2027 has no 29th
        assert [c.name for c in birthdays_soon(owner, date(2028, 2, 25))] == ["Leap", "Mar 1"]


def test_care_lists_respect_scope_and_sensitive_details(app, client, auth, ws_a):
    today = date.today()
    make_contact(app, ws_a, "Birthday Ann", birthday=born_on(today), owner_id=ws_a.membership_id)
    sales = make_member(app, ws_a, "sales@alpha.example.com", role="sales")  # no contacts.sensitive
    auth.login(sales.email, sales.password)
    care = client.get(f"/w/{ws_a.slug}/care/", headers=CARE).get_data(as_text=True)
    assert "Birthday Ann" not in care and "Birthdays today" not in care
    make_contact(app, ws_a, "Nobody's customer")
    from tests.factories import assign_role, make_role

    assign_role(app, ws_a, sales.membership_id, make_role(app, ws_a, "Own", ["contacts.read"], record_scope="own"))
    own = client.get(f"/w/{ws_a.slug}/care/", headers=CARE).get_data(as_text=True)
    # They never see a customer without an owner, so they are not told there is none.
    assert "Customers with no owner" not in own and "Every customer has an owner." not in own


def test_tasks_of_deleted_contacts_leave_the_lists(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Gone")
    task(app, ws_a, contact_id, "Ghost task", utcnow() - timedelta(days=1), ws_a.membership_id)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Contact, contact_id).deleted_at = utcnow()
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 1
    auth.login(ws_a.email, ws_a.password)
    assert "Ghost task" not in client.get(f"/w/{ws_a.slug}/tasks/").get_data(as_text=True)


def test_a_task_goes_to_its_author_or_someone_who_can_open_the_customer_and_its_assignee_finishes_it(
    app, client, auth, ws_a
):
    import re

    from tests.factories import assign_role, make_role

    seller = make_member(app, ws_a, "sam@alpha.example.com")
    own = make_role(app, ws_a, "Own customers", ("contacts.read", "notes.write"), record_scope="own")
    assign_role(app, ws_a, seller.membership_id, own)
    mine = make_contact(app, ws_a, "Ann Lee", owner_id=ws_a.membership_id)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/contacts/{mine}").get_data(as_text=True)
    assignees = page.split('name="assignee_id"')[1].split("</select>")[0]
    assert f'<option selected value="{ws_a.membership_id}">' in assignees  # the author, by default
    assert f'value="{seller.membership_id}"' not in assignees  # Sam cannot open Ann
    refused = post(client, f"/w/{ws_a.slug}/contacts/{mine}/activities/",
                   {"kind": "task", "body": "Call Ann", "due_at": "2030-01-01T09:00",
                    "assignee_id": str(seller.membership_id)})  # fmt: skip
    assert refused.status_code == 422 and count_tasks(app, ws_a) == 0  # refused with a message, nothing saved
    # Given to Sam before (or Ann changed hands since): his to see and finish, without a link to Ann.
    make_activity(app, ws_a, mine, "Call Ann back", kind="task", due_at=utcnow(), assignee_id=seller.membership_id)
    auth.logout()
    auth.login(seller.email, seller.password)
    tasks = client.get(f"/w/{ws_a.slug}/tasks/").get_data(as_text=True)
    assert "Call Ann back" in tasks and f'href="/w/{ws_a.slug}/contacts/{mine}"' not in tasks
    [done_url] = re.findall(rf'action="(/w/{ws_a.slug}/tasks/\d+/done)"', tasks)
    assert post(client, done_url, {"done": "1"}).status_code == 303
    assert "Call Ann back" in client.get(f"/w/{ws_a.slug}/tasks/").get_data(as_text=True).split("Done lately")[1]
    assert client.get(f"/w/{ws_a.slug}/contacts/{mine}").status_code == 404  # still not his customer


def count_tasks(app, ws) -> int:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.scalar(sa.select(sa.func.count()).select_from(Activity).where(Activity.kind == "task"))


def test_a_task_handed_on_reminds_its_new_assignee_and_a_disabled_one_is_reminded_when_back(app, mailbox, ws_a):
    from crm.activities.models import Activity
    from crm.activities.service import update_activity
    from crm.workspaces.models import DISABLED, Membership

    contact_id = make_contact(app, ws_a, "Ann Lee")
    first, second = (make_member(app, ws_a, f"{name}@alpha.example.com") for name in ("first", "second"))
    now = utcnow()
    call = task(app, ws_a, contact_id, "Call Ann back", now + timedelta(hours=2), first.membership_id,
                remind_at=now - timedelta(minutes=1))  # fmt: skip
    runner = app.test_cli_runner()
    assert "1 reminder(s) sent." in runner.invoke(crm_cli, ["send-reminders"]).output
    with app.app_context(), workspace_scope(ws_a.id):
        activity = db.session.get(Activity, call)
        update_activity(activity, {"body": activity.body, "due_at": activity.due_at, "remind_at": activity.remind_at,
                                   "assignee_id": second.membership_id})  # fmt: skip
        db.session.get(Membership, second.membership_id).status = DISABLED
        db.session.commit()
    # Handed to someone disabled meanwhile: kept for them, not marked sent.
    assert "0 reminder(s) sent." in runner.invoke(crm_cli, ["send-reminders"]).output
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Membership, second.membership_id).status = "active"
        db.session.commit()
    assert "1 reminder(s) sent." in runner.invoke(crm_cli, ["send-reminders"]).output
    assert [message["To"] for message in mailbox.messages] == [first.email, second.email]


def test_a_tasks_assignee_may_correct_it_but_not_delete_it(app, client, auth, ws_a):
    seller = make_member(app, ws_a, "sam@alpha.example.com", role="sales")
    ann = make_contact(app, ws_a, "Ann Lee", owner_id=seller.membership_id)
    call = task(app, ws_a, ann, "Call Ann back", utcnow() + timedelta(days=1), seller.membership_id)
    note = make_activity(app, ws_a, ann, "The owner's note")
    auth.login(seller.email, seller.password)
    base = f"/w/{ws_a.slug}/contacts/{ann}/activities/"
    page = client.get(f"/w/{ws_a.slug}/contacts/{ann}").get_data(as_text=True)
    assert f'href="{base}{call}/edit"' in page and f'href="{base}{note}/edit"' not in page
    assert client.get(f"{base}{call}/edit").status_code == 200
    moved = post(client, f"{base}{call}/edit", {f"entry{call}-{name}": value for name, value in {
        "kind": "task", "body": "Call Ann back", "due_at": "2030-01-02T09:00",
        "assignee_id": str(seller.membership_id)}.items()})  # fmt: skip
    assert moved.status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        from crm.activities.models import Activity

        assert db.session.get(Activity, call).due_at.date().isoformat() == "2030-01-02"
    assert post(client, f"{base}{call}/delete", {}).status_code == 403  # correcting, not removing
    assert client.get(f"{base}{note}/edit").status_code == 403


def test_a_reminder_the_mail_server_refuses_is_not_marked_and_holds_no_other_back(app, mailbox, ws_a, ws_b):
    now = utcnow()
    colleague = make_member(app, ws_a, "colleague@alpha.example.com")
    refused = task(app, ws_a, make_contact(app, ws_a, "Ann Lee"), "Call for Alpha", now + timedelta(hours=1),
                   ws_a.membership_id, remind_at=now - timedelta(minutes=2))  # fmt: skip
    task(app, ws_a, make_contact(app, ws_a, "Bo Chen"), "Colleague's call", now + timedelta(hours=1),
         colleague.membership_id, remind_at=now - timedelta(minutes=1))  # fmt: skip
    task(app, ws_b, make_contact(app, ws_b, "Ann Lee"), "Call for Beta", now + timedelta(hours=1), ws_b.membership_id,
         remind_at=now - timedelta(minutes=1))  # fmt: skip
    mailbox.refused.add(ws_a.email)  # the real SMTP conversation: 550 to that recipient
    result = app.test_cli_runner().invoke(crm_cli, ["send-reminders"])
    assert result.exit_code == 1 and "2 reminder(s) sent." in result.output
    assert f"some reminders of workspace(s) {ws_a.id} were not sent" in result.output
    assert sorted(message["To"] for message in mailbox.messages) == sorted([colleague.email, ws_b.email])
    assert reminded(app, ws_a, refused) is None  # not counted as sent
    mailbox.refused.clear()  # the address works again: that one comes, the others are not sent again
    again = app.test_cli_runner().invoke(crm_cli, ["send-reminders"])
    assert again.exit_code == 0 and "1 reminder(s) sent." in again.output
    assert [message["To"] for message in mailbox.messages[2:]] == [ws_a.email]
    assert reminded(app, ws_a, refused) is not None


def reminded(app, ws, task_id: int):
    with app.app_context(), workspace_scope(ws.id):
        return db.session.get(Activity, task_id).reminded_at


def test_with_the_mail_server_down_reminders_wait_for_the_next_run_and_go_once(app, mailbox, ws_a, monkeypatch):
    from tests.conftest import free_port

    contact_id, now = make_contact(app, ws_a, "Ann Lee"), utcnow()
    calls = [task(app, ws_a, contact_id, f"Call {n}", now + timedelta(hours=1), ws_a.membership_id,
                  remind_at=now - timedelta(minutes=n)) for n in (1, 2)]  # fmt: skip
    real_server = app.config["MAIL_URL"]
    monkeypatch.setitem(app.config, "MAIL_URL", f"smtp+plain://127.0.0.1:{free_port()}")  # nothing listens there
    down = app.test_cli_runner().invoke(crm_cli, ["send-reminders"])
    assert down.exit_code == 1 and "0 reminder(s) sent." in down.output
    assert f"some reminders of workspace(s) {ws_a.id} were not sent" in down.output
    assert [reminded(app, ws_a, call) for call in calls] == [None, None] and mailbox.messages == []
    monkeypatch.setitem(app.config, "MAIL_URL", real_server)  # back up
    back = app.test_cli_runner().invoke(crm_cli, ["send-reminders"])
    assert back.exit_code == 0 and "2 reminder(s) sent." in back.output
    assert sorted(message["Subject"] for message in mailbox.messages) == ["Reminder: Call 1", "Reminder: Call 2"]
    assert all(reminded(app, ws_a, call) is not None for call in calls)
    assert "0 reminder(s) sent." in app.test_cli_runner().invoke(crm_cli, ["send-reminders"]).output
    assert len(mailbox.messages) == 2


def test_a_long_section_of_my_tasks_shows_more_and_done_tasks_say_when(app, client, auth, ws_a, monkeypatch):
    import re

    from crm.activities.models import Activity

    monkeypatch.setattr("crm.activities.tasks.SECTION_LIMIT", 2)
    contact_id = make_contact(app, ws_a, "Ann Lee")
    now = utcnow()
    for days in (5, 4, 3):
        task(app, ws_a, contact_id, f"Overdue by {days} days", now - timedelta(days=days), ws_a.membership_id)
    finished = task(app, ws_a, contact_id, "Finished one", now - timedelta(days=9), ws_a.membership_id)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Activity, finished).done_at = now - timedelta(hours=1)
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/tasks/").get_data(as_text=True)
    overdue = page.split('id="tasks-overdue"')[1].split("</section>")[0]
    assert "(2+)" in overdue and "Overdue by 5 days" in overdue and "Overdue by 3 days" not in overdue
    more = html.unescape(re.search(r'id="more-overdue".*?href="([^"]+)"', overdue, re.S).group(1))
    rest = client.get(more, headers={"HX-Request": "true", "HX-Target": "more-overdue"}).get_data(as_text=True)
    assert "Overdue by 3 days" in rest and "<html" not in rest and "more-overdue" not in rest
    alone = client.get(more).get_data(as_text=True)  # without JavaScript: a page of that section
    assert "Overdue by 3 days" in alone and "All my tasks" in alone
    assert_valid_page(alone, more)
    assert "Done " in page.split('id="tasks-done"')[1] and "Due " not in page.split('id="tasks-done"')[1]


def test_a_reminder_links_to_my_tasks_where_its_assignee_may_not_open_the_record(app, mailbox, ws_a):
    from tests.factories import assign_role, make_role

    seller = make_member(app, ws_a, "sam@alpha.example.com")
    own = make_role(app, ws_a, "Own customers", ("contacts.read", "notes.write"), record_scope="own")
    assign_role(app, ws_a, seller.membership_id, own)
    ann = make_contact(app, ws_a, "Ann Lee", owner_id=ws_a.membership_id)  # not Sam's
    now = utcnow()
    task(app, ws_a, ann, "Call Ann back", now + timedelta(hours=1), seller.membership_id,
         remind_at=now - timedelta(minutes=1))  # fmt: skip
    assert "1 reminder(s) sent." in app.test_cli_runner().invoke(crm_cli, ["send-reminders"]).output
    text = mailbox.messages[0].get_body(("plain",)).get_content()
    assert f"/w/{ws_a.slug}/tasks/" in text and f"/contacts/{ann}" not in text  # no link to a 404


def test_a_reminder_links_to_my_tasks_where_its_assignee_no_longer_reads_customers(app, mailbox, ws_a):
    """A person's task given to a member whose role then lost contacts.read: My tasks shows the person
    unlinked (their page is a 403), and so the reminder links to My tasks, not to that page."""
    from tests.factories import assign_role, make_role

    sam = make_member(app, ws_a, "sam@alpha.example.com")
    ann, now = make_contact(app, ws_a, "Ann Lee"), utcnow()
    task(app, ws_a, ann, "Call Ann back", now + timedelta(hours=1), sam.membership_id,
         remind_at=now - timedelta(minutes=1))  # fmt: skip
    assign_role(app, ws_a, sam.membership_id, make_role(app, ws_a, "Tasks only", ("notes.write",)))
    assert "1 reminder(s) sent." in app.test_cli_runner().invoke(crm_cli, ["send-reminders"]).output
    assert mailbox.links() == [f"http://127.0.0.1:5000/w/{ws_a.slug}/tasks/"]


@pytest.mark.postgres
def test_a_reminder_another_run_is_sending_is_skipped_and_never_sent_twice(app, mailbox, ws_a):
    """Two cron runs overlapping: the one that holds a task's row lock sends it; the other passes it by."""
    contact_id = make_contact(app, ws_a, "Ann Lee")
    now = utcnow()
    held = task(app, ws_a, contact_id, "Held by the other run", now + timedelta(hours=1), ws_a.membership_id,
                remind_at=now - timedelta(minutes=2))  # fmt: skip
    task(app, ws_a, contact_id, "Free to send", now + timedelta(hours=1), ws_a.membership_id,
         remind_at=now - timedelta(minutes=1))  # fmt: skip
    with app.app_context():
        engine = db.engine
        other_run = engine.connect()

    def wait_no_longer_than_a_few_seconds(connection):  # a run that waited for the lock would hang the test
        connection.exec_driver_sql("SET LOCAL lock_timeout = '3s'")

    sa.event.listen(engine, "begin", wait_no_longer_than_a_few_seconds)
    try:
        with other_run.begin():
            other_run.execute(sa.text("SELECT set_config('app.current_workspace', :ws, true)"), {"ws": str(ws_a.id)})
            other_run.execute(sa.text("SELECT id FROM activities WHERE id = :id FOR UPDATE"), {"id": held})
            result = app.test_cli_runner().invoke(crm_cli, ["send-reminders"])
            assert result.exit_code == 0 and "1 reminder(s) sent." in result.output
            assert [message["Subject"] for message in mailbox.messages] == ["Reminder: Free to send"]
            other_run.execute(
                sa.text("UPDATE activities SET reminded_at = now() WHERE id = :id"), {"id": held}
            )  # the other run sent it and marks it
        again = app.test_cli_runner().invoke(crm_cli, ["send-reminders"])
        assert "0 reminder(s) sent." in again.output and len(mailbox.messages) == 1
    finally:
        sa.event.remove(engine, "begin", wait_no_longer_than_a_few_seconds)
        other_run.close()


def test_a_reminder_needs_someone_to_get_it(app, client, auth, ws_a):
    """A task given to nobody has no one to remind: its reminder is refused next to the field, on a
    contact's, a deal's and a company's composer and when a task is corrected; a note ignores it."""
    from tests.factories import make_company, make_deal

    ann, deal, acme = make_contact(app, ws_a, "Ann Lee"), make_deal(app, ws_a, "Tea order"), make_company(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    composer = {"HX-Request": "true", "HX-Target": "activity-composer"}
    nobody = {"kind": "task", "body": "Call back", "due_at": "2030-01-02T09:00", "remind_at": "2030-01-02T08:00",
              "assignee_id": ""}  # fmt: skip
    for record in (f"contacts/{ann}", f"deals/{deal}", f"companies/{acme}"):
        response = post(client, f"/w/{ws_a.slug}/{record}/activities/", nobody, headers=composer)
        page = response.get_data(as_text=True)
        assert response.status_code == 422 and count_tasks(app, ws_a) == 0, record
        error = re.search(r'<p class="error" id="([^"]+)-error">([^<]*)</p>', page)
        assert error.groups() == ("remind_at", "Choose who gets the reminder."), record
    plain = post(client, f"/w/{ws_a.slug}/contacts/{ann}/activities/", nobody)  # without JavaScript too
    assert plain.status_code == 422 and "Choose who gets the reminder." in plain.get_data(as_text=True)
    assert count_tasks(app, ws_a) == 0
    without_reminder = post(client, f"/w/{ws_a.slug}/contacts/{ann}/activities/", {**nobody, "remind_at": ""})
    assert without_reminder.status_code == 303 and count_tasks(app, ws_a) == 1  # nobody's task, no reminder
    note = post(client, f"/w/{ws_a.slug}/contacts/{ann}/activities/", {**nobody, "kind": "note", "due_at": ""})
    assert note.status_code == 303  # a note has no reminder to send: the field is not its own
    call = task(app, ws_a, ann, "Call Ann back", utcnow() + timedelta(days=2), ws_a.membership_id,
                remind_at=utcnow() + timedelta(days=1))  # fmt: skip
    edit = f"/w/{ws_a.slug}/contacts/{ann}/activities/{call}/edit"
    form = client.get(edit, headers={"HX-Request": "true", "HX-Target": f"entry-activity-{call}"}).get_data(
        as_text=True
    )
    sent = dict(re.findall(r'name="(entry\d+-(?:due_at|remind_at))"[^>]*value="([^"]*)"', form))
    assert set(sent) == {f"entry{call}-due_at", f"entry{call}-remind_at"}
    unassigned = post(client, edit, {**sent, f"entry{call}-body": "Call Ann back", f"entry{call}-assignee_id": ""},
                      headers={"HX-Request": "true", "HX-Target": f"entry-activity-{call}"})  # fmt: skip
    assert unassigned.status_code == 422 and "Choose who gets the reminder." in unassigned.get_data(as_text=True)
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Activity, call).assignee_id == ws_a.membership_id  # unchanged


def test_my_tasks_finishes_a_deal_task_of_a_member_who_may_not_read_deals(app, client, auth, ws_a, ws_b):
    from tests.factories import make_deal, make_deal_activity

    support = make_member(app, ws_a, "sue@alpha.example.com", role="support")  # contacts, no deals.read
    deal = make_deal(app, ws_a, "Tea chests")
    chase = make_deal_activity(app, ws_a, deal, "Chase the chests", kind="task", due_at=utcnow() - timedelta(days=1),
                               assignee_id=support.membership_id)  # fmt: skip
    someone_elses = make_deal_activity(app, ws_a, deal, "Not hers", kind="task", due_at=utcnow(),
                                       assignee_id=ws_a.membership_id)  # fmt: skip
    note = make_deal_activity(app, ws_a, deal, "A note", author_id=support.membership_id)
    theirs = make_activity(app, ws_b, make_contact(app, ws_b, "Bo"), "B's task", kind="task", due_at=utcnow(),
                           assignee_id=ws_b.membership_id)  # fmt: skip
    auth.login(support.email, support.password)
    page = client.get(f"/w/{ws_a.slug}/tasks/").get_data(as_text=True)
    overdue = page.split('id="tasks-overdue"')[1].split("</section>")[0]
    assert "Chase the chests" in overdue and f'href="/w/{ws_a.slug}/deals/{deal}"' not in overdue
    assert f'action="/w/{ws_a.slug}/tasks/{chase}/done"' in overdue
    assert post(client, f"/w/{ws_a.slug}/deals/{deal}/activities/{chase}/done", {"done": "1"}).status_code == 403
    done = post(client, f"/w/{ws_a.slug}/tasks/{chase}/done", {"done": "1"})
    assert done.status_code == 303 and done.headers["Location"] == f"/w/{ws_a.slug}/tasks/"
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Activity, chase).done_at is not None
    finished = client.get(f"/w/{ws_a.slug}/tasks/").get_data(as_text=True).split('id="tasks-done"')[1]
    assert "Chase the chests" in finished and f'action="/w/{ws_a.slug}/tasks/{chase}/done"' in finished  # Reopen
    assert post(client, f"/w/{ws_a.slug}/tasks/{chase}/done", {"done": "0"}).status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Activity, chase).done_at is None
    # Only her own tasks, only tasks, only of this workspace: the others are not found.
    for other in (someone_elses, note, theirs, 999999):
        assert post(client, f"/w/{ws_a.slug}/tasks/{other}/done", {"done": "1"}).status_code == 404, other
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Activity, someone_elses).done_at is None
    with app.app_context(), workspace_scope(ws_a.id):  # its deal in the trash: not listed, not finished
        from crm.deals.models import Deal

        db.session.get(Deal, deal).deleted_at = utcnow()
        db.session.commit()
    assert post(client, f"/w/{ws_a.slug}/tasks/{chase}/done", {"done": "1"}).status_code == 404


def test_a_task_is_edited_in_place_in_my_tasks_and_moves_to_its_new_section(app, client, auth, ws_a, ws_b):
    from tests.factories import assign_role, make_role

    seller = make_member(app, ws_a, "sam@alpha.example.com")  # only his own customers: not Ann
    assign_role(app, ws_a, seller.membership_id,
                make_role(app, ws_a, "Own", ("contacts.read", "notes.write"), record_scope="own"))  # fmt: skip
    ann = make_contact(app, ws_a, "Ann Lee", owner_id=ws_a.membership_id)
    now = utcnow()
    call = task(app, ws_a, ann, "Call Ann back", now - timedelta(days=2), seller.membership_id)  # given to him
    finished = task(app, ws_a, ann, "Sent the catalogue", now - timedelta(days=3), seller.membership_id)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Activity, finished).done_at = now - timedelta(days=1)
        db.session.commit()
    not_his = task(app, ws_a, ann, "Alice's own", now, ws_a.membership_id)
    note = make_activity(app, ws_a, ann, "A note", author_id=seller.membership_id)
    theirs = task(app, ws_b, make_contact(app, ws_b, "Bo"), "B's task", now, ws_b.membership_id)
    auth.login(seller.email, seller.password)
    url = f"/w/{ws_a.slug}/tasks/{call}/edit"
    in_place = {"HX-Request": "true", "HX-Target": f"task-{call}"}
    page = client.get(f"/w/{ws_a.slug}/tasks/").get_data(as_text=True)
    assert f'href="{url}" data-hx-get="{url}" data-hx-target="#task-{call}"' in page
    assert f"/tasks/{finished}/edit" not in page  # a done task is reopened first
    form = client.get(url, headers=in_place).get_data(as_text=True)
    assert form.startswith(f'<li id="task-{call}" class="editing">') and f'data-hx-target="#task-{call}"' in form
    assignees = form.split(f'name="entry{call}-assignee_id"')[1].split("</select>")[0]
    assert f'<option selected value="{seller.membership_id}">' in assignees  # kept, though he may not open Ann
    assert "Call Ann back</textarea>" in form
    cancel = client.get(url, query_string={"cancel": "1"}, headers=in_place).get_data(as_text=True)
    assert cancel.startswith(f'<li id="task-{call}">') and "Call Ann back" in cancel and "<form" in cancel

    def fields(**changes) -> dict:
        data = {"body": "Call Ann back", "due_at": "2030-01-02T09:00", "remind_at": "",
                "assignee_id": str(seller.membership_id), **changes}  # fmt: skip
        return {f"entry{call}-{name}": value for name, value in data.items()}

    for bad in ({"body": ""}, {"due_at": ""}, {"due_at": "tomorrow"}, {"due_at": "0001-01-01T09:00"},
                {"assignee_id": str(ws_b.membership_id)}, {"remind_at": "2030-01-03T09:00"},
                {"remind_at": "2030-01-01T09:00", "assignee_id": ""}):  # fmt: skip
        refused = post(client, url, fields(**bad), headers=in_place)
        assert refused.status_code == 422, bad
        assert refused.get_data(as_text=True).startswith(f'<li id="task-{call}" class="editing">'), bad
    alice = post(client, url, fields(assignee_id=str(ws_a.membership_id)), headers=in_place)
    assert alice.status_code == 200 and "Call Ann back" not in alice.get_data(as_text=True)  # handed on to Alice
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Activity, call).assignee_id == ws_a.membership_id
        db.session.get(Activity, call).assignee_id = seller.membership_id  # and given back to him
        db.session.commit()
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Activity, call).due_at = now - timedelta(days=2)  # overdue again
        db.session.commit()
    overdue = client.get(f"/w/{ws_a.slug}/tasks/").get_data(as_text=True).split('id="tasks-overdue"')[1]
    assert "Call Ann back" in overdue.split("</section>")[0]
    saved = post(client, url, fields(body="Call Ann back about the lid", due_at="2030-01-05T09:00"), headers=in_place)
    assert saved.status_code == 200 and stored_due(app, ws_a, call) == datetime(2030, 1, 5, 9, 0, tzinfo=UTC)
    assert saved.headers["HX-Retarget"] == "#task-sections" and saved.headers["HX-Reswap"] == "outerHTML"
    sections = saved.get_data(as_text=True)
    assert sections.lstrip().startswith('<div id="task-sections">') and "<html" not in sections
    upcoming = sections.split('id="tasks-upcoming"')[1].split("</section>")[0]
    assert (
        "Call Ann back about the lid" in upcoming
        and "Call Ann back about" not in sections.split('id="tasks-upcoming"')[0]
    )
    assert "toast" in saved.headers.get("HX-Trigger", "")
    with app.app_context(), workspace_scope(ws_a.id):
        from crm.audit.models import AuditEntry

        audit = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "activity.updated")).all()[-1]
        assert (audit.record_type, audit.record_id) == ("contact", ann) and "due_at" in audit.changes
    # Without JavaScript: a page of its own with a plain form, and back to My tasks once saved.
    alone = client.get(url).get_data(as_text=True)
    assert "<h1>Edit the entry</h1>" in alone and "data-hx-post" not in alone.split("<main")[1]
    assert_valid_page(alone, url)
    plain = post(client, url, fields(due_at="2030-02-01T09:00"))
    assert plain.status_code == 303 and plain.headers["Location"] == f"/w/{ws_a.slug}/tasks/"
    assert post(client, url, fields(body="")).status_code == 422
    assert client.get(f"{url}?cancel=1").status_code == 303
    # Only his own tasks, only tasks, only of this workspace.
    for other in (not_his, note, theirs, 999999):
        assert client.get(f"/w/{ws_a.slug}/tasks/{other}/edit").status_code == 404, other
        assert post(client, f"/w/{ws_a.slug}/tasks/{other}/edit", {"body": "x"}).status_code == 404, other
    assert client.get(f"/w/{ws_a.slug}/contacts/{ann}").status_code == 404  # still not his customer


def stored_due(app, ws, task_id: int):
    with app.app_context(), workspace_scope(ws.id):
        return db.session.get(Activity, task_id).due_at


def test_my_tasks_offers_no_edit_to_a_member_who_may_not_write(app, client, auth, ws_a):
    from tests.factories import assign_role, make_role

    reader = make_member(app, ws_a, "rita@alpha.example.com")
    assign_role(app, ws_a, reader.membership_id, make_role(app, ws_a, "Reader", ("contacts.read",)))
    call = task(app, ws_a, make_contact(app, ws_a, "Ann Lee"), "Call Ann", utcnow(), reader.membership_id)
    auth.login(reader.email, reader.password)
    page = client.get(f"/w/{ws_a.slug}/tasks/").get_data(as_text=True)
    assert "Call Ann" in page and "/edit" not in page and "Mark done" not in page
    assert client.get(f"/w/{ws_a.slug}/tasks/{call}/edit").status_code == 403


def test_the_birthday_list_says_what_it_covers_today_and_the_next_7_days(app, client, auth, ws_a):
    today = date.today()
    auth.login(ws_a.email, ws_a.password)
    empty = client.get(f"/w/{ws_a.slug}/care/", headers=CARE).get_data(as_text=True)
    assert '<h3 id="care-birthdays">Birthdays today and in the next 7 days</h3>' in empty
    assert "No birthdays today or in the next 7 days." in empty and "this week" not in empty
    for days in (0, 7, 8):
        make_contact(app, ws_a, f"In {days} days", birthday=born_on(today + timedelta(days=days)))
    care = client.get(f"/w/{ws_a.slug}/care/", headers=CARE).get_data(as_text=True)
    assert "In 0 days" in care and "In 7 days" in care and "In 8 days" not in care  # today plus 7: 8 days


def test_the_care_lists_headings_sit_one_level_below_the_page_or_panel(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    sections = ("care-overdue", "care-birthdays", "care-quiet", "care-unowned", "care-stranded")
    page = client.get(f"/w/{ws_a.slug}/care/").get_data(as_text=True)
    levels = re.findall(r"<(h[1-6])[ >]", page[page.index("<main") :])
    assert levels == ["h1", "h2", "h2", "h2", "h2", "h2"], levels  # the page's h1, then each list
    assert all(f'<h2 id="{section}">' in page for section in sections)
    panel = client.get(f"/w/{ws_a.slug}/care/", headers=CARE).get_data(as_text=True)
    assert all(f'<h3 id="{section}">' in panel for section in sections) and "<h2" not in panel
    home = client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)
    assert '<h2 id="care-title">Customer care</h2>' in home  # the panel's h3s come under it


def loaded_fields(section_html: str) -> dict:
    """How far each section says it is loaded: what a task's forms send along (data-hx-include)."""
    return dict(re.findall(r'name="(loaded-[a-z]+)" value="([^"]*)"', section_html))


def section_rows(sections: str, name: str) -> str:
    return sections.split(f'id="tasks-{name}"')[1].split("</section>")[0]


def test_an_edit_or_done_in_place_keeps_the_rows_shown_with_show_more(app, client, auth, ws_a, monkeypatch):
    monkeypatch.setattr("crm.activities.tasks.SECTION_LIMIT", 2)
    ann, me, now = make_contact(app, ws_a, "Ann Lee"), ws_a.membership_id, utcnow()
    overdue = [task(app, ws_a, ann, f"Overdue {n}", now - timedelta(days=21 - n), me) for n in range(1, 6)]
    later = task(app, ws_a, ann, "Later on", now + timedelta(days=30), me)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/tasks/").get_data(as_text=True)
    assert "data-hx-include=\"#task-sections [name^='loaded-']\"" in page  # on Mark done
    first = loaded_fields(page)
    assert first["loaded-upcoming"] == "all" and first["loaded-overdue"] != "all"
    more = html.unescape(re.search(r'id="more-overdue".*?href="([^"]+)"', page, re.S).group(1))
    shown = client.get(more, headers={"HX-Request": "true", "HX-Target": "more-overdue"}).get_data(as_text=True)
    assert "Overdue 4" in shown and 'id="loaded-overdue"' in shown and 'data-hx-swap-oob="true"' in shown
    loaded = {**first, **loaded_fields(shown)}  # the page now: Overdue 1 to 4 loaded
    assert loaded["loaded-overdue"] != first["loaded-overdue"]

    def edit(task_id: int, body: str, due: datetime, **extra):
        fields = {f"entry{task_id}-body": body, f"entry{task_id}-due_at": f"{due:%Y-%m-%dT%H:%M}",
                  f"entry{task_id}-remind_at": "", f"entry{task_id}-assignee_id": str(me)}  # fmt: skip
        in_place = {"HX-Request": "true", "HX-Target": f"task-{task_id}"}
        return post(client, f"/w/{ws_a.slug}/tasks/{task_id}/edit", {**fields, **extra}, headers=in_place)

    # Overdue 1 moves to Upcoming: Overdue 2 to 4 stay, with "Show more" for Overdue 5.
    saved = edit(overdue[0], "Overdue 1, later", now + timedelta(days=10), **loaded).get_data(as_text=True)
    rows = section_rows(saved, "overdue")
    assert all(f"Overdue {n}" in rows for n in (2, 3, 4)) and "Overdue 5" not in rows and 'id="more-overdue"' in rows
    upcoming = section_rows(saved, "upcoming")
    assert upcoming.index("Overdue 1, later") < upcoming.index("Later on") and "autofocus" not in saved
    loaded = loaded_fields(saved)
    # Marked done in place: the same rows but the one done, which heads Done lately with Reopen.
    done = post(client, f"/w/{ws_a.slug}/tasks/{overdue[2]}/done", {"done": "1", **loaded},
                headers={"HX-Request": "true", "HX-Target": "task-sections"})  # fmt: skip
    assert done.status_code == 200
    sections = done.get_data(as_text=True)
    assert sections.lstrip().startswith('<div id="task-sections">') and "<html" not in sections
    rows = section_rows(sections, "overdue")
    assert "Overdue 2" in rows and "Overdue 4" in rows and "Overdue 3" not in rows and "Overdue 5" not in rows
    assert "Overdue 3" in section_rows(sections, "done") and "Reopen" in section_rows(sections, "done")
    # Moved past the loaded rows: not drawn, and the focus goes to the "Show more" that brings it.
    loaded = loaded_fields(sections)
    moved = edit(later, "Later on", now - timedelta(days=10), **loaded).get_data(as_text=True)
    rows = section_rows(moved, "overdue")
    assert "Later on" not in moved and re.search(r'id="more-overdue".*?autofocus>Show more', rows, re.S)
    rest = client.get(f"/w/{ws_a.slug}/tasks/", query_string={"section": "overdue", "after": loaded["loaded-overdue"]},
                      headers={"HX-Request": "true", "HX-Target": "more-overdue"}).get_data(as_text=True)  # fmt: skip
    assert "Overdue 5" in rest and "Later on" in rest and "Overdue 4" not in rest
    # Loaded to its end ("all"): every row is drawn again.
    everything = {**loaded, "loaded-overdue": "all"}
    again = post(client, f"/w/{ws_a.slug}/tasks/{overdue[2]}/done", {"done": "0", **everything},
                 headers={"HX-Request": "true", "HX-Target": "task-sections"}).get_data(as_text=True)  # fmt: skip
    rows = section_rows(again, "overdue")
    assert all(f"Overdue {n}" in rows for n in (2, 3, 4, 5)) and "Later on" in rows and "more-overdue" not in rows
    assert loaded_fields(again)["loaded-overdue"] == "all"
    # A forged "how far" is refused before anything is saved.
    forged = post(client, f"/w/{ws_a.slug}/tasks/{overdue[1]}/done", {"done": "1", "loaded-overdue": "bm90"},
                  headers={"HX-Request": "true", "HX-Target": "task-sections"})  # fmt: skip
    assert forged.status_code == 400
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Activity, overdue[1]).done_at is None


def test_a_deal_task_with_a_person_is_handed_on_by_the_deals_rule_on_every_page(app, client, auth, ws_a):
    """A task logged on a deal that has a person is the deal's (crm/activities/routes.py
    own_record_form): My tasks, the company's page, the deal's page and the person's page offer and
    accept the same assignees, who may open the deal."""
    from tests.factories import assign_role, make_company, make_deal, make_deal_activity, make_role

    own = make_role(app, ws_a, "Own", ("contacts.read", "deals.read", "notes.write"), record_scope="own")
    mo = make_member(app, ws_a, "mo@alpha.example.com")  # sees his own records only: the deal and Acme
    otto = make_member(app, ws_a, "otto@alpha.example.com")  # his own only: Ann, not the deal
    for member in (mo, otto):
        assign_role(app, ws_a, member.membership_id, own)
    sue = make_member(app, ws_a, "sue@alpha.example.com", role="support")  # every customer, no deals
    acme = make_company(app, ws_a, "Acme Ltd", owner_id=mo.membership_id)
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme, owner_id=otto.membership_id)
    deal = make_deal(app, ws_a, "Tea chests", contact_id=ann, company_id=acme, owner_id=mo.membership_id)
    due = utcnow() + timedelta(days=1)
    quote = make_deal_activity(app, ws_a, deal, "Send the quote", kind="task", due_at=due,
                               assignee_id=mo.membership_id)  # fmt: skip
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Activity, quote).contact_id == ann  # the deal's person has it too
    slug = ws_a.slug
    pages = {"My tasks": (f"/w/{slug}/tasks/{quote}/edit", f"task-{quote}"),
             "company": (f"/w/{slug}/companies/{acme}/activities/{quote}/edit", f"entry-activity-{quote}"),
             "deal": (f"/w/{slug}/deals/{deal}/activities/{quote}/edit", f"entry-activity-{quote}")}  # fmt: skip
    person_page = (f"/w/{slug}/contacts/{ann}/activities/{quote}/edit", f"entry-activity-{quote}")

    def offered(url: str, target: str) -> set[str]:
        form = client.get(url, headers={"HX-Request": "true", "HX-Target": target})
        assert form.status_code == 200, url
        select = form.get_data(as_text=True).split(f'name="entry{quote}-assignee_id"')[1].split("</select>")[0]
        return set(re.findall(r'value="(\d*)"', select))

    def hand(url: str, target: str, member_id: int):
        fields = {"body": "Send the quote", "due_at": f"{due:%Y-%m-%dT%H:%M}", "remind_at": "",
                  "assignee_id": str(member_id)}  # fmt: skip
        return post(client, url, {f"entry{quote}-{name}": value for name, value in fields.items()},
                    headers={"HX-Request": "true", "HX-Target": target})  # fmt: skip

    def assignee() -> int:
        with app.app_context(), workspace_scope(ws_a.id):
            return db.session.get(Activity, quote).assignee_id

    def give_back_to_mo() -> None:
        with app.app_context(), workspace_scope(ws_a.id):
            db.session.get(Activity, quote).assignee_id = mo.membership_id
            db.session.commit()

    deal_readers = {"", str(ws_a.membership_id), str(mo.membership_id)}  # Nobody, Alice (every record), Mo
    auth.login(mo.email, mo.password)
    for name, (url, target) in pages.items():
        assert offered(url, target) == deal_readers, name  # not Otto (not his deal), not Sue (no deals)
        for refused in (otto, sue):
            assert hand(url, target, refused.membership_id).status_code == 422, (name, refused.email)
            assert assignee() == mo.membership_id, name
        assert hand(url, target, ws_a.membership_id).status_code == 200, name
        assert assignee() == ws_a.membership_id, name
        give_back_to_mo()
    assert client.get(person_page[0]).status_code == 404  # Ann is Otto's
    auth.logout()
    auth.login(ws_a.email, ws_a.password)  # who logged it, and sees every record: the person's page too
    assert offered(*person_page) == deal_readers
    assert hand(*person_page, otto.membership_id).status_code == 422
    assert hand(*person_page, sue.membership_id).status_code == 422 and assignee() == mo.membership_id


def test_open_tasks_of_a_disabled_or_removed_member_are_on_the_care_lists(app, client, auth, ws_a, mailbox):
    """Nobody's My tasks lists them and their reminders wait: the care lists show them to be handed on."""
    from crm.workspaces.models import Membership
    from tests.factories import assign_role, make_deal, make_deal_activity, make_role, make_user

    make_user(app, "sam@alpha.example.com", name="Sam Lee")
    make_user(app, "rob@alpha.example.com", name="Rob Roe")
    sam, rob = make_member(app, ws_a, "sam@alpha.example.com"), make_member(app, ws_a, "rob@alpha.example.com")
    ann = make_contact(app, ws_a, "Ann Lee")
    now = utcnow()
    task(app, ws_a, ann, "Deliver the samples", now - timedelta(days=1), sam.membership_id,
         remind_at=now - timedelta(days=2))  # fmt: skip
    task(app, ws_a, ann, "Send the invoice", now + timedelta(days=2), rob.membership_id)
    task(app, ws_a, ann, "Alice's own", now + timedelta(days=2), ws_a.membership_id)
    deal = make_deal(app, ws_a, "Tea chests")
    make_deal_activity(app, ws_a, deal, "Chase the chests", kind="task", due_at=now, assignee_id=sam.membership_id)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Membership, sam.membership_id).status = "disabled"
        db.session.get(Membership, rob.membership_id).status = "removed"  # removed before removing handed tasks on
        db.session.commit()
    assert "0 reminder(s) sent." in app.test_cli_runner().invoke(crm_cli, ["send-reminders"]).output  # they wait
    auth.login(ws_a.email, ws_a.password)
    care = client.get(f"/w/{ws_a.slug}/care/", headers=CARE).get_data(as_text=True)
    stranded = html.unescape(care.split('id="care-stranded"')[1].split("</section>")[0])
    assert "Tasks of members who cannot sign in" in care
    order = [stranded.index(body) for body in ("Deliver the samples", "Chase the chests", "Send the invoice")]
    assert order == sorted(order)  # soonest due first
    assert "Assigned to Sam Lee (disabled)" in stranded and "Assigned to Rob Roe (no longer a member)" in stranded
    assert f'<a href="/w/{ws_a.slug}/contacts/{ann}">Ann Lee</a>' in stranded and "Alice's own" not in stranded
    assert "Deliver the samples" in client.get(f"/w/{ws_a.slug}/care/").get_data(as_text=True)  # the page of its own
    # A member who cannot read deals sees the contact's tasks only; one limited to their own records, none.
    reader = make_member(app, ws_a, "reader@alpha.example.com")
    assign_role(app, ws_a, reader.membership_id, make_role(app, ws_a, "Contacts", ("contacts.read",)))
    own = make_member(app, ws_a, "own@alpha.example.com")
    assign_role(app, ws_a, own.membership_id,
                make_role(app, ws_a, "Own", ("contacts.read", "deals.read"), record_scope="own"))  # fmt: skip
    auth.logout()
    auth.login(reader.email, reader.password)
    care = client.get(f"/w/{ws_a.slug}/care/", headers=CARE).get_data(as_text=True)
    assert "Deliver the samples" in care and "Chase the chests" not in care
    auth.logout()
    auth.login(own.email, own.password)
    care = client.get(f"/w/{ws_a.slug}/care/", headers=CARE).get_data(as_text=True)
    assert "care-stranded" not in care and "Deliver the samples" not in care


def test_the_care_lists_say_when_every_open_task_has_someone_to_do_it(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee")
    task(app, ws_a, ann, "Alice's own", utcnow() + timedelta(days=2), ws_a.membership_id)
    auth.login(ws_a.email, ws_a.password)
    care = client.get(f"/w/{ws_a.slug}/care/", headers=CARE).get_data(as_text=True)
    assert "Every open task has someone to do it." in care


def test_a_deal_only_member_given_a_deals_task_sees_corrects_and_finishes_it_in_my_tasks(app, client, auth, ws_a):
    """Deals without customers: offered as the assignee of a deal's task on the deal's page, the member
    finds it in My tasks (in the menu too), linked to the deal, its person named but not linked (their
    page is a 403), and corrects and finishes it there."""
    from tests.factories import assign_role, make_deal, make_role

    dee = make_member(app, ws_a, "dee@alpha.example.com")
    assign_role(app, ws_a, dee.membership_id,
                make_role(app, ws_a, "Deals only", ("deals.read", "deals.write", "notes.write")))  # fmt: skip
    ann = make_contact(app, ws_a, "Ann Lee")
    deal = make_deal(app, ws_a, "Tea chests", contact_id=ann)
    auth.login(ws_a.email, ws_a.password)
    deal_page = client.get(f"/w/{ws_a.slug}/deals/{deal}").get_data(as_text=True)
    assert f'<option value="{dee.membership_id}">' in deal_page
    given = post(client, f"/w/{ws_a.slug}/deals/{deal}/activities/", {
        "kind": "task", "body": "Chase the chests", "due_at": (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
        "assignee_id": str(dee.membership_id)})  # fmt: skip
    assert given.status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        chase = db.session.scalar(sa.select(Activity.id).where(Activity.body == "Chase the chests"))
    auth.logout()
    auth.login(dee.email, dee.password)
    tasks_url = f"/w/{ws_a.slug}/tasks/"
    home = client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)
    assert f'<a href="{tasks_url}">My tasks</a>' in home and ">Contacts</a>" not in home
    response = client.get(tasks_url)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert_valid_page(page, tasks_url)
    item = page.split(f'id="task-{chase}"')[1].split("</li>")[0]
    upcoming = page.split('id="tasks-upcoming"')[1].split("</section>")[0]
    assert f'id="task-{chase}"' in upcoming and "Chase the chests" in item
    assert f'<a href="/w/{ws_a.slug}/deals/{deal}">Tea chests</a>' in item
    assert "Ann Lee" in item and f"/contacts/{ann}" not in item
    edit = f"/w/{ws_a.slug}/tasks/{chase}/edit"
    assert f'href="{edit}"' in item and "Mark done" in item
    form = client.get(edit, headers={"HX-Request": "true", "HX-Target": f"task-{chase}"})
    assert form.status_code == 200
    assignees = form.get_data(as_text=True).split(f'name="entry{chase}-assignee_id"')[1].split("</select>")[0]
    assert f'value="{dee.membership_id}"' in assignees and f'value="{ws_a.membership_id}"' in assignees
    fields = {"body": "Chase the tea chests", "due_at": "2030-01-02T09:00", "assignee_id": str(dee.membership_id)}
    saved = post(client, edit, {f"entry{chase}-{name}": value for name, value in fields.items()})
    assert saved.status_code == 303 and saved.headers["Location"] == tasks_url
    assert stored_due(app, ws_a, chase) == datetime(2030, 1, 2, 9, 0, tzinfo=UTC)
    assert post(client, f"/w/{ws_a.slug}/tasks/{chase}/done", {"done": "1"}).status_code == 303
    done = client.get(tasks_url).get_data(as_text=True).split('id="tasks-done"')[1].split("</section>")[0]
    assert "Chase the tea chests" in done
    assert client.get(f"/w/{ws_a.slug}/contacts/{ann}").status_code == 403  # still not a customers' member


def test_a_reminders_link_to_my_tasks_opens_for_a_member_who_no_longer_reads_customers(
    app, client, auth, mailbox, ws_a
):
    """A person's task given to a member whose role then kept team notes only: the reminder links to
    My tasks, which opens and lists the task (the person named, not linked) to finish there."""
    from tests.factories import assign_role, make_role

    sam = make_member(app, ws_a, "sam@alpha.example.com")
    ann, now = make_contact(app, ws_a, "Ann Lee"), utcnow()
    call = task(app, ws_a, ann, "Call Ann back", now + timedelta(hours=1), sam.membership_id,
                remind_at=now - timedelta(minutes=1))  # fmt: skip
    assign_role(app, ws_a, sam.membership_id, make_role(app, ws_a, "Tasks only", ("notes.write",)))
    assert "1 reminder(s) sent." in app.test_cli_runner().invoke(crm_cli, ["send-reminders"]).output
    [link] = mailbox.links()
    auth.login(sam.email, sam.password)
    response = client.get(link.split("5000", 1)[1])
    assert response.status_code == 200
    item = response.get_data(as_text=True).split(f'id="task-{call}"')[1].split("</li>")[0]
    assert "Ann Lee" in item and "Call Ann back" in item and f"/contacts/{ann}" not in item
    assert post(client, f"/w/{ws_a.slug}/tasks/{call}/done", {"done": "1"}).status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Activity, call).done_at is not None


def test_my_tasks_shows_a_member_without_notes_their_tasks_to_read_only(app, client, auth, ws_a):
    """Deals to read, no team notes: their deal's task is listed, with nothing to change it by."""
    from tests.factories import assign_role, make_deal, make_deal_activity, make_role

    rae = make_member(app, ws_a, "rae@alpha.example.com")
    assign_role(app, ws_a, rae.membership_id, make_role(app, ws_a, "Deal reader", ("deals.read",)))
    deal = make_deal(app, ws_a, "Tea chests")
    chase = make_deal_activity(app, ws_a, deal, "Chase the chests", kind="task", due_at=utcnow(),
                               assignee_id=rae.membership_id)  # fmt: skip
    auth.login(rae.email, rae.password)
    page = client.get(f"/w/{ws_a.slug}/tasks/").get_data(as_text=True)
    item = page.split(f'id="task-{chase}"')[1].split("</li>")[0]
    assert "Chase the chests" in item and "/edit" not in item and "Mark done" not in item
    assert client.get(f"/w/{ws_a.slug}/tasks/{chase}/edit").status_code == 403
    assert post(client, f"/w/{ws_a.slug}/tasks/{chase}/done", {"done": "1"}).status_code == 403
