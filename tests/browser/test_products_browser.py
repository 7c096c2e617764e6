"""Products in a real browser: add a product in Settings → Products, put lines on a deal (swapped in
place, the deal's value following them), edit a line in place, then mark the deal won with its
products and see the customer's purchases and tier change."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import assert_no_full_reload, log_in, mark_window, wait_for_htmx
from tests.factories import make_contact, make_deal, make_product, make_purchase, make_workspace

pytestmark = pytest.mark.browser


def test_mark_a_deal_with_products_won_and_see_the_customers_purchases_and_tier(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    ann = make_contact(app, owner, "Ann Lee")
    make_purchase(app, owner, ann, "Sample", amount=600)  # tier C before the deal
    make_product(app, owner, "Green tea", unit_price="2000.00", tax_rate="8", sku="GT-1")
    deal_id = make_deal(app, owner, "Tea chests", value=0, contact_id=ann)
    log_in(page, live_server.url, owner.email, owner.password)

    # The catalogue: Settings → Products, add a teapot.
    page.goto(f"{live_server.url}/w/{owner.slug}/settings")
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Products").click()
    expect(page.get_by_role("heading", level=2, name="Products")).to_be_visible()
    form = page.locator("#new-product")
    form.get_by_label("Name").fill("Teapot")
    form.get_by_label("Unit price").fill("500")
    form.get_by_label("Tax rate (%)").fill("8")
    form.get_by_role("button", name="Add product").click()
    expect(page.locator("#product-results")).to_contain_text("Teapot")
    wait_for_htmx(page)
    page.get_by_role("searchbox", name="Search", exact=True).fill("GT-")
    expect(page.locator("#product-results")).not_to_contain_text("Teapot")
    expect(page.locator("#product-results")).to_contain_text("Green tea")

    # The deal: two lines, swapped in place; the value in the details follows them.
    page.goto(f"{live_server.url}/w/{owner.slug}/deals/{deal_id}")
    mark_window(page)
    lines = page.locator("#deal-items")
    add = lines.get_by_role("group", name="Add a line")
    add.get_by_label("Product").select_option(label="Green tea (GT-1) · $2,000.00")
    add.get_by_label("Quantity").fill("5")
    add.get_by_label("Discount (%)").fill("10")
    add.get_by_role("button", name="Add line").click()
    expect(lines.locator("tbody tr")).to_have_count(1)
    expect(page.locator("#deal-value")).to_have_text("$9,000.00")
    add = lines.get_by_role("group", name="Add a line")
    add.get_by_label("Product").select_option(label="Teapot · $500.00")
    add.get_by_role("button", name="Add line").click()
    expect(lines.locator("tbody tr")).to_have_count(2)
    # Edit the teapot line in place: three of them.
    lines.get_by_label("Quantity of Teapot").fill("3")
    lines.get_by_role("button", name="Save Teapot").click()
    expect(page.locator("#deal-value")).to_have_text("$10,500.00")
    expect(lines.get_by_role("button", name="Save Teapot")).to_be_focused()  # the focus survives the swap
    expect(lines.locator("tfoot")).to_contain_text("$840.00")  # 8% tax
    expect(lines.locator("tfoot")).to_contain_text("$11,340.00")
    # A bad quantity is refused next to the field, nothing changes.
    lines.get_by_label("Quantity of Teapot").fill("0")
    lines.get_by_role("button", name="Save Teapot").click()
    expect(lines.get_by_text("Enter a quantity above 0.")).to_be_visible()
    expect(page.locator("#deal-value")).to_have_text("$10,500.00")
    assert_no_full_reload(page)

    # Won, with its products as purchases.
    page.reload()
    page.get_by_label("Record each product line as a purchase of the customer").check()
    page.get_by_role("button", name="Mark as won").click()
    expect(page.locator(".deal-status")).to_contain_text("Won")
    expect(page.locator("#deal-items").get_by_role("button", name="Add line")).to_have_count(0)
    page.locator("#deal-details").get_by_role("link", name="Ann Lee").click()
    summary = page.locator("#contact-summary")
    expect(summary).to_contain_text("Tier A")
    expect(summary).to_contain_text("$11,100.00")  # 600 + 9,000 + 1,500
    timeline = page.locator("#timeline-list")
    expect(timeline).to_contain_text("Green tea")
    expect(timeline).to_contain_text("Teapot")
