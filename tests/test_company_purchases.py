"""Purchases entered on a company's page: by the company itself (in its figures, no contact's) or
by one of its contacts (which re-classifies that contact); edit and delete; bad input; permissions
and record scope. Isolation is in test_cross_workspace (company_id and purchase_id routes)."""

import html
from datetime import date

import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.contacts.models import Contact
from crm.extensions import db
from crm.purchases.models import Purchase
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import (
    assign_role,
    make_company,
    make_company_purchase,
    make_contact,
    make_member,
    make_purchase,
    make_role,
)

SECTION = {"HX-Request": "true", "HX-Target": "company-purchases"}
TODAY = date.today().isoformat()
REFUSED_BUYER = "Choose one of this company&#39;s contacts, or the company itself."


def purchases_url(ws, company_id: int, rest: str = "") -> str:
    return f"/w/{ws.slug}/companies/{company_id}/purchases/{rest}"


def company_url(ws, company_id: int) -> str:
    return f"/w/{ws.slug}/companies/{company_id}"


def purchases(app, ws) -> list[tuple]:
    with app.app_context(), workspace_scope(ws.id):
        rows = db.session.execute(
            sa.select(Purchase.contact_id, Purchase.company_id, Purchase.product, Purchase.amount)
        )
        return sorted((tuple(row) for row in rows), key=lambda row: (row[0] or 0, row[2]))


def test_the_company_itself_buys_and_its_figures_follow(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    auth.login(ws_a.email, ws_a.password)
    data = {"buyer": "", "purchased_on": TODAY, "product": "Fleet service", "quantity": "2", "unit_price": "2500"}
    response = post(client, purchases_url(ws_a, acme), data, headers=SECTION)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith('<section id="company-purchases"')
    assert "Fleet service" in body and "The company itself" in body and "$5,000.00" in body
    assert purchases(app, ws_a) == [(None, acme, "Fleet service", 5000)]
    yen = {**data, "product": "Spare parts", "unit_price": "100000", "currency": "JPY", "base_amount": "650"}
    body = post(client, purchases_url(ws_a, acme), yen, headers=SECTION).get_data(as_text=True)
    assert "¥200,000 (worth $650.00)" in body and "$5,650.00" in body  # the company's figures count its worth
    with app.app_context(), workspace_scope(ws_a.id):
        contact = db.session.get(Contact, ann)
        assert contact.lifetime_value == 0 and contact.tier != "A"  # no contact bought it
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "purchase.created"))
        assert (entry.record_type, entry.record_id) == ("company", acme)


def test_a_purchase_by_one_of_its_contacts_classifies_that_contact(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    auth.login(ws_a.email, ws_a.password)
    form = client.get(company_url(ws_a, acme)).get_data(as_text=True)
    assert f'<option value="{ann}">Ann Lee</option>' in form
    data = {"buyer": str(ann), "purchased_on": TODAY, "product": "Tea chest", "quantity": "1", "unit_price": "12000"}
    assert post(client, purchases_url(ws_a, acme), data, headers=SECTION).status_code == 200
    assert purchases(app, ws_a) == [(ann, acme, "Tea chest", 12000)]
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Contact, ann).tier == "A"
    assert "Tea chest" in client.get(f"/w/{ws_a.slug}/contacts/{ann}").get_data(as_text=True)


def test_bad_input_and_a_buyer_from_elsewhere_are_refused_and_nothing_saved(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    other_company = make_company(app, ws_a, "Zenith")
    stranger = make_contact(app, ws_a, "Zed", company_id=other_company)
    auth.login(ws_a.email, ws_a.password)
    good = {"buyer": "", "purchased_on": TODAY, "product": "Tea", "quantity": "1", "unit_price": "10"}
    for changes, message in (
        ({"product": " "}, "Enter what was bought."),
        ({"purchased_on": "yesterday"}, "Not a valid date value."),
        ({"unit_price": "-1"}, "Enter an amount from 0 to 999,999,999,999.99."),
        ({"buyer": str(stranger)}, REFUSED_BUYER),
        ({"buyer": "abc"}, REFUSED_BUYER),
    ):
        response = post(client, purchases_url(ws_a, acme), {**good, **changes}, headers=SECTION)
        assert response.status_code == 422, changes
        assert message in response.get_data(as_text=True), changes
    plain = post(client, purchases_url(ws_a, acme), {**good, "product": ""})
    assert plain.status_code == 422  # without htmx: the form on a page of its own (tests/test_composer_pages.py)
    assert purchases(app, ws_a) == []


def test_edit_and_delete_a_company_purchase_but_not_a_contacts_from_here(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    own = make_company_purchase(app, ws_a, acme, "Fleet service", amount=500)
    anns = make_purchase(app, ws_a, ann, "Tea", amount=20)
    auth.login(ws_a.email, ws_a.password)
    assert "Fleet service" in client.get(purchases_url(ws_a, acme, f"{own}/edit")).get_data(as_text=True)
    bad = post(client, purchases_url(ws_a, acme, str(own)), {"purchased_on": TODAY, "product": "", "quantity": "1",
                                                            "unit_price": "1"})  # fmt: skip
    assert bad.status_code == 422 and "Enter what was bought." in bad.get_data(as_text=True)
    data = {"purchased_on": TODAY, "product": "Fleet service+", "quantity": "1", "unit_price": "750"}
    assert post(client, purchases_url(ws_a, acme, str(own)), data).status_code == 303
    assert (None, acme, "Fleet service+", 750) in purchases(app, ws_a)
    assert client.get(purchases_url(ws_a, acme, f"{anns}/edit")).status_code == 404
    assert post(client, purchases_url(ws_a, acme, f"{anns}/delete"), {}).status_code == 404
    deleted = post(client, purchases_url(ws_a, acme, f"{own}/delete"), {}, headers=SECTION)
    assert deleted.status_code == 200 and "Fleet service+" not in deleted.get_data(as_text=True)
    assert "Purchase deleted." in deleted.headers["HX-Trigger"]  # said in a toast
    assert purchases(app, ws_a) == [(ann, acme, "Tea", 20)]
    with app.app_context(), workspace_scope(ws_a.id):
        actions = db.session.scalars(
            sa.select(AuditEntry.action).where(AuditEntry.record_type == "company", AuditEntry.record_id == acme)
        ).all()
    assert {"purchase.updated", "purchase.deleted"} <= set(actions)


def test_readers_see_the_purchases_but_cannot_add_and_own_scope_hides_others_contacts(app, client, auth, ws_a):
    own_scope = make_role(app, ws_a, "Own records", permissions=["contacts.read", "contacts.write"], record_scope="own")
    sales = make_member(app, ws_a, "sales@alpha.example.com")
    assign_role(app, ws_a, sales.membership_id, own_scope)
    acme = make_company(app, ws_a, "Acme Ltd", owner_id=sales.membership_id)
    mine = make_contact(app, ws_a, "Mine", company_id=acme, owner_id=sales.membership_id)
    theirs = make_contact(app, ws_a, "Theirs", company_id=acme, owner_id=ws_a.membership_id)
    make_company_purchase(app, ws_a, acme, "Fleet service", amount=500)
    make_purchase(app, ws_a, mine, "My tea", amount=20)
    make_purchase(app, ws_a, theirs, "Secret order", amount=9000)
    auth.login(sales.email, sales.password)
    page = client.get(company_url(ws_a, acme)).get_data(as_text=True)
    assert "Fleet service" in page and "My tea" in page and "Secret order" not in page
    assert f'<option value="{theirs}">' not in page  # nor offered as a buyer
    refused = post(client, purchases_url(ws_a, acme), {"buyer": str(theirs), "purchased_on": TODAY, "product": "x",
                                                       "quantity": "1", "unit_price": "1"})  # fmt: skip
    assert refused.status_code == 422 and "Theirs" not in refused.get_data(as_text=True)
    assert len(purchases(app, ws_a)) == 3  # refused: not a choice for this member
    support = make_member(app, ws_a, "support@alpha.example.com", role="support")
    auth.logout()
    auth.login(support.email, support.password)
    page = client.get(company_url(ws_a, acme)).get_data(as_text=True)
    assert "Fleet service" in page and "Add a purchase" not in page
    data = {"buyer": "", "purchased_on": TODAY, "product": "x", "quantity": "1", "unit_price": "1"}
    assert post(client, purchases_url(ws_a, acme), data).status_code == 403


def make_people(app, ws, company_id: int, count: int, owner_id: int | None = None) -> list[int]:
    """``count`` contacts of the company, "Person 001" onwards (so by name in that order)."""
    from crm.contacts.service import create_contact

    with app.app_context(), workspace_scope(ws.id):
        made = [
            create_contact({"name": f"Person {number:03d}", "tags": [], "company_id": company_id, "owner_id": owner_id})
            for number in range(1, count + 1)
        ]
        db.session.commit()
        return [contact.id for contact in made]


def buy(buyer) -> dict:
    return {"buyer": str(buyer), "purchased_on": TODAY, "product": "Tea", "quantity": "1", "unit_price": "10"}


def test_any_contact_of_a_company_with_many_can_be_the_buyer_through_a_picker(app, client, auth, ws_a, ws_b):
    acme = make_company(app, ws_a, "Acme Ltd")
    people = make_people(app, ws_a, acme, 52)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(company_url(ws_a, acme)).get_data(as_text=True)
    composer = page[page.index('id="company-purchase-composer"') :]
    assert "data-picker" in composer and 'name="buyer"' in composer and '<select id="buyer"' not in composer
    assert f'data-hx-get="/w/{ws_a.slug}/companies/{acme}/purchases/buyers"' in composer
    assert 'placeholder="The company itself"' in composer
    options = client.get(purchases_url(ws_a, acme, "buyers?q=Person 051")).get_data(as_text=True)
    assert f'data-value="{people[50]}"' in options and 'id="buyer-options"' in options
    assert "Person 052" not in options  # only those matching
    for buyer in (people[50], people[51]):  # past the first 50 by name
        response = post(client, purchases_url(ws_a, acme), buy(buyer), headers=SECTION)
        assert response.status_code == 200, response.get_data(as_text=True)
    assert post(client, purchases_url(ws_a, acme), buy(""), headers=SECTION).status_code == 200  # the company itself
    assert [row[0] for row in purchases(app, ws_a)] == [None, people[50], people[51]]


def test_a_buyer_outside_the_company_or_workspace_is_refused_with_many_contacts(app, client, auth, ws_a, ws_b):
    acme = make_company(app, ws_a, "Acme Ltd")
    make_people(app, ws_a, acme, 51)
    zenith = make_company(app, ws_a, "Zenith")
    elsewhere = make_contact(app, ws_a, "Person 000", company_id=zenith)
    loner = make_contact(app, ws_a, "Person 0000")
    their_company = make_company(app, ws_b, "Beta Co")
    theirs = make_contact(app, ws_b, "Person 999", company_id=their_company)
    gone = make_people(app, ws_a, acme, 1)[0]
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Contact, gone).deleted_at = sa.func.now()
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    for buyer in (elsewhere, loner, theirs, gone, "abc", "-3", str(2**64)):
        response = post(client, purchases_url(ws_a, acme), buy(buyer), headers=SECTION)
        body = response.get_data(as_text=True)
        assert response.status_code == 422, buyer
        assert REFUSED_BUYER in body, buyer
        assert "Person 999" not in body and "Person 000<" not in body
    options = client.get(purchases_url(ws_a, acme, "buyers?q=Person 000")).get_data(as_text=True)
    assert f'data-value="{elsewhere}"' not in options and f'data-value="{loner}"' not in options
    assert f'data-value="{gone}"' not in options
    assert purchases(app, ws_a) == []


def test_an_own_records_member_can_only_pick_a_buyer_they_may_see(app, client, auth, ws_a):
    own_scope = make_role(app, ws_a, "Own records", permissions=["contacts.read", "contacts.write"], record_scope="own")
    sales = make_member(app, ws_a, "sales@alpha.example.com")
    assign_role(app, ws_a, sales.membership_id, own_scope)
    acme = make_company(app, ws_a, "Acme Ltd", owner_id=sales.membership_id)
    mine = make_people(app, ws_a, acme, 51, owner_id=sales.membership_id)
    theirs = make_contact(app, ws_a, "Person 0511", company_id=acme, owner_id=ws_a.membership_id)
    auth.login(sales.email, sales.password)
    assert "data-picker" in client.get(company_url(ws_a, acme)).get_data(as_text=True)
    options = client.get(purchases_url(ws_a, acme, "buyers?q=Person 051")).get_data(as_text=True)
    assert f'data-value="{mine[50]}"' in options and f'data-value="{theirs}"' not in options
    refused = post(client, purchases_url(ws_a, acme), buy(theirs), headers=SECTION)
    assert refused.status_code == 422 and "Person 0511" not in refused.get_data(as_text=True)
    assert post(client, purchases_url(ws_a, acme), buy(mine[50]), headers=SECTION).status_code == 200
    assert [row[0] for row in purchases(app, ws_a)] == [mine[50]]


def test_a_company_with_fifty_contacts_keeps_the_select_and_the_buyer_search_needs_write(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    people = make_people(app, ws_a, acme, 50)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(company_url(ws_a, acme)).get_data(as_text=True)
    composer = page[page.index('id="company-purchase-composer"') :]
    assert f'<option value="{people[49]}">Person 050</option>' in composer and "data-picker" not in composer
    viewer = make_member(app, ws_a, "viewer@alpha.example.com", role="viewer")
    auth.logout()
    auth.login(viewer.email, viewer.password)
    assert client.get(purchases_url(ws_a, acme, "buyers?q=Person")).status_code == 403


def test_a_company_purchase_dated_before_1900_is_refused(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    auth.login(ws_a.email, ws_a.password)
    response = post(client, purchases_url(ws_a, acme), {**buy(""), "purchased_on": "0001-01-01"}, headers=SECTION)
    assert response.status_code == 422 and "Enter a purchase date from 1900 on." in response.get_data(as_text=True)
    own = make_company_purchase(app, ws_a, acme, "Fleet service", amount=500)
    edited = post(client, purchases_url(ws_a, acme, str(own)), {**buy(""), "purchased_on": "1899-12-31"})
    assert edited.status_code == 422 and "Enter a purchase date from 1900 on." in edited.get_data(as_text=True)
    assert purchases(app, ws_a) == [(None, acme, "Fleet service", 500)]


def typed(text: str, buyer="") -> dict:
    """The picker's form as a browser without JavaScript sends it: the hidden id as drawn, the text typed."""
    return {**buy(buyer), "buyer_text": text}


def test_without_javascript_a_buyer_typed_by_name_or_email_is_found_among_many(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    people = make_people(app, ws_a, acme, 50)
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme, emails=["ann.lee@example.com"])  # the 51st
    auth.login(ws_a.email, ws_a.password)
    page = client.get(company_url(ws_a, acme)).get_data(as_text=True)
    composer = page[page.index('id="company-purchase-composer"') :]
    assert 'id="buyer-search" name="buyer_text" value=""' in composer  # the text box is sent too
    for text in ("ann lee", "ANN.LEE@example.com", "  Lee ", "Person 050"):
        response = post(client, purchases_url(ws_a, acme), typed(text))  # no htmx headers
        assert response.status_code == 303, (text, response.get_data(as_text=True))
        assert response.headers["Location"].endswith(f"/companies/{acme}")
    assert [row[0] for row in purchases(app, ws_a)] == [people[49], ann, ann, ann]
    page = client.get(company_url(ws_a, acme)).get_data(as_text=True)
    assert "Purchase added." in page and f'href="/w/{ws_a.slug}/contacts/{ann}">Ann Lee</a>' in page

    # A choice the page was drawn with (after a refusal) gives way to another name typed over it.
    post(client, purchases_url(ws_a, acme), typed("Person 002", buyer=people[0]))
    post(client, purchases_url(ws_a, acme), typed(" ", buyer=people[0]))  # the box emptied: the company itself
    # With JavaScript the text box names the chosen buyer, or is empty for the company itself: as before.
    post(client, purchases_url(ws_a, acme), typed("Person 003", buyer=people[2]), headers=SECTION)
    post(client, purchases_url(ws_a, acme), typed(""), headers=SECTION)
    assert [row[0] for row in purchases(app, ws_a)][:4] == [None, None, people[1], people[2]]
    # A price refused: the buyer found is kept, shown by name in the text box and by id in the hidden input.
    refused = post(client, purchases_url(ws_a, acme), {**typed("ann.lee@example.com"), "unit_price": "-1"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and f'name="buyer" id="buyer" value="{ann}"' in body
    assert 'name="buyer_text" value="Ann Lee"' in body
    assert len(purchases(app, ws_a)) == 8


def test_without_javascript_an_unknown_or_ambiguous_typed_buyer_is_refused_and_nothing_saved(app, client, auth,
                                                                                             ws_a):  # fmt: skip
    acme = make_company(app, ws_a, "Acme Ltd")
    make_people(app, ws_a, acme, 49)
    make_contact(app, ws_a, "Ann Lee", company_id=acme, emails=["ann@example.com"])
    make_contact(app, ws_a, "Ann Lee", company_id=acme, emails=["ann.lee@home.example"])  # a namesake: 51 people
    auth.login(ws_a.email, ws_a.password)
    several = "Several of this company's contacts match “{}” ({}): be more specific, type more of the name or "
    refusals = {
        "Ann Lee": several.format("Ann Lee", "Ann Lee <ann@example.com>, Ann Lee <ann.lee@home.example>"),
        "Person 00": several.format("Person 00", "Person 009, Person 008, Person 007, Person 006, Person 005, …"),
        "Bob Nobody": "No contact of this company matches “Bob Nobody”: check the spelling, or type their email",
    }
    for text, message in refusals.items():
        response = post(client, purchases_url(ws_a, acme), typed(text))
        body = html.unescape(response.get_data(as_text=True))
        assert response.status_code == 422, text
        assert "The purchase was not saved: " + message in body, text  # the message at the top...
        picker = body[body.index('id="company-purchase-composer"') :]
        assert message in picker and f'name="buyer_text" value="{text}"' in picker  # ...by the field, what was typed
        assert 'aria-invalid="true"' in picker and 'name="buyer" id="buyer" value=""' in picker
        section = post(client, purchases_url(ws_a, acme), typed(text), headers=SECTION)
        assert section.status_code == 422 and message in html.unescape(section.get_data(as_text=True))
    assert purchases(app, ws_a) == []
    by_email = post(client, purchases_url(ws_a, acme), typed("ann.lee@home.example"))
    assert by_email.status_code == 303  # the namesake told apart by their address
    assert len(purchases(app, ws_a)) == 1


def test_a_typed_buyer_is_never_someone_of_another_company_or_workspace(app, client, auth, ws_a, ws_b):
    acme = make_company(app, ws_a, "Acme Ltd")
    make_people(app, ws_a, acme, 50)
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    zenith = make_company(app, ws_a, "Zenith")
    make_contact(app, ws_a, "Ann Other", company_id=zenith, emails=["ann.other@zenith.example"])
    make_contact(app, ws_a, "Zed Loner", emails=["zed@example.com"])  # of no company
    beta = make_company(app, ws_b, "Beta Co")
    make_contact(app, ws_b, "Ann Beta", company_id=beta, emails=["ann@beta.example"])
    auth.login(ws_a.email, ws_a.password)
    outsiders = ("ann.other@zenith.example", "Ann Other", "Zed Loner", "zed@example.com", "ann@beta.example",
                 "Ann Beta")  # fmt: skip
    for text in outsiders:
        response = post(client, purchases_url(ws_a, acme), typed(text))
        body = html.unescape(response.get_data(as_text=True))
        assert response.status_code == 422, text
        assert f"No contact of this company matches “{text}”" in body, text
        assert not [word for word in outsiders if word in body and word != text], text  # only what was typed
    assert purchases(app, ws_a) == []
    # "Ann" names one of Acme's people: not Zenith's nor another workspace's Ann.
    assert post(client, purchases_url(ws_a, acme), typed("Ann")).status_code == 303
    assert [row[0] for row in purchases(app, ws_a)] == [ann]
    # A forged id is refused, never replaced by a name typed beside it.
    for forged in (make_contact(app, ws_a, "Zed Zenith", company_id=zenith), "abc", str(2**64)):
        refused = post(client, purchases_url(ws_a, acme), typed("Ann Lee", buyer=forged))
        assert refused.status_code == 422 and REFUSED_BUYER in refused.get_data(as_text=True), forged
    # Another workspace's company: 404 whatever is typed.
    other = post(client, f"/w/{ws_a.slug}/companies/{beta}/purchases/", typed("Ann Beta"))
    assert other.status_code == 404 and "Ann Beta" not in other.get_data(as_text=True)
    assert len(purchases(app, ws_a)) == 1


def test_an_own_records_member_cannot_type_a_buyer_they_may_not_see(app, client, auth, ws_a):
    own_scope = make_role(app, ws_a, "Own records", permissions=["contacts.read", "contacts.write"], record_scope="own")
    sales = make_member(app, ws_a, "sales@alpha.example.com")
    assign_role(app, ws_a, sales.membership_id, own_scope)
    acme = make_company(app, ws_a, "Acme Ltd", owner_id=sales.membership_id)
    mine = make_people(app, ws_a, acme, 51, owner_id=sales.membership_id)
    make_contact(app, ws_a, "Hidden Buyer", company_id=acme, owner_id=ws_a.membership_id, emails=["hid@example.com"])
    make_contact(app, ws_a, "Person 0511", company_id=acme, owner_id=ws_a.membership_id)
    auth.login(sales.email, sales.password)
    for text in ("Hidden Buyer", "hid@example.com"):
        refused = post(client, purchases_url(ws_a, acme), typed(text))
        assert refused.status_code == 422 and "No contact of this company matches" in html.unescape(
            refused.get_data(as_text=True)
        )
    assert post(client, purchases_url(ws_a, acme), typed("Person 051")).status_code == 303  # not Person 0511
    assert [row[0] for row in purchases(app, ws_a)] == [mine[50]]
