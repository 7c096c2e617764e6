"""Forgotten password: ask for a link, follow it from the email, choose a new password, log in."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import HOME_URL, log_in, log_out
from tests.factories import make_workspace

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a brand new passphrase"


def test_reset_a_forgotten_password_from_the_emailed_link(app, page: Page, live_server, mailbox):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    page.goto(f"{live_server.url}/login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Forgot your password?")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("status")).to_contain_text("If an account exists for that address")
    expect(page).to_have_url(re.compile(r"/login$"))

    # In tests mail is sent by an in-process job during the request, so it has arrived by now.
    assert [message["To"] for message in mailbox.messages] == [owner.email]
    [link] = [link for link in mailbox.links() if "/password/reset/" in link]
    assert link.startswith(live_server.url)

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save the new password").click()
    expect(page).to_have_url(HOME_URL)
    expect(page.get_by_role("heading", level=1)).to_have_text(owner.name)

    log_out(page)
    log_in(page, live_server.url, owner.email, NEW_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text(owner.name)

    # The link worked once.
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("This link no longer works")


def test_old_password_no_longer_works_after_a_reset(app, page: Page, live_server, mailbox):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    page.goto(f"{live_server.url}/password/forgot")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_role("button", name="Send the link").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto(mailbox.links()[-1])
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save the new password").click()
    expect(page).to_have_url(HOME_URL)
    log_out(page)

    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password", exact=True).fill(owner.password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("That email and password do not match an account.")
