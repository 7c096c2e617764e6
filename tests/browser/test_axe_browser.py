"""An automated WCAG 2.2 AA check of the customer-database pages with axe-core (the axe-playwright-python
package bundles it): each page in English and in Chinese, at desktop width and at 320 px, with its
disclosures open, must break no WCAG A or AA rule of axe nor its best practices. axe finds only part of what
fails WCAG (names, contrast, landmarks, ids, nesting, target size...); test_accessibility_browser.py
and the pages' own browser tests check what it cannot."""

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from crm.contacts.models import Contact
from crm.contacts.service import delete_contact
from crm.db import utcnow
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.browser import axe
from tests.browser.axe import keep_module_data, scanned_data, signed_in_member  # noqa: F401 (fixtures)
from tests.browser.helpers import wait_for_htmx
from tests.factories import (
    make_activity,
    make_company,
    make_company_activity,
    make_company_purchase,
    make_contact,
    make_custom_field,
    make_duplicate_pair,
    make_import,
    make_purchase,
)

pytestmark = [pytest.mark.browser, pytest.mark.markup]


CHINESE_ROLE = "admin"  # the member who reads Chinese (tests/browser/axe.py scanned_data)


def scanned_records(app, owner, zh) -> dict:
    """Customers in each state the pages show: a company with people, a purchase and a note; tasks
    overdue and upcoming, a duplicate pair, a contact in the trash, an import."""
    make_custom_field(app, owner, "Favourite tea")
    make_custom_field(app, owner, "Region", kind="select", options=["North", "South"])
    acme = make_company(app, owner, "Acme Ltd", industry="Tea", website="https://acme.example.com")
    make_company_purchase(app, owner, acme, "Green tea", 250)
    make_company_activity(app, owner, acme, "Met their buyer at the fair")
    ann = make_contact(app, owner, "Ann Lee", tags=["fair", "vip"], company_id=acme,
                       emails=["ann@acme.example.com"], phones=["+358401234567"], title="Buyer")  # fmt: skip
    bob = make_contact(app, owner, "Bob Stone", emails=["bob@example.com"])
    make_duplicate_pair(app, owner, bob, make_contact(app, owner, "Robert Stone", emails=["bob@example.com"]))
    make_contact(app, owner, "陈伟", tags=["fair"])
    make_purchase(app, owner, ann, "Green tea", 120)
    make_activity(app, owner, ann, "Liked the oolong samples")
    make_activity(app, owner, ann, "Call Ann back", kind="task", due_at=utcnow() - timedelta(days=1),
                  assignee_id=owner.membership_id)  # fmt: skip
    make_activity(app, owner, ann, "Send the catalogue", kind="task", due_at=utcnow() + timedelta(days=3),
                  assignee_id=zh.membership_id)  # fmt: skip
    gone = make_contact(app, owner, "Carl Old")
    with app.app_context(), workspace_scope(owner.id):
        delete_contact(db.session.get(Contact, gone))
        db.session.commit()
    import_id = make_import(app, owner)
    return {"company": acme, "contact": ann, "import_id": import_id}


def tick_every_row(page: Page) -> None:
    page.locator("#select-page").check()
    expect(page.locator("#bulk-bar, .bulk-bar").first).to_be_visible()
    wait_for_htmx(page)


def edit_details(page: Page, details: str) -> None:
    axe.click_and_settle(page, f"{details} .section-head a")
    expect(page.locator(f"{details} form")).to_be_visible()


def send_empty_composers(page: Page) -> None:
    """Saving a note and a purchase with nothing in them: both forms come back with their errors."""
    for composer in page.locator(".composers form").all():
        composer.locator("button[type=submit]").first.click()
        expect(composer.locator(".error").first).to_be_visible()
        wait_for_htmx(page)


def save_details(page: Page, details: str) -> None:
    edit_details(page, details)
    axe.click_and_settle(page, f"{details} form button[type=submit]")
    expect(page.locator("#toasts .toast").first).to_be_visible()


def header_search(page: Page) -> None:
    page.locator("#global-q").fill("a")
    expect(page.locator("#global-search-results a").first).to_be_visible()
    wait_for_htmx(page)


def open_workspace_menu(page: Page) -> None:
    page.locator(".switcher summary").click()
    expect(page.locator(".switcher .menu-list a").first).to_be_visible()
    wait_for_htmx(page)


# name: (address under the workspace, what to do there before the scan). A scan costs about a
# second, so each page is brought into several of its states at once: disclosures open, errors
# shown, a form opened in place, a toast.
SCENARIOS = {
    "contacts": ("contacts/?tag=fair", axe.all_of(axe.open_every_disclosure, tick_every_row)),
    "contact": (
        "contacts/{contact}",
        axe.all_of(
            axe.open_every_disclosure, send_empty_composers, lambda page: save_details(page, "#contact-details")
        ),
    ),
    "companies": ("companies/", axe.open_every_disclosure),
    "company": (
        "companies/{company}",
        axe.all_of(axe.open_every_disclosure, lambda page: edit_details(page, "#company-details")),
    ),
    "tasks": ("tasks/", lambda page: axe.click_and_settle(page, "main a[data-hx-target^='#task-']")),
    "custom-fields": ("settings/custom-fields/", lambda page: axe.submit_first_form(page, "form.record-form")),
    "customer-tiers": ("settings/customer-tiers/", axe.open_every_disclosure),
    "imports": ("imports/", lambda page: axe.submit_first_form(page, "form[enctype]")),
    "import": ("imports/{import_id}", axe.open_every_disclosure),
    "trash": ("contacts/trash", axe.open_every_disclosure),
    "duplicates": ("duplicates/", axe.open_every_disclosure),
    "search": ("search/?q=a", open_workspace_menu),
    "header-search": ("contacts/", header_search),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_wcag_violation(signed_in: Page, live_server, data, scenario):
    """Each page is scanned at desktop width, then narrowed to 320 px and scanned again."""
    page = signed_in
    address, prepare = SCENARIOS[scenario]
    axe.visit(page, f"{live_server.url}/w/{data['owner'].slug}/" + address.format(**data))
    prepare(page)
    axe.assert_no_wcag_violation(page)
