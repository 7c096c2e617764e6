"""My tasks in a real browser: a task is edited in its place (Edit, a new due date, Save) and moves to
the section of its new date without a page load, with the focus back on its Edit link and a toast;
Escape gives the task back unchanged; a task given to a member on a deal they may not open is
finished from there."""

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from crm.db import utcnow
from tests.browser.helpers import assert_no_full_reload, log_in, mark_window, wait_for_htmx
from tests.factories import make_activity, make_contact, make_deal, make_deal_activity, make_member, make_workspace

pytestmark = pytest.mark.browser


def section(page: Page, name: str):
    return page.locator(f"#tasks-{name}").locator("xpath=..")


def test_edit_a_tasks_due_date_in_my_tasks_and_see_it_move(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee", owner_id=owner.membership_id)
    now = utcnow()
    make_activity(app, owner, ann, "Call Ann back", kind="task", due_at=now - timedelta(days=2),
                  assignee_id=owner.membership_id)  # fmt: skip
    make_activity(app, owner, ann, "Send the catalogue", kind="task", due_at=now + timedelta(days=5),
                  assignee_id=owner.membership_id)  # fmt: skip
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/tasks/")
    expect(section(page, "overdue")).to_contain_text("Call Ann back")
    mark_window(page)

    section(page, "overdue").get_by_role("link", name="Edit Call Ann back").click()
    form = page.locator("form.entry-edit")
    expect(form.get_by_label("What happened, or what to do")).to_be_focused()
    wait_for_htmx(page)  # the form's Cancel is wired up once htmx has settled it
    page.keyboard.press("Escape")  # gives the task back as it was
    expect(form).to_have_count(0)
    expect(section(page, "overdue").get_by_role("link", name="Edit Call Ann back")).to_be_focused()

    section(page, "overdue").get_by_role("link", name="Edit Call Ann back").click()
    form = page.locator("form.entry-edit")
    expect(form.get_by_label("What happened, or what to do")).to_be_focused()
    wait_for_htmx(page)
    form.get_by_label("Due").fill("")
    form.get_by_role("button", name="Save").click()
    expect(form.locator(".error")).to_have_text("A task needs a due date.")  # 422 in place
    wait_for_htmx(page)
    form.get_by_label("Due").fill("2031-03-04T10:30")
    form.get_by_role("button", name="Save").click()
    expect(page.locator("form.entry-edit")).to_have_count(0)
    upcoming = section(page, "upcoming")
    expect(upcoming).to_contain_text("Call Ann back")
    expect(section(page, "overdue")).not_to_contain_text("Call Ann back")
    expect(section(page, "overdue")).to_contain_text("Nothing here.")
    expect(upcoming.locator("li").last).to_contain_text("Call Ann back")  # after the one due in 5 days
    expect(upcoming.get_by_role("link", name="Edit Call Ann back")).to_be_focused()
    expect(page.get_by_text("Saved.")).to_be_visible()
    assert_no_full_reload(page)
    page.reload()
    expect(section(page, "upcoming").locator("li").last).to_contain_text("Call Ann back")


def test_a_deal_task_of_a_member_without_deals_is_finished_from_my_tasks(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    sue = make_member(app, owner, "sue@alpha.example.com", role="support")  # no deals.read
    deal = make_deal(app, owner, "Tea chests")
    make_deal_activity(app, owner, deal, "Chase the chests", kind="task", due_at=utcnow() - timedelta(days=1),
                       assignee_id=sue.membership_id)  # fmt: skip
    log_in(page, live_server.url, sue.email, sue.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/tasks/")
    section(page, "overdue").get_by_role("button", name="Mark done Chase the chests").click()
    expect(section(page, "done")).to_contain_text("Chase the chests")
    expect(section(page, "overdue")).to_contain_text("Nothing here.")


def test_rows_shown_with_show_more_stay_after_an_edit_or_done_in_place(app, page: Page, live_server, monkeypatch):
    monkeypatch.setattr("crm.activities.tasks.SECTION_LIMIT", 2)
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee", owner_id=owner.membership_id)
    now = utcnow()
    for n in range(1, 6):
        make_activity(app, owner, ann, f"Overdue {n}", kind="task", due_at=now - timedelta(days=21 - n),
                      assignee_id=owner.membership_id)  # fmt: skip
    make_activity(app, owner, ann, "Later on", kind="task", due_at=now + timedelta(days=30),
                  assignee_id=owner.membership_id)  # fmt: skip
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/tasks/")
    overdue = section(page, "overdue")
    overdue.get_by_role("link", name="Show more").click()
    expect(overdue.get_by_role("link", name="Edit Overdue 4")).to_be_visible()
    wait_for_htmx(page)
    mark_window(page)

    overdue.get_by_role("link", name="Edit Overdue 2").click()  # moved to Upcoming
    form = page.locator("form.entry-edit")
    expect(form.get_by_label("What happened, or what to do")).to_be_focused()
    wait_for_htmx(page)
    form.get_by_label("Due").fill("2031-03-04T10:30")
    form.get_by_role("button", name="Save").click()
    expect(section(page, "upcoming").get_by_role("link", name="Edit Overdue 2")).to_be_focused()
    expect(overdue.locator("li:not(.load-more)")).to_have_count(3)  # 1, 3 and 4: the rows shown stay
    expect(overdue).to_contain_text("Overdue 4")
    expect(page.get_by_text("Saved.")).to_be_visible()
    wait_for_htmx(page)

    overdue.get_by_role("button", name="Mark done Overdue 3").click()
    expect(section(page, "done").get_by_role("button", name="Reopen Overdue 3")).to_be_focused()
    expect(overdue.locator("li:not(.load-more)")).to_have_count(2)  # 1 and 4
    expect(overdue).to_contain_text("Overdue 4")
    wait_for_htmx(page)

    # Moved past the rows shown: "Show more" brings it, and has the focus.
    section(page, "upcoming").get_by_role("link", name="Edit Later on").click()
    form = page.locator("form.entry-edit")
    expect(form.get_by_label("What happened, or what to do")).to_be_focused()
    wait_for_htmx(page)
    form.get_by_label("Due").fill(f"{now - timedelta(days=10):%Y-%m-%dT%H:%M}")
    form.get_by_role("button", name="Save").click()
    expect(overdue.get_by_role("link", name="Show more")).to_be_focused()
    expect(page.get_by_role("link", name="Edit Later on")).to_have_count(0)
    wait_for_htmx(page)
    page.keyboard.press("Enter")
    expect(overdue.get_by_role("link", name="Edit Later on")).to_be_visible()
    expect(overdue.locator("li")).to_have_count(4)  # 1, 4, 5 and Later on, each once
    expect(overdue.locator("li").last).to_contain_text("Later on")
    assert_no_full_reload(page)
