"""Who may log, finish, correct and delete activities, whichever page of a record it is done from:
a contact's and a company's need ``notes.write`` and ``contacts.read``, a deal's ``notes.write`` and
``deals.read``; someone else's entry on a deal needs ``deals.delete`` on the deal's, its person's and
its company's page alike (crm/activities/service.py delete_permission)."""

from datetime import timedelta

import sqlalchemy as sa

from crm.activities.models import Activity
from crm.db import utcnow
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import (
    assign_role,
    make_activity,
    make_company,
    make_company_activity,
    make_contact,
    make_deal,
    make_deal_activity,
    make_member,
    make_role,
)


def member_with(app, ws, email: str, *permissions: str):
    member = make_member(app, ws, email)
    assign_role(app, ws, member.membership_id, make_role(app, ws, f"Role of {email}", permissions))
    return member


def bodies(app, ws) -> dict[int, Activity]:
    with app.app_context(), workspace_scope(ws.id):
        activities = db.session.scalars(sa.select(Activity)).all()
        db.session.expunge_all()
        return {activity.id: activity for activity in activities}


def entry_of(page: str, activity_id: int) -> str:
    return page.split(f'id="entry-activity-{activity_id}"')[1].split("</li>")[0]


def test_without_contacts_read_nothing_is_logged_finished_or_deleted_on_a_contact(app, client, auth, ws_a):
    """Team notes without customers: the contact's page is a 403, and so is every action on its
    timeline, as on a company's; nothing changes."""
    nora = member_with(app, ws_a, "nora@alpha.example.com", "notes.write")
    ann = make_contact(app, ws_a, "Ann Lee")
    acme = make_company(app, ws_a, "Acme Ltd")
    boss_task = make_activity(app, ws_a, ann, "The owner's task", kind="task", due_at=utcnow(),
                              assignee_id=ws_a.membership_id)  # fmt: skip
    her_note = make_activity(app, ws_a, ann, "Nora's old note", author_id=nora.membership_id)
    company_task = make_company_activity(app, ws_a, acme, "The owner's company task", kind="task",
                                         due_at=utcnow(), assignee_id=ws_a.membership_id)  # fmt: skip
    before = bodies(app, ws_a)
    auth.login(nora.email, nora.password)
    contact, company = f"/w/{ws_a.slug}/contacts/{ann}", f"/w/{ws_a.slug}/companies/{acme}"
    assert client.get(contact).status_code == 403
    assert client.get(company).status_code == 403
    swap = {"HX-Request": "true", "HX-Target": "activity-composer"}
    for url in (f"{contact}/activities/", f"{company}/activities/"):
        assert post(client, url, {"kind": "note", "body": "Logged anyway"}).status_code == 403, url
        assert post(client, url, {"kind": "note", "body": "Logged anyway"}, headers=swap).status_code == 403, url
    for url in (f"{contact}/activities/{boss_task}/done", f"{company}/activities/{company_task}/done"):
        assert post(client, url, {"done": "1"}).status_code == 403, url
    assert post(client, f"{contact}/activities/{her_note}/delete", {}).status_code == 403
    assert client.get(f"{contact}/activities/{her_note}/edit").status_code == 403
    after = bodies(app, ws_a)
    assert sorted(after) == sorted(before)  # nothing logged, nothing deleted
    assert after[boss_task].done_at is None and after[company_task].done_at is None


def test_a_deal_only_member_acts_on_the_deal_but_not_through_its_person(app, client, auth, ws_a):
    """Deals without customers: the deal's own page takes notes and finishes its tasks; its person's
    page, and the same entries through it, are a 403."""
    dee = member_with(app, ws_a, "dee@alpha.example.com", "deals.read", "deals.write", "notes.write")
    ann = make_contact(app, ws_a, "Ann Lee")
    deal = make_deal(app, ws_a, "Tea chests", contact_id=ann)
    chase = make_deal_activity(app, ws_a, deal, "Chase the chests", kind="task", due_at=utcnow(),
                               assignee_id=ws_a.membership_id)  # fmt: skip
    auth.login(dee.email, dee.password)
    via_person = f"/w/{ws_a.slug}/contacts/{ann}/activities/"
    assert post(client, via_person, {"kind": "note", "body": "Through Ann"}).status_code == 403
    assert post(client, f"{via_person}{chase}/done", {"done": "1"}).status_code == 403
    assert bodies(app, ws_a)[chase].done_at is None
    on_deal = f"/w/{ws_a.slug}/deals/{deal}/activities/"
    assert post(client, on_deal, {"kind": "note", "body": "On the deal"}).status_code == 303
    assert post(client, f"{on_deal}{chase}/done", {"done": "1"}).status_code == 303
    after = bodies(app, ws_a)
    assert after[chase].done_at is not None
    assert [a.body for a in after.values() if a.body == "On the deal"] == ["On the deal"]


def test_someone_elses_entry_on_a_deal_needs_deals_delete_from_its_persons_and_companys_page(app, client, auth, ws_a):
    """Customers' admin without deals.delete: the owner's note on a deal is neither corrected nor
    deleted from its person's or its company's page (no Edit, no Delete shown; 403), as on the deal's;
    their own entry on the deal, and the person's own entries, are theirs as before."""
    mo = member_with(app, ws_a, "mo@alpha.example.com", "contacts.read", "contacts.write", "contacts.delete",
                     "deals.read", "notes.write")  # fmt: skip
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    deal = make_deal(app, ws_a, "Tea chests", contact_id=ann, company_id=acme)
    boss_note = make_deal_activity(app, ws_a, deal, "The owner's deal note")
    his_note = make_deal_activity(app, ws_a, deal, "Mo's deal note", author_id=mo.membership_id)
    person_note = make_activity(app, ws_a, ann, "The owner's note on Ann")
    auth.login(mo.email, mo.password)
    contact, company = f"/w/{ws_a.slug}/contacts/{ann}", f"/w/{ws_a.slug}/companies/{acme}"
    for page_url in (contact, company):
        page = client.get(page_url).get_data(as_text=True)
        boss = entry_of(page, boss_note)
        assert "The owner&#39;s deal note" in boss and "/edit" not in boss and "/delete" not in boss, page_url
        mine = entry_of(page, his_note)
        assert f"/activities/{his_note}/edit" in mine and f"/activities/{his_note}/delete" in mine, page_url
        person = entry_of(page, person_note)  # contacts.delete: the person's own entries
        assert f"/activities/{person_note}/edit" in person and f"/activities/{person_note}/delete" in person
    for base in (f"/w/{ws_a.slug}/deals/{deal}", contact, company):
        url = f"{base}/activities/{boss_note}"
        assert client.get(f"{url}/edit").status_code == 403, base
        assert post(client, f"{url}/edit", {f"entry{boss_note}-body": "Rewritten"}).status_code == 403, base
        assert post(client, f"{url}/delete", {}).status_code == 403, base
    assert bodies(app, ws_a)[boss_note].body == "The owner's deal note"
    assert client.get(f"{contact}/activities/{his_note}/edit").status_code == 200
    assert post(client, f"{contact}/activities/{his_note}/delete", {}).status_code == 303
    assert post(client, f"{company}/activities/{person_note}/delete", {}).status_code == 303
    assert sorted(bodies(app, ws_a)) == [boss_note]


def test_deals_delete_removes_a_deal_entry_from_its_persons_page_without_contacts_delete(app, client, auth, ws_a):
    """The other way round: with deals.delete but not contacts.delete, the owner's entry on a deal
    goes from its person's page (Edit and Delete shown), the owner's note on the person does not."""
    dot = member_with(app, ws_a, "dot@alpha.example.com", "contacts.read", "deals.read", "deals.delete",
                      "notes.write")  # fmt: skip
    ann = make_contact(app, ws_a, "Ann Lee")
    deal = make_deal(app, ws_a, "Tea chests", contact_id=ann)
    boss_note = make_deal_activity(app, ws_a, deal, "The owner's deal note", occurred_at=utcnow() - timedelta(hours=1))
    person_note = make_activity(app, ws_a, ann, "The owner's note on Ann")
    auth.login(dot.email, dot.password)
    contact = f"/w/{ws_a.slug}/contacts/{ann}"
    page = client.get(contact).get_data(as_text=True)
    assert f"/activities/{boss_note}/delete" in entry_of(page, boss_note)
    assert "/delete" not in entry_of(page, person_note) and "/edit" not in entry_of(page, person_note)
    assert client.get(f"{contact}/activities/{boss_note}/edit").status_code == 200
    assert post(client, f"{contact}/activities/{person_note}/delete", {}).status_code == 403
    swap = {"HX-Request": "true", "HX-Target": f"entry-activity-{boss_note}"}
    gone = post(client, f"{contact}/activities/{boss_note}/delete", {}, headers=swap)
    body = gone.get_data(as_text=True)  # the entry swapped for nothing, the summary out of band
    assert gone.status_code == 200 and f"entry-activity-{boss_note}" not in body and 'id="contact-summary"' in body
    assert sorted(bodies(app, ws_a)) == [person_note]


def test_a_deals_task_is_finished_from_its_persons_and_companys_page_only_by_who_may_open_the_deal(
    app, client, auth, ws_a
):
    """A deal's task shows on its person's and company's pages too. A member who may not open the
    deal (no deals.read; or, limited to their own records, someone else's deal) sees it there without
    "Mark done", and a post is a 403; its assignee still finishes it; with deals.read it is done."""
    carl = member_with(app, ws_a, "carl@alpha.example.com", "contacts.read", "notes.write")
    own = make_role(app, ws_a, "Own records", ("contacts.read", "deals.read", "notes.write"), record_scope="own")
    olly = make_member(app, ws_a, "olly@alpha.example.com")
    assign_role(app, ws_a, olly.membership_id, own)
    dana = member_with(app, ws_a, "dana@alpha.example.com", "contacts.read", "deals.read", "notes.write")
    acme = make_company(app, ws_a, "Acme Ltd", owner_id=olly.membership_id)
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme, owner_id=olly.membership_id)
    deal = make_deal(app, ws_a, "Tea chests", contact_id=ann, company_id=acme)  # the owner's, not Olly's
    chase = make_deal_activity(app, ws_a, deal, "Chase the chests", kind="task", due_at=utcnow(),
                               assignee_id=ws_a.membership_id)  # fmt: skip
    pages = (f"/w/{ws_a.slug}/contacts/{ann}", f"/w/{ws_a.slug}/companies/{acme}")
    for member in (carl, olly):
        auth.login(member.email, member.password)
        for page_url in pages:
            entry = entry_of(client.get(page_url).get_data(as_text=True), chase)
            assert "Chase the chests" in entry and "Mark done" not in entry, (member.email, page_url)
            assert post(client, f"{page_url}/activities/{chase}/done", {"done": "1"}).status_code == 403
        auth.logout()
    assert bodies(app, ws_a)[chase].done_at is None
    auth.login(dana.email, dana.password)
    assert "Mark done" in entry_of(client.get(pages[0]).get_data(as_text=True), chase)
    assert post(client, f"{pages[1]}/activities/{chase}/done", {"done": "1"}).status_code == 303
    assert bodies(app, ws_a)[chase].done_at is not None
