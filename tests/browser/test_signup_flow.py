"""Sign-up, sign-in and the workspace switcher, as a person does them in a browser."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import HOME_URL, log_in, log_out
from tests.factories import make_workspace

pytestmark = pytest.mark.browser

NAME = "Mei Chen"
EMAIL = "mei@harbour.example.com"
PASSWORD = "harbour lanterns at dusk"
FIRST = "Harbour Tea House"
SECOND = "Harbour Noodle Bar"


def sign_up(page: Page, base_url: str) -> str:
    page.goto(base_url)
    page.get_by_role("main").get_by_role("link", name="Sign up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create your Kehu workspace")
    page.get_by_label("Your name").fill(NAME)
    page.get_by_label("Work email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Business name").fill(FIRST)
    page.get_by_role("button", name="Create my workspace").click()
    expect(page).to_have_url(HOME_URL)
    return page.url


def open_switcher(page: Page, current: str):
    """Opens the header's workspace menu, whose summary reads "Workspace: <current name>"."""
    page.get_by_role("banner").get_by_text(f"Workspace: {current}", exact=True).click()
    menu = page.get_by_role("navigation", name="Your workspaces")
    expect(menu).to_be_visible()
    return menu


def test_sign_up_log_out_log_in_and_switch_workspaces(page: Page, live_server):
    first_url = sign_up(page, live_server.url)
    expect(page.get_by_role("heading", level=1)).to_have_text(FIRST)
    expect(page.get_by_role("heading", name="Your workspace is ready")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(f"Your workspace {FIRST} is ready.")

    log_out(page)
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)

    log_in(page, live_server.url, EMAIL, PASSWORD)
    expect(page).to_have_url(first_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(FIRST)

    open_switcher(page, FIRST).get_by_role("link", name="Create another workspace").click()
    page.get_by_label("Business name").fill(SECOND)
    page.get_by_role("button", name="Create workspace").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(SECOND)
    expect(page).to_have_url(HOME_URL)
    assert page.url != first_url

    menu = open_switcher(page, SECOND)
    expect(menu.get_by_role("link", name=SECOND)).to_have_attribute("aria-current", "page")
    menu.get_by_role("link", name=FIRST).click()
    expect(page).to_have_url(first_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(FIRST)
    expect(page.get_by_role("banner").get_by_text(f"Workspace: {FIRST}", exact=True)).to_be_visible()


def test_wrong_password_shows_a_generic_error(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill("not the right password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("That email and password do not match an account.")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    # The same words for an address with no account: the form does not tell which accounts exist.
    page.get_by_label("Email").fill("nobody@nowhere.example.com")
    page.get_by_label("Password").fill("not the right password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("That email and password do not match an account.")
