"""Custom fields: defined in settings, shown on forms and detail pages, validated, sensitive ones
encrypted, masked and revealed with an audit entry; changed, reordered and deleted."""

import csv
import io
import re

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.contacts.models import Company, Contact
from crm.custom_fields.models import CustomField
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import make_company, make_contact, make_custom_field, make_member, set_custom_value

SETTINGS = "/settings/custom-fields/"


def url(ws, rest: str) -> str:
    return f"/w/{ws.slug}{rest}"


def custom_of(app, ws, contact_id: int) -> dict:
    with app.app_context(), workspace_scope(ws.id):
        return dict(db.session.get(Contact, contact_id).custom)


def test_an_admin_defines_fields_and_they_appear_on_the_contact_form(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    segment = {"contact-label": "Segment", "contact-kind": "select", "contact-options": "Retail\nWholesale\nRetail"}
    post(client, url(ws_a, SETTINGS), {"entity": "contact", **segment, "contact-required": "y"})
    post(client, url(ws_a, SETTINGS), {"entity": "contact", "contact-label": "ID number", "contact-kind": "text",
                                       "contact-sensitive": "y"})  # fmt: skip
    page = client.get(url(ws_a, SETTINGS)).get_data(as_text=True)
    assert "Segment" in page and "ID number" in page
    with app.app_context(), workspace_scope(ws_a.id):
        segment = db.session.scalar(sa.select(CustomField).where(CustomField.label == "Segment"))
        assert (segment.key, segment.options, segment.required) == ("segment", ["Retail", "Wholesale"], True)
    form = client.get(url(ws_a, "/contacts/new")).get_data(as_text=True)
    assert '<label for="cf_segment">Segment</label>' in form and '<label for="cf_id_number">ID number</label>' in form
    missing = post(client, url(ws_a, "/contacts/"), {"name": "Ann", "lifecycle": "lead"})
    assert missing.status_code == 422 and "Segment is required." in missing.get_data(as_text=True)
    wrong = post(client, url(ws_a, "/contacts/"), {"name": "Ann", "lifecycle": "lead", "cf_segment": "Gold"})
    assert wrong.status_code == 422 and "Not a valid choice" in wrong.get_data(as_text=True)
    created = post(client, url(ws_a, "/contacts/"), {"name": "Ann", "lifecycle": "lead", "cf_segment": "Retail",
                                                     "cf_id_number": "110101199001011234"})  # fmt: skip
    assert created.status_code == 303
    contact_id = int(created.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    stored = custom_of(app, ws_a, contact_id)
    assert stored["segment"] == "Retail"
    assert "110101199001011234" not in str(stored) and stored["id_number"].startswith("gAAAA")  # encrypted
    detail = client.get(url(ws_a, f"/contacts/{contact_id}")).get_data(as_text=True)
    assert "Retail" in detail and "110101199001011234" not in detail and "••••••" in detail


def test_revealing_a_sensitive_value_is_logged(app, client, auth, ws_a):
    field_id = make_custom_field(app, ws_a, "ID number", sensitive=True)
    contact_id = make_contact(app, ws_a, "Ann")
    set_custom_value(app, ws_a, contact_id, field_id, "110101199001011234")
    auth.login(ws_a.email, ws_a.password)
    response = post(client, url(ws_a, f"/reveal/contact/{contact_id}/{field_id}"), {}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "110101199001011234" in response.get_data(as_text=True)
    with app.app_context(), workspace_scope(ws_a.id):
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "custom_field.revealed"))
        assert (entry.record_type, entry.record_id, entry.actor_id) == ("contact", contact_id, ws_a.user_id)
        assert "110101199001011234" not in str(entry.changes)


def test_without_contacts_sensitive_the_field_is_hidden_and_its_value_kept(app, client, auth, ws_a):
    field_id = make_custom_field(app, ws_a, "ID number", sensitive=True)
    make_custom_field(app, ws_a, "Segment")
    contact_id = make_contact(app, ws_a, "Ann")
    set_custom_value(app, ws_a, contact_id, field_id, "110101199001011234")
    sales = make_member(app, ws_a, "sales@alpha.example.com", role="sales")
    auth.login(sales.email, sales.password)
    form = client.get(url(ws_a, f"/contacts/{contact_id}/edit")).get_data(as_text=True)
    assert "cf_id_number" not in form and "cf_segment" in form
    detail = client.get(url(ws_a, f"/contacts/{contact_id}")).get_data(as_text=True)
    assert "••••••" in detail and "Reveal" not in detail
    post(client, url(ws_a, f"/contacts/{contact_id}"), {"name": "Ann", "lifecycle": "lead", "cf_segment": "B2B",
                                                        "cf_id_number": "overwritten"})  # fmt: skip
    assert post(client, url(ws_a, f"/reveal/contact/{contact_id}/{field_id}"), {}).status_code == 403
    auth.logout()
    auth.login(ws_a.email, ws_a.password)
    revealed = post(client, url(ws_a, f"/reveal/contact/{contact_id}/{field_id}"), {}).get_data(as_text=True)
    assert "110101199001011234" in revealed
    assert custom_of(app, ws_a, contact_id)["segment"] == "B2B"


def test_an_empty_sensitive_field_keeps_its_value_on_edit(app, client, auth, ws_a):
    field_id = make_custom_field(app, ws_a, "ID number", sensitive=True)
    contact_id = make_contact(app, ws_a, "Ann")
    set_custom_value(app, ws_a, contact_id, field_id, "secret-1")
    auth.login(ws_a.email, ws_a.password)
    form = client.get(url(ws_a, f"/contacts/{contact_id}/edit")).get_data(as_text=True)
    assert "secret-1" not in form and "Leave empty to keep the value stored." in form
    post(client, url(ws_a, f"/contacts/{contact_id}"), {"name": "Ann", "lifecycle": "lead", "cf_id_number": ""})
    revealed = post(client, url(ws_a, f"/reveal/contact/{contact_id}/{field_id}"), {}).get_data(as_text=True)
    assert "secret-1" in revealed


def test_a_sensitive_value_is_removed_with_its_box(app, client, auth, ws_a):
    field_id = make_custom_field(app, ws_a, "ID number", sensitive=True)
    required_id = make_custom_field(app, ws_a, "Passport", sensitive=True, required=True)
    contact_id = make_contact(app, ws_a, "Ann")
    set_custom_value(app, ws_a, contact_id, field_id, "secret-1")
    set_custom_value(app, ws_a, contact_id, required_id, "P-123")
    auth.login(ws_a.email, ws_a.password)
    form = client.get(url(ws_a, f"/contacts/{contact_id}/edit")).get_data(as_text=True)
    assert "Remove the stored ID number" in form and "Remove the stored Passport" in form
    base = {"name": "Ann", "lifecycle": "lead"}
    both = post(
        client, url(ws_a, f"/contacts/{contact_id}"), {**base, "cf_id_number": "new", "cf_id_number-clear": "y"}
    )
    assert both.status_code == 422 and "Either enter a new value or remove the stored one." in both.get_data(
        as_text=True
    )
    required = post(client, url(ws_a, f"/contacts/{contact_id}"), {**base, "cf_passport-clear": "y"})
    assert required.status_code == 422 and "Passport is required." in required.get_data(as_text=True)
    assert custom_of(app, ws_a, contact_id).keys() == {"id_number", "passport"}  # nothing half-saved
    assert post(client, url(ws_a, f"/contacts/{contact_id}"), {**base, "cf_id_number-clear": "y"}).status_code == 303
    assert custom_of(app, ws_a, contact_id).keys() == {"passport"}
    with app.app_context(), workspace_scope(ws_a.id):
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "contact.updated"))
        assert entry.changes == {"ID number": ["••••••", None]}  # masked, never the value


def test_a_field_named_like_the_remove_box_does_not_erase_the_sensitive_value(app, client, auth, ws_a):
    make_custom_field(app, ws_a, "SSN", sensitive=True)
    make_custom_field(app, ws_a, "SSN clear")
    contact_id = make_contact(app, ws_a, "Ann")
    auth.login(ws_a.email, ws_a.password)
    post(client, url(ws_a, f"/contacts/{contact_id}"), {"name": "Ann", "lifecycle": "lead", "cf_ssn": "123"})
    post(client, url(ws_a, f"/contacts/{contact_id}"), {"name": "Ann", "lifecycle": "lead", "cf_ssn_clear": "a note"})
    custom = custom_of(app, ws_a, contact_id)
    assert custom["ssn_clear"] == "a note" and "ssn" in custom


def test_kinds_are_validated_and_changes_audited(app, client, auth, ws_a):
    for label, kind in (("Employees", "number"), ("Founded", "date"), ("Homepage", "url"), ("Partner", "checkbox")):
        make_custom_field(app, ws_a, label, kind=kind, entity="company")
    make_custom_field(app, ws_a, "Channels", kind="multi_select", entity="company", options=["Shop", "Online"])
    acme = make_company(app, ws_a, "Acme")
    auth.login(ws_a.email, ws_a.password)
    bad = post(client, url(ws_a, f"/companies/{acme}"), {"name": "Acme", "cf_employees": "many",
                                                        "cf_founded": "yesterday", "cf_homepage": "acme"})  # fmt: skip
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "Enter a number." in page and "Not a valid date value." in page
    assert "Enter a full web address" in page
    script = post(
        client,
        url(ws_a, f"/companies/{acme}"),
        {"name": "Acme", "cf_homepage": "javascript://acme.example/%0aalert(1)"},
    )
    assert script.status_code == 422 and "Enter a full web address" in script.get_data(as_text=True)
    good = post(client, url(ws_a, f"/companies/{acme}"), {
        "name": "Acme", "cf_employees": "42", "cf_founded": "1999-05-01", "cf_homepage": "https://acme.example",
        "cf_partner": "y", "cf_channels": ["Shop", "Online"]})  # fmt: skip
    assert good.status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        custom = db.session.get(Company, acme).custom
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "company.updated"))
    assert custom == {"employees": 42.0, "founded": "1999-05-01", "homepage": "https://acme.example",
                      "partner": True, "channels": ["Shop", "Online"]}  # fmt: skip
    assert entry.changes["Employees"] == [None, "42"] and entry.changes["Channels"] == [None, "Shop, Online"]
    detail = client.get(url(ws_a, f"/companies/{acme}")).get_data(as_text=True)
    assert "Shop, Online" in detail and 'href="https://acme.example"' in detail
    employees = detail.split("<dt>Employees</dt>")[1].split("</dd>")[0]
    assert "42" in employees and "42.0" not in employees  # as typed
    too_big = "Enter a number between -999,999,999,999 and 999,999,999,999."
    for unstorable, reason in (("NaN", "Enter a number."), ("1e400", "Enter a number."),
                               ("12345678901234567890", too_big)):  # fmt: skip
        refused = post(client, url(ws_a, f"/companies/{acme}"), {"name": "Acme", "cf_employees": unstorable})
        assert refused.status_code == 422, unstorable
        assert reason in refused.get_data(as_text=True), unstorable
    post(client, url(ws_a, f"/companies/{acme}"), {"name": "Acme", "cf_employees": "12.50"})
    detail = client.get(url(ws_a, f"/companies/{acme}")).get_data(as_text=True)
    assert detail.split("<dt>Employees</dt>")[1].split("</dd>")[0].split()[-1] == "12.5"


def test_fields_are_renamed_reordered_and_deleted_with_their_values(app, client, auth, ws_a):
    first = make_custom_field(app, ws_a, "Segment")
    second = make_custom_field(app, ws_a, "Region code")
    contact_id = make_contact(app, ws_a, "Ann")
    set_custom_value(app, ws_a, contact_id, first, "Retail")
    auth.login(ws_a.email, ws_a.password)
    post(client, url(ws_a, f"{SETTINGS}{first}"), {"label": "Market segment"})
    post(client, url(ws_a, f"{SETTINGS}{second}/move"), {"direction": "up"})
    form = client.get(url(ws_a, "/contacts/new")).get_data(as_text=True)
    assert form.index("Region code") < form.index("Market segment")
    assert custom_of(app, ws_a, contact_id) == {"segment": "Retail"}  # the key stays when renamed
    post(client, url(ws_a, f"{SETTINGS}{first}/delete"), {"confirmed": "yes"})
    assert custom_of(app, ws_a, contact_id) == {}
    assert "cf_segment" not in client.get(url(ws_a, "/contacts/new")).get_data(as_text=True)


def test_an_option_renamed_or_removed_stays_on_the_records_that_hold_it(app, client, auth, ws_a):
    channel = make_custom_field(app, ws_a, "Channel", kind="select", options=["Online", "Shop"], required=True)
    teas = make_custom_field(app, ws_a, "Teas", kind="multi_select", options=["Green", "Black"])
    contact_id = make_contact(app, ws_a, "Ann Lee")
    set_custom_value(app, ws_a, contact_id, channel, "Online")
    set_custom_value(app, ws_a, contact_id, teas, ["Green", "Black"])
    auth.login(ws_a.email, ws_a.password)
    post(client, url(ws_a, f"{SETTINGS}{channel}"), {"label": "Channel", "options": "Website\nShop", "required": "y"})
    post(client, url(ws_a, f"{SETTINGS}{teas}"), {"label": "Teas", "options": "Green"})
    form = client.get(url(ws_a, f"/contacts/{contact_id}/edit")).get_data(as_text=True)
    assert "Online (no longer offered)</option>" in form
    black = re.search(r'<input type="checkbox" name="cf_teas" id="(cf_teas-\d+)" value="Black" checked>', form)
    assert black and f'<label for="{black.group(1)}">Black (no longer offered)</label>' in form  # tick boxes
    # The browser sends back what the form shows; only the title was changed.
    edit = {"name": "Ann Lee", "title": "Buyer", "lifecycle": "lead", "cf_channel": "Online",
            "cf_teas": ["Green", "Black"]}  # fmt: skip
    assert post(client, url(ws_a, f"/contacts/{contact_id}"), edit).status_code == 303
    assert custom_of(app, ws_a, contact_id) == {"channel": "Online", "teas": ["Green", "Black"]}
    new_form = client.get(url(ws_a, "/contacts/new")).get_data(as_text=True)
    assert "no longer offered" not in new_form  # a new record is offered the current options only


def test_bad_definitions_are_refused_and_only_admins_define(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    response = post(client, url(ws_a, SETTINGS), {"entity": "contact", "contact-label": "", "contact-kind": "select"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Name the field." in page and "Give at least one choice" in page
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CustomField)) == 0
    segment = make_custom_field(app, ws_a, "Segment")
    make_custom_field(app, ws_a, "Region")
    twin_form = {"entity": "contact", "contact-label": " segment ", "contact-kind": "text"}
    twin = post(client, url(ws_a, SETTINGS), twin_form)
    assert twin.status_code == 422 and "Another field already has this label." in twin.get_data(as_text=True)
    renamed = post(client, url(ws_a, f"{SETTINGS}{segment}"), {"label": "REGION"})
    assert renamed.status_code == 422 and "Another field already has this label." in renamed.get_data(as_text=True)
    assert post(client, url(ws_a, f"{SETTINGS}{segment}"), {"label": "Segment"}).status_code == 303  # its own
    company_twin = {"entity": "company", "company-label": "Segment", "company-kind": "text"}
    assert post(client, url(ws_a, SETTINGS), company_twin).status_code == 303  # another record type
    sales = make_member(app, ws_a, "sales@alpha.example.com", role="sales")
    auth.logout()
    auth.login(sales.email, sales.password)
    refused = post(client, url(ws_a, SETTINGS), {"entity": "contact", "contact-label": "X", "contact-kind": "text"})
    assert refused.status_code == 403


def test_custom_fields_as_list_columns_filters_and_export_columns(app, client, auth, ws_a):
    segment = make_custom_field(app, ws_a, "Segment", kind="select", options=["Retail", "Wholesale"])
    channels = make_custom_field(app, ws_a, "Channels", kind="multi_select", options=["Shop", "Online"])
    partner = make_custom_field(app, ws_a, "Partner", kind="checkbox")
    secret = make_custom_field(app, ws_a, "ID number", sensitive=True)
    ann, bob = make_contact(app, ws_a, "Ann Retail"), make_contact(app, ws_a, "Bob Wholesale")
    for contact_id, values in ((ann, ("Retail", ["Shop", "Online"], True)), (bob, ("Wholesale", ["Shop"], False))):
        for field_id, value in zip((segment, channels, partner), values, strict=True):
            set_custom_value(app, ws_a, contact_id, field_id, value)
    set_custom_value(app, ws_a, ann, secret, "110101199001011234")
    auth.login(ws_a.email, ws_a.password)

    def listed(**args) -> set[str]:
        page = client.get(url(ws_a, "/contacts/"), query_string=args).get_data(as_text=True)
        return {name for name in ("Ann Retail", "Bob Wholesale") if name in page}

    assert listed(cf_segment="Retail") == {"Ann Retail"}
    assert listed(cf_channels="Online") == {"Ann Retail"} and listed(cf_channels="Shop") == {
        "Ann Retail",
        "Bob Wholesale",
    }
    assert listed(cf_partner="yes") == {"Ann Retail"}
    carol = make_contact(app, ws_a, "Carol Never Ticked")  # no value stored: not a partner either
    no = client.get(url(ws_a, "/contacts/"), query_string={"cf_partner": "no"}).get_data(as_text=True)
    assert "Bob Wholesale" in no and "Carol Never Ticked" in no and "Ann Retail" not in no
    assert carol and '<option value="no" selected>No</option>' in no
    assert listed(cf_id_number="110101199001011234") == set()  # sensitive: no filter, so nobody (never everyone)
    page = client.get(url(ws_a, "/contacts/"), query_string={"cols": ["cf_segment", "cf_id_number", "cf_segment"]})
    html = page.get_data(as_text=True)
    assert html.count('<th scope="col">Segment</th>') == 1 and "Wholesale</td>" in html  # asked twice: shown once
    assert "110101199001011234" not in html and "••••••" in html
    export = client.get(url(ws_a, "/contacts/export.csv"), query_string={"cf_segment": "Retail"}).get_data(as_text=True)
    assert "Segment,Channels,Partner,ID number" in export.splitlines()[0]
    assert 'Retail,"Shop, Online",✓,110101199001011234' in export  # the owner may see sensitive details


def test_a_list_filtered_by_a_custom_field_shows_its_filter_open(app, client, auth, ws_a):
    make_custom_field(app, ws_a, "Segment", kind="select", options=["Retail", "Wholesale"])
    auth.login(ws_a.email, ws_a.password)
    closed = client.get(url(ws_a, "/contacts/")).get_data(as_text=True)
    assert '<details class="more-filters">' in closed and '<details class="more-filters" open>' not in closed
    filtered = client.get(url(ws_a, "/contacts/?cf_segment=Retail")).get_data(as_text=True)
    assert '<details class="more-filters" open>' in filtered


def test_definitions_are_cached_so_the_list_stays_within_its_query_budget(app, client, auth, ws_a):
    from tests.query_counter import count_queries

    make_custom_field(app, ws_a, "Segment", kind="select", options=["Retail"])
    make_contact(app, ws_a, "Ann")
    auth.login(ws_a.email, ws_a.password)
    client.get(url(ws_a, "/contacts/"))
    with count_queries(app) as queries:
        page = client.get(url(ws_a, "/contacts/"), query_string={"cols": "cf_segment", "cf_segment": "Retail"})
    assert page.status_code == 200 and len(queries) <= 5, queries
    make_custom_field(app, ws_a, "Region code")  # a new version: the next page sees it
    assert "Region code" in client.get(url(ws_a, "/contacts/")).get_data(as_text=True)


def test_number_and_date_fields_filter_by_range(app, client, auth, ws_a):
    from datetime import date
    from decimal import Decimal

    budget = make_custom_field(app, ws_a, "Budget", kind="number")
    since = make_custom_field(app, ws_a, "Member since", kind="date")
    staff = make_custom_field(app, ws_a, "Staff", kind="number", entity="company")
    for name, amount, day in (("Small Sue", "100", "2020-05-01"), ("Mid Max", "500.5", "2023-01-15"),
                              ("Big Bo", "900", "2025-11-30")):  # fmt: skip
        contact_id = make_contact(app, ws_a, name)
        set_custom_value(app, ws_a, contact_id, budget, Decimal(amount))
        set_custom_value(app, ws_a, contact_id, since, date.fromisoformat(day))
    make_contact(app, ws_a, "No Budget")
    for name, count in (("Tiny Ltd", 3), ("Large Ltd", 400)):
        set_custom_value(app, ws_a, make_company(app, ws_a, name), staff, Decimal(count))
    auth.login(ws_a.email, ws_a.password)

    def contacts(**args) -> set[str]:
        page = client.get(url(ws_a, "/contacts/"), query_string=args).get_data(as_text=True)
        return {name for name in ("Small Sue", "Mid Max", "Big Bo", "No Budget") if name in page}

    assert contacts(cf_budget_from="200", cf_budget_to="800") == {"Mid Max"}
    assert contacts(cf_budget_from="500.5") == {"Mid Max", "Big Bo"}  # ends included, compared as numbers
    assert contacts(cf_budget_to="99") == set()
    assert contacts(cf_member_since_from="2021-01-01", cf_member_since_to="2024-12-31") == {"Mid Max"}
    assert contacts(cf_budget_from="lots", cf_member_since_to="someday") == {"Small Sue", "Mid Max", "Big Bo",
                                                                             "No Budget"}  # fmt: skip
    for nonsense in ("NaN", "Infinity", "1e999999"):
        assert contacts(cf_budget_from=nonsense) == {"Small Sue", "Mid Max", "Big Bo", "No Budget"}, nonsense
    page = client.get(url(ws_a, "/contacts/"), query_string={"cf_budget_from": "200"}).get_data(as_text=True)
    assert (
        'id="cf_budget_from" name="cf_budget_from" value="200"' in page
        and 'type="date" id="cf_member_since_to"' in page
    )
    companies = client.get(url(ws_a, "/companies/"), query_string={"cf_staff_from": "10"}).get_data(as_text=True)
    assert "Large Ltd" in companies and "Tiny Ltd" not in companies


def test_a_record_page_shows_dates_in_the_readers_language_and_long_text_in_its_lines(app, client, auth, ws_a):
    from datetime import date

    since = make_custom_field(app, ws_a, "Member since", kind="date")
    story = make_custom_field(app, ws_a, "Story", kind="long_text")
    contact_id = make_contact(app, ws_a, "Ann Lee")
    set_custom_value(app, ws_a, contact_id, since, date(2021, 5, 3))
    set_custom_value(app, ws_a, contact_id, story, "Met at the fair.\nOrdered <b>twice</b>.")
    auth.login(ws_a.email, ws_a.password)
    page = client.get(url(ws_a, f"/contacts/{contact_id}")).get_data(as_text=True)
    assert "<dt>Member since</dt>" in page and "May 3, 2021" in page and "2021-05-03" not in page.split("<main")[1]
    assert '<span class="long-text">Met at the fair.\nOrdered &lt;b&gt;twice&lt;/b&gt;.</span>' in page


def test_a_filter_on_a_deleted_field_matches_nothing_and_says_why_never_everyone(app, client, auth, ws_a):
    region = make_custom_field(app, ws_a, "Region", kind="select", options=["North", "South"])
    north, south = make_contact(app, ws_a, "Ann North"), make_contact(app, ws_a, "Bo South")
    set_custom_value(app, ws_a, north, region, "North")
    set_custom_value(app, ws_a, south, region, "South")
    acme = make_company(app, ws_a, "Acme North")
    auth.login(ws_a.email, ws_a.password)
    assert post(client, url(ws_a, f"{SETTINGS}{region}/delete"), {"confirmed": "yes"}).status_code == 303
    view = client.get(url(ws_a, "/contacts/"), query_string={"cf_region": "North"}).get_data(as_text=True)
    assert "Ann North" not in view and "Bo South" not in view
    assert "a custom field that no longer exists or that lists cannot filter by, so nothing matches" in view
    # The bulk bar's "all matching" of that list changes nobody.
    every = {"scope": "all", "cf_region": "North", "action": "delete"}
    post(client, url(ws_a, "/contacts/bulk"), every, headers={"HX-Request": "true", "HX-Target": "contact-results"})
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count()).where(Contact.deleted_at.isnot(None))) == 0
    companies = client.get(url(ws_a, "/companies/"), query_string={"cf_region_from": "1"}).get_data(as_text=True)
    assert "Acme North" not in companies and "no longer exists" in companies and acme


def test_a_label_naming_a_built_in_field_is_refused_in_either_language_and_on_rename(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)

    def add(entity: str, label: str):
        return post(client, url(ws_a, SETTINGS), {"entity": entity, f"{entity}-label": label, f"{entity}-kind": "text"})

    refused = (
        ("contact", "Name", "Name"), ("contact", " company ", "Company"), ("contact", "姓名", "Name"),
        ("contact", "tags", "Tags"), ("contact", "REGION", "Region or state"), ("contact", "Job  Title", "Job title"),
        ("contact", "Email", "Email"), ("company", "Name", "Company name"), ("company", "网站", "Website"),
        ("deal", "Stage", "Stage"), ("deal", "stage_id", "Stage"), ("deal", "预计成交日期", "Expected close date"),
    )  # fmt: skip
    for entity, label, built_in in refused:
        response = add(entity, label)
        page = response.get_data(as_text=True)
        assert response.status_code == 422, label
        message = f"Taken by a built-in field ({built_in}): choose another label."
        assert f'<p class="error" id="{entity}-label-error">{message}</p>' in page, label
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CustomField)) == 0
    # Another record type's built-in field, or a label that only starts like one, is fine.
    assert add("contact", "Industry").status_code == 303
    assert add("deal", "Company size").status_code == 303
    seats = make_custom_field(app, ws_a, "Seats", entity="deal")
    renamed = post(client, url(ws_a, f"{SETTINGS}{seats}"), {"label": "owner"})
    assert renamed.status_code == 422
    assert '<p class="error" id="label-error">Taken by a built-in field (Owner): choose another label.</p>' in (
        renamed.get_data(as_text=True)
    )
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(CustomField, seats).label == "Seats"


def test_fields_named_as_built_in_ones_before_are_marked_exported_apart_and_imported_back(app, client, auth, ws_a):
    from tests.test_imports import import_id_of, job_of, upload

    name = make_custom_field(app, ws_a, "Name")  # made before such labels were refused
    company = make_custom_field(app, ws_a, "Company", kind="select", options=["Own", "Partner"])
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"])
    set_custom_value(app, ws_a, ann, name, "Annie")
    set_custom_value(app, ws_a, ann, company, "Partner")
    auth.login(ws_a.email, ws_a.password)
    settings = client.get(url(ws_a, SETTINGS)).get_data(as_text=True)
    assert settings.count('<span class="badge warning">Same name as a built-in field</span>') == 2
    edit = client.get(url(ws_a, f"{SETTINGS}{name}")).get_data(as_text=True)
    assert "A built-in field has this name too (Name), so exports head this field's column Name (custom)." in edit
    # Kept as it is, the label does not stop other changes.
    assert post(client, url(ws_a, f"{SETTINGS}{name}"), {"label": "Name", "required": "y"}).status_code == 303

    exported = client.get(url(ws_a, "/contacts/export.csv")).get_data(as_text=True).lstrip("\ufeff")
    header = next(csv.reader(io.StringIO(exported)))
    assert header.count("Name") == 1 and header.count("Company") == 1
    assert header[-2:] == ["Name (custom)", "Company (custom)"]
    import_id = import_id_of(upload(client, ws_a, exported))
    mapping = dict(zip(header, job_of(app, ws_a, import_id).mapping, strict=True))
    assert (mapping["Name"], mapping["Company"]) == ("name", "company")
    assert (mapping["Name (custom)"], mapping["Company (custom)"]) == ("cf:name", "cf:company")
    # A file of the headings alone, or an export made before they were told apart (two "Name").
    import_id = import_id_of(upload(client, ws_a, "Name,Email,Company,Name\nBo,bo@example.com,Acme,Bobby\n"))
    assert job_of(app, ws_a, import_id).mapping == ["name", "email", "company", "cf:name"]
    make_custom_field(app, ws_a, "Website", entity="company")
    companies = client.get(url(ws_a, "/companies/export.csv")).get_data(as_text=True).lstrip("\ufeff")
    header = next(csv.reader(io.StringIO(companies)))
    assert header.count("Website") == 1 and header[-1] == "Website (custom)"


def test_a_field_labelled_as_a_built_in_key_is_logged_apart_from_that_field(app, client, auth, ws_a):
    from crm.contacts.models import Contact as ContactModel

    make_custom_field(app, ws_a, "tags")  # made before such labels were refused
    ann = make_contact(app, ws_a, "Ann Lee", tags=["old"])
    auth.login(ws_a.email, ws_a.password)
    edit = {"name": "Ann Lee", "lifecycle": "lead", "tags": "old, vip", "cf_tags": "blue"}
    assert post(client, url(ws_a, f"/contacts/{ann}"), edit).status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        entry = db.session.scalar(
            sa.select(AuditEntry).where(AuditEntry.action == "contact.updated", AuditEntry.record_id == ann)
        )
        assert entry.changes["tags"] == [["old"], ["old", "vip"]]
        assert entry.changes["tags (custom)"] == [None, "blue"]
        assert db.session.get(ContactModel, ann).custom == {"tags": "blue"}


def test_custom_filters_match_a_value_in_upper_or_lower_case(app, client, auth, ws_a, ws_b):
    industry = make_custom_field(app, ws_a, "Industry")
    channels = make_custom_field(app, ws_a, "Channels", kind="multi_select", options=["Shop", "WeChat Store"])
    region = make_custom_field(app, ws_a, "Region", entity="company")
    ann, bob = make_contact(app, ws_a, "Ann Retail"), make_contact(app, ws_a, "Bob Wholesale")
    set_custom_value(app, ws_a, ann, industry, "Retail Shops")
    set_custom_value(app, ws_a, ann, channels, ["WeChat Store"])
    set_custom_value(app, ws_a, bob, industry, "Wholesale")
    set_custom_value(app, ws_a, make_company(app, ws_a, "North Ltd"), region, "North-East")
    # Another workspace's contact of the same value stays out of every answer.
    theirs = make_custom_field(app, ws_b, "Industry")
    set_custom_value(app, ws_b, make_contact(app, ws_b, "Zed Other"), theirs, "retail shops")
    auth.login(ws_a.email, ws_a.password)

    def listed(path: str, **args) -> set[str]:
        page = client.get(url(ws_a, path), query_string=args).get_data(as_text=True)
        return {name for name in ("Ann Retail", "Bob Wholesale", "North Ltd", "Zed Other") if name in page}

    assert listed("/contacts/", cf_industry="retail shops") == {"Ann Retail"}
    assert listed("/contacts/", cf_industry="RETAIL SHOPS") == {"Ann Retail"}
    assert listed("/contacts/", cf_industry="retail") == set()  # still the whole value
    assert listed("/contacts/", cf_channels="wechat store") == {"Ann Retail"}
    assert listed("/companies/", cf_region="north-east") == {"North Ltd"}
    export = client.get(url(ws_a, "/contacts/export.csv"), query_string={"cf_industry": "retail shops"})
    assert "Ann Retail" in export.get_data(as_text=True) and "Bob" not in export.get_data(as_text=True)
    assert "The whole value, in upper or lower case" in client.get(url(ws_a, "/contacts/")).get_data(as_text=True)


def test_custom_filters_match_accented_cyrillic_and_greek_letters_in_either_case(app, client, auth, ws_a, ws_b):
    """SQLite's own lower() changes ASCII letters only: the filters fold the others there as
    PostgreSQL's lower() does, so both databases list the same records."""
    industry = make_custom_field(app, ws_a, "Industry")
    services = make_custom_field(app, ws_a, "Services", kind="multi_select", options=["Übersetzung", "Δέλτα"])
    city = make_custom_field(app, ws_a, "City", entity="company")
    emile, aerzte = make_contact(app, ws_a, "Emile Z"), make_contact(app, ws_a, "Aerzte Team")
    olga, alex = make_contact(app, ws_a, "Olga P"), make_contact(app, ws_a, "Alex N")
    set_custom_value(app, ws_a, emile, industry, "Émile Édition")
    set_custom_value(app, ws_a, aerzte, industry, "Ärzte ohne Grenzen")
    set_custom_value(app, ws_a, olga, industry, "Москва Торговля")
    set_custom_value(app, ws_a, alex, industry, "Αθήνα")
    set_custom_value(app, ws_a, emile, services, ["Übersetzung"])
    set_custom_value(app, ws_a, alex, services, ["Δέλτα"])
    set_custom_value(app, ws_a, make_company(app, ws_a, "Nord OÜ"), city, "САНКТ-ПЕТЕРБУРГ")  # noqa: RUF001 (Cyrillic on purpose)
    theirs = make_custom_field(app, ws_b, "Industry")
    set_custom_value(app, ws_b, make_contact(app, ws_b, "Zed Other"), theirs, "émile édition")
    auth.login(ws_a.email, ws_a.password)
    everyone = ("Emile Z", "Aerzte Team", "Olga P", "Alex N", "Nord OÜ", "Zed Other")

    def listed(path: str, **args) -> set[str]:
        page = client.get(url(ws_a, path), query_string=args).get_data(as_text=True)
        return {name for name in everyone if name in page}

    assert listed("/contacts/", cf_industry="émile édition") == {"Emile Z"}
    assert listed("/contacts/", cf_industry="ÉMILE ÉDITION") == {"Emile Z"}
    assert listed("/contacts/", cf_industry="ÄRZTE OHNE GRENZEN") == {"Aerzte Team"}
    assert listed("/contacts/", cf_industry="москва торговля") == {"Olga P"}
    assert listed("/contacts/", cf_industry="МОСКВА ТОРГОВЛЯ") == {"Olga P"}  # noqa: RUF001 (Cyrillic on purpose)
    assert listed("/contacts/", cf_industry="ΑΘΉΝΑ") == {"Alex N"}
    assert listed("/contacts/", cf_industry="emile edition") == set()  # any case, but the same letters
    assert listed("/contacts/", cf_services="ÜBERSETZUNG") == {"Emile Z"}
    assert listed("/contacts/", cf_services="δέλτα") == {"Alex N"}
    assert listed("/companies/", cf_city="санкт-петербург") == {"Nord OÜ"}
    export = client.get(url(ws_a, "/contacts/export.csv"), query_string={"cf_industry": "ärzte OHNE grenzen"})
    assert "Aerzte Team" in export.get_data(as_text=True) and "Emile Z" not in export.get_data(as_text=True)


def test_sqlite_lowers_letters_for_the_filters_as_postgresql_does(app):
    """The same text lowered by each database: SQLite's unicode_lower() and PostgreSQL's lower()
    (in its UTF-8 locale) give one answer, so a filter finds the same records on both."""
    text = "ÉMILE ÄRZTE Straße ẞ ΣΟΦΊΑΣ İstanbul ǅ"
    lowered = "émile ärzte straße ß σοφίασ istanbul ǆ"  # a capital sigma ending a word is no final sigma; İ is i
    with app.app_context():
        function = "lower" if db.engine.dialect.name == "postgresql" else "unicode_lower"
        statement = sa.select(getattr(sa.func, function)(sa.literal(text, sa.Text)))
        assert db.session.scalar(statement) == lowered
        if function == "unicode_lower":
            assert db.session.scalar(sa.select(sa.func.unicode_lower(12))) == "12"
            assert db.session.scalar(sa.select(sa.func.unicode_lower(None))) is None


@pytest.mark.postgres
def test_a_custom_filter_in_any_case_is_read_from_the_lowered_values_index(app, ws_a):
    """20,000 contacts, one of them in retail: the app role finds it through the GIN index of the
    lowered values (migration 0044), not by reading the workspace."""
    from flask import g
    from werkzeug.datastructures import MultiDict

    from crm.contacts import list_rows
    from crm.contacts.list_view import ListState
    from crm.workspaces.models import Membership, Workspace
    from tests.conftest import owner_engine

    make_custom_field(app, ws_a, "Industry")
    model = make_contact(app, ws_a, "Model")
    columns = ", ".join(c.name for c in Contact.__table__.columns if c.name not in ("id", "custom"))
    engine = owner_engine(app)
    with engine.begin() as connection:
        connection.execute(sa.text("SELECT set_config('app.current_workspace', :ws, true)"), {"ws": str(ws_a.id)})
        copies = (
            f"INSERT INTO contacts (custom, {columns}) SELECT jsonb_build_object('industry', 'Trade ' || n),"
            f" {columns} FROM contacts, generate_series(1, 20000) AS n WHERE id = :model"
        )
        connection.execute(sa.text(copies), {"model": model})
        retail = "UPDATE contacts SET custom = jsonb_build_object('industry', 'Retail') WHERE id = :model"
        connection.execute(sa.text(retail), {"model": model})
        connection.execute(sa.text("ANALYZE contacts"))
    engine.dispose()
    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "FROM contacts" in statement:
            sent.append((statement, parameters))

    with app.test_request_context(), workspace_scope(ws_a.id):
        g.workspace = db.session.get(Workspace, ws_a.id)
        member = db.session.get(Membership, ws_a.membership_id)
        state = ListState.from_args(MultiDict({"cf_industry": "RETAIL"}))
        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            found = list_rows.contact_rows(state, None, member, ["company"], {})
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
        assert [contact.id for contact in found.items] == [model]
        plan = "\n".join(db.session.connection().exec_driver_sql("EXPLAIN " + sent[0][0], sent[0][1]).scalars())
    assert "ix_contacts_custom_lower_gin" in plan, plan


def _speak_chinese(app, ws) -> None:
    from crm.auth.models import User

    with app.app_context(), workspace_scope(ws.id):
        db.session.get(User, ws.user_id).locale = "zh_Hans"
        db.session.commit()


def _cell_texts(html: str, row_id: str) -> list[str]:
    row = html.split(f'<tr id="{row_id}">')[1].split("</tr>")[0]
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_list_columns_show_custom_dates_as_the_record_page_does_in_either_language(app, client, auth, ws_a):
    from datetime import date

    since = make_custom_field(app, ws_a, "Member since", kind="date")
    founded = make_custom_field(app, ws_a, "Founded", kind="date", entity="company")
    secret = make_custom_field(app, ws_a, "Signed on", kind="date", sensitive=True)
    ann, acme = make_contact(app, ws_a, "Ann Lee"), make_company(app, ws_a, "Acme")
    set_custom_value(app, ws_a, ann, since, date(2026, 3, 1))
    set_custom_value(app, ws_a, ann, secret, date(2025, 12, 24))
    set_custom_value(app, ws_a, acme, founded, date(1999, 5, 3))
    auth.login(ws_a.email, ws_a.password)

    def pages() -> tuple[str, str, str, str]:
        contacts = client.get(url(ws_a, "/contacts/"), query_string={"cols": ["cf_member_since", "cf_signed_on"]})
        companies = client.get(url(ws_a, "/companies/"), query_string={"cols": ["cf_founded"]})
        detail = client.get(url(ws_a, f"/contacts/{ann}")).get_data(as_text=True)
        revealed = post(client, url(ws_a, f"/reveal/contact/{ann}/{secret}"), {}, headers={"HX-Request": "true"})
        return (contacts.get_data(as_text=True), companies.get_data(as_text=True), detail,
                revealed.get_data(as_text=True))  # fmt: skip

    contacts, companies, detail, revealed = pages()
    assert _cell_texts(contacts, f"contact-{ann}")[-2:] == ["Mar 1, 2026", "••••••"]
    assert _cell_texts(companies, f"company-{acme}")[-1] == "May 3, 1999"
    assert "Mar 1, 2026" in detail and ">Dec 24, 2025</span>" in revealed  # the record's page, the same way
    assert "2026-03-01" not in contacts and "1999-05-03" not in companies

    _speak_chinese(app, ws_a)
    contacts, companies, detail, revealed = pages()
    assert _cell_texts(contacts, f"contact-{ann}")[-2:] == ["2026年3月1日", "••••••"]
    assert _cell_texts(companies, f"company-{acme}")[-1] == "1999年5月3日"
    assert "2026年3月1日" in detail and ">2025年12月24日</span>" in revealed


def test_a_custom_number_takes_grouping_as_an_amount_does_and_refuses_what_it_refuses(app, client, auth, ws_a):
    make_custom_field(app, ws_a, "Budget", kind="number")
    make_custom_field(app, ws_a, "Staff", kind="number", entity="company")
    ann, acme = make_contact(app, ws_a, "Ann Lee"), make_company(app, ws_a, "Acme")
    auth.login(ws_a.email, ws_a.password)

    def save_contact(budget: str):
        return post(client, url(ws_a, f"/contacts/{ann}"), {"name": "Ann", "lifecycle": "lead", "cf_budget": budget})

    for typed, kept in (("25,000", 25000), ("25 000", 25000), ("1\u202f234.5", 1234.5), ("-1,234,567.25", -1234567.25)):
        assert save_contact(typed).status_code == 303, typed
        assert custom_of(app, ws_a, ann) == {"budget": kept}, typed
    assert post(client, url(ws_a, f"/companies/{acme}"), {"name": "Acme", "cf_staff": "1,200"}).status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Company, acme).custom == {"staff": 1200}
    form = client.get(url(ws_a, f"/contacts/{ann}/edit")).get_data(as_text=True)
    assert 'name="cf_budget" step="any" type="number" value="-1234567.25"' in form
    assert save_contact("12.345").status_code == 303
    form = client.get(url(ws_a, f"/contacts/{ann}/edit")).get_data(as_text=True)
    assert 'name="cf_budget" step="any" type="number" value="12.345"' in form  # as stored, not rounded to 12.34
    assert save_contact("-1234567.25").status_code == 303

    comma = "Write decimals with a point, such as 1.5."
    for typed, reason in (("1,5", comma), ("25,00", comma), ("1e3", "Enter a number."), ("twelve", "Enter a number.")):
        refused = save_contact(typed)
        assert refused.status_code == 422 and reason in refused.get_data(as_text=True), typed
        assert f'value="{typed}"' in refused.get_data(as_text=True)  # kept as typed, to correct
    assert custom_of(app, ws_a, ann) == {"budget": -1234567.25}  # nothing saved

    _speak_chinese(app, ws_a)
    assert "小数请用小数点书写，例如 1.5。" in save_contact("1,5").get_data(as_text=True)
    assert "请输入数字。" in save_contact("1e3").get_data(as_text=True)
    assert save_contact("25,000").status_code == 303 and custom_of(app, ws_a, ann) == {"budget": 25000}


def test_two_admins_adding_fields_at_once_both_see_both_fields(app, client, auth, ws_a):
    """Two requests (two workers) that loaded the workspace at the same version each add a field: the
    version each commits must differ from the one a worker cached while only one field was there."""
    from crm.custom_fields.service import create_field, definitions
    from crm.workspaces.models import Workspace

    with app.app_context(), workspace_scope(ws_a.id):
        first_worker = db.session.get(Workspace, ws_a.id)
        assert first_worker.custom_fields_version is not None  # loaded at the start of its request
        with app.app_context(), workspace_scope(ws_a.id):  # the other worker's request, done meanwhile
            other = db.session.get(Workspace, ws_a.id)
            create_field(other, "contact", "Segment", "text", [], False, False)
            db.session.commit()
            assert [f.label for f in definitions(db.session.get(Workspace, ws_a.id), "contact")] == ["Segment"]
        create_field(first_worker, "contact", "Region", "text", [], False, False)
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    form = client.get(url(ws_a, "/contacts/new")).get_data(as_text=True)
    assert 'for="cf_segment"' in form and 'for="cf_region"' in form


def test_a_label_or_a_retired_choice_holding_markup_is_written_as_text(app, client, auth, ws_a):
    """Messages made with a label or a choice ("%(label)s is required.") escape them as every other
    text of a page does: markup there would be live on every member's form (htmx reads hx-post)."""
    label = '<b hx-get="/w/x" hx-trigger="load">Code</b>'
    make_custom_field(app, ws_a, label, required=True)
    plan = make_custom_field(app, ws_a, "Plan", kind="select", options=['<i hx-post="/w/x">Gold</i>', "Basic"])
    secret = make_custom_field(app, ws_a, "<u>Passport</u>", sensitive=True)
    contact_id = make_contact(app, ws_a, "Ann")
    set_custom_value(app, ws_a, contact_id, plan, '<i hx-post="/w/x">Gold</i>')
    set_custom_value(app, ws_a, contact_id, secret, "E123")
    auth.login(ws_a.email, ws_a.password)
    post(client, url(ws_a, f"{SETTINGS}{plan}"), {"label": "Plan", "options": "Basic"})  # the choice retired
    missing = post(client, url(ws_a, "/contacts/"), {"name": "Bo", "lifecycle": "lead"})
    assert missing.status_code == 422
    page = missing.get_data(as_text=True)
    assert "&lt;b hx-get=&#34;/w/x&#34; hx-trigger=&#34;load&#34;&gt;Code&lt;/b&gt; is required." in page
    assert "<b hx-get" not in page
    edit = client.get(url(ws_a, f"/contacts/{contact_id}/edit")).get_data(as_text=True)
    assert "<i hx-post" not in edit and "&lt;i hx-post=&#34;/w/x&#34;&gt;Gold&lt;/i&gt; (no longer offered)" in edit
    assert "<u>Passport</u>" not in edit and "Remove the stored &lt;u&gt;Passport&lt;/u&gt;" in edit
