"""The ticket queue filtered by customer: a contact's tickets, or a company's people's. The contact's
and the company's pages link their "and N more" open tickets to it, and a ticket's customer panel
links to all that customer's tickets. The filter names a record, so it needs contacts.read and a
customer the member may see; otherwise it is dropped and nothing about the record is shown."""

import re

from crm.contacts.models import Contact
from crm.db import utcnow
from crm.extensions import db
from crm.tenancy import workspace_scope
from crm.tickets.models import RESOLVED
from tests.factories import assign_role, make_company, make_contact, make_member, make_role, make_ticket
from tests.query_counter import count_queries
from tests.test_customer_tickets import head_of, set_ticket
from tests.test_pages import assert_valid_page
from tests.test_tickets import RESULTS, numbers, queue

PICKER = {"HX-Request": "true"}


def subjects(response) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/w/[^"]+/tickets/\d+">([^<]+)</a>', response.get_data(as_text=True))


def link_of(page: str, text: str) -> str:
    match = re.search(rf'<a href="([^"]+)">{re.escape(text)}</a>', page)
    assert match, text
    return match.group(1).replace("&amp;", "&")


def test_and_n_more_open_tickets_opens_the_queue_of_that_contact(app, client, auth, ws_a):
    ann, bo = make_contact(app, ws_a, "Ann Lee"), make_contact(app, ws_a, "Bo Chen")
    for number in range(7):
        make_ticket(app, ws_a, ann, f"Ann's complaint {number}")
    resolved, _ = make_ticket(app, ws_a, ann, "Ann's resolved complaint")
    set_ticket(app, ws_a, resolved, status=RESOLVED)
    make_ticket(app, ws_a, bo, "Bo's complaint")
    auth.login(ws_a.email, ws_a.password)
    head = head_of(client.get(f"/w/{ws_a.slug}/contacts/{ann}").get_data(as_text=True), "open-tickets-title")
    url = link_of(head, "and 2 more")
    assert url == f"/w/{ws_a.slug}/tickets/?customer=contact:{ann}"
    response = client.get(url)
    page = response.get_data(as_text=True)
    assert_valid_page(page, url)
    assert len(numbers(response)) == 7  # every open ticket of Ann's, as the contact's page counts them
    assert all(subject.startswith("Ann&#39;s complaint") for subject in subjects(response))
    # The filter is shown, by name, in the customer picker, and the other filters keep it.
    assert 'id="ticket-customer" value="contact:' in page and 'value="Ann Lee"' in page
    assert f"customer=contact%3A{ann}" in page  # tabs and the bulk bar's way back
    everything = client.get(queue(ws_a), query_string={"customer": f"contact:{ann}", "status": "all"})
    assert len(numbers(everything)) == 8


def test_a_companys_queue_holds_its_live_peoples_tickets(app, client, auth, ws_a):
    acme, globex = make_company(app, ws_a, "Acme Ltd"), make_company(app, ws_a, "Globex")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    bo = make_contact(app, ws_a, "Bo Chen", company_id=acme)
    gone = make_contact(app, ws_a, "Gone Di", company_id=acme)
    for number in range(4):
        make_ticket(app, ws_a, ann, f"Ann {number}")
        make_ticket(app, ws_a, bo, f"Bo {number}")
    make_ticket(app, ws_a, gone, "Di's complaint")
    make_ticket(app, ws_a, make_contact(app, ws_a, "Cy Wu", company_id=globex), "Cy's complaint")
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Contact, gone).deleted_at = utcnow()
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    head = head_of(client.get(f"/w/{ws_a.slug}/companies/{acme}").get_data(as_text=True), "open-tickets-title")
    assert "8 open tickets" in head
    response = client.get(link_of(head, "and 3 more"))
    assert sorted(subjects(response)) == sorted([f"Ann {n}" for n in range(4)] + [f"Bo {n}" for n in range(4)])
    assert 'value="Acme Ltd"' in response.get_data(as_text=True)
    # As the member types a search, the results keep the company filter (one query more: its name).
    with count_queries(app) as statements:
        partial = client.get(queue(ws_a), query_string={"customer": f"company:{acme}", "q": "Bo"}, headers=RESULTS)
    assert sorted(subjects(partial)) == [f"Bo {n}" for n in range(4)]
    assert len(statements) == 5, statements  # member, customer's name, the page, categories, staff


def test_a_customer_the_member_may_not_see_is_dropped_without_naming_it(app, client, auth, ws_a, ws_b):
    ann = make_contact(app, ws_a, "Ann Lee", owner_id=ws_a.membership_id)
    make_ticket(app, ws_a, ann, "Ann's complaint")
    make_ticket(app, ws_a, make_contact(app, ws_a, "Bo Chen"), "Bo's complaint")
    stranger = make_contact(app, ws_b, "Stranger Wong")
    make_ticket(app, ws_b, stranger, "Another workspace's complaint")
    auth.login(ws_a.email, ws_a.password)
    response = client.get(queue(ws_a), query_string={"customer": f"contact:{stranger}"})
    assert response.status_code == 200 and len(numbers(response)) == 2  # the whole queue, not an empty one
    page = response.get_data(as_text=True)
    assert "Stranger" not in page and "Another workspace" not in page and 'id="ticket-customer" value=""' in page
    for bad in ("contact:abc", "person:1", f"contact:{ann}:1", "company:99999999999999999", "contact:0"):
        response = client.get(queue(ws_a), query_string={"customer": bad})
        assert response.status_code == 200 and len(numbers(response)) == 2, bad
    auth.logout()
    # Without contacts.read the filter is neither offered nor honoured (it would name a contact).
    reader = make_member(app, ws_a, "tia@alpha.example.com")
    assign_role(app, ws_a, reader.membership_id, make_role(app, ws_a, "Tickets only", ("tickets.read",)))
    auth.login(reader.email, reader.password)
    page = client.get(queue(ws_a), query_string={"customer": f"contact:{ann}"}).get_data(as_text=True)
    assert 'id="ticket-customer"' not in page and "Bo&#39;s complaint" in page
    assert client.get(f"/w/{ws_a.slug}/tickets/customer-filter", query_string={"q": "Ann"}).status_code == 403
    auth.logout()
    # "Own records": a contact owned by someone else is out of scope, so is its filter.
    own = make_member(app, ws_a, "oz@alpha.example.com")
    scoped = make_role(app, ws_a, "Own", ("contacts.read", "tickets.read"), record_scope="own")
    assign_role(app, ws_a, own.membership_id, scoped)
    auth.login(own.email, own.password)
    page = client.get(queue(ws_a), query_string={"customer": f"contact:{ann}"}).get_data(as_text=True)
    assert 'value="Ann Lee"' not in page and 'id="ticket-customer" value=""' in page


def test_the_customer_picker_offers_contacts_and_companies_of_this_workspace(app, client, auth, ws_a, ws_b):
    acme = make_company(app, ws_a, "Acme Ltd")
    make_contact(app, ws_a, "Ann Acmeson", company_id=acme)
    make_company(app, ws_b, "Acme Rival")
    auth.login(ws_a.email, ws_a.password)
    html = client.get(f"/w/{ws_a.slug}/tickets/customer-filter", query_string={"q": "acme"}, headers=PICKER)
    html = html.get_data(as_text=True)
    assert 'id="ticket-customer-options"' in html and 'role="listbox"' in html
    assert f'data-value="company:{acme}" data-label="Acme Ltd"' in html and 'data-label="Ann Acmeson"' in html
    assert "Acme Rival" not in html
    page = client.get(queue(ws_a)).get_data(as_text=True)
    assert f'data-hx-get="/w/{ws_a.slug}/tickets/customer-filter"' in page and "picked" in page


def test_a_tickets_customer_panel_links_to_all_their_tickets(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee")
    first, _ = make_ticket(app, ws_a, ann, "First")
    auth.login(ws_a.email, ws_a.password)
    number = set_ticket(app, ws_a, first)
    for count in range(5):
        make_ticket(app, ws_a, ann, f"Later {count}")
    page = client.get(f"/w/{ws_a.slug}/tickets/{number}").get_data(as_text=True)
    assert "All tickets of Ann Lee" not in page  # five others: all of them are listed
    make_ticket(app, ws_a, ann, "Sixth other")
    page = client.get(f"/w/{ws_a.slug}/tickets/{number}").get_data(as_text=True)
    url = link_of(page, "All tickets of Ann Lee")
    assert len(numbers(client.get(url))) == 7 and "status=all" in url
