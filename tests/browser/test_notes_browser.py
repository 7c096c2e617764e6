"""Team notes on the workspace home: the htmx composer, inline editing and deleting."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import assert_no_full_reload, log_in, mark_window
from tests.factories import make_workspace

pytestmark = pytest.mark.browser


@pytest.fixture
def home(app, page: Page, live_server) -> Page:
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    log_in(page, live_server.url, owner.email, owner.password)
    expect(page.get_by_role("heading", level=1)).to_have_text("Alpha Trading")
    mark_window(page)
    return page


def notes(page: Page):
    return page.locator("#note-list").get_by_role("listitem")


def test_add_edit_and_delete_a_note_without_reloading(home: Page):
    page = home
    page.get_by_label("Note", exact=True).fill("Open at 9 on Saturday")
    page.get_by_role("button", name="Add note").click()
    note = notes(page).filter(has_text="Open at 9 on Saturday")
    expect(note).to_have_count(1)
    expect(note).to_contain_text("Alice")
    # The composer came back empty and ready for the next note.
    expect(page.get_by_label("Note", exact=True)).to_have_value("")
    assert_no_full_reload(page)

    note.get_by_role("link", name="Edit note").click()
    editor = note.get_by_label("Note", exact=True)
    expect(editor).to_have_value("Open at 9 on Saturday")
    expect(editor).to_be_focused()
    editor.fill("Open at 10 on Saturday")
    note.get_by_role("button", name="Save").click()
    expect(notes(page)).to_have_count(1)
    expect(notes(page).first.locator(".note-body")).to_have_text("Open at 10 on Saturday")
    expect(page.get_by_label("Note", exact=True)).to_have_count(1)  # the inline editor is gone
    assert_no_full_reload(page)

    dialogs = []

    def confirm(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", confirm)
    notes(page).first.get_by_role("button", name="Delete note").click()
    expect(notes(page)).to_have_count(0)
    assert dialogs == ["Delete this note?"]
    expect(page.get_by_role("status")).to_contain_text("Note deleted.")
    assert_no_full_reload(page)


def test_dismissing_the_delete_confirmation_keeps_the_note(home: Page):
    page = home
    page.get_by_label("Note", exact=True).fill("Keep me")
    page.get_by_role("button", name="Add note").click()
    expect(notes(page)).to_have_count(1)

    dialogs = []

    def cancel(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", cancel)
    notes(page).first.get_by_role("button", name="Delete note").click()
    assert dialogs == ["Delete this note?"]
    expect(notes(page)).to_have_count(1)
    page.reload()
    expect(notes(page)).to_have_count(1)
    expect(notes(page).first).to_contain_text("Keep me")


def test_empty_note_shows_the_validation_message_in_place(home: Page):
    page = home
    page.get_by_role("button", name="Add note").click()
    composer = page.get_by_label("Note", exact=True)
    expect(composer).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#note-composer")).to_contain_text("Write something first.")
    expect(composer).to_have_accessible_description("Write something first.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Alpha Trading")
    assert_no_full_reload(page)

    # The composer still works after the error.
    composer.fill("Second try")
    page.get_by_role("button", name="Add note").click()
    expect(notes(page).filter(has_text="Second try")).to_have_count(1)
    expect(page.locator("#note-composer")).not_to_contain_text("Write something first.")
    assert_no_full_reload(page)
