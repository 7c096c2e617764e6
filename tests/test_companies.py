"""Companies: create with validation, their contacts on the company page, search, inline edit,
trash and restore, and the query count of the list."""

import re

import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.contacts.models import Company
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.conftest import post, sent_by_browser
from tests.factories import make_company, make_contact, make_member, make_user
from tests.query_counter import count_queries

DETAILS = {"HX-Request": "true", "HX-Target": "company-details"}


def companies_url(ws, rest: str = "") -> str:
    return f"/w/{ws.slug}/companies/{rest}"


def stored(app, ws) -> list[Company]:
    with app.app_context(), workspace_scope(ws.id):
        companies = list(db.session.scalars(sa.select(Company).order_by(Company.id)))
        db.session.expunge_all()
        return companies


def test_create_company_with_phone_in_e164_and_website(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    response = post(
        client,
        companies_url(ws_a),
        {"name": " Acme Ltd ", "website": "acme.example", "phone": "650 253 0000", "size": "11-50"},
    )
    assert response.status_code == 303
    [company] = stored(app, ws_a)
    assert (company.name, company.phone, company.size, company.website) == (
        "Acme Ltd",
        "+16502530000",
        "11-50",
        "acme.example",
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "(650) 253-0000" in page and "Company Acme Ltd added." in page


def test_bad_company_input_is_refused_and_nothing_saved(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    response = post(client, companies_url(ws_a), {"name": "", "website": "not a site", "phone": "abc", "size": "huge"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter a name." in page and "Enter a web address such as example.com." in page
    assert "abc is not a phone number." in page and "Not a valid choice" in page
    assert stored(app, ws_a) == []


def test_real_web_addresses_are_accepted_and_broken_ones_refused(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    for site in ("https://www.例子.中国", "example.com?ref=1", "shop.example.com:8080", "https://acme.example/tea"):
        assert post(client, companies_url(ws_a), {"name": site, "website": site}).status_code == 303, site
    tricks = ("javascript:alert(document.domain)@b.cd/://", "https://user@example.com")  # a user name before the host
    for broken in ("acme", "http://a", "exa mple.com", "http://example.com:99999", "-bad.com", *tricks):
        response = post(client, companies_url(ws_a), {"name": broken, "website": broken})
        assert response.status_code == 422, broken
        assert "Enter a web address such as example.com." in response.get_data(as_text=True)
    assert len(stored(app, ws_a)) == 4


def test_company_page_rolls_up_its_contacts(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    make_contact(app, ws_a, "Ann Lee", company_id=acme)
    make_contact(app, ws_a, "Bob Stone")
    auth.login(ws_a.email, ws_a.password)
    page = client.get(companies_url(ws_a, str(acme))).get_data(as_text=True)
    assert "Ann Lee" in page and "Bob Stone" not in page
    assert f"/contacts/new?company={acme}" in page  # add a contact straight to this company


def test_company_list_search_and_query_count(app, client, auth, ws_a, ws_b):
    for number in range(30):
        make_company(app, ws_a, f"Firm {number:02d}", owner_id=ws_a.membership_id)
    make_company(app, ws_a, "上海贸易有限公司")
    make_company(app, ws_b, "Firm of Beta")
    auth.login(ws_a.email, ws_a.password)
    client.get(companies_url(ws_a))
    with count_queries(app) as queries:
        page = client.get(companies_url(ws_a)).get_data(as_text=True)
    assert page.count('<tr id="company-') == 31 and "Firm of Beta" not in page
    assert len(queries) == 3, queries  # user with membership, the page with owners, members (owner filter)
    found = client.get(companies_url(ws_a), query_string={"q": "贸易有限"}).get_data(as_text=True)
    assert "上海贸易有限公司" in found and "Firm 01" not in found


def test_inline_edit_of_a_company(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd", industry="Tools")
    auth.login(ws_a.email, ws_a.password)
    form = client.get(companies_url(ws_a, f"{acme}/edit"), headers=DETAILS).get_data(as_text=True)
    assert form.lstrip().startswith('<section id="company-details"') and 'value="Tools"' in form
    bad = post(client, companies_url(ws_a, str(acme)), {"name": "Acme", "website": "nope"}, headers=DETAILS)
    assert bad.status_code == 422
    good = post(client, companies_url(ws_a, str(acme)), {"name": "Acme Group", "industry": "Tools"}, headers=DETAILS)
    assert good.status_code == 200 and "Acme Group" in good.get_data(as_text=True)
    assert stored(app, ws_a)[0].name == "Acme Group"


def test_a_company_name_changed_in_place_renames_the_page_heading_title_and_buttons(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    auth.login(ws_a.email, ws_a.password)
    good = post(client, companies_url(ws_a, str(acme)), {"name": "Acme Group"}, headers=DETAILS)
    body = good.get_data(as_text=True)
    assert good.status_code == 200 and "<title>Acme Group · Kehu CRM</title>" in body
    head = re.search(
        r'<div id="company-head" class="page-head" data-hx-swap-oob="true">(.*?)\n</div>', body, re.S
    ).group(1)
    assert "<h1>Acme Group</h1>" in head
    assert 'New deal<span class="visually-hidden"> for Acme Group</span>' in head
    assert 'Delete<span class="visually-hidden"> Acme Group</span>' in head and "Acme Ltd" not in head
    shown = client.get(companies_url(ws_a, str(acme)), headers=DETAILS).get_data(as_text=True)
    assert "company-head" not in shown and "<title>" not in shown


def test_delete_and_restore_a_company(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    auth.login(ws_a.email, ws_a.password)
    post(client, companies_url(ws_a, f"{acme}/delete"), {})
    assert client.get(companies_url(ws_a, str(acme))).status_code == 404
    assert "Acme Ltd" in client.get(f"/w/{ws_a.slug}/contacts/trash?kind=companies").get_data(as_text=True)
    post(client, f"/w/{ws_a.slug}/contacts/trash/restore", {"kind": "companies", "ids": [str(acme)]})
    assert client.get(companies_url(ws_a, str(acme))).status_code == 200


def test_support_role_reads_companies_but_cannot_change_them(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    support = make_member(app, ws_a, "support@alpha.example.com", role="support")
    auth.login(support.email, support.password)
    assert client.get(companies_url(ws_a, str(acme))).status_code == 200
    assert post(client, companies_url(ws_a, str(acme)), {"name": "Renamed"}).status_code == 403
    assert stored(app, ws_a)[0].name == "Acme Ltd"


def test_company_page_rolls_up_its_contacts_purchases(app, client, auth, ws_a):
    from datetime import date, timedelta

    from tests.factories import make_purchase

    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    bob = make_contact(app, ws_a, "Bob Stone", company_id=acme)
    outsider = make_contact(app, ws_a, "Outsider")
    make_purchase(app, ws_a, ann, "Tea chest", amount=300)
    make_purchase(app, ws_a, bob, "Old order", amount=1000, on=date.today() - timedelta(days=500))
    make_purchase(app, ws_a, outsider, "Not theirs", amount=99)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(companies_url(ws_a, str(acme))).get_data(as_text=True)
    assert "Tea chest" in page and "Old order" in page and "Not theirs" not in page
    assert "$1,300.00" in page and "$300.00" in page


def test_a_website_stored_before_validation_is_linked_only_over_http(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme", website="javascript:alert(1)@b.cd/://")  # as an older release kept it
    auth.login(ws_a.email, ws_a.password)
    page = client.get(companies_url(ws_a, str(acme))).get_data(as_text=True)
    assert 'href="https://javascript:alert(1)@b.cd/://"' in page and 'href="javascript:' not in page


def test_load_more_counts_every_row_shown_and_puts_the_focus_on_the_first_new_one(app, client, auth, ws_a):
    from crm.contacts.queries import PER_PAGE

    for number in range(PER_PAGE + 2):
        make_company(app, ws_a, f"Firm {number:03}")
    auth.login(ws_a.email, ws_a.password)
    first = client.get(companies_url(ws_a)).get_data(as_text=True)
    assert f"Showing the first {PER_PAGE} companies; more below." in first
    more_url = first.split('id="companies-more"')[1].split('data-hx-get="')[1].split('"')[0].replace("&amp;", "&")
    more = client.get(more_url, headers={"HX-Request": "true", "HX-Target": "companies-more"}).get_data(as_text=True)
    assert (
        f'id="companies-status" data-hx-swap-oob="innerHTML">{PER_PAGE + 2} companies</p>' in more
    )  # not "the first 50"
    assert more.count("autofocus") == 1 and more.index("autofocus") < more.index("</tr>")  # the first new row


def test_customer_since_is_a_day_from_1900_to_today(app, client, auth, ws_a):
    from datetime import date, timedelta

    acme = make_company(app, ws_a, "Acme Ltd")
    auth.login(ws_a.email, ws_a.password)
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    for day, message in (
        ("0001-01-01", "Enter a “customer since” date from 1900 on."),
        ("1899-12-31", "Enter a “customer since” date from 1900 on."),
        (tomorrow, "A “customer since” date cannot be in the future."),
        ("2999-01-01", "A “customer since” date cannot be in the future."),
    ):
        added = post(client, companies_url(ws_a), {"name": "Bolt", "customer_since": day})
        assert added.status_code == 422 and message in added.get_data(as_text=True), day
        edited = post(client, companies_url(ws_a, str(acme)), {"name": "Acme", "customer_since": day}, headers=DETAILS)
        assert edited.status_code == 422 and message in edited.get_data(as_text=True), day
    assert [(company.name, company.customer_since) for company in stored(app, ws_a)] == [("Acme Ltd", None)]
    for day in ("1900-01-01", date.today().isoformat()):
        response = post(
            client, companies_url(ws_a, str(acme)), {"name": "Acme", "customer_since": day}, headers=DETAILS
        )
        assert response.status_code == 200, day
        assert stored(app, ws_a)[0].customer_since == date.fromisoformat(day)


def test_editing_a_company_of_a_disabled_or_removed_owner_keeps_its_owner(app, client, auth, ws_a):
    from crm.workspaces.models import Membership

    make_user(app, "sam@alpha.example.com", name="Sam Lee")
    make_user(app, "rob@alpha.example.com", name="Rob Roe")
    sam, rob = make_member(app, ws_a, "sam@alpha.example.com"), make_member(app, ws_a, "rob@alpha.example.com")
    acme = make_company(app, ws_a, "Acme Ltd", owner_id=sam.membership_id)
    bolt = make_company(app, ws_a, "Bolt", owner_id=rob.membership_id)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Membership, sam.membership_id).status = "disabled"
        db.session.get(Membership, rob.membership_id).status = "removed"
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    for company_id, member, shown in ((acme, sam, "Sam Lee (disabled)"), (bolt, rob, "Rob Roe (no longer a member)")):
        for headers in ({}, DETAILS):  # the edit page, and the details panel's edit in place
            page = client.get(companies_url(ws_a, f"{company_id}/edit"), headers=headers).get_data(as_text=True)
            assert f'<option selected value="{member.membership_id}">{shown}</option>' in page
            response = post(client, companies_url(ws_a, str(company_id)),
                            {**sent_by_browser(page), "industry": f"Tea {len(headers)}"}, headers=headers)  # fmt: skip
            assert response.status_code == (200 if headers else 303)
    assert [(c.owner_id, c.industry) for c in stored(app, ws_a)] == [(sam.membership_id, "Tea 2"),
                                                                     (rob.membership_id, "Tea 2")]  # fmt: skip
    with app.app_context(), workspace_scope(ws_a.id):
        owner_changes = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "company.updated"))
        assert not [entry for entry in owner_changes if "owner_id" in entry.changes]
    # New companies and other companies are offered the active members only.
    assert "Sam Lee" not in client.get(companies_url(ws_a, "new")).get_data(as_text=True)
    cato = make_company(app, ws_a, "Cato", owner_id=ws_a.membership_id)
    page = client.get(companies_url(ws_a, f"{cato}/edit")).get_data(as_text=True)
    assert "Sam Lee" not in page and "Rob Roe" not in page


def test_a_seller_who_hands_a_company_over_is_told_and_taken_to_the_list(app, client, auth, ws_a):
    from tests.factories import assign_role, make_role

    rid = make_role(app, ws_a, "Own", permissions=["contacts.read", "contacts.write"], record_scope="own")
    sam = make_member(app, ws_a, "sam@alpha.example.com")
    assign_role(app, ws_a, sam.membership_id, rid)
    acme = make_company(app, ws_a, "Acme Ltd", owner_id=sam.membership_id)
    bolt = make_company(app, ws_a, "Bolt", owner_id=sam.membership_id)
    auth.login(sam.email, sam.password)
    sent = sent_by_browser(client.get(companies_url(ws_a, f"{acme}/edit"), headers=DETAILS).get_data(as_text=True))
    response = post(client, companies_url(ws_a, str(acme)), {**sent, "owner_id": str(ws_a.membership_id)},
                    headers=DETAILS)  # fmt: skip
    assert response.status_code == 204 and response.headers["HX-Redirect"] == companies_url(ws_a)
    page = client.get(response.headers["HX-Redirect"]).get_data(as_text=True)
    assert "Company Acme Ltd saved and handed over to Alice." in page
    sent = sent_by_browser(client.get(companies_url(ws_a, f"{bolt}/edit")).get_data(as_text=True))
    response = post(client, companies_url(ws_a, str(bolt)), {**sent, "owner_id": ""})
    assert response.status_code == 303 and response.headers["Location"] == companies_url(ws_a)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Company Bolt saved. It has no owner now, so it is no longer on your list." in page
    assert [company.owner_id for company in stored(app, ws_a)] == [ws_a.membership_id, None]


def test_company_text_with_spaces_around_is_measured_as_saved_trimmed(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    name = "B" * 199
    response = post(client, companies_url(ws_a), {"name": f" {name}  ", "country": "fi ", "industry": " Tea "})
    assert response.status_code == 303
    [company] = stored(app, ws_a)
    assert (company.name, company.country, company.industry) == (name, "FI", "Tea")


def test_see_all_contacts_is_offered_only_when_the_page_does_not_show_them_all(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    for number in range(50):
        make_contact(app, ws_a, f"Person {number:02d}", company_id=acme)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/companies/{acme}").get_data(as_text=True)
    assert "Person 49" in page and "See all contacts of this company" not in page
    make_contact(app, ws_a, "Person 50", company_id=acme)
    page = client.get(f"/w/{ws_a.slug}/companies/{acme}").get_data(as_text=True)
    assert "Person 50" not in page and "See all contacts of this company" in page


def test_a_company_phone_is_found_as_it_is_dialled_in_the_workspaces_country(app, client, auth, ws_a):
    from crm.workspaces.models import Workspace

    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Workspace, ws_a.id).phone_region = "DE"
        db.session.commit()
    make_company(app, ws_a, "Kaffee Kontor", phone="+493012345678")
    make_company(app, ws_a, "Other Firm", phone="+4940987654")
    auth.login(ws_a.email, ws_a.password)
    listed = client.get(companies_url(ws_a), query_string={"cols": "phone"}).get_data(as_text=True)
    assert "030 12345678" in listed  # shown as it is dialled in Germany...
    found = client.get(companies_url(ws_a), query_string={"q": "030 12345678"}).get_data(as_text=True)
    assert "Kaffee Kontor" in found and "Other Firm" not in found  # ...and found so
    slashed = client.get(companies_url(ws_a), query_string={"q": "030/1234 5678"}).get_data(as_text=True)
    assert "Kaffee Kontor" in slashed and "Other Firm" not in slashed  # as German letterheads write it
    header = client.get(f"/w/{ws_a.slug}/search/", query_string={"q": "030 1234"},
                        headers={"HX-Request": "true", "HX-Target": "global-search-results"})  # fmt: skip
    assert "Kaffee Kontor" in header.get_data(as_text=True)
