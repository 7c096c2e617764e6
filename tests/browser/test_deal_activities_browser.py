"""Activities on a deal in a real browser: log a call and a task from the deal page without leaving
it, see both in the deal's timeline, tick the task done; they are still there after a reload and
the task is in My tasks."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import assert_no_full_reload, log_in, mark_window
from tests.factories import make_contact, make_deal, make_workspace

pytestmark = pytest.mark.browser


def test_log_a_call_and_a_task_on_a_deal_and_tick_the_task_done(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    deal_id = make_deal(app, owner, "Tea chests", contact_id=ann, owner_id=owner.membership_id)
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/deals/{deal_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Tea chests")
    mark_window(page)

    composer = page.locator("#activity-composer")
    timeline = page.locator("#timeline-list")
    expect(composer.get_by_label("Due")).to_be_hidden()  # task fields only for a task
    composer.get_by_label("Type").select_option(label="Call")
    composer.get_by_label("What happened, or what to do").fill("Asked about delivery dates")
    composer.get_by_role("button", name="Save").click()
    expect(timeline.locator(".entry.call .note-body")).to_have_text("Asked about delivery dates")

    composer = page.locator("#activity-composer")  # swapped in afresh after each save
    composer.get_by_label("Type").select_option(label="Task")
    composer.get_by_label("What happened, or what to do").fill("Send the price list")
    composer.get_by_label("Due").fill("2030-01-02T09:30")
    composer.get_by_label("Assigned to").select_option(label="Alice")
    composer.get_by_role("button", name="Save").click()
    task = timeline.locator(".entry.task")
    expect(task.locator(".note-body")).to_have_text("Send the price list")
    expect(timeline.locator(".entry").first).to_have_class("entry task")  # newest first
    expect(page.locator("#activity-composer").get_by_label("What happened, or what to do")).to_have_value("")

    task.get_by_role("button", name="Mark done").click()
    expect(timeline.locator(".entry.task.done")).to_contain_text("Done")
    expect(timeline.locator(".entry.task").get_by_role("button", name="Reopen")).to_be_visible()
    assert_no_full_reload(page)

    page.reload()
    expect(page.locator("#timeline-list .entry.call")).to_contain_text("Asked about delivery dates")
    expect(page.locator("#timeline-list .entry.task.done")).to_contain_text("Send the price list")
    expect(page.locator("#timeline-list")).to_contain_text("Entered Lead in")
    page.goto(f"{live_server.url}/w/{owner.slug}/tasks/")
    expect(page.locator("#tasks-done").locator("xpath=..")).to_contain_text("Send the price list")
