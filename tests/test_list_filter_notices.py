"""A day filter in a link or a saved view that is not a day (``created_from=2026-13-45``), or a custom
range end that is not a number or a day, is left out of the contacts' and companies' lists, and the
list says which filter and why, instead of dropping it without a word."""

from datetime import date
from decimal import Decimal

from werkzeug.datastructures import MultiDict

from crm.contacts.company_list import CompanyListState
from crm.contacts.list_view import ListState
from tests.factories import make_company, make_contact, make_custom_field, set_custom_value
from tests.test_pages import assert_valid_page

RESULTS = {"HX-Request": "true", "HX-Target": "contact-results"}


def contacts_url(ws) -> str:
    return f"/w/{ws.slug}/contacts/"


def left_out(label: str, text: str, kind: str = "a valid date") -> str:
    return f'The filter "{label}" was left out: "{text}" is not {kind}.'


def test_the_states_keep_which_day_filters_they_could_not_read():
    state = ListState.from_args(MultiDict({"created_from": "2026-13-45", "active_to": "2026-02-01", "created_to": " "}))
    assert state.unreadable == (("created_from", "2026-13-45"),) and state.created_from is None
    assert state.active_to == date(2026, 2, 1) and state.as_args() == {"active_to": "2026-02-01"}
    assert state.filter_count == 1
    assert not ListState.from_args(MultiDict({"active_from": "yesterday"})).active  # nothing narrows the list
    companies = CompanyListState.from_args(MultiDict({"created_to": "0001-01-01", "created_from": "2026-01-01"}))
    assert companies.unreadable == (("created_to", "0001-01-01"),) and companies.as_args() == {
        "created_from": "2026-01-01"
    }


def test_a_malformed_day_in_the_contacts_list_is_left_out_and_named(app, client, auth, ws_a):
    make_contact(app, ws_a, "Ann Lead", lifecycle="lead")
    make_contact(app, ws_a, "Bo Active", lifecycle="active")
    auth.login(ws_a.email, ws_a.password)
    response = client.get(contacts_url(ws_a), query_string={"created_from": "2026-13-45", "lifecycle": "lead"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert_valid_page(page, "contacts with a malformed day")
    assert left_out("Added from", "2026-13-45") in page
    assert "Ann Lead" in page and "Bo Active" not in page  # not applied; the other filters are
    assert 'id="created_from" name="created_from" value=""' in page
    assert "created_from" not in page.split('id="export-links"')[1].split("</span>")[0]
    for name, label in (("created_to", "Added until"), ("active_from", "Last activity from"),
                        ("active_to", "Last activity until")):  # fmt: skip
        partial = client.get(contacts_url(ws_a), query_string={name: "31/12/2026"}, headers=RESULTS)
        body = partial.get_data(as_text=True)
        assert partial.status_code == 200 and left_out(label, "31/12/2026") in body, name
        assert "Ann Lead" in body and "Bo Active" in body
    clean = client.get(contacts_url(ws_a), query_string={"created_from": "2026-01-01"}).get_data(as_text=True)
    assert "was left out" not in clean
    # What the link held is shown as text.
    opened = client.get(contacts_url(ws_a) + "?active_to=%3Cb%3E").get_data(as_text=True)
    assert left_out("Last activity until", "&lt;b&gt;") in opened


def test_a_custom_range_end_that_is_no_number_or_day_is_named_too(app, client, auth, ws_a):
    budget = make_custom_field(app, ws_a, "Budget", kind="number")
    make_custom_field(app, ws_a, "Member since", kind="date")
    set_custom_value(app, ws_a, make_contact(app, ws_a, "Big Bo"), budget, Decimal(900))
    make_contact(app, ws_a, "Small Sue")
    auth.login(ws_a.email, ws_a.password)
    args = {"cf_budget_from": "lots", "cf_member_since_to": "someday"}
    page = client.get(contacts_url(ws_a), query_string=args).get_data(as_text=True)
    assert left_out("Budget from", "lots", "a number") in page and left_out("Member since up to", "someday") in page
    assert "Big Bo" in page and "Small Sue" in page
    for nonsense in ("NaN", "1e999999"):
        shown = client.get(contacts_url(ws_a), query_string={"cf_budget_to": nonsense}).get_data(as_text=True)
        assert left_out("Budget up to", nonsense, "a number") in shown, nonsense
    fine = client.get(contacts_url(ws_a), query_string={"cf_budget_from": "500"}).get_data(as_text=True)
    assert "was left out" not in fine and "Big Bo" in fine and "Small Sue" not in fine


def test_a_malformed_day_in_the_companies_list_is_left_out_and_named(app, client, auth, ws_a):
    make_company(app, ws_a, "Acme Tea", industry="Tea")
    make_company(app, ws_a, "Bolt Hardware", industry="Hardware")
    make_custom_field(app, ws_a, "Renewal", kind="date", entity="company")
    auth.login(ws_a.email, ws_a.password)
    url = f"/w/{ws_a.slug}/companies/"
    response = client.get(url, query_string={"created_to": "2026-02-30", "industry": "tea", "cf_renewal_from": "x"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert_valid_page(page, "companies with a malformed day")
    assert left_out("Added until", "2026-02-30") in page and left_out("Renewal from", "x") in page
    assert "Acme Tea" in page and "Bolt Hardware" not in page
    partial = client.get(url, query_string={"created_from": "2026-13-45"},
                         headers={"HX-Request": "true", "HX-Target": "company-results"})  # fmt: skip
    assert partial.status_code == 200 and left_out("Added from", "2026-13-45") in partial.get_data(as_text=True)
