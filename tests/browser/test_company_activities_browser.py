"""Activities on a company in a real browser: log a call (at the time it happened) and a task on
the company page without leaving it, with the empty timeline's hint going away; after a reload the
call is deleted in place; a note logged on one of its people shows there too, linked to the person;
the task is ticked done from My tasks and the company's timeline says so; a phone-sized screen has
no sideways scroll."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import assert_no_full_reload, log_in, mark_window
from tests.factories import make_activity, make_company, make_contact, make_workspace

pytestmark = pytest.mark.browser


def test_log_a_call_and_a_task_on_a_company_and_finish_the_task_from_my_tasks(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    acme = make_company(app, owner, "Acme Ltd", owner_id=owner.membership_id)
    ann = make_contact(app, owner, "Ann Lee", company_id=acme)
    log_in(page, live_server.url, owner.email, owner.password)
    company_page = f"{live_server.url}/w/{owner.slug}/companies/{acme}"
    page.goto(company_page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Acme Ltd")
    empty = page.locator("#timeline-empty")
    expect(empty).to_be_visible()
    mark_window(page)

    composer = page.locator("#activity-composer")
    timeline = page.locator("#timeline-list")
    composer.get_by_label("Type").select_option(label="Call")
    composer.get_by_label("What happened, or what to do").fill("Talked to their buyer about spring stock")
    expect(composer.get_by_label("Due")).to_be_hidden()  # a call has a time it happened, not a due date
    composer.get_by_label("When").fill("2026-01-05T10:15")
    composer.get_by_role("button", name="Save").click()
    expect(timeline.locator(".entry.call .note-body")).to_have_text("Talked to their buyer about spring stock")
    expect(timeline.locator(".entry.call time")).to_have_attribute("datetime", "2026-01-05T10:15:00+00:00")
    expect(empty).to_be_hidden()

    composer = page.locator("#activity-composer")  # swapped in afresh after each save
    composer.get_by_label("Type").select_option(label="Task")
    expect(composer.get_by_label("When")).to_be_hidden()
    composer.get_by_label("What happened, or what to do").fill("Renew the supply contract")
    composer.get_by_label("Due").fill("2020-01-02T09:30")  # already overdue
    composer.get_by_role("button", name="Save").click()
    expect(timeline.locator(".entry").first).to_have_class("entry task")  # newest first
    expect(page.locator("#activity-composer").get_by_label("What happened, or what to do")).to_be_focused()
    assert_no_full_reload(page)

    make_activity(app, owner, ann, "Ann asked for a sample box")
    page.reload()
    page.on("dialog", lambda dialog: dialog.accept())  # "Delete this entry?"
    call = page.locator("#timeline-list .entry.call")
    call.get_by_role("button", name="Delete").click()  # an entry drawn with the page, not swapped in
    expect(call).to_have_count(0)
    person_entry = page.locator("#timeline-list .entry.note")
    expect(person_entry).to_contain_text("Ann asked for a sample box")
    expect(person_entry.get_by_role("link", name="Ann Lee")).to_have_attribute(
        "href", f"/w/{owner.slug}/contacts/{ann}"
    )

    page.goto(f"{live_server.url}/w/{owner.slug}/tasks/")
    overdue = page.locator("#tasks-overdue").locator("xpath=..")
    expect(overdue.get_by_role("link", name="Acme Ltd")).to_be_visible()
    overdue.get_by_role("button", name="Mark done").click()
    expect(page.locator("#tasks-done").locator("xpath=..")).to_contain_text("Renew the supply contract")
    page.get_by_role("link", name="Acme Ltd").first.click()
    expect(page.locator("#timeline-list .entry.task.done")).to_contain_text("Renew the supply contract")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator("#activity-composer")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
