"""Duplicate contacts: the scan and its reasons and scores, the Duplicates page, "not the same",
the warning while a contact is typed, the merge field by field and its undo; bad input,
permissions and record scope. Jobs run in the request (JOBS_INLINE)."""

import html
import re
from datetime import date, timedelta

import sqlalchemy as sa

from crm.activities.models import Activity
from crm.audit.models import AuditEntry
from crm.contacts.models import Contact, ContactIdentity
from crm.db import utcnow
from crm.deals.models import Deal
from crm.duplicates.models import ContactMerge, DuplicatePair
from crm.extensions import db
from crm.purchases.models import Purchase
from crm.tenancy import workspace_scope
from crm.tickets.models import Ticket
from tests.conftest import post
from tests.factories import (
    make_activity,
    make_company,
    make_contact,
    make_custom_field,
    make_deal,
    make_member,
    make_merge,
    make_purchase,
    make_role,
    make_ticket,
    set_custom_value,
)
from tests.query_counter import count_queries
from tests.test_imports import import_id_of, imports_url, upload


def url(ws, rest: str = "") -> str:
    return f"/w/{ws.slug}/duplicates/{rest}"


def pairs_of(app, ws, dismissed: bool = False) -> list[tuple]:
    with app.app_context(), workspace_scope(ws.id):
        statement = sa.select(
            DuplicatePair.contact_id,
            DuplicatePair.other_id,
            DuplicatePair.reason,
            DuplicatePair.score,
            DuplicatePair.group_id,
        ).where(DuplicatePair.dismissed_at.isnot(None) if dismissed else DuplicatePair.dismissed_at.is_(None))
        return [tuple(row) for row in db.session.execute(statement.order_by(DuplicatePair.contact_id))]  # fmt: skip


def contact_of(app, ws, contact_id: int) -> Contact:
    with app.app_context(), workspace_scope(ws.id):
        contact = db.session.get(Contact, contact_id)
        _ = contact.tags
        db.session.expunge(contact)
        return contact


def scan(client, ws):
    return post(client, url(ws, "scan"), {})


def test_scan_finds_same_email_same_phone_and_similar_names_in_one_company(app, client, auth, ws_a, ws_b):
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"])
    ann_work = make_contact(app, ws_a, "A. Lee", emails=["ann@example.com"], phones=["+16502530000"])
    ann_phone = make_contact(app, ws_a, "Annie", phones=["+16502530000"])
    john = make_contact(app, ws_a, "John Smith", company_id=acme)
    jon = make_contact(app, ws_a, "Smith, Jon", company_id=acme)
    make_contact(app, ws_a, "Mary Jones", company_id=acme)
    make_contact(app, ws_a, "John Smith")  # same name, no company: not enough
    make_contact(app, ws_b, "Ann in Beta", emails=["ann@example.com"])
    auth.login(ws_a.email, ws_a.password)
    assert scan(client, ws_a).status_code == 303
    pairs = pairs_of(app, ws_a)
    assert [(a, b, reason, score) for a, b, reason, score, _group in pairs] == [
        (ann, ann_work, "email", 100),
        (ann_work, ann_phone, "phone", 95),
        (john, jon, "name", pairs[2][3]),
    ]
    assert 79 <= pairs[2][3] <= 90
    assert {group for *_, group in pairs[:2]} == {ann}  # linked through A. Lee: one group
    assert pairs[2][4] == john
    page = client.get(url(ws_a)).get_data(as_text=True)
    assert "Same email address: ann@example.com" in page and "Similar name, same company: Acme Ltd" in page
    assert "Ann in Beta" not in page and "Mary Jones" not in page
    assert page.index("Same email address") < page.index("Same phone number") < page.index("Similar name")


def test_an_address_many_contacts_share_pairs_nobody(app, ws_a):
    from crm.duplicates.finder import MAX_SHARED
    from crm.duplicates.service import scan as scan_now

    for number in range(MAX_SHARED + 1):
        make_contact(app, ws_a, f"Shop {number}", emails=["info@mall.example.com"])
    with app.app_context(), workspace_scope(ws_a.id):
        assert scan_now() == 0


def test_trashed_contacts_are_not_duplicates(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"])
    make_contact(app, ws_a, "Ann Again", emails=["ann@example.com"])
    auth.login(ws_a.email, ws_a.password)
    post(client, f"/w/{ws_a.slug}/contacts/{ann}/delete", {})
    scan(client, ws_a)
    assert pairs_of(app, ws_a) == []


def test_saving_a_contact_finds_its_duplicates_at_once(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"])
    auth.login(ws_a.email, ws_a.password)
    response = post(client, f"/w/{ws_a.slug}/contacts/", {"name": "Ann L", "emails": "ANN@example.com"})
    assert response.status_code == 303
    new = int(response.headers["Location"].rsplit("/", 1)[1])
    assert [(a, b, reason) for a, b, reason, *_ in pairs_of(app, ws_a)] == [(ann, new, "email")]
    post(client, f"/w/{ws_a.slug}/contacts/{new}", {"name": "Ann L", "emails": "other@example.com"})
    assert pairs_of(app, ws_a) == []  # no longer alike


def test_not_the_same_stays_dismissed_after_the_next_scan(app, client, auth, ws_a):
    make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"])
    make_contact(app, ws_a, "Ann's husband", emails=["ann@example.com"])
    auth.login(ws_a.email, ws_a.password)
    scan(client, ws_a)
    with app.app_context(), workspace_scope(ws_a.id):
        pair_id = db.session.scalar(sa.select(DuplicatePair.id))
    response = post(
        client, url(ws_a, f"{pair_id}/dismiss"), {}, headers={"HX-Request": "true", "HX-Target": f"pair-{pair_id}"}
    )
    assert response.status_code == 200 and response.get_data(as_text=True) == ""  # the row goes away
    scan(client, ws_a)
    assert pairs_of(app, ws_a) == [] and len(pairs_of(app, ws_a, dismissed=True)) == 1
    assert "No possible duplicates found." in client.get(url(ws_a)).get_data(as_text=True)


def test_the_list_pages_without_n_plus_1(app, client, auth, ws_a):
    for number in range(60):
        make_contact(
            app, ws_a, f"Person {number}", emails=[f"p{number}@example.com"], phones=["+16502530000"][: number % 1]
        )
        make_contact(app, ws_a, f"Person {number} bis", emails=[f"p{number}@example.com"])
    auth.login(ws_a.email, ws_a.password)
    scan(client, ws_a)
    client.get(url(ws_a))
    with count_queries(app) as queries:
        page = client.get(url(ws_a)).get_data(as_text=True)
    assert page.count('<tr id="pair-') == 50
    assert len(queries) <= 4, queries  # membership, pairs with both contacts, recent merges
    more = re.search(r'data-hx-get="([^"]+after=[^"]+)"', page).group(1).replace("&amp;", "&")
    rest = client.get(more, headers={"HX-Request": "true", "HX-Target": "more-pairs"}).get_data(as_text=True)
    assert rest.count('<tr id="pair-') == 10 and "<html" not in rest


def test_the_warning_while_typing_a_new_contact(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], phones=["+8613800138000"])
    make_contact(app, ws_a, "John Smith", company_id=acme)
    auth.login(ws_a.email, ws_a.password)
    check = url(ws_a, "check")
    by_email = client.get(check, query_string={"name": "A", "emails": "Ann@Example.com"}).get_data(as_text=True)
    assert f"/contacts/{ann}" in by_email and "same email address" in by_email
    by_phone = client.get(check, query_string={"phones": "138 0013 8000", "name": "x"})
    assert "same phone number" not in by_phone.get_data(as_text=True)  # read in the workspace's region (US)
    by_phone = client.get(check, query_string={"phones": "+86 138 0013 8000"}).get_data(as_text=True)
    assert "same phone number" in by_phone
    by_name = client.get(check, query_string={"name": "Jon Smith", "company_id": acme}).get_data(as_text=True)
    assert "similar name in Acme Ltd" in by_name
    nothing = client.get(check, query_string={"name": "Zed", "emails": "zed@example.com, not an email"})
    assert nothing.status_code == 200 and "alert" not in nothing.get_data(as_text=True)
    form = client.get(f"/w/{ws_a.slug}/contacts/new").get_data(as_text=True)
    assert f'data-hx-get="{check}"' in form and 'id="duplicate-warning"' in form


def _pair(app, ws):
    company = make_company(app, ws, "Acme Ltd")
    keep = make_contact(app, ws, "Ann Lee", emails=["ann@example.com"], title="Buyer", tags=["fair"],
                        birthday=date(1990, 5, 1))  # fmt: skip
    other = make_contact(app, ws, "Ann Lee-Wong", emails=["ann@example.com", "ann.w@example.com"],
                         phones=["+16502530000"], company_id=company, title="Head buyer", tags=["vip"])  # fmt: skip
    return keep, other, company


def test_merge_keeps_chosen_values_and_moves_everything(app, client, auth, ws_a):
    keep, other, company = _pair(app, ws_a)
    make_activity(app, ws_a, other, "Called about the order")
    make_purchase(app, ws_a, other, "Tea", amount=250)
    make_purchase(app, ws_a, keep, "Cups", amount=50)
    deal = make_deal(app, ws_a, "Tea for the office", contact_id=other)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(url(ws_a, f"merge/{keep}/{other}")).get_data(as_text=True)
    assert "Head buyer" in page and "Buyer" in page and 'name="pick_title"' in page
    assert 'name="pick_name"' in page
    assert re.search(r'checked id="pick_company_id-1"', page)  # the filled value is chosen unless changed
    response = post(client, url(ws_a, f"merge/{keep}/{other}"),
                    {"survivor": keep, "pick_name": keep, "pick_title": other})  # fmt: skip
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/contacts/{keep}")
    kept = contact_of(app, ws_a, keep)
    assert (kept.name, kept.title, kept.company_id, kept.birthday) == (
        "Ann Lee",
        "Head buyer",
        company,
        date(1990, 5, 1),
    )
    assert kept.emails == ["ann@example.com", "ann.w@example.com"] and kept.phones == ["+16502530000"]
    assert sorted(tag.name for tag in kept.tags) == ["fair", "vip"]
    assert kept.lifetime_value == 300
    with app.app_context(), workspace_scope(ws_a.id):
        assert set(db.session.scalars(sa.select(Activity.contact_id))) == {keep}
        assert set(db.session.scalars(sa.select(Purchase.contact_id))) == {keep}
        assert db.session.get(Deal, deal).contact_id == keep
        assert db.session.get(Contact, other).deleted_at is not None
        identities = set(db.session.execute(sa.select(ContactIdentity.kind, ContactIdentity.value)
                                            .where(ContactIdentity.contact_id == keep)).all())  # fmt: skip
        assert ("email", "ann.w@example.com") in identities and ("phone", "+16502530000") in identities
        actions = list(db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action == "contact.merged")))
        assert actions == ["contact.merged"]
    assert client.get(f"/w/{ws_a.slug}/contacts/{other}").status_code == 404
    trash = client.get(f"/w/{ws_a.slug}/contacts/trash").get_data(as_text=True)
    assert "Ann Lee-Wong" not in trash and "undo the merge" in trash  # it comes back by undoing the merge


def test_undo_puts_both_contacts_back(app, client, auth, ws_a):
    keep, other, _company = _pair(app, ws_a)
    activity = make_activity(app, ws_a, other, "Called about the order")
    make_purchase(app, ws_a, other, "Tea", amount=250)
    deal = make_deal(app, ws_a, "Tea for the office", contact_id=other)
    auth.login(ws_a.email, ws_a.password)
    post(client, url(ws_a, f"merge/{keep}/{other}"), {"survivor": keep, "pick_name": keep, "pick_title": other})
    make_activity(app, ws_a, keep, "Logged after the merge")
    with app.app_context(), workspace_scope(ws_a.id):
        merge_id = db.session.scalar(sa.select(ContactMerge.id))
    index = client.get(url(ws_a)).get_data(as_text=True)
    assert "Ann Lee-Wong into Ann Lee" in index and f"merges/{merge_id}/undo" in index
    response = post(client, url(ws_a, f"merges/{merge_id}/undo"), {})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/contacts/{other}")
    kept, back = contact_of(app, ws_a, keep), contact_of(app, ws_a, other)
    assert (kept.title, kept.emails, kept.phones, [t.name for t in kept.tags]) == (
        "Buyer",
        ["ann@example.com"],
        [],
        ["fair"],
    )
    assert kept.lifetime_value == 0 and back.lifetime_value == 250 and back.deleted_at is None
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Activity, activity).contact_id == other
        assert db.session.get(Deal, deal).contact_id == other
        assert (
            db.session.scalar(sa.select(Activity.contact_id).where(Activity.body == "Logged after the merge")) == keep
        )
        assert db.session.get(ContactMerge, merge_id).undone_at is not None
        assert db.session.scalar(sa.select(sa.func.count()).where(AuditEntry.action == "contact.merge_undone")) == 1
    again = post(client, url(ws_a, f"merges/{merge_id}/undo"), {})
    assert again.status_code == 303 and "can no longer be undone" in client.get(url(ws_a)).get_data(as_text=True)


def ticket_owner(app, ws, ticket_id: int) -> int:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.get(Ticket, ticket_id).contact_id


def test_the_tickets_move_with_the_merge_and_back_with_its_undo(app, client, auth, ws_a):
    keep = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"])
    other = make_contact(app, ws_a, "Ann L", emails=["ann@example.com"])
    ticket_id, _token = make_ticket(app, ws_a, other, subject="Cup broken XYZ", requester_email="ann@example.com")
    make_ticket(app, ws_a, other, subject="Lid missing")
    auth.login(ws_a.email, ws_a.password)
    page = client.get(url(ws_a, f"merge/{keep}/{other}")).get_data(as_text=True)
    assert "deals and tickets move to the kept record" in page
    assert re.search(r"<th scope=\"row\">Tickets</th><td>—</td><td>2 tickets</td>", page)
    post(client, url(ws_a, f"merge/{keep}/{other}"), {"survivor": keep})
    assert ticket_owner(app, ws_a, ticket_id) == keep
    kept_page = client.get(f"/w/{ws_a.slug}/contacts/{keep}").get_data(as_text=True)
    assert "2 open tickets:" in kept_page and "Cup broken XYZ" in kept_page and "Lid missing" in kept_page
    with app.app_context(), workspace_scope(ws_a.id):
        number = db.session.get(Ticket, ticket_id).number
        merge_id = db.session.scalar(sa.select(ContactMerge.id))
    ticket_page = client.get(f"/w/{ws_a.slug}/tickets/{number}").get_data(as_text=True)
    assert f'href="/w/{ws_a.slug}/contacts/{keep}">Ann Lee</a>' in ticket_page
    assert f'/contacts/{other}"' not in ticket_page
    index = client.get(url(ws_a)).get_data(as_text=True)
    assert "comes back with its own activities, purchases, deals and tickets." in index
    post(client, url(ws_a, f"merges/{merge_id}/undo"), {})
    assert ticket_owner(app, ws_a, ticket_id) == other
    assert "Cup broken XYZ" not in client.get(f"/w/{ws_a.slug}/contacts/{keep}").get_data(as_text=True)
    assert "Cup broken XYZ" in client.get(f"/w/{ws_a.slug}/contacts/{other}").get_data(as_text=True)


def test_the_merge_page_counts_tickets_only_for_members_who_see_them(app, client, auth, ws_a):
    keep, other, _company = _pair(app, ws_a)
    make_ticket(app, ws_a, keep, subject="Cup broken")
    role = make_role(app, ws_a, "Merger", permissions=("contacts.read", "contacts.write", "contacts.delete"))
    member = make_member(app, ws_a, "merger@alpha.example.com")
    from tests.factories import assign_role

    assign_role(app, ws_a, member.membership_id, role)
    auth.login(member.email, member.password)
    response = client.get(url(ws_a, f"merge/{keep}/{other}"))
    assert response.status_code == 200 and "Head buyer" in response.get_data(as_text=True)
    assert ">Tickets</th>" not in response.get_data(as_text=True)


def _passports(app, ws, keep_value: str, other_value: str) -> tuple[int, int, int]:
    field_id = make_custom_field(app, ws, "Passport", sensitive=True)
    keep = make_contact(app, ws, "Ann Lee", emails=["ann@example.com"])
    other = make_contact(app, ws, "Ann L", emails=["ann@example.com"])
    set_custom_value(app, ws, keep, field_id, keep_value)
    set_custom_value(app, ws, other, field_id, other_value)
    return keep, other, field_id


def revealed(client, ws, contact_id: int, field_id: int) -> str:
    return post(client, f"/w/{ws.slug}/reveal/contact/{contact_id}/{field_id}", {}).get_data(as_text=True)


def test_a_member_who_sees_sensitive_details_chooses_a_sensitive_value_without_seeing_it(app, client, auth, ws_a):
    keep, other, field_id = _passports(app, ws_a, "OLD-111", "NEW-222")
    auth.login(ws_a.email, ws_a.password)
    page = html.unescape(client.get(url(ws_a, f"merge/{keep}/{other}")).get_data(as_text=True))
    assert 'name="pick_cf_passport"' in page and "OLD-111" not in page and "NEW-222" not in page
    chosen = (
        rf'checked id="pick_cf_passport-0"[^>]*>\s*<label for="pick_cf_passport-0"><span id="reveal-contact-{keep}-'
    )
    assert re.search(chosen + rf'{field_id}">Ann Lee\'s value</span></label>', page)  # the survivor's unless changed
    assert f'<span id="reveal-contact-{other}-{field_id}">Ann L\'s value</span>' in page
    assert f'action="/w/{ws_a.slug}/reveal/contact/{other}/{field_id}"' in page
    assert 'Reveal<span class="visually-hidden"> Passport, Ann L</span>' in page
    assert "NEW-222" in revealed(client, ws_a, other, field_id)  # logged as on the contact's page
    post(client, url(ws_a, f"merge/{keep}/{other}"), {"survivor": keep, "pick_cf_passport": other})
    assert "NEW-222" in revealed(client, ws_a, keep, field_id)


def test_equal_sensitive_values_are_not_a_choice(app, client, auth, ws_a):
    keep, other, field_id = _passports(app, ws_a, "SAME-1", "SAME-1")  # two ciphertexts of one value
    auth.login(ws_a.email, ws_a.password)
    page = client.get(url(ws_a, f"merge/{keep}/{other}")).get_data(as_text=True)
    assert 'name="pick_cf_passport"' not in page and page.count(f'-{field_id}">••••••</span>') == 2


def test_a_member_who_may_not_see_sensitive_details_is_told_the_other_value_stays_in_the_trash(app, client, auth, ws_a):
    keep, other, field_id = _passports(app, ws_a, "OLD-111", "NEW-222")
    role = make_role(app, ws_a, "Merger", permissions=("contacts.read", "contacts.write", "contacts.delete"))
    member = make_member(app, ws_a, "merger@alpha.example.com")
    from tests.factories import assign_role

    assign_role(app, ws_a, member.membership_id, role)
    auth.login(member.email, member.password)
    page = html.unescape(client.get(url(ws_a, f"merge/{keep}/{other}")).get_data(as_text=True))
    assert 'name="pick_cf_passport"' not in page and "Reveal" not in page and "Ann L's value" not in page
    assert "<td>••••••</td><td>••••••</td>" in page
    assert (
        "Passport is hidden from you: the record you keep keeps its own, and the other record's stays with it "
        "in the trash." in page
    )
    assert "Birthday and address are hidden from you: the record you keep keeps its own" in page
    post(client, url(ws_a, f"merge/{keep}/{other}"), {"survivor": keep, "pick_cf_passport": other})  # no such choice
    auth.logout()
    auth.login(ws_a.email, ws_a.password)
    assert "OLD-111" in revealed(client, ws_a, keep, field_id)
    with app.app_context(), workspace_scope(ws_a.id):
        merge_id = db.session.scalar(sa.select(ContactMerge.id))
    post(client, url(ws_a, f"merges/{merge_id}/undo"), {})
    assert "NEW-222" in revealed(client, ws_a, other, field_id)  # back from the trash with its own


def test_the_custom_values_a_merge_takes_are_in_the_survivors_history(app, client, auth, ws_a):
    from tests.test_change_history import history_of

    keep, other, _field_id = _passports(app, ws_a, "OLD-111", "NEW-222")
    plan = make_custom_field(app, ws_a, "Plan")
    set_custom_value(app, ws_a, keep, plan, "Basic")
    set_custom_value(app, ws_a, other, plan, "Pro")
    seats = make_custom_field(app, ws_a, "Seats", kind="number")
    set_custom_value(app, ws_a, other, seats, 12)  # the survivor has none: filled
    auth.login(ws_a.email, ws_a.password)
    data = {"survivor": keep, "pick_cf_plan": other, "pick_cf_passport": other, "pick_name": keep}
    post(client, url(ws_a, f"merge/{keep}/{other}"), data)
    history = history_of(client.get(f"/w/{ws_a.slug}/contacts/{keep}").get_data(as_text=True))
    assert '<span class="field-name">Plan</span>: <del>Basic</del> → <ins>Pro</ins>' in history
    assert '<span class="field-name">Seats</span>: <ins>12</ins>' in history
    assert '<span class="field-name">Passport</span>: <del>••••••</del> → <ins>••••••</ins>' in history
    assert "NEW-222" not in history and "OLD-111" not in history
    with app.app_context(), workspace_scope(ws_a.id):
        merge_id = db.session.scalar(sa.select(ContactMerge.id))
    post(client, url(ws_a, f"merges/{merge_id}/undo"), {})
    history = history_of(client.get(f"/w/{ws_a.slug}/contacts/{keep}").get_data(as_text=True))
    assert '<span class="field-name">Plan</span>: <del>Pro</del> → <ins>Basic</ins>' in history
    assert '<span class="field-name">Seats</span>: <del>12</del>' in history


def custom_values(app, ws, contact_id: int) -> dict:
    with app.app_context(), workspace_scope(ws.id):
        return dict(db.session.get(Contact, contact_id).custom)


def test_undoing_a_merge_keeps_custom_values_changed_since_and_brings_back_no_deleted_field(app, client, auth, ws_a):
    keep = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"])
    other = make_contact(app, ws_a, "Ann L", emails=["ann@example.com"])
    plan, region = make_custom_field(app, ws_a, "Plan"), make_custom_field(app, ws_a, "Region")
    notes = make_custom_field(app, ws_a, "Old notes")
    set_custom_value(app, ws_a, keep, plan, "Basic")
    set_custom_value(app, ws_a, other, plan, "Pro")
    set_custom_value(app, ws_a, keep, region, "North")
    set_custom_value(app, ws_a, keep, notes, "Owes us money")
    auth.login(ws_a.email, ws_a.password)
    post(client, url(ws_a, f"merge/{keep}/{other}"), {"survivor": keep, "pick_cf_plan": other})
    set_custom_value(app, ws_a, keep, region, "South")  # edited after the merge, which did not touch it
    assert (
        post(client, f"/w/{ws_a.slug}/settings/custom-fields/{notes}/delete", {"confirmed": "yes"}).status_code == 303
    )
    with app.app_context(), workspace_scope(ws_a.id):
        merge_id = db.session.scalar(sa.select(ContactMerge.id))
    assert post(client, url(ws_a, f"merges/{merge_id}/undo"), {}).status_code == 303
    assert custom_values(app, ws_a, keep) == {"plan": "Basic", "region": "South"}
    make_custom_field(app, ws_a, "Old notes")  # the same key again: a new field, empty
    page = client.get(f"/w/{ws_a.slug}/contacts/{keep}").get_data(as_text=True)
    assert "Owes us money" not in page


def test_a_merge_older_than_seven_days_cannot_be_undone(app, client, auth, ws_a):
    keep, other, _company = _pair(app, ws_a)
    merge_id = make_merge(app, ws_a, keep, other)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(ContactMerge, merge_id).created_at = utcnow() - timedelta(days=8)
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    assert f"merges/{merge_id}/undo" not in client.get(url(ws_a)).get_data(as_text=True)
    post(client, url(ws_a, f"merges/{merge_id}/undo"), {})
    assert contact_of(app, ws_a, other).deleted_at is not None


def test_bad_merge_input_changes_nothing(app, client, auth, ws_a):
    keep, other, _company = _pair(app, ws_a)
    stranger = make_contact(app, ws_a, "Stranger")
    auth.login(ws_a.email, ws_a.password)
    for data in ({"survivor": stranger}, {"survivor": keep, "pick_title": stranger}, {}):
        response = post(client, url(ws_a, f"merge/{keep}/{other}"), data)
        assert response.status_code == 422, data
        assert 'class="error"' in response.get_data(as_text=True) or "alert error" in response.get_data(as_text=True)
    assert client.get(url(ws_a, f"merge/{keep}/{keep}")).status_code == 404
    assert contact_of(app, ws_a, other).deleted_at is None and contact_of(app, ws_a, keep).title == "Buyer"


def test_who_may_see_merge_and_dismiss(app, client, auth, ws_a):
    keep, other, _company = _pair(app, ws_a)
    sales = make_member(app, ws_a, "sales@alpha.example.com", role="sales")
    viewer = make_member(app, ws_a, "viewer@alpha.example.com", role="viewer")
    auth.login(ws_a.email, ws_a.password)
    scan(client, ws_a)
    auth.logout()
    auth.login(sales.email, sales.password)  # writes contacts but may not delete them
    assert client.get(url(ws_a)).status_code == 200
    assert client.get(url(ws_a, f"merge/{keep}/{other}")).status_code == 403
    assert post(client, url(ws_a, f"merge/{keep}/{other}"), {"survivor": keep}).status_code == 403
    auth.logout()
    auth.login(viewer.email, viewer.password)
    assert "Compare and merge" not in client.get(url(ws_a)).get_data(as_text=True)
    assert scan(client, ws_a).status_code == 403
    assert client.get(url(ws_a, "check"), query_string={"name": "Ann"}).status_code == 403
    assert contact_of(app, ws_a, other).deleted_at is None


def test_a_member_limited_to_own_records_sees_only_pairs_of_their_contacts(app, client, auth, ws_a):
    role = make_role(app, ws_a, "Own", permissions=("contacts.read", "contacts.write", "contacts.delete"),
                     record_scope="own")  # fmt: skip
    member = make_member(app, ws_a, "own@alpha.example.com")
    from tests.factories import assign_role

    assign_role(app, ws_a, member.membership_id, role)
    mine = make_contact(app, ws_a, "Mine", emails=["m@example.com"], owner_id=member.membership_id)
    make_contact(app, ws_a, "Not mine", emails=["m@example.com"])
    theirs = make_contact(app, ws_a, "Theirs", emails=["t@example.com"])
    make_contact(app, ws_a, "Theirs too", emails=["t@example.com"])
    auth.login(member.email, member.password)
    scan(client, ws_a)
    assert len(pairs_of(app, ws_a)) == 2
    page = client.get(url(ws_a)).get_data(as_text=True)
    assert "Theirs" not in page and "Not mine" not in page
    assert client.get(url(ws_a, f"merge/{mine}/{theirs}")).status_code == 404
    warning = client.get(url(ws_a, "check"), query_string={"emails": "t@example.com"}).get_data(as_text=True)
    assert "Theirs" not in warning


def test_an_import_looks_for_duplicates_when_it_finishes(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    john = make_contact(app, ws_a, "John Smith", company_id=acme)
    auth.login(ws_a.email, ws_a.password)
    job = import_id_of(upload(client, ws_a, "Name,Company\nJon Smith,Acme Ltd\n"))
    post(client, imports_url(ws_a, f"{job}/check"), {"column_0": "name", "column_1": "company", "mode": "create",
                                                      "match_by": "email"})  # fmt: skip
    post(client, imports_url(ws_a, f"{job}/run"), {})
    assert [(a, reason) for a, _b, reason, *_ in pairs_of(app, ws_a)] == [(john, "name")]


def test_the_nightly_command_scans_every_workspace(app, ws_a, ws_b):
    make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"])
    make_contact(app, ws_a, "Ann L", emails=["ann@example.com"])
    make_contact(app, ws_b, "Bo", phones=["+16502530000"])
    make_contact(app, ws_b, "Bo B", phones=["+16502530000"])
    make_contact(app, ws_b, "Bo C", phones=["+16502530000"])
    result = app.test_cli_runner().invoke(args=["crm", "find-duplicates"])
    assert result.exit_code == 0, result.output
    assert "Alpha Trading: 1 possible duplicate pair(s)." in result.output
    assert "Beta Foods: 3 possible duplicate pair(s)." in result.output
    assert {group for *_, group in pairs_of(app, ws_b)} == {min(a for a, *_ in pairs_of(app, ws_b))}


def test_many_people_of_one_name_in_a_company_give_a_bounded_number_of_pairs(app, ws_a):
    from crm.duplicates.finder import MAX_SHARED
    from crm.duplicates.service import scan as scan_now

    acme = make_company(app, ws_a, "Acme Ltd")
    for _number in range(MAX_SHARED * 2 + 5):
        make_contact(app, ws_a, "Wang Wei", company_id=acme)
    with app.app_context(), workspace_scope(ws_a.id):
        found = scan_now()
    assert 0 < found <= (MAX_SHARED * 2 + 5) * MAX_SHARED < (MAX_SHARED * 2 + 5) * (MAX_SHARED * 2 + 4) // 2


def test_a_contact_restored_from_the_trash_is_paired_with_its_look_alike_at_once(app, client, auth, ws_a):
    old = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"])
    auth.login(ws_a.email, ws_a.password)
    post(client, f"/w/{ws_a.slug}/contacts/{old}/delete", {})
    created = post(client, f"/w/{ws_a.slug}/contacts/", {"name": "Ann Lee", "emails": "ann@example.com"})
    new = int(created.headers["Location"].rsplit("/", 1)[1])
    assert pairs_of(app, ws_a) == []  # the old Ann was in the trash
    restored = post(client, f"/w/{ws_a.slug}/contacts/trash/restore", {"kind": "contacts", "ids": str(old)})
    assert restored.status_code == 303
    assert [(a, b, reason) for a, b, reason, *_ in pairs_of(app, ws_a)] == [(old, new, "email")]
    page = client.get(url(ws_a)).get_data(as_text=True)
    assert "Same email address: ann@example.com" in page
    assert f'href="/w/{ws_a.slug}/contacts/{old}"' in page and f'href="/w/{ws_a.slug}/contacts/{new}"' in page


def test_many_contacts_restored_are_paired_by_a_scan_in_the_background(app, client, auth, ws_a, monkeypatch):
    monkeypatch.setattr("crm.contacts.trash.REFRESHED_AT_ONCE", 1)
    ann, bo = (make_contact(app, ws_a, name, emails=[email])
               for name, email in (("Ann Lee", "ann@example.com"), ("Bo Chen", "bo@example.com")))  # fmt: skip
    auth.login(ws_a.email, ws_a.password)
    post(client, f"/w/{ws_a.slug}/contacts/bulk", {"action": "delete", "ids": [str(ann), str(bo)]})
    new_ann, new_bo = (make_contact(app, ws_a, name, emails=[email])
                       for name, email in (("Ann L.", "ann@example.com"), ("Bo C.", "bo@example.com")))  # fmt: skip
    post(client, f"/w/{ws_a.slug}/contacts/trash/restore", {"kind": "contacts", "ids": [str(ann), str(bo)]})
    assert [(a, b) for a, b, *_ in pairs_of(app, ws_a)] == [(ann, new_ann), (bo, new_bo)]  # the scan job ran inline
    page = client.get(url(ws_a)).get_data(as_text=True)
    assert "Same email address: ann@example.com" in page and "Same email address: bo@example.com" in page


def test_a_whole_trash_restored_in_the_background_is_paired_when_the_job_ends(app, client, auth, ws_a, monkeypatch):
    monkeypatch.setattr("crm.contacts.bulk.MAX_AT_ONCE", 1)
    ann, bo = (make_contact(app, ws_a, name, emails=[email])
               for name, email in (("Ann Lee", "ann@example.com"), ("Bo Chen", "bo@example.com")))  # fmt: skip
    auth.login(ws_a.email, ws_a.password)
    post(client, f"/w/{ws_a.slug}/contacts/bulk", {"action": "delete", "ids": [str(ann), str(bo)]})
    new_ann = make_contact(app, ws_a, "Ann L.", emails=["ann@example.com"])
    response = post(client, f"/w/{ws_a.slug}/contacts/trash/restore", {"kind": "contacts", "scope": "all"},
                    headers={"HX-Request": "true", "HX-Target": "trash-results"})  # fmt: skip
    assert "restored in the background" in response.headers["HX-Trigger"]
    assert [(a, b) for a, b, *_ in pairs_of(app, ws_a)] == [(ann, new_ann)]
    assert "Same email address: ann@example.com" in client.get(url(ws_a)).get_data(as_text=True)


def test_a_level_set_by_hand_on_the_merged_contact_stays_with_the_person(app, client, auth, ws_a):
    keep = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"])
    other = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"])
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Contact, other).level, db.session.get(Contact, other).level_pinned = "vip", True
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    response = post(client, url(ws_a, f"merge/{keep}/{other}"), {"survivor": keep, "pick_name": keep})
    assert response.status_code == 303
    kept = contact_of(app, ws_a, keep)
    assert (kept.level, kept.level_pinned) == ("vip", True)  # not the rules' "ordinary"
    page = client.get(f"/w/{ws_a.slug}/contacts/{keep}").get_data(as_text=True)
    assert "VIP" in page
    with app.app_context(), workspace_scope(ws_a.id):
        merge_id = db.session.scalar(sa.select(ContactMerge.id))
    post(client, url(ws_a, f"merges/{merge_id}/undo"), {})
    kept, back = contact_of(app, ws_a, keep), contact_of(app, ws_a, other)
    assert (kept.level, kept.level_pinned) == ("ordinary", False)  # the undo gives the rules' level back
    assert (back.level, back.level_pinned) == ("vip", True)
