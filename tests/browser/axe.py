"""What the axe-core scans of the browser tests share: the rules run, a scan of one page state at
desktop width and at 320 px, and the steps that bring a page into several of its states before a
scan (disclosures open, errors shown). axe-playwright-python bundles axe-core."""

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.helpers import wait_for_htmx

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
