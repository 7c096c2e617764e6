"""The axe-core scan of test_axe_browser.py over the rest of the app: deals (board, list, a deal),
tickets (the queue, a ticket), the reports, Settings (workspace, members, roles, pipelines,
products, saved replies, billing, the audit log), the account page, and the pages of visitors who
are not signed in (the complaint portal: its home, filing a complaint and following it; sign-up and
log-in). Each in English and in Chinese, at 1280 and at 320 px, with its disclosures open and, where
cheap, its form's errors shown. Then what axe does not measure at 320 px: two-column grids that stick
out of their panel, and Chinese table headers broken between two characters."""

from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, Page, expect

from crm.billing.models import Invoice
from crm.contacts.models import Contact
from crm.contacts.service import delete_contact
from crm.extensions import db
from crm.saved_replies.service import create as create_saved_reply
from crm.tenancy import workspace_scope
from tests.browser import axe
from tests.browser.axe import keep_module_data, scanned_data, signed_in_member  # noqa: F401 (fixtures)
from tests.factories import (
    default_pipeline,
    make_contact,
    make_deal,
    make_deal_activity,
    make_deal_item,
    make_invitation,
    make_product,
    make_role,
    make_ticket,
)

pytestmark = [pytest.mark.browser, pytest.mark.markup]


CHINESE_ROLE = "owner"  # a second owner: only owners manage billing, and its page is scanned in Chinese too


def scanned_records(app, owner, zh) -> dict:
    """A deal with a product and a note, a ticket, an invitation, a role, a saved reply, an invoice."""
    make_invitation(app, owner, "new@alpha.example.com")
    make_role(app, owner, "Support desk", permissions=("contacts.read", "tickets.read"))
    ann = make_contact(app, owner, "Ann Lee", emails=["ann@acme.example.com"])
    sales = default_pipeline(app, owner)
    deal = make_deal(app, owner, "Big order", contact_id=ann, owner_id=owner.membership_id)
    make_deal(app, owner, "茶叶订单", stage_id=sales.open[1], value=2500)
    tea = make_product(app, owner, "Green tea", sku="GT-1")
    make_deal_item(app, owner, deal, tea, quantity="3")
    make_deal_activity(app, owner, deal, "Sent the price list")
    with app.app_context(), workspace_scope(owner.id):
        delete_contact(db.session.get(Contact, make_contact(app, owner, "Carl Old")))
        db.session.commit()
    _, token = make_ticket(app, owner, ann, subject="Parcel arrived crushed", requester_name="Ann Lee")
    with app.app_context(), workspace_scope(owner.id):
        create_saved_reply("Thanks", "Thank you, {customer_name}.")
        db.session.add(Invoice(stripe_invoice_id="in_1", number="KEHU-0001", status="paid", amount_due=2900,
                               amount_paid=2900, currency="usd", issued_at=datetime.now(UTC),
                               hosted_invoice_url="https://invoice.example.com/in_1"))  # fmt: skip
        db.session.commit()
    return {"pipeline": sales.id, "deal": deal, "ticket": 1001, "token": token}


@pytest.fixture(scope="module", params=["en", "zh"])
def visitor(request, browser: Browser) -> Page:
    """A page of somebody not signed in whose browser asks for English or Chinese."""
    context = browser.new_context(locale="en-GB" if request.param == "en" else "zh-CN")
    yield context.new_page()
    context.close()


def errors_of(form: str):
    return lambda page: axe.submit_first_form(page, form)


# name: (address under the workspace, what to do there before the scan), as in test_axe_browser.py.
SCENARIOS = {
    "deals-board": ("deals/pipelines/{pipeline}", axe.open_every_disclosure),
    "deals-list": ("deals/list", axe.open_every_disclosure),
    "deal": ("deals/{deal}", axe.all_of(axe.open_every_disclosure, errors_of("#deal-items form.record-form"))),
    "tickets": ("tickets/", axe.open_every_disclosure),
    "ticket": ("tickets/{ticket}", axe.all_of(axe.open_every_disclosure, errors_of("#ticket-reply"))),
    "sales-report": ("reports/sales", axe.open_every_disclosure),
    "service-report": ("reports/service", axe.open_every_disclosure),
    "workspace-settings": ("settings", axe.open_every_disclosure),
    "members": ("settings/members/", errors_of("form.invite-form")),
    "roles": ("settings/roles/", errors_of("form.invite-form")),
    "pipelines": ("settings/pipelines/{pipeline}", errors_of("form[action$='/stages/']")),
    "products": ("settings/products/", errors_of("#new-product")),
    "saved-replies": ("settings/saved-replies/", errors_of("#new-saved-reply")),
    "billing": ("settings/billing/", axe.open_every_disclosure),
    "audit": ("settings/audit/", axe.open_every_disclosure),
}

# name: (address on the site, what to do there before the scan).
PUBLIC_SCENARIOS = {
    "portal": ("portal/{slug}/", lambda page: None),
    "portal-new": ("portal/{slug}/new", lambda page: axe.submit_first_form(page, "main form")),
    "portal-track": ("portal/{slug}/t/{token}", lambda page: axe.submit_first_form(page, "main form")),
    "signup": ("signup", lambda page: axe.submit_first_form(page, "main form")),
    "login": ("login", lambda page: axe.submit_first_form(page, "main form")),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_wcag_violation(signed_in: Page, live_server, data, request, scenario):
    page = signed_in
    if scenario == "billing":
        request.getfixturevalue("stripe_billing")  # the Billing tab exists with Stripe set up only
    address, prepare = SCENARIOS[scenario]
    axe.visit(page, f"{live_server.url}/w/{data['owner'].slug}/" + address.format(**data))
    prepare(page)
    axe.assert_no_wcag_violation(page)


def test_account_page_has_no_wcag_violation(signed_in: Page, live_server):
    page = signed_in
    axe.visit(page, f"{live_server.url}/account")
    axe.submit_first_form(page, "section[aria-labelledby=password-title] form")
    axe.assert_no_wcag_violation(page)


@pytest.mark.parametrize("scenario", PUBLIC_SCENARIOS)
def test_public_page_has_no_wcag_violation(visitor: Page, live_server, data, scenario):
    page = visitor
    address, prepare = PUBLIC_SCENARIOS[scenario]
    axe.visit(page, f"{live_server.url}/" + address.format(slug=data["owner"].slug, **data))
    prepare(page)
    axe.assert_no_wcag_violation(page)


def overflowing_grids(page: Page) -> list[str]:
    """The .columns and .report-pair grids of the page one of whose items reaches past the grid's
    right edge (the grid, in its panel, is as wide as the panel's inside)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('main :is(.columns, .report-pair)')].flatMap(grid => {
            const edge = grid.getBoundingClientRect().right;
            return [...grid.children].filter(item => item.getBoundingClientRect().right > edge + 0.5)
                .map(item => `${grid.className} > ${item.tagName}: ${item.getBoundingClientRect().right} > ${edge}`);
        })"""
    )


# The deal's outcome forms sit in a panel, whose padding leaves less than 18rem at 320 px. The account's
# panels and the reports' chart and table sit straight in the page, 18rem wide exactly at 320 px: a
# 320 px window with a classic 16 px scrollbar (a desktop browser's, not a phone's) leaves 304.
@pytest.mark.parametrize(
    ("address", "width"),
    [("/w/{slug}/deals/{deal}", 320), ("/w/{slug}/reports/sales", 304), ("/account", 304)],
)
def test_two_column_grids_fit_a_narrow_screen(signed_in: Page, live_server, data, address, width):
    page = signed_in
    axe.visit(page, live_server.url + address.format(slug=data["owner"].slug, **data))
    page.set_viewport_size({"width": width, "height": 800})
    expect(page.locator("main :is(.columns, .report-pair)").first).to_be_visible()
    assert overflowing_grids(page) == []


def headers_broken_between_han_characters(page: Page) -> list[str]:
    """The column headers of the page's tables with a line break between two Chinese characters
    (each character's line read from its own box; a visually hidden header is left out)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('main table thead th')].filter(th => {
            const han = /\\p{Script=Han}/u, range = document.createRange();
            const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
            let previous = null;
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                if (node.parentElement.closest('.visually-hidden')) continue;
                for (let i = 0; i < node.length; i++) {
                    range.setStart(node, i);
                    range.setEnd(node, i + 1);
                    const char = {text: node.data[i], top: Math.round(range.getBoundingClientRect().top)};
                    if (previous && han.test(previous.text) && han.test(char.text) && char.top > previous.top) {
                        return true;
                    }
                    if (char.text.trim()) previous = char;
                }
            }
            return false;
        }).map(th => th.textContent.trim())"""
    )


# Chinese may break between any two characters: a table squeezed to 320 px stood "剩余时间" (Time left)
# one character a line. Its headers keep their words whole; the table's scroll region scrolls.
@pytest.mark.parametrize("signed_in", ["zh"], indirect=True)
@pytest.mark.parametrize("address", ["contacts/trash", "tickets/", "deals/list", "reports/service"])
def test_chinese_table_headers_keep_their_words_whole_at_320px(signed_in: Page, live_server, data, address):
    page = signed_in
    axe.visit(page, f"{live_server.url}/w/{data['owner'].slug}/{address}")
    page.set_viewport_size({"width": 320, "height": 800})
    expect(page.locator("main table thead th").first).to_be_attached()
    assert headers_broken_between_han_characters(page) == []
