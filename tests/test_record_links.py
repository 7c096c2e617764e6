"""Pages that name a contact or a company link its page only where it opens for the member
(crm.permissions.may_open): a record in the trash shows as its name with "(in the trash)", one
beyond an "own records" member's scope as its name, as the contact's page names its company
(tests/test_contacts.py). Each place reads what it needs with the names it shows: no query more."""

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest

from crm.contacts import service as contacts
from crm.contacts.models import Company, Contact
from crm.db import utcnow
from crm.extensions import db
from crm.tenancy import workspace_scope
from crm.tickets.models import Ticket
from tests.factories import (
    assign_role,
    default_pipeline,
    make_activity,
    make_company,
    make_company_activity,
    make_company_purchase,
    make_contact,
    make_deal,
    make_deal_activity,
    make_duplicate_pair,
    make_member,
    make_purchase,
    make_role,
    make_ticket,
)
from tests.query_counter import count_queries
from tests.test_reports import table_rows
from tests.test_service_report import PERIOD, add_ticket, at, download, report_url
from tests.test_tickets_service import ticket_of


@pytest.fixture
def seller(app, ws_a):
    """A member whose role sees only their own records, with every read permission."""
    role = make_role(app, ws_a, "Own records",
                     permissions=("contacts.read", "deals.read", "tickets.read", "tickets.write", "reports.view"),
                     record_scope="own")  # fmt: skip
    member = make_member(app, ws_a, "sam@alpha.example.com")
    assign_role(app, ws_a, member.membership_id, role)
    return member


@pytest.fixture
def people(app, ws_a, seller):
    """Ann (a colleague's) at Acme (the seller's); Bo (the seller's) at Bolt (a colleague's, a
    name to escape); Cy (the seller's) at Bolt too."""
    mine, theirs = seller.membership_id, ws_a.membership_id
    acme = make_company(app, ws_a, "Acme Ltd", owner_id=mine)
    bolt = make_company(app, ws_a, "Bolt <Hardware>", owner_id=theirs)
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme, owner_id=theirs)
    bo = make_contact(app, ws_a, "Bo Chen", company_id=bolt, owner_id=mine)
    cy = make_contact(app, ws_a, "Cy Park", company_id=bolt, owner_id=mine)
    return SimpleNamespace(acme=acme, bolt=bolt, ann=ann, bo=bo, cy=cy)


def to_trash(app, ws, model, record_id: int) -> None:
    delete = contacts.delete_contact if model is Contact else contacts.delete_company
    with app.app_context(), workspace_scope(ws.id):
        delete(db.session.get(model, record_id))
        db.session.commit()


def assign(app, ws, ticket_id: int, membership_id: int) -> None:
    with app.app_context(), workspace_scope(ws.id):
        db.session.get(Ticket, ticket_id).assignee_id = membership_id
        db.session.commit()


def link(ws, kind: str, record_id: int, name: str) -> str:
    return f'<a href="/w/{ws.slug}/{kind}/{record_id}">{name}</a>'


def between(page: str, start: str, end: str) -> str:
    return page.split(start)[1].split(end)[0]


# --- the deals list and a deal's page ---------------------------------------------------------------


def test_the_deals_list_links_a_deals_customer_only_where_it_opens(app, client, auth, ws_a, seller, people):
    sales = default_pipeline(app, ws_a)
    mine = seller.membership_id
    tea = make_deal(app, ws_a, "Tea order", contact_id=people.ann, company_id=people.acme, owner_id=mine)
    cups = make_deal(app, ws_a, "Cup order", contact_id=people.bo, company_id=people.bolt, owner_id=mine)
    to_trash(app, ws_a, Contact, people.bo)
    url = f"/w/{ws_a.slug}/deals/pipelines/{sales.id}/list"
    row = lambda page, deal: between(page, f'<tr id="deal-row-{deal}">', "</tr>")  # noqa: E731

    auth.login(ws_a.email, ws_a.password)
    page = client.get(url).get_data(as_text=True)
    ann, acme = link(ws_a, "contacts", people.ann, "Ann Lee"), link(ws_a, "companies", people.acme, "Acme Ltd")
    assert f"<td>{ann}<br>{acme}</td>" in row(page, tea)
    # Bo is in the trash (his page is a 404): his name says so, with no link.
    bolt = link(ws_a, "companies", people.bolt, "Bolt &lt;Hardware&gt;")
    assert f"<td>Bo Chen (in the trash)<br>{bolt}</td>" in row(page, cups)
    assert f"/contacts/{people.bo}" not in page
    auth.logout()

    auth.login(seller.email, seller.password)
    client.get(url)  # warm the caches
    with count_queries(app) as queries:
        page = client.get(url).get_data(as_text=True)
    assert len(queries) == 4, queries  # member, pipelines (the tabs), the rows with their names, owners
    # Under "own records", a colleague's contact and company are names: their pages are 404s.
    assert f"<td>Ann Lee<br>{acme}</td>" in row(page, tea)
    assert "<td>Bo Chen (in the trash)<br>Bolt &lt;Hardware&gt;</td>" in row(page, cups)
    assert f"/contacts/{people.ann}" not in page and f"/companies/{people.bolt}" not in page
    assert client.get(f"/w/{ws_a.slug}/contacts/{people.ann}").status_code == 404
    assert client.get(f"/w/{ws_a.slug}/companies/{people.bolt}").status_code == 404


def test_a_deals_page_links_its_customer_only_where_it_opens(app, client, auth, ws_a, seller, people):
    mine = seller.membership_id
    tea = make_deal(app, ws_a, "Tea order", contact_id=people.ann, company_id=people.acme, owner_id=mine)
    cups = make_deal(app, ws_a, "Cup order", contact_id=people.bo, company_id=people.bolt, owner_id=mine)
    to_trash(app, ws_a, Contact, people.bo)
    to_trash(app, ws_a, Company, people.acme)
    details = lambda deal: between(client.get(f"/w/{ws_a.slug}/deals/{deal}").get_data(as_text=True),  # noqa: E731
                                   'id="deal-details"', "</section>")  # fmt: skip

    auth.login(seller.email, seller.password)
    page = details(tea)
    # A colleague's contact is a name; the seller's own company, in the trash, says so.
    assert "<dd>Ann Lee</dd>" in page and "<dd>Acme Ltd (in the trash)</dd>" in page
    assert "/contacts/" not in page and "/companies/" not in page
    page = details(cups)
    assert "<dd>Bo Chen (in the trash)</dd>" in page and "<dd>Bolt &lt;Hardware&gt;</dd>" in page
    auth.logout()

    auth.login(ws_a.email, ws_a.password)
    page = details(tea)
    assert f"<dd>{link(ws_a, 'contacts', people.ann, 'Ann Lee')}</dd>" in page
    assert "<dd>Acme Ltd (in the trash)</dd>" in page
    assert f"<dd>{link(ws_a, 'companies', people.bolt, 'Bolt &lt;Hardware&gt;')}</dd>" in details(cups)


def test_without_contacts_read_a_deals_customer_is_a_name(app, client, auth, ws_a, people):
    role = make_role(app, ws_a, "Deals only", permissions=("deals.read",))
    member = make_member(app, ws_a, "dee@alpha.example.com")
    assign_role(app, ws_a, member.membership_id, role)
    sales = default_pipeline(app, ws_a)
    tea = make_deal(app, ws_a, "Tea order", contact_id=people.ann, company_id=people.acme)
    auth.login(member.email, member.password)
    page = client.get(f"/w/{ws_a.slug}/deals/pipelines/{sales.id}/list").get_data(as_text=True)
    # Their pages would answer 403.
    assert "<td>Ann Lee<br>Acme Ltd</td>" in between(page, f'<tr id="deal-row-{tea}">', "</tr>")
    page = between(client.get(f"/w/{ws_a.slug}/deals/{tea}").get_data(as_text=True), 'id="deal-details"', "</section>")
    assert "<dd>Ann Lee</dd>" in page and "<dd>Acme Ltd</dd>" in page
    assert client.get(f"/w/{ws_a.slug}/contacts/{people.ann}").status_code == 403


# --- the ticket queue and a ticket's page -----------------------------------------------------------


def seller_ticket(app, ws, seller, contact_id: int) -> int:
    """A ticket of the contact assigned to the seller; its number."""
    ticket_id, _token = make_ticket(app, ws, contact_id)
    assign(app, ws, ticket_id, seller.membership_id)
    return ticket_of(app, ws, ticket_id)["number"]


def test_the_ticket_queue_links_a_customer_only_where_they_open(app, client, auth, ws_a, seller, people):
    numbers = {name: seller_ticket(app, ws_a, seller, getattr(people, name)) for name in ("ann", "bo", "cy")}
    to_trash(app, ws_a, Contact, people.bo)
    url = f"/w/{ws_a.slug}/tickets/"

    def customer(page: str, name: str) -> str:
        return between(between(page, f'<tr id="ticket-row-{numbers[name]}"', "</tr>"), "</th><td>", "</td>")

    auth.login(ws_a.email, ws_a.password)
    page = client.get(url).get_data(as_text=True)
    assert customer(page, "ann") == link(ws_a, "contacts", people.ann, "Ann Lee")
    # Bo is in the trash: his ticket stays in the queue, his name says where he is, unlinked.
    assert customer(page, "bo") == "Bo Chen (in the trash)"
    assert f"/contacts/{people.bo}" not in page
    auth.logout()

    auth.login(seller.email, seller.password)
    client.get(url)  # warm the caches
    with count_queries(app) as queries:
        page = client.get(url).get_data(as_text=True)
    assert len(queries) == 4, queries  # member, the page with its customers, categories, staff
    # Ann's ticket is the seller's, Ann is a colleague's: her page would be a 404.
    assert customer(page, "ann") == "Ann Lee" and f"/contacts/{people.ann}" not in page
    assert customer(page, "bo") == "Bo Chen (in the trash)"
    assert customer(page, "cy") == link(ws_a, "contacts", people.cy, "Cy Park")


def test_a_tickets_page_links_its_customer_only_where_they_open(app, client, auth, ws_a, seller, people):
    numbers = {name: seller_ticket(app, ws_a, seller, getattr(people, name)) for name in ("ann", "bo", "cy")}
    for _number in range(6):  # Ann has more earlier tickets than her panel shows (5)
        seller_ticket(app, ws_a, seller, people.ann)
    to_trash(app, ws_a, Contact, people.bo)

    def panel(name: str) -> str:
        page = client.get(f"/w/{ws_a.slug}/tickets/{numbers[name]}").get_data(as_text=True)
        return between(page, 'aria-labelledby="ticket-customer-title"', "</aside>")

    auth.login(seller.email, seller.password)
    ann = panel("ann")
    assert '<p class="customer-name">Ann Lee</p>' in ann
    # Nor the queue filtered by Ann: a filter by a customer the member may not open is dropped.
    assert "All tickets of Ann Lee" not in ann and "customer=contact" not in ann
    assert '<p class="customer-name">Bo Chen (in the trash)</p>' in panel("bo")
    assert f'<p class="customer-name">{link(ws_a, "contacts", people.cy, "Cy Park")}</p>' in panel("cy")
    auth.logout()

    auth.login(ws_a.email, ws_a.password)
    ann = panel("ann")
    assert f'<p class="customer-name">{link(ws_a, "contacts", people.ann, "Ann Lee")}</p>' in ann
    assert "All tickets of Ann Lee" in ann
    assert '<p class="customer-name">Bo Chen (in the trash)</p>' in panel("bo")


# --- the service report's repeat complainers --------------------------------------------------------


def test_repeat_complainers_link_a_customer_only_where_they_open(app, client, auth, ws_a, seller, people):
    for name in ("ann", "ann", "bo", "bo", "cy", "cy"):
        ticket_id = add_ticket(app, ws_a, getattr(people, name), created_at=at("2026-01-05"))
        assign(app, ws_a, ticket_id, seller.membership_id)
    to_trash(app, ws_a, Contact, people.bo)
    repeat = lambda page: between(page, 'id="repeat-table"', "</table>")  # noqa: E731

    auth.login(ws_a.email, ws_a.password)
    page = client.get(report_url(ws_a), query_string=PERIOD).get_data(as_text=True)
    names = ["Ann Lee", "Bo Chen (in the trash)", "Cy Park"]
    assert table_rows(page, "repeat") == [[name, "Ordinary", "2", "2"] for name in names]
    assert link(ws_a, "contacts", people.ann, "Ann Lee") in repeat(page)
    assert '<th scope="row">Bo Chen (in the trash)</th>' in repeat(page) and f"/contacts/{people.bo}" not in page
    assert download(client, ws_a, "repeat")[2][0] == "Bo Chen (in the trash)"
    auth.logout()

    auth.login(seller.email, seller.password)
    page = repeat(client.get(report_url(ws_a), query_string=PERIOD).get_data(as_text=True))
    # The tickets are the seller's; Ann is a colleague's, and her page would be a 404.
    assert '<th scope="row">Ann Lee</th>' in page and "/contacts/" + str(people.ann) not in page
    assert '<th scope="row">Bo Chen (in the trash)</th>' in page
    assert f'<th scope="row">{link(ws_a, "contacts", people.cy, "Cy Park")}</th>' in page


# --- the header's search and the search page -------------------------------------------------------


def test_the_search_says_when_a_persons_company_is_in_the_trash(app, client, auth, ws_a, seller, people):
    """A person whose company is in the trash is found with the company's name unlinked and "(in the
    trash)", as the lists and the person's page show it, in the header's search and on the search
    page. A live company stays its name there (a result is one link: the arrow keys step through
    them); a company in the trash is not found itself."""
    to_trash(app, ws_a, Company, people.bolt)
    quick = {"HX-Request": "true", "HX-Target": "global-search-results"}
    for member in (ws_a, seller):
        auth.login(member.email, member.password)
        header = client.get(f"/w/{ws_a.slug}/search/", query_string={"q": "Bo"}, headers=quick)
        header = header.get_data(as_text=True)
        assert "<html" not in header and "/companies/" not in header
        found = between(header, link(ws_a, "contacts", people.bo, "Bo Chen"), "</li>")
        assert '<span class="hint">Contact · Bolt &lt;Hardware&gt; (in the trash)</span>' in found
        page = client.get(f"/w/{ws_a.slug}/search/", query_string={"q": "Bo"}).get_data(as_text=True)
        contacts = between(page, 'id="found-contacts"', "</section>")
        companies = between(page, 'id="found-companies"', "</section>")
        assert f"{link(ws_a, 'contacts', people.bo, 'Bo Chen')} · Bolt &lt;Hardware&gt; (in the trash)</li>" in contacts
        assert "Bolt" not in companies and "No company matches." in companies
        auth.logout()
    auth.login(ws_a.email, ws_a.password)
    header = client.get(f"/w/{ws_a.slug}/search/", query_string={"q": "Ann"}, headers=quick).get_data(as_text=True)
    assert '<span class="hint">Contact · Acme Ltd</span>' in header and "trash" not in header


# --- every page that names records -----------------------------------------------------------------

RECORD_LINK = r'href="(/w/{slug}/(?:contacts|companies|deals|tickets)/\d+)"'


def test_no_page_links_a_record_whose_page_would_not_open(app, client, auth, ws_a, seller, people):
    """The pages that name other records, each with records in the trash and records beyond the
    seller's scope among them: every link to a contact, company, deal or ticket opens, for the
    owner and for the seller."""
    mine, theirs = seller.membership_id, ws_a.membership_id
    trashco = make_company(app, ws_a, "Trashco", owner_id=mine)
    dee = make_contact(app, ws_a, "Dee Park", company_id=trashco, owner_id=mine, emails=["dee@example.com"])
    with app.app_context(), workspace_scope(ws_a.id):  # Bo looks like Dee, Ann like Cy
        for contact, email in ((people.bo, "dee"), (people.ann, "cy"), (people.cy, "cy")):
            contacts.update_contact(db.session.get(Contact, contact), {"emails": [f"{email}@example.com"]})
        db.session.commit()
    soon = utcnow() - timedelta(hours=1)
    for contact in (people.ann, people.bo, people.cy, dee):
        make_purchase(app, ws_a, contact, "Tea")
        make_activity(app, ws_a, contact, "Call back", kind="task", due_at=soon, assignee_id=mine)
        for _number in range(2):
            seller_ticket(app, ws_a, seller, contact)
    for company in (people.bolt, trashco):
        make_company_activity(app, ws_a, company, "Visit", kind="task", due_at=soon, assignee_id=mine)
    make_company_purchase(app, ws_a, people.acme, "Cups")
    deals = [
        make_deal(app, ws_a, "Park order", contact_id=people.ann, company_id=people.bolt, owner_id=mine),
        make_deal(app, ws_a, "Park order", contact_id=people.bo, owner_id=mine),
        make_deal(app, ws_a, "Park order", contact_id=dee, company_id=trashco, owner_id=mine),
        make_deal(app, ws_a, "Park order", contact_id=people.cy, company_id=people.acme, owner_id=theirs),
    ]
    for deal in deals:
        make_deal_activity(app, ws_a, deal, "Chase", kind="task", due_at=soon, assignee_id=mine)
    pairs = [make_duplicate_pair(app, ws_a, people.ann, people.cy), make_duplicate_pair(app, ws_a, people.bo, dee)]
    assert None not in pairs
    to_trash(app, ws_a, Contact, people.bo)
    to_trash(app, ws_a, Company, trashco)
    sales = default_pipeline(app, ws_a).id
    pages = [
        "/", "/care/", "/tasks/", "/contacts/", "/companies/", "/duplicates/", "/search/?q=park", "/reports/sales",
        f"/reports/service?from={utcnow().date() - timedelta(days=1)}", f"/deals/pipelines/{sales}",
        f"/deals/pipelines/{sales}/list", *(f"/companies/{company}" for company in (people.acme, people.bolt)),
        *(f"/contacts/{contact}" for contact in (people.ann, people.cy, dee)), *(f"/deals/{deal}" for deal in deals),
        "/tickets/?status=all",
    ]  # fmt: skip
    quick = {"HX-Request": "true", "HX-Target": "global-search-results"}
    # the live records each may open: the owner 2 companies, 3 contacts, 4 deals and 8 tickets; the
    # seller their company, 2 contacts, 3 deals and the 8 tickets assigned to them
    for member, opened in ((ws_a, 17), (seller, 14)):
        auth.login(member.email, member.password)
        shown = [client.get(f"/w/{ws_a.slug}/search/", query_string={"q": "park"}, headers=quick)]
        shown += [client.get(f"/w/{ws_a.slug}{page}") for page in pages]
        tickets = set(re.findall(rf'href="/w/{ws_a.slug}/tickets/(\d+)"', shown[-1].get_data(as_text=True)))
        shown += [client.get(f"/w/{ws_a.slug}/tickets/{number}") for number in tickets]
        links = {href for page in shown if page.status_code == 200
                 for href in re.findall(RECORD_LINK.format(slug=ws_a.slug), page.get_data(as_text=True))}  # fmt: skip
        answers = {href: client.get(href).status_code for href in sorted(links)}
        assert {href: status for href, status in answers.items() if status != 200} == {}
        assert len(tickets) == 8 and len(links) == opened
        auth.logout()
