"""A company with more contacts than a select holds, in a real browser: the Purchases section's
"Bought by" is a picker that searches the company's contacts; choosing one past the first fifty by
name adds their purchase (on their page afterwards), and clearing the picker buys as the company.
Without JavaScript, the name typed in the picker's box finds the buyer: several matches are refused
with their names, and a name that tells them apart adds the purchase."""

from datetime import date

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from crm.extensions import db
from crm.purchases.models import Purchase
from crm.tenancy import workspace_scope
from tests.browser.helpers import log_in, wait_for_htmx
from tests.factories import make_company, make_workspace
from tests.test_company_purchases import make_people

pytestmark = pytest.mark.browser


def test_a_buyer_past_the_first_fifty_is_found_and_chosen_with_the_picker(app, page: Page, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    acme = make_company(app, owner, "Acme Ltd")
    people = make_people(app, owner, acme, 55)
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/companies/{acme}")
    section = page.locator("#company-purchases")
    buyer = section.get_by_role("combobox", name="Bought by")
    expect(buyer).to_have_attribute("placeholder", "The company itself")
    buyer.fill("Person 054")
    option = section.get_by_role("option", name="Person 054")
    expect(option).to_be_visible()
    buyer.press("ArrowDown")
    buyer.press("Enter")
    expect(buyer).to_have_value("Person 054")
    section.get_by_label("Product").fill("Tea chest")
    section.get_by_label("Unit price").fill("120")
    section.get_by_role("button", name="Add purchase").click()
    expect(section.get_by_role("link", name="Person 054")).to_be_visible()  # the new row names the buyer
    wait_for_htmx(page)

    buyer = section.get_by_role("combobox", name="Bought by")
    expect(buyer).to_have_value("")  # a fresh form: the company itself
    section.get_by_label("Product").fill("Fleet service")
    section.get_by_label("Unit price").fill("900")
    section.get_by_role("button", name="Add purchase").click()
    expect(section.get_by_role("row", name="Fleet service")).to_contain_text("The company itself")
    with app.app_context(), workspace_scope(owner.id):
        rows = db.session.execute(sa.select(Purchase.contact_id, Purchase.product, Purchase.purchased_on)).all()
    assert sorted(rows, key=lambda row: row.product) == [(None, "Fleet service", date.today()),
                                                         (people[53], "Tea chest", date.today())]  # fmt: skip
    page.goto(f"{live_server.url}/w/{owner.slug}/contacts/{people[53]}")
    expect(page.locator("main")).to_contain_text("Tea chest")


def test_without_javascript_the_buyer_typed_in_the_picker_is_found(app, browser: Browser, live_server):
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    acme = make_company(app, owner, "Acme Ltd")
    people = make_people(app, owner, acme, 51)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    log_in(page, live_server.url, owner.email, owner.password)
    company_page = f"{live_server.url}/w/{owner.slug}/companies/{acme}"
    page.goto(company_page)
    composer = page.locator("#company-purchase-composer")
    composer.get_by_role("combobox", name="Bought by").fill("Person 05")
    composer.get_by_label("Product").fill("Tea chest")
    composer.get_by_label("Unit price").fill("120")
    composer.get_by_role("button", name="Add purchase").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Add a purchase")
    composer = page.locator("#company-purchase-composer")
    buyer = composer.get_by_role("combobox", name="Bought by")
    expect(buyer).to_have_value("Person 05")  # what was typed, with the matches to choose from
    expect(buyer).to_have_attribute("aria-invalid", "true")
    expect(composer).to_contain_text("Several of this company's contacts match “Person 05” (Person 051, Person 050)")
    expect(composer.get_by_label("Product")).to_have_value("Tea chest")
    buyer.fill("person 051")
    composer.get_by_role("button", name="Add purchase").click()
    expect(page).to_have_url(company_page)
    expect(page.locator("#company-purchases").get_by_role("link", name="Person 051")).to_be_visible()
    with app.app_context(), workspace_scope(owner.id):
        rows = db.session.execute(sa.select(Purchase.contact_id, Purchase.product)).all()
    assert rows == [(people[50], "Tea chest")]
    context.close()


def test_a_list_that_comes_late_keeps_the_option_the_arrows_were_on(app, page: Page, live_server):
    """A slow answer to earlier typing draws the listbox again after the arrows moved in it: Enter
    still chooses the option they were on (it used to choose nothing, and the purchase went to the
    company itself)."""
    owner = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    acme = make_company(app, owner, "Acme Ltd")
    people = make_people(app, owner, acme, 55)
    log_in(page, live_server.url, owner.email, owner.password)
    page.goto(f"{live_server.url}/w/{owner.slug}/companies/{acme}")
    section = page.locator("#company-purchases")
    buyer = section.get_by_role("combobox", name="Bought by")
    buyer.fill("Person 05")
    expect(section.get_by_role("option", name="Person 054")).to_be_visible()
    for _step in range(section.get_by_role("option").count()):  # down to Person 054, wherever it is
        if section.get_by_role("option", name="Person 054").get_attribute("aria-selected") == "true":
            break
        buyer.press("ArrowDown")
    expect(section.get_by_role("option", name="Person 054")).to_have_attribute("aria-selected", "true")
    page.evaluate(
        """(input) => htmx.ajax("GET", input.getAttribute("data-hx-get") + "?q=" + encodeURIComponent(input.value),
                                {target: "#" + input.getAttribute("aria-controls"), swap: "outerHTML"})""",
        buyer.element_handle(),
    )
    wait_for_htmx(page)
    expect(section.get_by_role("option", name="Person 054")).to_have_attribute("aria-selected", "true")
    buyer.press("Enter")
    expect(buyer).to_have_value("Person 054")
    hidden = section.locator("input[type=hidden][data-picker-value]")
    expect(hidden).to_have_value(str(people[53]))
