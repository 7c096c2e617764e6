"""Helpers for the real-browser tests: they drive the session's live server through its forms."""

import re

from playwright.sync_api import Page, expect

HOME_URL = re.compile(r"/w/[a-z0-9-]+/$")


def log_in(page: Page, base_url: str, email: str, password: str) -> None:
    """Signs in through the login form and waits for the workspace home."""
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(HOME_URL)


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in").first).to_be_visible()


def mark_window(page: Page) -> None:
    """Sets a JavaScript variable that only survives as long as no full page load happens."""
    page.evaluate("window.__kehuNoReload = true")


def assert_no_full_reload(page: Page) -> None:
    assert page.evaluate("window.__kehuNoReload === true"), "the page was reloaded"


def wait_for_htmx(page: Page) -> None:
    """Waits until htmx has finished its requests and settled what it swapped in. htmx shows new
    content before it wires it up (its settle step, 20 ms later), so a test acting at once on a
    page reached by a boosted link or form could type into a search box or drag a row that is not
    listened to yet. Call it once the new content is known to be there."""
    # A function, not an expression: Playwright polls an expression with eval(), which the app's CSP
    # refuses (EvalError whenever htmx is still busy at the first look).
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
