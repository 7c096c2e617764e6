"""What the axe-core scans of the browser tests share: the rules run, a scan of one page state at
desktop width and at 320 px, and the steps that bring a page into several of its states before a
scan (disclosures open, errors shown). axe-playwright-python bundles axe-core.

And their set-up, in three fixtures a scanning module imports so pytest finds them there: its data
set built once (``scanned_data``, as ``data``: a workspace with an English-reading owner and a
Chinese-reading member, and the module's own records) and kept for all its scans, which only read
(``keep_module_data`` stands in for conftest's per-test ``_clean_state``); and a page signed in
once per module and language (``signed_in_member``, as ``signed_in``). A module says only what
differs: ``CHINESE_ROLE`` and ``scanned_records``."""

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from crm.auth.models import User
from crm.custom_fields.service import forget_definitions
from crm.extensions import db, limiter
from crm.workspaces.service import forget_every_slug
from tests.browser.helpers import log_in, wait_for_htmx
from tests.conftest import empty_tables
from tests.factories import make_member, make_workspace

# WCAG 2.0, 2.1 and 2.2 at A and AA, and axe's best practices (landmarks named apart, one main, no
# heading left empty...), which these pages meet too.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
AXE = Axe()
WIDTHS = (1280, 320)


def scan(page: Page) -> list[dict]:
    options = {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]}
    return AXE.run(page, options=options).response["violations"]


def report(violations: list[dict]) -> list[str]:
    """A line a failing element: the rule, where, what it asks, and the element's start."""
    return [
        f"{violation['id']} {' '.join(map(str, node['target']))}: {violation['help']}\n    {node['html'][:200]}"
        for violation in violations
        for node in violation["nodes"]
    ]


def violations_at_each_width(page: Page) -> list[str]:
    """Scans the page as it stands at desktop width, then narrowed to 320 px (the layout reflows
    without a reload, and the scan of the same state costs no second visit)."""
    found = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        found += [f"at {width}px: {line}" for line in report(scan(page))]
    return found


def assert_no_wcag_violation(page: Page) -> None:
    found = violations_at_each_width(page)
    assert not found, "axe found:\n" + "\n".join(found)


@pytest.fixture(scope="module", name="data")
def scanned_data(request, app) -> Iterator[dict]:
    """The module's data set, built once: a workspace whose owner reads English and whose member
    with the module's ``CHINESE_ROLE`` (a built-in role) reads Chinese, as "owner" and "zh", with
    what the module's ``scanned_records(app, owner, zh)`` adds. The tables are emptied once the
    module is done with it."""
    limiter.reset()
    forget_every_slug()
    forget_definitions()
    try:
        owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
        zh = make_member(app, owner, "zhou@alpha.example.com", role=request.module.CHINESE_ROLE)
        with app.app_context():
            db.session.scalar(sa.select(User).where(User.email == zh.email)).locale = "zh_Hans"
            db.session.commit()
        yield {"owner": owner, "zh": zh, **request.module.scanned_records(app, owner, zh)}
    finally:
        empty_tables(app)


@pytest.fixture(autouse=True, name="_clean_state")
def keep_module_data():
    """Overrides conftest's: the module's data set stays for all its scans (they only read);
    ``data`` empties the tables once the module is done."""
    yield


@pytest.fixture(scope="module", params=["en", "zh"], name="signed_in")
def signed_in_member(request, browser: Browser, live_server, data) -> Iterator[Page]:
    """A page of a member who reads English (the owner) or Chinese (``data``: the module's data set,
    with "owner" and "zh"), signed in once per module."""
    member = data["owner"] if request.param == "en" else data["zh"]
    context = browser.new_context()
    page = context.new_page()
    log_in(page, live_server.url, member.email, member.password)
    expect(page.locator("html")).to_have_attribute("lang", "en" if request.param == "en" else "zh-Hans")
    yield page
    context.close()


def visit(page: Page, url: str) -> None:
    """Opens the page at desktop width; a page refused or missing would be scanned in vain."""
    page.set_viewport_size({"width": 1280, "height": 800})
    response = page.goto(url)
    assert response.ok, f"{url}: {response.status}"
    wait_for_htmx(page)


def open_every_disclosure(page: Page) -> None:
    """Opens the filters and every other <details> of the page (some load when opened)."""
    page.evaluate("() => document.querySelectorAll('main details').forEach(d => { d.open = true; })")
    wait_for_htmx(page)


def click_and_settle(page: Page, selector: str) -> None:
    page.locator(selector).first.click()
    wait_for_htmx(page)


def submit_first_form(page: Page, form: str) -> None:
    """Sends the first form matching ``form`` as it stands (empty): it comes back with its errors."""
    click_and_settle(page, f"{form} button[type=submit]")
    expect(page.locator("main .error, main .errors").first).to_be_visible()


def all_of(*steps):
    def prepare(page: Page) -> None:
        for step in steps:
            step(page)

    return prepare
