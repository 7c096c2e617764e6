"""Contacts: create, validate, search as you type, keyset pages, inline edit, trash and restore,
record scope, sensitive details, and the number of queries of the list and detail pages."""

import html
import re
import time
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.contacts.models import Contact
from crm.contacts.queries import PER_PAGE
from crm.db import utcnow
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.conftest import post, sent_by_browser
from tests.factories import (
    assign_role,
    make_activity,
    make_company,
    make_contact,
    make_custom_field,
    make_member,
    make_purchase,
    make_role,
    make_saved_view,
    make_user,
    set_custom_value,
)
from tests.query_counter import count_queries
from tests.test_pages import assert_valid_page

DETAILS = {"HX-Request": "true", "HX-Target": "contact-details"}
RESULTS = {"HX-Request": "true", "HX-Target": "contact-results"}


def contacts_url(ws, rest: str = "") -> str:
    return f"/w/{ws.slug}/contacts/{rest}"


def stored(app, ws, contact_id: int) -> Contact:
    with app.app_context(), workspace_scope(ws.id):
        contact = db.session.get(Contact, contact_id)
        db.session.expunge(contact)
        return contact


def names(app, ws) -> list[str]:
    with app.app_context(), workspace_scope(ws.id):
        return list(db.session.scalars(sa.select(Contact.name).order_by(Contact.id)))


def audit_actions(app, ws, record_id: int) -> list[tuple[str, dict]]:
    with app.app_context(), workspace_scope(ws.id):
        entries = db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.record_type == "contact", AuditEntry.record_id == record_id)
        )
        return [(entry.action, entry.changes) for entry in entries]


def test_create_contact_normalises_emails_and_phones(app, client, auth, ws_a):
    company_id = make_company(app, ws_a, "Acme Ltd")
    auth.login(ws_a.email, ws_a.password)
    form = client.get(contacts_url(ws_a, "new")).get_data(as_text=True)
    assert '<label for="name">' in form and "Acme Ltd</option>" in form
    response = post(
        client,
        contacts_url(ws_a),
        {
            "name": "  Ann   Lee ",
            "emails": "Ann.Lee@Example.COM\nann@example.org, Ann.Lee@example.com",
            "phones": "(650) 253-0000\n+86 138 0013 8000",
            "company_id": str(company_id),
            "lifecycle": "lead",
            "tags": "Trade fair, wholesale, trade fair",
            "owner_id": "",
            "gender": "",
        },
    )
    assert response.status_code == 303
    contact_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    contact = stored(app, ws_a, contact_id)
    assert contact.name == "Ann   Lee".strip()  # inner spacing is the user's; only the ends are trimmed
    assert contact.emails == ["ann.lee@example.com", "ann@example.org"]
    assert contact.phones == ["+16502530000", "+8613800138000"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "(650) 253-0000" in page  # the workspace's region (US) in national form
    assert "+86 138 0013 8000" in page  # other countries in international form
    assert ">trade fair</a>" in page and ">wholesale</a>" in page
    assert "Contact Ann   Lee added." in page
    [(action, changes)] = audit_actions(app, ws_a, contact_id)
    assert action == "contact.created"
    assert changes["emails"] == [None, ["ann.lee@example.com", "ann@example.org"]]
    assert changes["tags"] == [None, ["trade fair", "wholesale"]]


def test_an_inline_edit_sends_the_summary_again_and_details_do_not_repeat_it(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    make_purchase(app, ws_a, contact_id, amount=25000)  # VIP by the rules
    auth.login(ws_a.email, ws_a.password)
    form = {"name": "Ann Lee", "lifecycle": "new", "level": "ordinary"}
    body = post(client, contacts_url(ws_a, str(contact_id)), form, headers=DETAILS).get_data(as_text=True)
    details, summary = body.split("</section>", 1)
    assert "Lifetime value" not in details and "Customer level" not in details
    assert '<section id="contact-summary"' in summary and 'data-hx-swap-oob="true"' in summary
    assert "Ordinary · set by hand" in summary and "$25,000.00" in summary


def test_bad_input_is_refused_with_messages_and_nothing_saved(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    response = post(
        client,
        contacts_url(ws_a),
        {"name": "   ", "emails": "not-an-email", "phones": "12", "lifecycle": "lead", "gender": "robot"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter a name." in page
    assert "not-an-email:" in page
    assert "12 is not a valid phone number." in page or "12 is not a phone number." in page
    assert 'aria-invalid="true"' in page
    assert names(app, ws_a) == []
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    response = post(client, contacts_url(ws_a), {"name": "Ann Lee", "lifecycle": "lead", "country": "ZZ",
                                                 "birthday": tomorrow})  # fmt: skip
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Not a country code" in page and "cannot be in the future" in page
    assert names(app, ws_a) == []
    response = post(client, f"/w/{ws_a.slug}/companies/", {"name": "Acme", "country": "XX"})
    assert response.status_code == 422 and "Not a country code" in response.get_data(as_text=True)
    created = post(client, contacts_url(ws_a), {"name": "Ann Lee", "lifecycle": "lead", "country": "fi"})
    assert created.status_code == 303 and names(app, ws_a) == ["Ann Lee"]


def test_a_bad_email_is_explained_in_the_members_language(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    form = {"name": "Ann", "emails": "bad-email", "lifecycle": "lead"}
    english = post(client, contacts_url(ws_a), form).get_data(as_text=True)
    assert "bad-email: An email address must have an @-sign." in english  # email-validator's reason
    chinese = post(client, contacts_url(ws_a), form, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert chinese.status_code == 422
    assert "不是有效的电子邮件地址" in chinese.get_data(as_text=True)
    assert "must have an @-sign" not in chinese.get_data(as_text=True)
    assert names(app, ws_a) == []


def test_a_company_of_another_workspace_cannot_be_linked(app, client, auth, ws_a, ws_b):
    foreign = make_company(app, ws_b, "Beta Secret Corp")
    auth.login(ws_a.email, ws_a.password)
    response = post(client, contacts_url(ws_a), {"name": "Ann", "company_id": str(foreign), "lifecycle": "lead"})
    assert response.status_code == 422
    assert "Beta Secret Corp" not in response.get_data(as_text=True)
    assert names(app, ws_a) == []


def test_search_as_you_type_by_name_email_phone_and_company(app, client, auth, ws_a, ws_b):
    acme = make_company(app, ws_a, "Acme Widgets")
    make_contact(app, ws_a, "Ann Lee", emails=["ann@lee.example"], phones=["+16502530000"], company_id=acme)
    make_contact(app, ws_a, "王小明", emails=["xm@example.cn"], phones=["+8613800138000"])
    make_contact(app, ws_a, "张伟", emails=["zw@example.cn"])
    make_contact(app, ws_a, "Bob Stone", emails=["bob@stone.example"])
    make_contact(app, ws_b, "Ann Other", emails=["ann@other.example"])
    auth.login(ws_a.email, ws_a.password)

    def found(q: str) -> set[str]:
        response = client.get(contacts_url(ws_a), query_string={"q": q}, headers=RESULTS)
        body = response.get_data(as_text=True)
        assert body.lstrip().startswith('<div id="contact-results">')  # only the results swap
        return {name for name in ("Ann Lee", "王小明", "张伟", "Bob Stone", "Ann Other") if name in body}

    assert found("ann") == {"Ann Lee"}  # never the other workspace's Ann
    assert found("LEE.EXAMPLE") == {"Ann Lee"}
    assert found("253 0000") == {"Ann Lee"}  # digits match however they are spaced
    assert found("650-253") == {"Ann Lee"}
    assert found("widgets") == {"Ann Lee"}  # by company name
    assert found("王小明") == {"王小明"}
    assert found("王") == {"王小明"}  # one Chinese character matches anywhere: a family name...
    assert found("伟") == {"张伟"}  # ...or a one-character given name
    assert found("明") == {"王小明"}
    assert found("ann l") == found("Ann L") == {"Ann Lee"}  # typing the surname's first letter keeps Ann
    assert found("bob l") == set() and found("l") == set()  # alone, one letter is the name's start
    assert found("小明") == {"王小明"}  # two Chinese characters match anywhere (a given name)
    assert found("le") == found("wi") == {"Ann Lee"}  # two Latin letters match the start of a word
    assert found("nn") == set()
    assert found("13800138000") == {"王小明"}
    assert found("ann stone") == set()  # every word must match
    assert found("100%_") == set()  # LIKE wildcards are literal
    assert found("") == {"Ann Lee", "王小明", "张伟", "Bob Stone"}


def test_renaming_a_company_keeps_its_contacts_findable(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Widgets")
    make_contact(app, ws_a, "Ann Lee", company_id=acme)
    auth.login(ws_a.email, ws_a.password)
    post(client, f"/w/{ws_a.slug}/companies/{acme}", {"name": "Zenith Gears", "size": ""})
    page = client.get(contacts_url(ws_a), query_string={"q": "zenith"}).get_data(as_text=True)
    assert "Ann Lee" in page


def test_filters_by_tag_lifecycle_and_owner_live_in_the_url(app, client, auth, ws_a):
    seller = make_member(app, ws_a, "seller@alpha.example.com")
    make_contact(app, ws_a, "Tagged Lead", tags=["vip list"], lifecycle="lead", owner_id=seller.membership_id)
    make_contact(app, ws_a, "Active Untagged", lifecycle="active", owner_id=ws_a.membership_id)
    make_contact(app, ws_a, "Nobody's")
    auth.login(ws_a.email, ws_a.password)

    def listed(**args) -> set[str]:
        body = client.get(contacts_url(ws_a), query_string=args).get_data(as_text=True)
        return {name for name in ("Tagged Lead", "Active Untagged", "Nobody&#39;s") if name in body}

    assert listed(tag="VIP List") == {"Tagged Lead"}
    assert listed(lifecycle="active") == {"Active Untagged"}
    assert listed(owner="me") == {"Active Untagged"}
    assert listed(owner="none") == {"Nobody&#39;s"}
    assert listed(owner=str(seller.membership_id)) == {"Tagged Lead"}
    page = client.get(contacts_url(ws_a), query_string={"lifecycle": "active", "q": "untagged"}).get_data(as_text=True)
    assert 'value="untagged"' in page and '<option value="active" selected>' in page  # reload keeps the state
    # A teammate can be chosen, and a link filtering by one shows whose records these are.
    page = client.get(contacts_url(ws_a), query_string={"owner": str(seller.membership_id)}).get_data(as_text=True)
    assert f'<option value="{seller.membership_id}" selected>Test User</option>' in page
    companies = client.get(f"/w/{ws_a.slug}/companies/", query_string={"owner": str(seller.membership_id)})
    assert f'<option value="{seller.membership_id}" selected>Test User</option>' in companies.get_data(as_text=True)


def test_keyset_pages_and_a_constant_number_of_queries(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme")
    for number in range(PER_PAGE + 5):
        make_contact(app, ws_a, f"Person {number:03d}", company_id=acme, owner_id=ws_a.membership_id, tags=["x"])
    auth.login(ws_a.email, ws_a.password)
    client.get(contacts_url(ws_a))  # warm the session and caches
    with count_queries(app) as queries:
        page = client.get(contacts_url(ws_a)).get_data(as_text=True)
    assert page.count('<tr id="contact-') == PER_PAGE
    assert "Person 054" in page and "Person 004" not in page  # newest first
    assert len(queries) == 3, queries  # user with membership, the page with its names, the owner filter's members
    more = page.split('id="contacts-more"')[1].split('data-hx-get="')[1].split('"')[0].replace("&amp;", "&")
    with count_queries(app) as queries:
        rest = client.get(more, headers={"HX-Request": "true", "HX-Target": "contacts-more"}).get_data(as_text=True)
    assert rest.count('<tr id="contact-') == 5 and "Person 000" in rest and "<html" not in rest
    assert "contacts-more" not in rest  # the last page offers no more
    assert len(queries) == 2, queries
    assert client.get(contacts_url(ws_a), query_string={"after": "garbage"}).status_code == 400


def test_a_searched_list_pages_newest_first(app, client, auth, ws_a):
    for number in range(PER_PAGE + 5):
        make_contact(app, ws_a, f"Searched {number:03d}")
    make_contact(app, ws_a, "Someone else")
    auth.login(ws_a.email, ws_a.password)
    page = client.get(contacts_url(ws_a), query_string={"q": "searched"}).get_data(as_text=True)
    assert page.count('<tr id="contact-') == PER_PAGE and "Someone else" not in page
    assert page.index("Searched 054") < page.index("Searched 053") and "Searched 004" not in page
    more = page.split('id="contacts-more"')[1].split('data-hx-get="')[1].split('"')[0].replace("&amp;", "&")
    rest = client.get(more, headers={"HX-Request": "true", "HX-Target": "contacts-more"}).get_data(as_text=True)
    assert rest.count('<tr id="contact-') == 5 and rest.index("Searched 004") < rest.index("Searched 000")


def test_detail_page_queries_do_not_grow_with_tags_or_timeline(app, client, auth, ws_a):
    plain = make_contact(app, ws_a, "Plain")
    busy = make_contact(app, ws_a, "Busy", tags=[f"tag {n}" for n in range(20)])
    for number in range(15):
        make_activity(app, ws_a, busy, f"call {number}", kind="call", author_id=ws_a.membership_id)
    for number in range(5):
        make_purchase(app, ws_a, busy, f"item {number}", amount=10)
    auth.login(ws_a.email, ws_a.password)

    def queries_for(contact_id: int) -> tuple[int, str]:
        client.get(contacts_url(ws_a, str(contact_id)))
        with count_queries(app) as queries:
            page = client.get(contacts_url(ws_a, str(contact_id))).get_data(as_text=True)
        return len(queries), page

    few, _ = queries_for(plain)
    many, page = queries_for(busy)
    assert "tag 19" in page and "call 14" in page and "item 4" in page
    # member; the contact with its tags; activities, purchases, deal events; changes with the History
    # panel, imports (the timeline's and the panel's), tickets with the head's summary; the deals'
    # summary; the members (task assignees, names): none per row
    assert many == few == 10, (few, many)


def test_inline_edit_validates_and_saves_with_an_audit_of_changes(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], title="Buyer")
    auth.login(ws_a.email, ws_a.password)
    form = client.get(contacts_url(ws_a, f"{contact_id}/edit"), headers=DETAILS).get_data(as_text=True)
    assert form.lstrip().startswith('<section id="contact-details"') and 'value="Buyer"' in form
    bad = post(client, contacts_url(ws_a, str(contact_id)), {"name": "", "lifecycle": "lead"}, headers=DETAILS)
    assert bad.status_code == 422 and "Enter a name." in bad.get_data(as_text=True)
    assert stored(app, ws_a, contact_id).name == "Ann Lee"
    good = post(
        client,
        contacts_url(ws_a, str(contact_id)),
        {"name": "Ann Lee-Wong", "emails": "ann@example.com", "title": "Head buyer", "lifecycle": "active"},
        headers=DETAILS,
    )
    body = good.get_data(as_text=True)
    assert good.status_code == 200 and body.lstrip().startswith('<section id="contact-details"')
    assert "Ann Lee-Wong" in body and "Head buyer" in body
    contact = stored(app, ws_a, contact_id)
    assert (contact.title, contact.lifecycle) == ("Head buyer", "active")
    action, changes = audit_actions(app, ws_a, contact_id)[-1]
    assert action == "contact.updated"
    assert changes["title"] == ["Buyer", "Head buyer"] and changes["name"] == ["Ann Lee", "Ann Lee-Wong"]
    assert "emails" not in changes
    # The timeline and the history come back with the change on them, out of band.
    timeline = body.split('<ol data-hx-swap-oob="afterbegin:#timeline-list">')[1].split("</ol>")[0]
    assert "Head buyer" in timeline and timeline.count('<li id="entry-') == 1  # only what this save changed
    history = body.split('<section id="record-history" class="history"')[1].split("</section>")[0]
    assert 'data-hx-swap-oob="true"' in history and "Head buyer" in history


def test_a_name_changed_in_place_renames_the_page_heading_title_and_buttons(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    auth.login(ws_a.email, ws_a.password)
    good = post(client, contacts_url(ws_a, str(contact_id)), {"name": "Ann Lee-Wong", "lifecycle": "lead"},
                headers=DETAILS)  # fmt: skip
    body = good.get_data(as_text=True)
    assert good.status_code == 200
    assert "<title>Ann Lee-Wong · Kehu CRM</title>" in body  # htmx sets document.title from it
    head = re.search(
        r'<div id="contact-head" class="page-head" data-hx-swap-oob="true">(.*?)\n</div>', body, re.S
    ).group(1)
    assert "<h1>Ann Lee-Wong</h1>" in head
    for button in ("New deal", "New ticket"):
        assert f'{button}<span class="visually-hidden"> for Ann Lee-Wong</span>' in head
    assert 'Delete<span class="visually-hidden"> Ann Lee-Wong</span>' in head and "Delete Ann Lee-Wong?" in head
    assert "Ann Lee<" not in head
    # Opening or cancelling the edit sends the details alone.
    shown = client.get(contacts_url(ws_a, str(contact_id)), headers=DETAILS).get_data(as_text=True)
    assert "contact-head" not in shown and "<title>" not in shown
    page = client.get(contacts_url(ws_a, str(contact_id))).get_data(as_text=True)
    assert '<div id="contact-head" class="page-head">\n  <h1>Ann Lee-Wong</h1>' in page


def test_email_and_phone_columns_show_the_first_of_each(app, client, auth, ws_a):
    make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com", "ann.lee@example.com"],
                 phones=["+14155550100", "+442071838750"])  # fmt: skip
    make_contact(app, ws_a, "Bo Chen")  # neither: empty cells
    auth.login(ws_a.email, ws_a.password)
    page = client.get(contacts_url(ws_a, "?cols=email&cols=phone")).get_data(as_text=True)
    ann_row = next(row for row in page.split("<tr ") if "Ann Lee" in row)
    assert "<td>ann@example.com</td><td>(415) 555-0100</td>" in ann_row
    assert "ann.lee@example.com" not in page and "7183 8750" not in page
    assert "<td></td><td></td>" in next(row for row in page.split("<tr ") if "Bo Chen" in row)
    assert_valid_page(page, "contacts")


def test_names_are_escaped(app, client, auth, ws_a):
    company = make_company(app, ws_a, "Bad <i>Co</i>")
    make_contact(app, ws_a, "<script>alert(1)</script>", title='"Boss" & <b>co</b>', company_id=company,
                 emails=["o'brien@example.com"], source="<img src=x>")  # fmt: skip
    auth.login(ws_a.email, ws_a.password)
    page = client.get(contacts_url(ws_a, "?cols=company&cols=email&cols=source")).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert "&#34;Boss&#34; &amp; &lt;b&gt;co&lt;/b&gt;" in page and "Bad &lt;i&gt;Co&lt;/i&gt;</a>" in page
    assert "o&#39;brien@example.com" in page and "&lt;img src=x&gt;" in page and "<img src=x" not in page
    assert 'class="visually-hidden">Select &lt;script&gt;' in page  # the bulk checkbox's label
    assert_valid_page(page, "contacts")


def test_delete_moves_to_trash_and_restore_brings_back(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    auth.login(ws_a.email, ws_a.password)
    assert post(client, contacts_url(ws_a, f"{contact_id}/delete"), {}).status_code == 303
    assert f'id="contact-{contact_id}"' not in client.get(contacts_url(ws_a)).get_data(as_text=True)
    assert client.get(contacts_url(ws_a, str(contact_id))).status_code == 404
    trash = client.get(contacts_url(ws_a, "trash")).get_data(as_text=True)
    assert "Ann Lee" in trash
    restore = {"kind": "contacts", "ids": [str(contact_id)]}
    assert post(client, contacts_url(ws_a, "trash/restore"), restore).status_code == 303
    assert client.get(contacts_url(ws_a, str(contact_id))).status_code == 200
    assert [action for action, _ in audit_actions(app, ws_a, contact_id)] == [
        "contact.created",
        "contact.deleted",
        "contact.restored",
    ]


def test_a_contact_deleted_over_30_days_ago_cannot_be_restored(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Old Ann")
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Contact, contact_id).deleted_at = utcnow() - timedelta(days=31)
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    assert "Old Ann" not in client.get(contacts_url(ws_a, "trash")).get_data(as_text=True)
    restore = {"kind": "contacts", "ids": [str(contact_id)]}
    response = post(client, contacts_url(ws_a, "trash/restore"), restore, follow_redirects=True)
    assert "Nothing was restored: it was restored already, or deleted more than 30 days ago." in response.get_data(
        as_text=True
    )
    assert stored(app, ws_a, contact_id).deleted_at is not None


def test_own_record_scope_applies_to_list_search_and_detail(app, client, auth, ws_a):
    rid = make_role(app, ws_a, "Own contacts", permissions=["contacts.read", "contacts.write"], record_scope="own")
    member = make_member(app, ws_a, "own@alpha.example.com")
    assign_role(app, ws_a, member.membership_id, rid)
    mine = make_contact(app, ws_a, "Mine Alone", owner_id=member.membership_id)
    theirs = make_contact(app, ws_a, "Somebody Else's", owner_id=ws_a.membership_id)
    auth.login(member.email, member.password)
    listing = client.get(contacts_url(ws_a)).get_data(as_text=True)
    assert "Mine Alone" in listing and "Somebody Else" not in listing
    assert "Somebody Else" not in client.get(contacts_url(ws_a), query_string={"q": "somebody"}).get_data(as_text=True)
    assert client.get(contacts_url(ws_a, str(theirs))).status_code == 404
    assert post(client, contacts_url(ws_a, str(theirs)), {"name": "Hijacked", "lifecycle": "lead"}).status_code == 404
    assert client.get(contacts_url(ws_a, str(mine))).status_code == 200
    assert stored(app, ws_a, theirs).name == "Somebody Else's"


def contact_row(page: str, contact_id: int) -> str:
    return page.split(f'<tr id="contact-{contact_id}">')[1].split("</tr>")[0]


def test_the_list_links_a_contacts_company_only_when_the_member_may_open_it(app, client, auth, ws_a):
    rid = make_role(app, ws_a, "Own contacts", permissions=["contacts.read", "contacts.delete"], record_scope="own")
    seller = make_member(app, ws_a, "own@alpha.example.com")
    assign_role(app, ws_a, seller.membership_id, rid)
    acme = make_company(app, ws_a, "Acme Ltd", owner_id=seller.membership_id)
    bolt = make_company(app, ws_a, "Bolt <Hardware>", owner_id=ws_a.membership_id)
    mine = make_company(app, ws_a, "My Shop", owner_id=seller.membership_id)
    ann = make_contact(app, ws_a, "Ann Acme", company_id=acme, owner_id=seller.membership_id)
    bo = make_contact(app, ws_a, "Bo Bolt", company_id=bolt, owner_id=seller.membership_id)
    cy = make_contact(app, ws_a, "Cy Shop", company_id=mine, owner_id=seller.membership_id)
    auth.login(ws_a.email, ws_a.password)
    post(client, contacts_url(ws_a, f"{ann}/delete"), {})
    post(client, f"/w/{ws_a.slug}/companies/{acme}/delete", {})
    post(client, contacts_url(ws_a, "trash/restore"), {"kind": "contacts", "ids": str(ann)})
    page = client.get(contacts_url(ws_a)).get_data(as_text=True)
    # Ann is back, her company is not: its name, said to be in the trash, with no link to a 404.
    assert "<td>Acme Ltd (in the trash)</td>" in contact_row(page, ann)
    assert f"/companies/{acme}" not in page and client.get(f"/w/{ws_a.slug}/companies/{acme}").status_code == 404
    assert f'<td><a href="/w/{ws_a.slug}/companies/{bolt}">Bolt &lt;Hardware&gt;</a></td>' in contact_row(page, bo)
    auth.logout()
    auth.login(seller.email, seller.password)
    client.get(contacts_url(ws_a))  # warm the session and caches
    with count_queries(app) as queries:
        page = client.get(contacts_url(ws_a)).get_data(as_text=True)
    assert len(queries) == 2, queries  # user with membership, the page with its names (no owner filter choices)
    # Under "own records", a colleague's company is a name: its page would be a 404.
    assert "<td>Bolt &lt;Hardware&gt;</td>" in contact_row(page, bo) and f"/companies/{bolt}" not in page
    assert client.get(f"/w/{ws_a.slug}/companies/{bolt}").status_code == 404
    assert f'<td><a href="/w/{ws_a.slug}/companies/{mine}">My Shop</a></td>' in contact_row(page, cy)
    assert "<td>Acme Ltd (in the trash)</td>" in contact_row(page, ann)


def test_own_record_scope_offers_only_the_companies_the_member_can_open(app, client, auth, ws_a):
    rid = make_role(app, ws_a, "Own contacts", permissions=["contacts.read", "contacts.write"], record_scope="own")
    member = make_member(app, ws_a, "own@alpha.example.com")
    assign_role(app, ws_a, member.membership_id, rid)
    theirs = make_company(app, ws_a, "Hidden Holdings", owner_id=ws_a.membership_id)
    make_company(app, ws_a, "My Shop", owner_id=member.membership_id)
    # A contact of theirs at a company they cannot open (the owner put it there): editing keeps it.
    placed = make_contact(app, ws_a, "Placed Person", owner_id=member.membership_id, company_id=theirs)
    auth.login(member.email, member.password)
    form = client.get(contacts_url(ws_a, "new")).get_data(as_text=True)
    assert "My Shop" in form and "Hidden Holdings" not in form
    refused = post(client, contacts_url(ws_a), {"name": "Sneaky", "lifecycle": "lead", "company_id": str(theirs)})
    assert refused.status_code == 422 and "Not a valid choice" in refused.get_data(as_text=True)
    assert "Hidden Holdings" in client.get(contacts_url(ws_a, f"{placed}/edit")).get_data(as_text=True)
    saved = post(
        client, contacts_url(ws_a, str(placed)), {"name": "Placed P", "lifecycle": "lead", "company_id": str(theirs)}
    )
    assert saved.status_code == 303 and stored(app, ws_a, placed).company_id == theirs


def test_editing_a_contact_keeps_its_company_while_that_company_is_in_the_trash(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann", company_id=acme)
    auth.login(ws_a.email, ws_a.password)
    assert post(client, f"/w/{ws_a.slug}/companies/{acme}/delete", {}).status_code == 303
    form = client.get(contacts_url(ws_a, f"{ann}/edit")).get_data(as_text=True)
    assert f'<option selected value="{acme}">Acme Ltd (in the trash)</option>' in form
    saved = post(client, contacts_url(ws_a, str(ann)), {"name": "Ann", "title": "Buyer", "lifecycle": "lead",
                                                       "company_id": str(acme)})  # fmt: skip
    assert saved.status_code == 303
    assert (stored(app, ws_a, ann).title, stored(app, ws_a, ann).company_id) == ("Buyer", acme)
    assert "Acme Ltd" not in client.get(contacts_url(ws_a, "new")).get_data(as_text=True)  # not for a new contact


def test_without_contacts_sensitive_phones_birthday_and_address_stay_hidden_and_kept(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann", phones=["+16502530000"], city="Springfield", emails=["a@example.com"])
    sales = make_member(app, ws_a, "sales@alpha.example.com", role="sales")  # Sales lacks contacts.sensitive
    auth.login(sales.email, sales.password)
    for url in (contacts_url(ws_a), contacts_url(ws_a, str(contact_id)), contacts_url(ws_a, f"{contact_id}/edit")):
        page = client.get(url).get_data(as_text=True)
        assert "253-0000" not in page and "Springfield" not in page, url
    # Nor found by their number, in the list or the header's search (a digit at a time would tell it).
    make_contact(app, ws_a, "Bea", emails=["bea2530000@example.com"])
    for url in (contacts_url(ws_a), f"/w/{ws_a.slug}/search/"):
        found = client.get(url, query_string={"q": "2530000"}).get_data(as_text=True)
        assert ">Ann<" not in found and "Bea" in found, url  # Bea's address holds the digits: she is found
    # An edit by them, even one that sends the hidden fields, leaves those fields as they were.
    post(
        client,
        contacts_url(ws_a, str(contact_id)),
        {"name": "Ann B", "emails": "a@example.com", "lifecycle": "lead", "phones": "", "city": "Elsewhere"},
    )
    contact = stored(app, ws_a, contact_id)
    assert (contact.name, contact.phones, contact.city) == ("Ann B", ["+16502530000"], "Springfield")


def test_viewer_reads_but_cannot_add_edit_or_delete(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann")
    viewer = make_member(app, ws_a, "viewer@alpha.example.com", role="viewer")
    auth.login(viewer.email, viewer.password)
    page = client.get(contacts_url(ws_a, str(contact_id))).get_data(as_text=True)
    assert "Ann" in page and "/edit" not in page and "/delete" not in page
    assert "Add contact" not in client.get(contacts_url(ws_a)).get_data(as_text=True)
    assert post(client, contacts_url(ws_a), {"name": "New", "lifecycle": "lead"}).status_code == 403
    assert post(client, contacts_url(ws_a, f"{contact_id}/delete"), {}).status_code == 403
    assert names(app, ws_a) == ["Ann"]


def test_header_search_finds_contacts_and_companies_from_any_page(app, client, auth, ws_a, ws_b):
    acme = make_company(app, ws_a, "Lotus Trading")
    make_contact(app, ws_a, "Ann Lotus", company_id=acme)
    make_contact(app, ws_b, "Lotus of Beta")
    auth.login(ws_a.email, ws_a.password)
    home = client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)
    assert 'id="global-q"' in home
    headers = {"HX-Request": "true", "HX-Target": "global-search-results"}
    quick = client.get(f"/w/{ws_a.slug}/search/", query_string={"q": "lotus"}, headers=headers).get_data(as_text=True)
    assert "Ann Lotus" in quick and "Lotus Trading" in quick and "Lotus of Beta" not in quick
    assert "<html" not in quick
    full = client.get(f"/w/{ws_a.slug}/search/", query_string={"q": "lotus"}).get_data(as_text=True)
    assert "<h1>Search</h1>" in full and "Ann Lotus" in full


def test_header_search_applies_the_record_scope_and_needs_contacts_read(app, client, auth, ws_a):
    own = make_role(app, ws_a, "Own", permissions=["contacts.read"], record_scope="own")
    member = make_member(app, ws_a, "own@alpha.example.com")
    assign_role(app, ws_a, member.membership_id, own)
    make_contact(app, ws_a, "Lotus Mine", owner_id=member.membership_id)
    make_contact(app, ws_a, "Lotus Theirs")
    auth.login(member.email, member.password)
    found = client.get(f"/w/{ws_a.slug}/search/", query_string={"q": "lotus"}).get_data(as_text=True)
    assert "Lotus Mine" in found and "Lotus Theirs" not in found
    notes_only = make_role(app, ws_a, "Notes only", permissions=["notes.write"])
    assign_role(app, ws_a, member.membership_id, notes_only)
    assert 'id="global-q"' not in client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)
    assert client.get(f"/w/{ws_a.slug}/search/", query_string={"q": "lotus"}).status_code == 403


def test_sorts_filters_and_columns_stay_in_the_url_and_pages(app, client, auth, ws_a):
    for number in range(PER_PAGE + 3):
        make_contact(app, ws_a, f"Name {number:03d}", source="Fair" if number % 2 else "Web")
    rich = make_contact(app, ws_a, "Zed Rich", source="fair")
    make_purchase(app, ws_a, rich, amount=15000)
    auth.login(ws_a.email, ws_a.password)
    by_name = client.get(contacts_url(ws_a), query_string={"sort": "name", "source": "FAIR"}).get_data(as_text=True)
    rows = by_name.count('<tr id="contact-')
    assert rows == 27 and by_name.index("Name 001") < by_name.index("Name 003") < by_name.index("Zed Rich")
    assert "Name 002" not in by_name  # a "Web" contact
    args = {"sort": "name", "cols": ["tier", "value"]}
    first = client.get(contacts_url(ws_a), query_string=args).get_data(as_text=True)
    assert '<th scope="col">Tier</th>' in first and '<th scope="col">Email</th>' not in first
    more = first.split('id="contacts-more"')[1].split('data-hx-get="')[1].split('"')[0].replace("&amp;", "&")
    assert "sort=name" in more and "cols=tier" in more and "cols=value" in more
    rest = client.get(more, headers={"HX-Request": "true", "HX-Target": "contacts-more"}).get_data(as_text=True)
    assert rest.count('<tr id="contact-') == 4 and "Zed Rich" in rest and "$15,000.00" in rest
    top = client.get(contacts_url(ws_a), query_string={"sort": "value", "tier": "A"}).get_data(as_text=True)
    assert top.count('<tr id="contact-') == 1 and "Zed Rich" in top
    today = utcnow().date().isoformat()
    assert "Zed Rich" in client.get(contacts_url(ws_a), query_string={"created_from": today}).get_data(as_text=True)
    nothing = client.get(contacts_url(ws_a), query_string={"created_to": "2000-01-01"}).get_data(as_text=True)
    assert "No contact matches." in nothing
    odd = client.get(contacts_url(ws_a), query_string={"sort": "shoe size", "tier": "Z", "created_from": "soon"})
    assert odd.status_code == 200 and odd.get_data(as_text=True).count('<tr id="contact-') == PER_PAGE


def test_unticking_every_column_leaves_the_name_alone_in_the_url_exports_and_views(app, client, auth, ws_a):
    """The Columns fieldset sends ``cols=none`` when no box is ticked: the list shows the name alone
    (always there), where no ``cols`` at all (a fresh list, an old link) gives the default columns.
    Reloaded, exported or saved as a view, the choice stays. Without JavaScript the marker comes with
    the ticked boxes too, and is ignored then."""
    make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], company="Acme Ltd")
    auth.login(ws_a.email, ws_a.password)
    fresh = client.get(contacts_url(ws_a)).get_data(as_text=True)
    assert '<input type="hidden" name="cols" value="none" data-when-none>' in fresh
    assert 'id="col-company" name="cols" value="company" checked' in fresh and "ann@example.com" in fresh
    none_ticked = client.get(contacts_url(ws_a) + "?q=&cols=none").get_data(as_text=True)  # what the form sends then
    assert re.findall(r'<th scope="col">([^<]*)</th>', none_ticked) == ["Name"]
    assert "Ann Lee" in none_ticked and "ann@example.com" not in none_ticked and "Acme Ltd" not in none_ticked
    assert not re.search(r'name="cols" value="\w+" checked', none_ticked)
    results = {"HX-Request": "true", "HX-Target": "contact-results"}
    partial = client.get(contacts_url(ws_a) + "?q=&cols=none", headers=results)
    assert "ann@example.com" not in partial.get_data(as_text=True)
    export_link = re.search(r'href="([^"]*/export\.csv[^"]*)"', none_ticked).group(1).replace("&amp;", "&")
    assert "cols=none" in export_link
    rows = export_rows(client.get(export_link))
    assert rows == [["Name"], ["Ann Lee"]]
    # Saved as a view, it opens with the name alone again.
    in_list = {**VIEWS, "HX-Current-URL": f"http://localhost{contacts_url(ws_a)}?cols=none"}
    panel = post(client, f"/w/{ws_a.slug}/contacts/views/", {"q": "", "cols": "none", "name": "Names only"},
                 headers=in_list).get_data(as_text=True)  # fmt: skip
    link = panel.split(">Names only<")[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert link == f"{contacts_url(ws_a)}?cols=none"
    assert "ann@example.com" not in client.get(link).get_data(as_text=True)
    without_javascript = client.get(contacts_url(ws_a) + "?cols=none&cols=email").get_data(as_text=True)
    assert re.findall(r'<th scope="col">([^<]*)</th>', without_javascript) == ["Name", "Email"]
    # An old link naming only a column that is no more still opens with the defaults.
    assert "ann@example.com" in client.get(contacts_url(ws_a) + "?cols=shoe_size").get_data(as_text=True)


def export_rows(response) -> list[list[str]]:
    import csv
    import io

    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # Excel reads the Chinese right
    return list(csv.reader(io.StringIO(text[1:])))


def test_export_streams_the_filtered_list_neutralised_and_audited(app, client, auth, ws_a, ws_b):
    make_contact(app, ws_a, '=HYPERLINK("http://evil")', tags=["fair"], phones=["+16502530000"])
    make_contact(app, ws_a, '\x01 =cmd|"/c calc"!A1', tags=["fair"])  # a formula behind a control character
    make_contact(app, ws_a, "王小明", tags=["fair", "vip list"])
    make_contact(app, ws_a, "Not at the fair")
    make_contact(app, ws_b, "Beta fair person", tags=["fair"])
    auth.login(ws_a.email, ws_a.password)
    with count_queries(app) as queries:
        response = client.get(contacts_url(ws_a, "export.csv"), query_string={"tag": "fair"})
        rows = export_rows(response)
    assert response.headers["Content-Disposition"].startswith("attachment;")
    names = sorted(row[0] for row in rows[1:])
    assert names == ['\'\x01 =cmd|"/c calc"!A1', '\'=HYPERLINK("http://evil")', "王小明"]
    header = rows[0]
    assert header[0] == "Name" and "Phone numbers" in header
    tags = {row[0]: row[header.index("Tags")] for row in rows[1:]}
    assert tags["王小明"] == "fair, vip list"
    assert len(queries) <= 12  # tags come a batch at a time, not a query per row
    assert "Exported contacts" in client.get(f"/w/{ws_a.slug}/settings/audit/").get_data(as_text=True)


def test_export_needs_the_permission_and_hides_sensitive_columns(app, client, auth, ws_a):
    make_contact(app, ws_a, "Ann", phones=["+16502530000"])
    sales = make_member(app, ws_a, "sales@alpha.example.com", role="sales")  # no contacts.export
    auth.login(sales.email, sales.password)
    assert client.get(contacts_url(ws_a, "export.csv")).status_code == 403
    assert "Export CSV" not in client.get(contacts_url(ws_a)).get_data(as_text=True)
    exporter = make_role(app, ws_a, "Exporter", permissions=["contacts.read", "contacts.export"])
    assign_role(app, ws_a, sales.membership_id, exporter)
    rows = export_rows(client.get(contacts_url(ws_a, "export.csv")))
    assert "Phone numbers" not in rows[0] and "+16502530000" not in str(rows)


BULK = {"HX-Request": "true", "HX-Target": "contact-results"}


def tags_of(app, ws, contact_id: int) -> list[str]:
    with app.app_context(), workspace_scope(ws.id):
        return [tag.name for tag in db.session.get(Contact, contact_id).tags]


def test_bulk_actions_on_ticked_rows(app, client, auth, ws_a):
    first, second, untouched = (make_contact(app, ws_a, name, tags=["old"]) for name in ("One", "Two", "Three"))
    seller = make_member(app, ws_a, "seller@alpha.example.com")
    auth.login(ws_a.email, ws_a.password)
    page = client.get(contacts_url(ws_a)).get_data(as_text=True)
    assert 'id="bulk-form"' in page and f'id="select-{first}"' in page
    ticked = {"ids": [str(first), str(second)], "scope": "selected"}
    response = post(client, contacts_url(ws_a, "bulk"), {**ticked, "action": "add_tag", "bulk_tag": " Fair 2026 "},
                    headers=BULK)  # fmt: skip
    assert response.status_code == 200 and "2 contacts changed." in response.headers.get("HX-Trigger", "")
    post(client, contacts_url(ws_a, "bulk"), {**ticked, "action": "remove_tag", "bulk_tag": "old"})
    post(client, contacts_url(ws_a, "bulk"), {**ticked, "action": "owner", "bulk_owner": str(seller.membership_id)})
    post(client, contacts_url(ws_a, "bulk"), {**ticked, "action": "level", "bulk_level": "vip"})
    for contact_id in (first, second):
        contact = stored(app, ws_a, contact_id)
        assert tags_of(app, ws_a, contact_id) == ["fair 2026"]
        assert (contact.owner_id, contact.level, contact.level_pinned) == (seller.membership_id, "vip", True)
    assert tags_of(app, ws_a, untouched) == ["old"] and stored(app, ws_a, untouched).owner_id is None
    assert [a for a, _ in audit_actions(app, ws_a, first)].count("contact.updated") == 4
    # "Automatic" hands the level back to the tier rules (no purchases: ordinary).
    post(client, contacts_url(ws_a, "bulk"), {**ticked, "action": "level", "bulk_level": "auto"})
    assert (stored(app, ws_a, first).level, stored(app, ws_a, first).level_pinned) == ("ordinary", False)
    response = post(client, contacts_url(ws_a, "bulk"), {**ticked, "action": "delete"}, headers=BULK)
    assert "2 contacts moved to the trash." in response.headers.get("HX-Trigger", "")
    assert 'data-select-all="ids"' in client.get(contacts_url(ws_a)).get_data(as_text=True)


def test_bulk_on_all_matching_a_filter_and_bad_requests(app, client, auth, ws_a, ws_b):
    fair = [make_contact(app, ws_a, f"Fair {n}", tags=["fair"]) for n in range(3)]
    other = make_contact(app, ws_a, "Web person", tags=["web"])
    foreign = make_contact(app, ws_b, "Beta fair", tags=["fair"])
    auth.login(ws_a.email, ws_a.password)
    every_fair = {"scope": "all", "tag": "fair", "action": "delete"}
    assert post(client, contacts_url(ws_a, "bulk"), every_fair).status_code == 303
    assert all(stored(app, ws_a, c).deleted_at for c in fair) and stored(app, ws_a, other).deleted_at is None
    assert stored(app, ws_b, foreign).deleted_at is None
    for data, message in (
        ({"scope": "selected", "action": "delete"}, "Select at least one contact"),
        ({"scope": "selected", "ids": [str(other)], "action": "fly"}, "Choose an action."),
        ({"scope": "selected", "ids": [str(other)], "action": "add_tag", "bulk_tag": "  "}, "Enter a tag."),
        ({"scope": "selected", "ids": [str(other)], "action": "owner", "bulk_owner": "999999"}, "Choose one of the"),
        ({"scope": "selected", "ids": [str(other)], "action": "level", "bulk_level": "emperor"}, "Choose a level."),
        ({"scope": "selected", "ids": [str(other)], "action": "level", "bulk_level": ""}, "Choose a level."),
        ({"scope": "selected", "ids": [str(other)], "action": "owner", "bulk_owner": ""}, "Choose the new owner, or"),
    ):
        response = post(client, contacts_url(ws_a, "bulk"), data, headers=BULK)
        assert response.status_code == 422, data
        assert message in response.headers.get("HX-Trigger", ""), data
        assert response.headers["HX-Reswap"] == "none"  # the bar keeps its ticks and choices
    # Ids of another workspace are never touched, even when ticked by hand.
    post(client, contacts_url(ws_a, "bulk"), {"scope": "selected", "ids": [str(foreign)], "action": "add_tag",
                                              "bulk_tag": "hacked"})  # fmt: skip
    assert tags_of(app, ws_b, foreign) == ["fair"]


def test_assign_owner_without_javascript_asks_for_the_owner_on_its_own_page(app, client, auth, ws_a):
    """The bar's owner list loads only with JavaScript: without it, the bar's request comes back as a
    page that carries the ticked rows and the filters, and asks for the owner."""
    first, second, untouched = (make_contact(app, ws_a, name, tags=["fair"]) for name in ("One", "Two", "Three"))
    make_user(app, "seller@alpha.example.com", name="Sally Seller")
    seller = make_member(app, ws_a, "seller@alpha.example.com")
    auth.login(ws_a.email, ws_a.password)
    bar = {"scope": "selected", "ids": [str(first), str(second)], "tag": "fair", "action": "owner", "bulk_owner": ""}
    response = post(client, contacts_url(ws_a, "bulk"), bar)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "For the 2 ticked contacts." in page
    assert_valid_page(page, contacts_url(ws_a, "bulk"))
    assert "Sally Seller" in page and 'name="bulk_owner" required' in page
    carried = set(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))
    assert {("ids", str(first)), ("ids", str(second)), ("tag", "fair"), ("action", "owner")} <= carried
    assert stored(app, ws_a, first).owner_id is None  # nothing changed yet
    chosen = post(client, contacts_url(ws_a, "bulk"), {**bar, "bulk_owner": str(seller.membership_id)})
    assert chosen.status_code == 303 and "tag=fair" in chosen.headers["Location"]
    assert stored(app, ws_a, first).owner_id == seller.membership_id == stored(app, ws_a, second).owner_id
    assert stored(app, ws_a, untouched).owner_id is None
    everyone = post(client, contacts_url(ws_a, "bulk"), {**bar, "scope": "all"}).get_data(as_text=True)
    assert "For every contact the list\u2019s search and filters select." in everyone


def test_bulk_actions_need_the_actions_permission(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann")
    sales = make_member(app, ws_a, "sales@alpha.example.com", role="sales")  # write, but no delete
    auth.login(sales.email, sales.password)
    page = client.get(contacts_url(ws_a)).get_data(as_text=True)
    assert 'value="add_tag"' in page and 'value="delete"' not in page
    response = post(client, contacts_url(ws_a, "bulk"), {"scope": "all", "action": "delete"})
    assert response.status_code == 403 and stored(app, ws_a, contact_id).deleted_at is None
    viewer = make_member(app, ws_a, "viewer@alpha.example.com", role="viewer")
    auth.logout()
    auth.login(viewer.email, viewer.password)
    assert 'id="bulk-form"' not in client.get(contacts_url(ws_a)).get_data(as_text=True)
    assert (
        post(client, contacts_url(ws_a, "bulk"), {"scope": "all", "action": "add_tag", "bulk_tag": "x"}).status_code
        == 403
    )


VIEWS = {"HX-Request": "true", "HX-Target": "saved-views-panel"}


def test_save_a_view_share_it_and_open_it(app, client, auth, ws_a):
    make_contact(app, ws_a, "Fair Ann", tags=["fair"])
    make_contact(app, ws_a, "Web Bob", tags=["web"])
    auth.login(ws_a.email, ws_a.password)
    state = {"tag": "fair", "sort": "name", "cols": ["email", "tier"]}
    response = post(client, f"/w/{ws_a.slug}/contacts/views/", {**state, "name": "Fair leads", "shared": "y"},
                    headers=VIEWS)  # fmt: skip
    panel = response.get_data(as_text=True)
    assert response.status_code == 200 and "Fair leads" in panel and "Shared" in panel
    link = panel.split(">Fair leads<")[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert "tag=fair" in link and "sort=name" in link and "cols=email" in link
    opened = client.get(link).get_data(as_text=True)
    assert "Fair Ann" in opened and "Web Bob" not in opened and '<th scope="col">Tier</th>' in opened
    colleague = make_member(app, ws_a, "colleague@alpha.example.com")
    private = make_saved_view(app, ws_a, "Alice only", owner_id=ws_a.membership_id, shared=False)
    auth.logout()
    auth.login(colleague.email, colleague.password)
    theirs = client.get(f"/w/{ws_a.slug}/contacts/views/", headers=VIEWS).get_data(as_text=True)
    assert "Fair leads" in theirs and "Alice only" not in theirs
    assert post(client, f"/w/{ws_a.slug}/contacts/views/{private}/delete", {}).status_code == 404


def test_the_views_panel_in_the_list_saves_the_live_filters_not_the_state_it_was_drawn_with(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    list_url = f"http://localhost/w/{ws_a.slug}/contacts/?tag=fair"
    in_list = {**VIEWS, "HX-Current-URL": list_url}
    panel = post(client, f"/w/{ws_a.slug}/contacts/views/", {"tag": "fair", "name": "Fair"}, headers=in_list)
    # The filter form is sent with the panel's form (data-hx-include): a hidden copy of the state it was
    # drawn with would come first and win over filters changed since.
    assert 'name="tag"' not in panel.get_data(as_text=True) and 'data-hx-include="#contact-filters"' in panel.get_data(
        as_text=True
    )
    own_page = client.get(f"/w/{ws_a.slug}/contacts/views/?tag=fair").get_data(as_text=True)
    assert '<input type="hidden" name="tag" value="fair">' in own_page and "data-hx-include" not in own_page


def test_a_view_needs_a_name_and_only_its_owner_or_an_admin_deletes_it(app, client, auth, ws_a):
    shared = make_saved_view(app, ws_a, "Team view", owner_id=ws_a.membership_id, shared=True)
    sales = make_member(app, ws_a, "sales@alpha.example.com")
    auth.login(sales.email, sales.password)
    bad = post(client, f"/w/{ws_a.slug}/contacts/views/", {"name": "  "}, headers=VIEWS)
    assert bad.status_code == 422 and "Name the view" in bad.get_data(as_text=True)
    assert post(client, f"/w/{ws_a.slug}/contacts/views/{shared}/delete", {}).status_code == 403
    auth.logout()
    auth.login(ws_a.email, ws_a.password)
    assert post(client, f"/w/{ws_a.slug}/contacts/views/{shared}/delete", {}).status_code == 303
    assert ">Team view</a>" not in client.get(f"/w/{ws_a.slug}/contacts/views/").get_data(as_text=True)


def test_export_of_ticked_rows_from_the_bulk_bar(app, client, auth, ws_a):
    ann, _bob, cy = (make_contact(app, ws_a, name) for name in ("Ann", "Bob", "Cy"))
    auth.login(ws_a.email, ws_a.password)
    # A plain form (app.js sends it so): the answer is the file, whatever the number of ids ticked.
    response = post(client, contacts_url(ws_a, "bulk"), {"scope": "selected", "ids": [str(ann), str(cy)],
                                                         "action": "export"})  # fmt: skip
    assert response.headers["Content-Disposition"].startswith("attachment")
    rows = export_rows(response)
    assert sorted(row[0] for row in rows[1:]) == ["Ann", "Cy"]
    nothing = post(client, contacts_url(ws_a, "bulk"), {"scope": "selected", "action": "export"}, headers=BULK)
    assert nothing.status_code == 422 and "Select at least one contact" in nothing.headers["HX-Trigger"]
    sales = make_member(app, ws_a, "sales@alpha.example.com", role="sales")  # no contacts.export
    auth.logout()
    auth.login(sales.email, sales.password)
    refused = post(client, contacts_url(ws_a, "bulk"), {"scope": "all", "action": "export"})
    assert refused.status_code == 403


def test_a_tag_filtered_page_stays_within_five_queries(app, client, auth, ws_a):
    for number in range(10):
        make_contact(app, ws_a, f"Tagged {number}", tags=["fair"], owner_id=ws_a.membership_id)
    auth.login(ws_a.email, ws_a.password)
    client.get(contacts_url(ws_a), query_string={"tag": "fair"})
    with count_queries(app) as queries:
        page = client.get(contacts_url(ws_a), query_string={"tag": "fair"}).get_data(as_text=True)
    assert page.count('<tr id="contact-') == 10
    assert len(queries) == 4, queries  # user with membership, the tag's id, the page, members (owner filter)
    unknown = client.get(contacts_url(ws_a), query_string={"tag": "no such tag"}).get_data(as_text=True)
    assert "No contact matches." in unknown


def test_a_contacts_company_is_linked_only_where_the_member_may_open_it(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd", owner_id=ws_a.membership_id)
    seller = make_member(app, ws_a, "sam@alpha.example.com")
    assign_role(app, ws_a, seller.membership_id, make_role(app, ws_a, "Own", ["contacts.read"], record_scope="own"))
    sams = make_contact(app, ws_a, "Sam's Ann", company_id=acme, owner_id=seller.membership_id)
    link = f'href="/w/{ws_a.slug}/companies/{acme}"'
    auth.login(seller.email, seller.password)
    page = client.get(contacts_url(ws_a, str(sams))).get_data(as_text=True)
    assert "Acme Ltd" in page and link not in page  # Acme is not Sam's: named, not linked to a 404
    auth.logout()
    auth.login(ws_a.email, ws_a.password)
    assert link in client.get(contacts_url(ws_a, str(sams))).get_data(as_text=True)
    post(client, f"/w/{ws_a.slug}/companies/{acme}/delete", {})
    page = client.get(contacts_url(ws_a, str(sams))).get_data(as_text=True)
    assert "Acme Ltd (in the trash)" in page and link not in page


def test_the_bulk_bar_counts_all_matching_within_scope_and_workspace(app, client, auth, ws_a, ws_b):
    own = make_role(app, ws_a, "Own", permissions=["contacts.read", "contacts.write"], record_scope="own")
    member = make_member(app, ws_a, "own@alpha.example.com")
    assign_role(app, ws_a, member.membership_id, own)
    make_contact(app, ws_a, "Fair Mine", tags=["fair"], owner_id=member.membership_id)
    make_contact(app, ws_a, "Fair Theirs", tags=["fair"])
    make_contact(app, ws_b, "Fair Beta", tags=["fair"])
    auth.login(ws_a.email, ws_a.password)
    url = contacts_url(ws_a, "bulk-count")
    assert "2 contacts match this list." in client.get(url, query_string={"scope": "all", "tag": "fair"}).get_data(
        as_text=True
    )
    auth.logout()
    auth.login(member.email, member.password)
    mine = client.get(url, query_string={"scope": "all", "tag": "fair"}).get_data(as_text=True)
    assert "1 contact matches this list." in mine and 'data-question="Apply &#34;{action}&#34; to 1 contact?"' in mine


def test_bulk_changes_audit_each_contact_with_its_own_before_and_after(app, client, auth, ws_a):
    tagged = make_contact(app, ws_a, "Tagged", tags=["old", "vip list"])
    already = make_contact(app, ws_a, "Already", tags=["fair"])
    bare = make_contact(app, ws_a, "Bare")
    auth.login(ws_a.email, ws_a.password)
    every = {"scope": "all"}
    response = post(
        client, contacts_url(ws_a, "bulk"), {**every, "action": "add_tag", "bulk_tag": "Fair"}, headers=BULK
    )
    assert "2 contacts changed." in response.headers["HX-Trigger"]  # "Already" had it
    added = {"tags": [["old", "vip list"], ["fair", "old", "vip list"]]}
    assert audit_actions(app, ws_a, tagged)[-1] == ("contact.updated", added)
    assert audit_actions(app, ws_a, bare)[-1] == ("contact.updated", {"tags": [[], ["fair"]]})
    assert [action for action, _ in audit_actions(app, ws_a, already)] == ["contact.created"]
    response = post(
        client, contacts_url(ws_a, "bulk"), {**every, "action": "remove_tag", "bulk_tag": "old"}, headers=BULK
    )
    assert "1 contact changed." in response.headers["HX-Trigger"]
    assert audit_actions(app, ws_a, tagged)[-1] == ("contact.updated", {"tags": [["fair", "old", "vip list"],
                                                                                  ["fair", "vip list"]]})  # fmt: skip
    missing = post(
        client, contacts_url(ws_a, "bulk"), {**every, "action": "remove_tag", "bulk_tag": "never"}, headers=BULK
    )
    assert "0 contacts changed." in missing.headers["HX-Trigger"]
    post(client, contacts_url(ws_a, "bulk"), {**every, "action": "level", "bulk_level": "vip"})
    assert audit_actions(app, ws_a, bare)[-1] == ("contact.updated", {"level": ["ordinary", "vip"]})
    with app.app_context(), workspace_scope(ws_a.id):
        entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.record_id == bare)).all()[-1]
        assert (entry.actor_id, entry.actor_label, entry.ip) == (ws_a.user_id, ws_a.email, "127.0.0.1")


def test_all_matching_beyond_what_one_request_changes_goes_on_in_a_background_job(app, client, auth, ws_a, monkeypatch):
    fair = [make_contact(app, ws_a, f"Fair {n}", tags=["fair"]) for n in range(3)]
    other = make_contact(app, ws_a, "Web Bob", tags=["web"])
    seller = make_member(app, ws_a, "seller@alpha.example.com")
    monkeypatch.setattr("crm.contacts.bulk.MAX_AT_ONCE", 2)
    auth.login(ws_a.email, ws_a.password)
    every_fair = {"scope": "all", "tag": "fair", "action": "owner", "bulk_owner": str(seller.membership_id)}
    response = post(client, contacts_url(ws_a, "bulk"), every_fair, headers=BULK)  # jobs run inline in tests
    assert (
        response.status_code == 200
        and "More than 2 contacts: the change goes on in the background" in (response.headers["HX-Trigger"])
    )
    assert [stored(app, ws_a, contact_id).owner_id for contact_id in fair] == [seller.membership_id] * 3
    assert stored(app, ws_a, other).owner_id is None
    with app.app_context(), workspace_scope(ws_a.id):
        actors = set(db.session.execute(sa.select(AuditEntry.actor_id, AuditEntry.actor_label)
                                        .where(AuditEntry.action == "contact.updated")))  # fmt: skip
    assert actors == {(ws_a.user_id, ws_a.email)}  # the job acts for the member who asked
    post(client, contacts_url(ws_a, "bulk"), {"scope": "all", "tag": "fair", "action": "delete"})
    assert all(stored(app, ws_a, contact_id).deleted_at for contact_id in fair)
    restore_all = {"kind": "contacts", "scope": "all"}
    trash_tab = {"HX-Request": "true", "HX-Target": "trash-results"}
    response = post(client, contacts_url(ws_a, "trash/restore"), restore_all, headers=trash_tab)
    assert "restored in the background" in response.headers["HX-Trigger"]
    assert "<p>3 contacts restored.</p>" in response.get_data(as_text=True)  # the job's panel (it ran inline)
    assert not any(stored(app, ws_a, contact_id).deleted_at for contact_id in fair)


def test_automatic_levels_for_many_contacts_go_on_in_the_background(app, client, auth, ws_a, monkeypatch):
    pinned = [make_contact(app, ws_a, f"Pinned {n}") for n in range(2)]
    with app.app_context(), workspace_scope(ws_a.id):
        for contact_id in pinned:
            contact = db.session.get(Contact, contact_id)
            contact.level, contact.level_pinned = "vip", True
        db.session.commit()
    monkeypatch.setattr("crm.contacts.bulk.AUTOMATIC_AT_ONCE", 1)  # each is classified again: fewer at once
    auth.login(ws_a.email, ws_a.password)
    response = post(client, contacts_url(ws_a, "bulk"), {"scope": "all", "action": "level", "bulk_level": "auto"},
                    headers=BULK)  # fmt: skip
    assert "the change goes on in the background" in response.headers["HX-Trigger"]
    assert [(stored(app, ws_a, c).level, stored(app, ws_a, c).level_pinned) for c in pinned] == [
        ("ordinary", False)
    ] * 2


def opened_form(client, url: str, headers: dict | None = None) -> dict:
    """The edit form's fields as a browser would send them back (the ones these tests need)."""
    page = client.get(url, headers=DETAILS if headers is None else headers).get_data(as_text=True)
    return {name: html.unescape(re.search(rf'name="{name}"[^>]*value="([^"]*)"', page).group(1))
            for name in ("seen", "opened_at", "name", "title") if f'name="{name}"' in page}  # fmt: skip


def test_a_save_that_would_undo_someone_elses_is_refused_and_names_the_field(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee", title="Buyer")
    auth.login(ws_a.email, ws_a.password)
    edit_url, save_url = contacts_url(ws_a, f"{contact_id}/edit"), contacts_url(ws_a, str(contact_id))
    first_tab = {**opened_form(client, edit_url), "lifecycle": "lead"}
    second_tab = {**opened_form(client, edit_url), "lifecycle": "lead"}
    assert post(client, save_url, {**second_tab, "title": "CEO"}, headers=DETAILS).status_code == 200
    # The first tab's form still holds "Buyer": saving it would undo "CEO" without a word.
    clash = post(client, save_url, {**first_tab, "tags": "fair"}, headers=DETAILS)
    body = clash.get_data(as_text=True)
    assert clash.status_code == 422 and 'role="alert"' in body and "Job title" in body
    assert "Changed by Alice since you opened this form." in body and 'aria-invalid="true"' in body
    assert stored(app, ws_a, contact_id).title == "CEO" and "fair" not in client.get(save_url).get_data(as_text=True)
    # The form came back as if opened now, with the person's entries: saving it again keeps them.
    again = {name: html.unescape(re.search(rf'name="{name}"[^>]*value="([^"]+)"', body).group(1))
             for name in ("seen", "opened_at")}  # fmt: skip
    assert post(client, save_url, {**first_tab, **again, "tags": "fair"}, headers=DETAILS).status_code == 200
    assert stored(app, ws_a, contact_id).title == "Buyer" and "fair" in client.get(save_url).get_data(as_text=True)
    # A change of other things meanwhile (a purchase reclassifying the customer) is no clash.
    third_tab = {**opened_form(client, edit_url), "lifecycle": "lead"}
    make_purchase(app, ws_a, contact_id, amount=20000)
    assert post(client, save_url, {**third_tab, "title": "Owner", "tags": "fair"}).status_code == 303
    assert stored(app, ws_a, contact_id).title == "Owner"


def test_a_change_no_one_logged_for_the_record_counts_too(app, client, auth, ws_a):
    """An import or a bulk change writes no edit of the record: what the form showed tells."""
    contact_id = make_contact(app, ws_a, "Ann Lee", title="Clerk")
    auth.login(ws_a.email, ws_a.password)
    edit_url, save_url = contacts_url(ws_a, f"{contact_id}/edit"), contacts_url(ws_a, str(contact_id))
    form = {**opened_form(client, edit_url), "lifecycle": "lead"}
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.execute(sa.update(Contact).where(Contact.id == contact_id).values(title="Director"))
        db.session.commit()
    clash = post(client, save_url, {**form, "about": "Prefers calls"}, headers=DETAILS)
    assert clash.status_code == 422 and "Changed by someone else since you opened this form." in clash.get_data(
        as_text=True
    )
    assert stored(app, ws_a, contact_id).title == "Director"
    for edge in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"):  # a tampered time: no one named
        clash = post(client, save_url, {**form, "opened_at": edge, "about": "Prefers calls"}, headers=DETAILS)
        assert clash.status_code == 422 and "Changed by someone else" in clash.get_data(as_text=True), edge
    # Sent without the form's marks (an old page, another client): saved as sent.
    assert post(client, save_url, {"name": "Ann Lee", "title": "Clerk", "lifecycle": "lead"}).status_code == 303


def test_custom_fields_are_compared_as_stored_when_saving_an_edit(app, client, auth, ws_a):
    """Changing a custom value the record already holds is no clash; a value someone else set meanwhile is."""
    size = make_custom_field(app, ws_a, "Shoe size")
    contact_id = make_contact(app, ws_a, "Ann Lee")
    set_custom_value(app, ws_a, contact_id, size, "42")
    auth.login(ws_a.email, ws_a.password)
    edit_url, save_url = contacts_url(ws_a, f"{contact_id}/edit"), contacts_url(ws_a, str(contact_id))
    page = client.get(edit_url, headers=DETAILS).get_data(as_text=True)
    field = re.search(r'name="(cf_[^"]+)"[^>]*value="42"', page).group(1)
    form = {**opened_form(client, edit_url), "lifecycle": "lead"}
    saved = post(client, save_url, {**form, field: "43"}, headers=DETAILS)
    assert saved.status_code == 200 and "since you opened" not in saved.get_data(as_text=True)
    # Opened while it said 43; a colleague's import sets 44; this save of 45 would undo it.
    form = {**opened_form(client, edit_url), "lifecycle": "lead"}
    set_custom_value(app, ws_a, contact_id, size, "44")
    clash = post(client, save_url, {**form, field: "45"}, headers=DETAILS)
    assert clash.status_code == 422 and "Changed by someone else since you opened this form." in clash.get_data(
        as_text=True
    )
    with app.app_context(), workspace_scope(ws_a.id):
        assert list(db.session.get(Contact, contact_id).custom.values()) == ["44"]


def test_a_company_save_that_would_undo_someone_elses_is_refused(app, client, auth, ws_a):
    company_id = make_company(app, ws_a, "Acme Ltd")
    auth.login(ws_a.email, ws_a.password)
    edit_url, save_url = f"/w/{ws_a.slug}/companies/{company_id}/edit", f"/w/{ws_a.slug}/companies/{company_id}"
    form = opened_form(client, edit_url, headers={})
    assert post(client, save_url, {"name": "Acme Group"}).status_code == 303  # without the marks: no check
    clash = post(client, save_url, {**form, "industry": "Tea"})
    assert clash.status_code == 422 and "Changed by" in clash.get_data(as_text=True)
    assert_valid_page(clash.get_data(as_text=True), save_url)
    # Only the fields this save changes count: a save that keeps the new name goes through.
    assert post(client, save_url, {**form, "name": "Acme Group", "industry": "Tea"}).status_code == 303


def test_the_filter_panel_comes_open_and_says_how_many_filters_are_on(app, client, auth, ws_a):
    make_contact(app, ws_a, "Ann Lee", tags=["fair"])
    auth.login(ws_a.email, ws_a.password)
    plain = client.get(contacts_url(ws_a)).get_data(as_text=True)
    assert_valid_page(plain, contacts_url(ws_a))
    # Open in the page (app.js folds it on a phone), the search box outside it.
    assert '<details class="filter-panel" id="contact-filters-panel" open data-fold-narrow>' in plain
    assert plain.index('id="q"') < plain.index('id="contact-filters-panel"') < plain.index('id="lifecycle"')
    assert '<span id="contact-filters-summary">Filters</span>' in plain
    # The search box, sort, columns and a company's link are no filters of the panel.
    args = {"q": "ann", "lifecycle": "lead", "tag": "fair", "cf_segment": "x", "sort": "name", "cols": "email",
            "company": "1"}  # fmt: skip
    filtered = client.get(contacts_url(ws_a), query_string=args).get_data(as_text=True)
    assert '<span id="contact-filters-summary">Filters (3 active)</span>' in filtered
    # A new search sends the summary again, out of band, and leaves the panel alone.
    partial = client.get(contacts_url(ws_a), query_string={"level": "vip"}, headers=RESULTS).get_data(as_text=True)
    assert '<span id="contact-filters-summary" data-hx-swap-oob="innerHTML">Filters (1 active)</span>' in partial
    assert "contact-filters-panel" not in partial


def test_what_is_typed_is_kept_as_meant_or_refused_never_changed_without_a_word(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    for data, message in (
        ({"phones": "(415) 555-2671 ext. 12"}, "has an extension, which is not kept with a number"),
        ({"birthday": "0001-01-01"}, "Enter a birthday from 1900 on."),
    ):
        refused = post(client, contacts_url(ws_a), {"name": "Ann Lee", "lifecycle": "lead", **data})
        assert refused.status_code == 422 and message in refused.get_data(as_text=True), data
    assert "Ann Lee" not in client.get(contacts_url(ws_a)).get_data(as_text=True)  # nothing half-saved
    contact_id = make_contact(app, ws_a, "Ann Lee")
    purchases = contacts_url(ws_a, f"{contact_id}/purchases/")
    day = date.today().isoformat()
    for price, message in (("100.999", "Use at most 2 decimal places."), ("lots", "Enter a number."),
                           ("12,50", "Write decimals with a point, such as 1.5."), ("1e3", "Enter a number."),
                           ("1e9999999", "Enter a number.")):  # fmt: skip
        for quantity, unit_price in (("1", price), (price, "1"))[: 1 if price == "100.999" else 2]:  # 3 places
            refused = post(client, purchases, {"purchased_on": day, "product": "Tea", "quantity": quantity,
                                               "unit_price": unit_price},
                           headers={"HX-Request": "true", "HX-Target": "purchase-composer"})  # fmt: skip
            body = refused.get_data(as_text=True)
            assert refused.status_code == 422 and message in body and "Number must be" not in body, price  # one message
    taken = post(
        client,
        purchases,
        {
            "purchased_on": day,
            "product": "Tea",
            "quantity": "1",
            "unit_price": "25,000",
            "amount": "",
            "base_amount": "",
        },
    )  # as a browser sends the empty fields
    assert taken.status_code == 303 and stored(app, ws_a, contact_id).lifetime_value == 25000


def test_an_overlong_amount_is_refused_with_a_word_before_any_pattern_reads_it(app, client, auth, ws_a):
    """20,000 digits and an "x" took 9 s of CPU to refuse (the pattern backtracked); no amount is that long."""
    contact_id = make_contact(app, ws_a, "Ann Lee")
    auth.login(ws_a.email, ws_a.password)
    purchases = contacts_url(ws_a, f"{contact_id}/purchases/")
    day = date.today().isoformat()
    started = time.process_time()
    refused = post(client, purchases, {"purchased_on": day, "product": "Tea", "quantity": "1",
                                       "unit_price": "1" * 20000 + "x"})  # fmt: skip
    assert time.process_time() - started < 1.0
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Enter a number of at most 32 characters." in body
    assert "Enter a number." not in body and "Enter an amount from" not in body  # one message
    # As long as one may be, grouped, signed and with spaces: still read (and refused only for its size).
    too_big = post(client, purchases, {"purchased_on": day, "product": "Tea", "quantity": "1",
                                       "unit_price": "+ 1 000 000 000 000 000 000 000.00"})  # fmt: skip
    assert too_big.status_code == 422 and "Enter an amount from 0 to 999,999,999,999.99." in too_big.get_data(
        as_text=True
    )
    taken = post(client, purchases, {"purchased_on": day, "product": "Tea", "quantity": "1",
                                     "unit_price": " 000 000 000 000 000 000 000 012.50 "})  # fmt: skip
    assert taken.status_code == 303 and stored(app, ws_a, contact_id).lifetime_value == Decimal("12.5")


def test_the_tag_filter_suggests_the_workspaces_tags(app, client, auth, ws_a, ws_b):
    make_contact(app, ws_a, "Ann Lee", tags=["trade fair", "wholesale"])
    make_contact(app, ws_b, "Bo Chen", tags=["b-secret"])
    auth.login(ws_a.email, ws_a.password)
    page = client.get(contacts_url(ws_a)).get_data(as_text=True)
    assert 'list="tag-options"' in page and 'data-hx-trigger="focus once"' in page
    options = client.get(contacts_url(ws_a, "tags"), headers={"HX-Request": "true"}).get_data(as_text=True)
    assert options.strip() == (
        '<datalist id="tag-options"><option value="trade fair"></option><option value="wholesale"></option></datalist>'
    )  # never another workspace's
    # A role limited to its own contacts is offered their tags only.
    rid = make_role(app, ws_a, "Own contacts", permissions=["contacts.read"], record_scope="own")
    member = make_member(app, ws_a, "own@alpha.example.com")
    assign_role(app, ws_a, member.membership_id, rid)
    make_contact(app, ws_a, "Mine", owner_id=member.membership_id, tags=["mine only"])
    auth.logout()
    auth.login(member.email, member.password)
    options = client.get(contacts_url(ws_a, "tags"), headers={"HX-Request": "true"}).get_data(as_text=True)
    assert options.strip() == '<datalist id="tag-options"><option value="mine only"></option></datalist>'


def test_sorted_by_last_touch_in_pages_with_those_never_in_touch_at_the_quiet_end(app, client, auth, ws_a,
                                                                                   monkeypatch):  # fmt: skip
    names = []
    for days in (1, 5, 9, 30):
        names.append(f"Touched {days:02d} days ago")
        contact_id = make_contact(app, ws_a, names[-1])
        with app.app_context(), workspace_scope(ws_a.id):
            db.session.get(Contact, contact_id).last_activity_at = utcnow() - timedelta(days=days)
            db.session.commit()
    names += [make_contact(app, ws_a, f"Never {n}") and f"Never {n}" for n in range(3)]
    monkeypatch.setattr("crm.contacts.queries.PER_PAGE", 3)  # pages that cross from touched to never
    auth.login(ws_a.email, ws_a.password)

    def every_page(sort: str, **args) -> list[str]:
        seen, url, headers = [], contacts_url(ws_a) + "?" + urlencode({"sort": sort, **args}), {}
        while url:
            page = client.get(url, headers=headers).get_data(as_text=True)
            seen += re.findall(r'<a href="[^"]+/contacts/\d+"[^>]*>([^<]+)</a>', page)
            more = re.search(r'id="contacts-more".*?data-hx-get="([^"]+)"', page, re.S)
            url = more.group(1).replace("&amp;", "&") if more else None
            headers = {"HX-Request": "true", "HX-Target": "contacts-more"}
        return seen

    newest_never = ["Never 2", "Never 1", "Never 0"]
    assert every_page("active") == names[:4] + newest_never  # ties broken by id, the newest first
    assert every_page("quiet") == newest_never[::-1] + names[3::-1]
    assert every_page("quiet", q="touched") == names[3::-1]  # searched too (SQLite's search order)


def test_the_day_filters_and_the_added_column_are_the_workspaces_days(app, client, auth, ws_a):
    from datetime import UTC, datetime

    from crm.workspaces.models import Workspace

    late = make_contact(app, ws_a, "Late Evening")
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Workspace, ws_a.id).timezone = "Asia/Shanghai"
        db.session.get(Contact, late).created_at = datetime(2026, 12, 6, 20, 30, tzinfo=UTC)  # 7 December there
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)

    def listed(**args) -> str:
        return client.get(contacts_url(ws_a), query_string={"cols": "created", **args}).get_data(as_text=True)

    assert "Late Evening" in listed(created_from="2026-12-07") and "Dec 7, 2026" in listed(created_from="2026-12-07")
    assert "Late Evening" not in listed(created_to="2026-12-06")


def test_a_view_saved_again_by_name_is_updated_shared_or_kept_and_shows_whose_it_is(app, client, auth, ws_a):
    from crm.contacts.models import SavedView

    colleague = make_member(app, ws_a, "bo@alpha.example.com")
    make_saved_view(app, ws_a, "VIPs", query="level=vip", owner_id=colleague.membership_id, shared=True)
    auth.login(ws_a.email, ws_a.password)
    views_url = f"/w/{ws_a.slug}/contacts/views/"
    post(client, views_url, {"tag": "fair", "name": "VIPs"}, headers=VIEWS)
    panel = post(client, views_url, {"tag": "expo", "name": "vips", "shared": "y"}, headers=VIEWS)  # any case
    body = panel.get_data(as_text=True)
    assert "updated with the list as it is now" in panel.headers.get("HX-Trigger", "") + body
    with app.app_context(), workspace_scope(ws_a.id):
        mine = db.session.scalars(sa.select(SavedView).where(SavedView.owner_id == ws_a.membership_id)).all()
        assert [(view.name, view.query, view.shared) for view in mine] == [("VIPs", "tag=expo", True)]
        view_id = mine[0].id
    with app.app_context():
        from crm.auth.models import User

        colleague_name = db.session.get(User, colleague.user_id).name
    assert f'<span class="hint">by {colleague_name}</span>' in body  # the colleague's VIPs, told apart
    kept = post(client, f"{views_url}{view_id}/share", {}, headers=VIEWS)
    assert kept.status_code == 200
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(SavedView, view_id).shared is False
    # Only the owner shares or keeps a view: another member gets 404 for it.
    auth.logout()
    auth.login(colleague.email, colleague.password)
    assert post(client, f"{views_url}{view_id}/share", {}).status_code == 404


@pytest.mark.parametrize(("list_name", "filters"), [("contacts", {"tag": "vip"}), ("companies", {"industry": "tea"})])
def test_saving_a_shared_view_again_keeps_it_shared_with_the_team(app, client, auth, ws_a, list_name, filters):
    from crm.contacts.models import SavedView

    colleague = make_member(app, ws_a, "bo@alpha.example.com")
    auth.login(ws_a.email, ws_a.password)
    views_url = f"/w/{ws_a.slug}/{list_name}/views/"
    post(client, views_url, {"name": "Big buyers", "shared": "y"}, headers=VIEWS)
    # Saved again by name with other filters; the box to share is drawn unticked, and left so.
    again = post(client, views_url, {**filters, "name": "Big buyers"}, headers=VIEWS)
    told = html.unescape(again.headers.get("HX-Trigger", "") + again.get_data(as_text=True))
    assert "View Big buyers updated with the list as it is now; it stays shared with the team." in told
    with app.app_context(), workspace_scope(ws_a.id):
        views = db.session.scalars(sa.select(SavedView)).all()
        assert [(view.name, view.query, view.shared) for view in views] == [("Big buyers", urlencode(filters), True)]
        view_id = views[0].id
    auth.logout()
    auth.login(colleague.email, colleague.password)
    panel = client.get(views_url, headers=VIEWS).get_data(as_text=True)
    assert ">Big buyers</a>" in panel and f"?{urlencode(filters)}" in panel
    # Keep to me is what takes it back from the team.
    auth.logout()
    auth.login(ws_a.email, ws_a.password)
    post(client, f"{views_url}{view_id}/share", {}, headers=VIEWS)
    again = post(client, views_url, {**filters, "name": "Big buyers"}, headers=VIEWS)
    told = html.unescape(again.headers.get("HX-Trigger", "") + again.get_data(as_text=True))
    assert "View Big buyers updated with the list as it is now." in told and "shared with the team" not in told
    auth.logout()
    auth.login(colleague.email, colleague.password)
    assert "Big buyers" not in client.get(views_url, headers=VIEWS).get_data(as_text=True)


def test_a_new_contact_that_looks_like_another_says_so_once_saved(app, client, auth, ws_a):
    make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], owner_id=ws_a.membership_id)
    auth.login(ws_a.email, ws_a.password)
    same = {"name": "Ann L.", "emails": "ANN@example.com", "lifecycle": "lead"}
    page = client.get(post(client, contacts_url(ws_a), same).headers["Location"]).get_data(as_text=True)
    assert "Contact Ann L. added. It may be the same person as Ann Lee: compare them under Duplicates." in page
    other = client.get(post(client, contacts_url(ws_a), {"name": "Bo Chen", "lifecycle": "lead"}).headers["Location"])
    assert "Contact Bo Chen added.</" in other.get_data(as_text=True)
    # A member who may not see Ann is not told about her.
    rid = make_role(app, ws_a, "Own contacts", permissions=["contacts.read", "contacts.write"], record_scope="own")
    member = make_member(app, ws_a, "own@alpha.example.com")
    assign_role(app, ws_a, member.membership_id, rid)
    auth.logout()
    auth.login(member.email, member.password)
    mine = {**same, "name": "Ann Again", "owner_id": str(member.membership_id)}
    page = client.get(post(client, contacts_url(ws_a), mine).headers["Location"]).get_data(as_text=True)
    assert "Contact Ann Again added." in page and "Ann Lee" not in page


def test_control_characters_typed_or_sent_are_left_out(app, client, auth, ws_a):
    """No one types NUL or ESC; a client that sends them gets text without them (PostgreSQL refuses
    NUL in text, and a page showing a control character is invalid HTML). C1 controls are as invalid, and
    a right-to-left override shows "Ann \u202efdp.exe" as "Ann exe.pdf": both go too. Right-to-left marks
    and isolates, which Arabic and Hebrew text uses, stay."""
    auth.login(ws_a.email, ws_a.password)
    tel_aviv = "\u2067\u05ea\u05dc \u05d0\u05d1\u05d9\u05d1\u2069 \u200f(3)"
    about = "Line one\r\n\u202a\u202b\u202c\u202d\x9fline\ttwo"
    data = {"name": "\x00Ann\x1b Lee\x85", "title": "Buy\x07er \u202efdp.exe", "lifecycle": "lead", "about": about,
            "city": tel_aviv}  # fmt: skip
    created = post(client, contacts_url(ws_a), data)
    assert created.status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        contact = db.session.scalar(sa.select(Contact))
        assert (contact.name, contact.title, contact.about) == ("Ann Lee", "Buyer fdp.exe", "Line one\r\nline\ttwo")
        assert contact.city == tel_aviv
    page = client.get(created.headers["Location"]).get_data(as_text=True)
    assert_valid_page(page, "a contact saved from text with control characters")
    assert "\u202e" not in page and "\x85" not in page
    found = client.get(contacts_url(ws_a), query_string={"q": "ann\x00\u202e\x85"}).get_data(as_text=True)
    assert "Ann Lee" in found


def former_owner(app, ws, status: str):
    """Sam Lee, a seller of ``ws`` who is then disabled or removed."""
    make_user(app, f"sam.{status}@alpha.example.com", name="Sam Lee")
    sam = make_member(app, ws, f"sam.{status}@alpha.example.com")
    return sam


def set_status(app, ws, membership_id: int, status: str) -> None:
    from crm.workspaces.models import Membership

    with app.app_context(), workspace_scope(ws.id):
        db.session.get(Membership, membership_id).status = status
        db.session.commit()


@pytest.mark.parametrize(("status", "shown"), [("disabled", "Sam Lee (disabled)"),
                                               ("removed", "Sam Lee (no longer a member)")])  # fmt: skip
def test_editing_a_contact_of_a_disabled_or_removed_owner_keeps_its_owner(app, client, auth, ws_a, status, shown):
    sam = former_owner(app, ws_a, status)
    ann = make_contact(app, ws_a, "Ann Lee", owner_id=sam.membership_id)
    set_status(app, ws_a, sam.membership_id, status)
    auth.login(ws_a.email, ws_a.password)
    for headers in ({}, DETAILS):  # the edit page, and the details panel's edit in place
        page = client.get(contacts_url(ws_a, f"{ann}/edit"), headers=headers).get_data(as_text=True)
        assert f'<option selected value="{sam.membership_id}">{shown}</option>' in page
        sent = sent_by_browser(page)
        assert sent["owner_id"] == str(sam.membership_id)
        response = post(client, contacts_url(ws_a, str(ann)), {**sent, "title": f"CEO {len(headers)}"}, headers=headers)
        assert response.status_code == (200 if headers else 303)
        assert stored(app, ws_a, ann).owner_id == sam.membership_id
    assert stored(app, ws_a, ann).title == "CEO 2"
    assert [action for action, changes in audit_actions(app, ws_a, ann) if "owner_id" in changes] == ["contact.created"]
    # Whom a contact can be given to stays the active members: a new contact, the bulk bar's owner.
    assert "Sam Lee" not in client.get(contacts_url(ws_a, "new")).get_data(as_text=True)
    assert "Sam Lee" not in client.get(contacts_url(ws_a, "owner-choices")).get_data(as_text=True)
    # Another contact's form does not offer Sam either.
    bo = make_contact(app, ws_a, "Bo Lee", owner_id=ws_a.membership_id)
    assert "Sam Lee" not in client.get(contacts_url(ws_a, f"{bo}/edit")).get_data(as_text=True)
    refused = post(client, contacts_url(ws_a, str(bo)), {"name": "Bo Lee", "lifecycle": "lead",
                                                         "owner_id": str(sam.membership_id)})  # fmt: skip
    assert refused.status_code == 422 and stored(app, ws_a, bo).owner_id == ws_a.membership_id


def test_the_owner_of_a_contact_can_still_be_changed_away_from_a_disabled_member(app, client, auth, ws_a):
    sam = former_owner(app, ws_a, "disabled")
    ann = make_contact(app, ws_a, "Ann Lee", owner_id=sam.membership_id)
    set_status(app, ws_a, sam.membership_id, "disabled")
    auth.login(ws_a.email, ws_a.password)
    sent = sent_by_browser(client.get(contacts_url(ws_a, f"{ann}/edit")).get_data(as_text=True))
    assert post(client, contacts_url(ws_a, str(ann)), {**sent, "owner_id": ""}).status_code == 303
    assert stored(app, ws_a, ann).owner_id is None
    assert [changes["owner_id"] for _action, changes in audit_actions(app, ws_a, ann) if "owner_id" in changes] == [
        [None, sam.membership_id],
        [sam.membership_id, None],
    ]


def test_a_seller_who_hands_a_contact_over_is_told_and_taken_to_the_list(app, client, auth, ws_a):
    """Under "own records" a contact given away can no longer be opened: its page would be a 404."""
    rid = make_role(app, ws_a, "Own contacts", permissions=["contacts.read", "contacts.write"], record_scope="own")
    sam = make_member(app, ws_a, "sam@alpha.example.com")
    assign_role(app, ws_a, sam.membership_id, rid)
    ann = make_contact(app, ws_a, "Ann Lee", owner_id=sam.membership_id)
    bo = make_contact(app, ws_a, "Bo Lee", owner_id=sam.membership_id)
    auth.login(sam.email, sam.password)
    # In place (the details panel): htmx is told to load the list, whose page shows the message.
    sent = sent_by_browser(client.get(contacts_url(ws_a, f"{ann}/edit"), headers=DETAILS).get_data(as_text=True))
    response = post(client, contacts_url(ws_a, str(ann)), {**sent, "owner_id": str(ws_a.membership_id)},
                    headers=DETAILS)  # fmt: skip
    assert response.status_code == 204 and response.headers["HX-Redirect"] == contacts_url(ws_a)
    assert "HX-Trigger" not in response.headers  # no "Contact saved." over an error
    page = client.get(response.headers["HX-Redirect"]).get_data(as_text=True)
    assert "Contact Ann Lee saved and handed over to Alice." in page
    assert "Bo Lee</a>" in page and "Ann Lee</a>" not in page
    assert stored(app, ws_a, ann).owner_id == ws_a.membership_id
    # Without JavaScript: the same, through a redirect; given to nobody, the message says so.
    sent = sent_by_browser(client.get(contacts_url(ws_a, f"{bo}/edit")).get_data(as_text=True))
    response = post(client, contacts_url(ws_a, str(bo)), {**sent, "owner_id": ""})
    assert response.status_code == 303 and response.headers["Location"] == contacts_url(ws_a)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Contact Bo Lee saved. It has no owner now, so it is no longer on your list." in page
    assert stored(app, ws_a, bo).owner_id is None
    # A contact kept is saved as before, on its own page.
    cy = make_contact(app, ws_a, "Cy Lee", owner_id=sam.membership_id)
    sent = sent_by_browser(client.get(contacts_url(ws_a, f"{cy}/edit"), headers=DETAILS).get_data(as_text=True))
    response = post(client, contacts_url(ws_a, str(cy)), {**sent, "title": "CEO"}, headers=DETAILS)
    assert response.status_code == 200 and "Contact saved." in response.headers["HX-Trigger"]


def test_text_with_spaces_around_is_measured_as_saved_trimmed(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee")
    auth.login(ws_a.email, ws_a.password)
    sent = sent_by_browser(client.get(contacts_url(ws_a, f"{ann}/edit")).get_data(as_text=True))
    name = "A" * 198
    response = post(client, contacts_url(ws_a, str(ann)), {**sent, "country": "cn ", "name": f"  {name}  ",
                                                          "postal_code": f" {'1' * 20} "})  # fmt: skip
    assert response.status_code == 303
    contact = stored(app, ws_a, ann)
    assert (contact.country, contact.name, contact.postal_code) == ("CN", name, "1" * 20)
    # Still too long once trimmed: refused, and the form shows what was typed, trimmed.
    response = post(client, contacts_url(ws_a, str(ann)), {**sent, "country": " cnn "})
    assert response.status_code == 422 and "Field must be exactly 2 characters long." in response.get_data(as_text=True)
    created = post(client, contacts_url(ws_a), {"name": " Bo Lee ", "country": " us", "lifecycle": "lead"})
    assert created.status_code == 303 and "Bo Lee" in names(app, ws_a)


def test_a_phone_number_is_found_as_it_is_dialled_in_the_workspaces_country(app, client, auth, ws_a):
    from crm.workspaces.models import Workspace

    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Workspace, ws_a.id).phone_region = "GB"
        db.session.commit()
    make_contact(app, ws_a, "Ann Lee", phones=["+442071838750"])
    make_contact(app, ws_a, "Bob Stone", phones=["+8613800138000"])
    auth.login(ws_a.email, ws_a.password)

    def found(q: str) -> set[str]:
        body = client.get(contacts_url(ws_a), query_string={"q": q}, headers=RESULTS).get_data(as_text=True)
        return {name for name in ("Ann Lee", "Bob Stone") if name in body}

    page = client.get(contacts_url(ws_a, "?cols=phone")).get_data(as_text=True)
    assert "020 7183 8750" in page  # the list shows the number as it is dialled in Britain...
    assert found("020 7183 8750") == {"Ann Lee"}  # ...and finds it so
    assert found("(020) 7183") == {"Ann Lee"}  # while it is typed
    assert found("0044 20 7183 8750") == {"Ann Lee"}  # dialled from abroad
    assert found("+44 20 7183 8750") == found("7183 8750") == {"Ann Lee"}
    assert found("0086 138 0013 8000") == {"Bob Stone"}
    assert found("020/7183 8750") == {"Ann Lee"}  # the area code set apart by a slash
    assert found("020 1380") == set()  # a British number starting 20 1380: nobody's


def test_a_damaged_load_more_link_says_so_in_words(app, client, auth, ws_a):
    make_contact(app, ws_a, "Ann Lee")
    auth.login(ws_a.email, ws_a.password)
    said = "This link to a further page is damaged or out of date: open the page again."
    for headers in ({}, {"HX-Request": "true", "HX-Target": "contacts-more"}):
        response = client.get(contacts_url(ws_a, "?sort=name&after=WyIxIl0"), headers=headers)
        assert response.status_code == 400 and said in html.unescape(response.get_data(as_text=True))
    response = client.get(f"/w/{ws_a.slug}/companies/?after=bm9uc2Vuc2U")
    assert response.status_code == 400 and said in html.unescape(response.get_data(as_text=True))
    contact_id = make_contact(app, ws_a, "Bob Stone")
    response = client.get(contacts_url(ws_a, f"{contact_id}/timeline?after=bm9uc2Vuc2U"))  # the contact's timeline
    assert response.status_code == 400 and said in html.unescape(response.get_data(as_text=True))


def test_under_own_records_a_colleagues_owner_filter_from_a_shared_view_is_shown_not_hidden(app, client, auth, ws_a):
    rid = make_role(app, ws_a, "Own contacts", permissions=["contacts.read"], record_scope="own")
    member = make_member(app, ws_a, "own@alpha.example.com")
    assign_role(app, ws_a, member.membership_id, rid)
    make_contact(app, ws_a, "Mine Alone", owner_id=member.membership_id)
    make_contact(app, ws_a, "Somebody Else's", owner_id=ws_a.membership_id)
    view = make_saved_view(app, ws_a, "Alice's customers", query=f"owner={ws_a.membership_id}")
    auth.login(member.email, member.password)
    assert "Alice&#39;s customers" in client.get(contacts_url(ws_a, "views/")).get_data(as_text=True) and view
    page = client.get(contacts_url(ws_a), query_string={"owner": ws_a.membership_id}).get_data(as_text=True)
    assert "Mine Alone" not in page and "Somebody Else" not in page
    owner_select = page.split('<select id="owner"')[1].split("</select>")[0]
    # The filter that empties the list is in sight, with the colleague's name (not "Anyone")
    assert f'<option value="{ws_a.membership_id}" selected>Alice</option>' in owner_select
    mine = client.get(contacts_url(ws_a)).get_data(as_text=True)
    assert (
        "Mine Alone" in mine
        and f'value="{ws_a.membership_id}"' not in mine.split('<select id="owner"')[1].split("</select>")[0]
    )  # without the filter, colleagues are not offered
