"""Phone-sized layout and keyboard use: no sideways scrolling, a working skip link, a form that
can be filled and sent without a mouse."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import HOME_URL, log_in
from tests.factories import make_note, make_workspace

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": PHONE}


def assert_no_horizontal_scroll(page: Page) -> None:
    # clientWidth leaves out a vertical scrollbar, so this is stricter than window.innerWidth.
    widths = page.evaluate(
        "({scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,"
        " inner: window.innerWidth})"
    )
    assert widths["inner"] == PHONE["width"]
    assert widths["scroll"] <= widths["client"], f"{page.url} scrolls sideways on a phone: {widths}"


def test_public_pages_fit_a_phone(page: Page, live_server):
    page.goto(live_server.url)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_no_horizontal_scroll(page)

    page.get_by_role("main").get_by_role("link", name="Sign up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create your Kehu workspace")
    assert_no_horizontal_scroll(page)


def test_workspace_home_fits_a_phone(app, page: Page, live_server):
    # A long business name in the header's switcher and an unbroken link in a note: the usual culprits.
    name = "Northern Harbour Seafood Wholesale and Retail Trading Company"
    owner = make_workspace(app, name, "ann@harbour.example.com")
    make_note(app, owner, "Price list: https://example.com/" + "seasonal-prices-" * 8 + "2026.pdf")
    log_in(page, live_server.url, owner.email, owner.password)
    expect(page.get_by_role("heading", level=1)).to_have_text(owner.name)
    expect(page.get_by_role("button", name="Add note")).to_be_visible()
    assert_no_horizontal_scroll(page)


def test_first_tab_focuses_the_skip_link_which_moves_focus_to_the_content(page: Page, live_server):
    page.goto(live_server.url)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()

    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()
    # The next Tab continues inside the content, past the header's links.
    page.keyboard.press("Tab")
    expect(page.get_by_role("main").get_by_role("link", name="Sign up")).to_be_focused()


def test_sign_up_with_the_keyboard_only(page: Page, live_server):
    page.goto(f"{live_server.url}/signup")
    values = {
        "Your name": "Kim Keys",
        "Work email": "kim@keys.example.com",
        "Password": "typed without a mouse",
        "Business name": "Keyboard Bakery",
    }
    submit = page.get_by_role("button", name="Create my workspace")
    for _ in range(30):
        label = page.evaluate("document.activeElement.labels?.[0]?.textContent.trim() ?? null")
        if label in values:
            page.keyboard.type(values.pop(label))
        if submit.evaluate("button => button === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(submit).to_be_focused()
    assert values == {}, f"fields never reached with Tab: {list(values)}"

    page.keyboard.press("Enter")
    expect(page).to_have_url(HOME_URL)
    expect(page.get_by_role("heading", level=1)).to_have_text("Keyboard Bakery")


def test_too_many_logins_say_so_instead_of_something_went_wrong(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    page.goto(f"{live_server.url}/login")
    toasts = page.locator("#toasts")
    for attempt in range(11):  # the login allows 10 a minute from one address
        page.get_by_label("Email").fill(owner.email)
        page.get_by_label("Password", exact=True).fill(f"wrong password {attempt}")
        page.get_by_role("button", name="Log in").click()
        if attempt < 10:
            expect(page.get_by_label("Password", exact=True)).to_have_value("")  # the 422 form, drawn again
    expect(toasts).to_contain_text("Too many attempts. Please wait a minute before trying again.")
    expect(toasts).not_to_contain_text("Something went wrong")


def test_a_refused_form_puts_the_focus_on_its_first_wrong_field(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/companies/new")
    page.get_by_label("Company name").fill("Acme Ltd")
    page.get_by_label("Website").fill("not a site")
    page.get_by_role("button", name="Add company").click()
    expect(page.get_by_text("Enter a web address such as example.com.")).to_be_visible()
    expect(page.get_by_label("Website")).to_be_focused()  # not the name, which asks for the focus on load
