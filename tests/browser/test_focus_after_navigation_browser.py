"""Where the focus goes, in a real browser: Escape while renaming a saved view gives it back to that
view's Rename link; deleting a view moves it to the next view's link (the last one's words saying
there is none); a page reached by a boosted link or form puts it on its main heading, unless the
page gives it to a field of its own."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import log_in, wait_for_htmx
from tests.factories import make_contact, make_saved_view, make_workspace

pytestmark = pytest.mark.browser


def test_escape_while_renaming_and_deleting_a_saved_view_keep_the_focus_in_the_list(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    for name in ("Alpha leads", "Beta leads", "Gamma leads"):
        make_saved_view(app, owner, name, shared=False)
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/")
    wait_for_htmx(page)
    page.get_by_text("Saved views", exact=True).click()
    panel = page.locator("#saved-views-panel")
    expect(panel.get_by_role("link", name="Beta leads", exact=True)).to_be_visible()
    wait_for_htmx(page)

    panel.get_by_role("link", name="Rename Beta leads").click()
    name = panel.get_by_label("New name for the view Beta leads")
    expect(name).to_be_focused()
    name.fill("Something else")
    name.press("Escape")
    expect(panel.get_by_role("link", name="Rename Beta leads")).to_be_focused()
    expect(panel.get_by_role("link", name="Beta leads", exact=True)).to_be_visible()
    wait_for_htmx(page)

    page.on("dialog", lambda dialog: dialog.accept())
    panel.get_by_role("button", name="Delete Beta leads").click()
    expect(page.locator("#toasts")).to_contain_text("View Beta leads deleted.")
    expect(panel.get_by_role("link", name="Gamma leads", exact=True)).to_be_focused()  # the next one
    wait_for_htmx(page)
    panel.get_by_role("button", name="Delete Gamma leads").click()
    expect(panel.get_by_role("link", name="Alpha leads", exact=True)).to_be_focused()  # it was the last
    wait_for_htmx(page)
    panel.get_by_role("button", name="Delete Alpha leads").click()
    expect(panel.get_by_text("No saved views yet.")).to_be_focused()


def test_a_page_reached_by_a_boosted_link_or_form_puts_the_focus_on_its_heading(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    make_contact(app, owner, "Bob Stone")
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/{ann}")
    wait_for_htmx(page)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete Ann Lee").click()  # a boosted form: 303 to the list
    expect(page).to_have_url(re.compile(r"/contacts/$"))
    heading = page.get_by_role("heading", name="Contacts", level=1)
    expect(heading).to_be_focused()
    expect(page.locator("#toasts")).to_contain_text("Contact Ann Lee moved to the trash.")
    wait_for_htmx(page)

    page.get_by_role("link", name="Bob Stone").press("Enter")  # a boosted link
    heading = page.get_by_role("heading", name="Bob Stone", level=1)
    expect(heading).to_be_focused()
    expect(heading).to_have_attribute("tabindex", "-1")
    page.keyboard.press("Tab")  # on from the heading: its first button
    expect(page.get_by_role("link", name="New deal for Bob Stone")).to_be_focused()
    wait_for_htmx(page)

    page.get_by_role("link", name="All contacts").click()
    wait_for_htmx(page)
    page.get_by_role("link", name="Add contact").click()  # a page that focuses its first field
    expect(page.get_by_label("Name", exact=True)).to_be_focused()
