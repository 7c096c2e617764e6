"""Real browser: an owner invites a colleague, who accepts in a second browser and, as a Viewer,
is refused the members page."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import make_workspace

pytestmark = pytest.mark.browser


def log_in(page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_invite_accept_in_second_browser_and_viewer_is_refused(app, live_server, page, browser, mailbox):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    log_in(page, live_server.url, owner.email, owner.password)
    expect(page).to_have_url(f"{live_server.url}/w/{owner.slug}/")

    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Members").click()
    page.get_by_label("Email address").fill("viewer.vic@example.com")
    page.get_by_label("Role", exact=True).select_option(label="Viewer")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator("#members-panel")).to_contain_text("viewer.vic@example.com")
    expect(page.locator("#toasts")).to_contain_text("Invitation sent")

    link = next(link for link in mailbox.links() if "/join/" in link)
    colleague = browser.new_context()
    try:
        second = colleague.new_page()
        second.goto(link)
        expect(second.get_by_role("heading", level=1)).to_have_text("Join Alpha Trading")
        second.get_by_label("Your name").fill("Vic Viewer")
        second.get_by_label("Password", exact=True).fill("a long enough passphrase")
        second.get_by_label("Repeat the password").fill("a long enough passphrase")
        second.get_by_role("button", name="Create account and join").click()
        expect(second).to_have_url(f"{live_server.url}/w/{owner.slug}/")
        expect(second.get_by_role("navigation", name="Main").get_by_role("link", name="Settings")).to_have_count(0)
        expect(second.locator("#note-composer")).to_have_count(0)

        response = second.goto(f"{live_server.url}/w/{owner.slug}/settings/members/")
        assert response.status == 403
        expect(second.get_by_role("heading", level=1)).to_have_text("Not allowed")
    finally:
        colleague.close()

    page.reload()
    expect(page.locator("#members-panel")).to_contain_text("Vic Viewer")
    expect(page.locator("#members-panel")).not_to_contain_text(re.compile("Open invitations"))
