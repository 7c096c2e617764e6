"""An import in mode "update" writes each batch of matched contacts in a few statements
(crm/imports/runner.py ``Work._update``): rows changing different things of different contacts in
one batch must each land on their own contact, with its identities, search text, kept change and
undo, and the number of statements must not grow with the rows."""

from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from crm.contacts import identities
from crm.contacts.models import Company, Contact, ContactIdentity
from crm.duplicates import finder
from crm.extensions import db
from crm.imports.models import ImportChange
from crm.imports.work import update_rows
from crm.tenancy import NoWorkspace, workspace_scope
from tests.conftest import post
from tests.factories import make_company, make_contact, make_custom_field
from tests.test_imports import check, import_id_of, imports_url, upload

RESULTS = {"HX-Request": "true", "HX-Target": "contact-results"}
SKIPPED = {"updated_at"}  # moves with every write, undo's too


def snapshot(app, ws, contact_id: int) -> dict:
    """Every column of the contact (but updated_at), its tags and its identity rows."""
    with app.app_context(), workspace_scope(ws.id):
        contact = db.session.get(Contact, contact_id)
        values = {c.key: getattr(contact, c.key) for c in sa.inspect(Contact).column_attrs if c.key not in SKIPPED}
        values["tags"] = [tag.name for tag in contact.tags]
        values["identities"] = sorted(db.session.execute(
            sa.select(ContactIdentity.kind, ContactIdentity.value).where(ContactIdentity.contact_id == contact_id)
        ).all())  # fmt: skip
        values["updated"] = contact.updated_at
        return values


def test_a_batch_of_different_changes_lands_on_each_contact_and_undo_puts_each_back(app, client, auth, ws_a):
    territory = make_custom_field(app, ws_a, "Territory")
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], title="Clerk", tags=["old"], company_id=acme)
    bo = make_contact(app, ws_a, "Bo Chen", emails=["bo@example.com"], phones=["+16502530000"])
    robert = make_contact(app, ws_a, "Robert Chen", emails=["robert@example.com"], phones=["+16502530001"])
    cy = make_contact(app, ws_a, "Cy Diaz", emails=["cy@example.com"], title="Buyer", tags=["old"])
    di = make_contact(app, ws_a, "Di Evans", emails=["di@example.com"], company_id=acme)
    ed = make_contact(app, ws_a, "Ed Fox", emails=["ed@example.com"])
    everyone = (ann, bo, robert, cy, di, ed)
    was = {contact_id: snapshot(app, ws_a, contact_id) for contact_id in everyone}
    text = (
        "Name,Email,Title,Tags,Company,Phone,Birthday,Territory\n"
        "Ann Lee,ann@example.com,Director,,,,,\n"  # only the title
        'Bo Chen,"bo@example.com, bo.chen@work.example.com",,,,+1 650 253 0001,,\n'  # an email, Robert's phone
        "Cy Diaz,cy@example.com,,fair,,,,\n"  # a tag more
        "Di Evans,di@example.com,,,Globex,,,\n"  # another (new) company
        "Ed Fox,ed@example.com,,,,+44 20 7946 0958,1980-02-03,North\n"  # a phone, a birthday, a custom value
    )
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, text))
    check(client, app, ws_a, import_id, mode="update")
    post(client, imports_url(ws_a, f"{import_id}/run"), {})

    now = {contact_id: snapshot(app, ws_a, contact_id) for contact_id in everyone}
    with app.app_context(), workspace_scope(ws_a.id):
        globex = db.session.scalar(sa.select(Company.id).where(Company.name == "Globex"))
        key = _key_of(territory)
        changes = {
            change.contact_id: (change.before, change.after)
            for change in db.session.scalars(sa.select(ImportChange).where(ImportChange.import_id == import_id))
        }
        owners = identities.owners_of("email", ["bo.chen@work.example.com"])
        phone_owners = identities.owners_of("phone", ["+442079460958", "+16502530001"])
        pairs = {(c.contact_id, c.other_id, c.reason) for c in finder.shared_identities()}

    def differs(contact_id: int) -> dict:
        return {k: (was[contact_id][k], v) for k, v in now[contact_id].items() if was[contact_id][k] != v}

    assert differs(ann) == {"title": ("Clerk", "Director"), "updated": (was[ann]["updated"], now[ann]["updated"])}
    emails = ["bo@example.com", "bo.chen@work.example.com"]
    phones = ["+16502530000", "+16502530001"]
    assert differs(bo).keys() == {"emails", "phones", "search_text", "identities", "updated"}
    assert now[bo]["emails"] == emails and "bo.chen@work.example.com" in now[bo]["search_text"]
    assert now[bo]["identities"] == sorted([("email", e) for e in emails] + [("phone", p) for p in phones])
    assert differs(cy) == {"tags": (["old"], ["fair", "old"])}  # tags alone never wrote the contact's row
    assert differs(di).keys() == {"company_id", "search_text", "updated"} and now[di]["company_id"] == globex
    assert "globex" in now[di]["search_text"] and "acme" not in now[di]["search_text"]
    assert differs(ed).keys() == {"phones", "birthday", "birthday_md", "custom", "search_text", "identities",
                                  "updated"}  # fmt: skip
    assert (now[ed]["phones"], now[ed]["birthday"], now[ed]["birthday_md"]) == (["+442079460958"], date(1980, 2, 3),
                                                                                 203)  # fmt: skip
    assert now[ed]["custom"] == {key: "North"} and ("phone", "+442079460958") in now[ed]["identities"]
    assert differs(robert) == {}
    # The identities are what matching and duplicate detection read.
    assert owners == {"bo.chen@work.example.com": bo}
    assert phone_owners == {"+442079460958": ed, "+16502530001": bo}  # the oldest contact holding it
    assert (min(bo, robert), max(bo, robert), "phone") in pairs
    assert changes == {
        ann: ({"title": "Clerk"}, {"title": "Director"}),
        bo: ({"emails": ["bo@example.com"], "phones": ["+16502530000"]}, {"emails": emails, "phones": phones}),
        cy: ({"tags": ["old"]}, {"tags": ["fair"]}),
        di: ({"company_id": acme}, {"company_id": globex}),
        ed: ({"birthday": None, "phones": [], "custom": {}},
             {"birthday": "1980-02-03", "phones": ["+442079460958"], "custom": {key: "North"}}),
    }  # fmt: skip

    def found(q: str) -> set[str]:
        body = client.get(f"/w/{ws_a.slug}/contacts/", query_string={"q": q}, headers=RESULTS).get_data(as_text=True)
        return {name for name in ("Ann Lee", "Bo Chen", "Robert Chen", "Cy Diaz", "Di Evans", "Ed Fox") if name in body}

    assert found("bo.chen@work") == {"Bo Chen"} and found("650 253 0001") == {"Bo Chen", "Robert Chen"}
    assert found("globex") == {"Di Evans"} and found("acme") == {"Ann Lee"}
    assert found("7946 0958") == {"Ed Fox"}

    post(client, imports_url(ws_a, f"{import_id}/undo"), {})
    back = {contact_id: snapshot(app, ws_a, contact_id) for contact_id in everyone}
    for contact_id in everyone:
        assert {k: v for k, v in back[contact_id].items() if k != "updated"} == {
            k: v for k, v in was[contact_id].items() if k != "updated"
        }, contact_id
    assert found("bo.chen@work") == set() and found("650 253 0001") == {"Robert Chen"}
    assert found("acme") == {"Ann Lee", "Di Evans"}


def _key_of(field_id: int) -> str:
    from crm.custom_fields.models import CustomField

    return db.session.get(CustomField, field_id).key


def _statements_to_update(app, client, ws, count: int, first: int) -> int:
    """The statements an update import of ``count`` rows sends while it runs (not its dry run)."""
    ids = [
        make_contact(app, ws, f"Person {number}", emails=[f"p{number}@example.com"], title="Clerk")
        for number in range(first, first + count)
    ]
    rows = "".join(
        f"Person {n},p{n}@example.com,Director,+1 650 253 {n:04d},new{first}\n" for n in range(first, first + count)
    )
    import_id = import_id_of(upload(client, ws, "Name,Email,Title,Phone,Tags\n" + rows))
    check(client, app, ws, import_id, mode="update")
    sent = []
    with app.app_context():
        engine = db.engine

    def count_it(*_args):
        sent.append(1)

    sa.event.listen(engine, "before_cursor_execute", count_it)
    try:
        post(client, imports_url(ws, f"{import_id}/run"), {})
    finally:
        sa.event.remove(engine, "before_cursor_execute", count_it)
    with app.app_context(), workspace_scope(ws.id):
        titles = db.session.scalars(sa.select(Contact.title).where(Contact.id.in_(ids)))
        assert set(titles) == {"Director"}
    return len(sent)


def test_an_update_batch_sends_as_many_statements_for_many_rows_as_for_few(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    few = _statements_to_update(app, client, ws_a, 3, first=100)
    many = _statements_to_update(app, client, ws_a, 30, first=200)
    assert many == few


def test_the_bulk_update_writes_only_the_bound_workspaces_rows(app, ws_a, ws_b):
    """Its statements go past the ORM's wall: they carry the workspace themselves, and a row they do
    not find fails them as the ORM's flush fails."""
    theirs = make_contact(app, ws_b, "Bea Other", title="Clerk")
    mine = make_contact(app, ws_a, "Ann Lee", title="Clerk")
    with app.app_context(), workspace_scope(ws_a.id), pytest.raises(StaleDataError):
        update_rows(Contact, [{"id": theirs, "title": "Taken"}, {"id": mine, "title": "Taken"}])
    with app.app_context(), workspace_scope(ws_a.id):  # the first statement of its transaction
        update_rows(Contact, [{"id": mine, "title": "Director"}])
        db.session.commit()
    with app.app_context(), workspace_scope(ws_b.id):
        assert db.session.get(Contact, theirs).title == "Clerk"
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Contact, mine).title == "Director"
    with app.app_context(), pytest.raises(NoWorkspace):
        update_rows(Contact, [{"id": mine, "title": "Nobody's"}])


def test_a_row_whose_addresses_belong_to_two_contacts_updates_neither(app, client, auth, ws_a):
    """Matched by its first address, the row used to update Ann and give her Bob's address too: two
    contacts with one address, and the duplicates check then offering to merge two people."""
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], title="Clerk")
    bob = make_contact(app, ws_a, "Bob Wu", emails=["bob@example.com"], title="Driver")
    auth.login(ws_a.email, ws_a.password)
    text = "Name,Email,Title\nAnn Lee,ann@example.com; Bob@Example.com,CEO\nCy Ho,cy@example.com,\n"
    import_id = import_id_of(upload(client, ws_a, text))
    check(client, app, ws_a, import_id, mode="update")
    page = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert ("ann@example.com belongs to Ann Lee and bob@example.com to Bob Wu: a row updates one contact. Keep only "
            "the right one in this row.") in page  # fmt: skip
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    assert (snapshot(app, ws_a, ann)["emails"], snapshot(app, ws_a, ann)["title"]) == (["ann@example.com"], "Clerk")
    assert (snapshot(app, ws_a, bob)["emails"], snapshot(app, ws_a, bob)["title"]) == (["bob@example.com"], "Driver")
    invalid = client.get(imports_url(ws_a, f"{import_id}/invalid-rows.csv")).get_data(as_text=True)
    assert "Ann Lee" in invalid and "Cy Ho" not in invalid


def test_an_update_needs_no_name_and_a_blank_name_leaves_the_contacts(app, client, auth, ws_a):
    """Updating from a file, a blank cell leaves the value as it is, the name's too: a file of emails and
    titles was refused for want of a name column, and a row with its name left blank was a bad row."""
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], title="Clerk")
    bo = make_contact(app, ws_a, "Bo Chen", emails=["bo@example.com"], title="Clerk")
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, "Email,Title\nann@example.com,CEO\nnew@example.com,Buyer\n"))
    check(client, app, ws_a, import_id, mode="update")
    page = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert "A name is needed." in page  # new@example.com would be a new contact
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    assert (snapshot(app, ws_a, ann)["name"], snapshot(app, ws_a, ann)["title"]) == ("Ann Lee", "CEO")

    text = "Name,Email,Title\n,bo@example.com,Director\nCy Diaz,cy@example.com,\n,dee@example.com,Buyer\n"
    import_id = import_id_of(upload(client, ws_a, text))
    check(client, app, ws_a, import_id, mode="update")
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    assert (snapshot(app, ws_a, bo)["name"], snapshot(app, ws_a, bo)["title"]) == ("Bo Chen", "Director")
    with app.app_context(), workspace_scope(ws_a.id):
        names = set(db.session.scalars(sa.select(Contact.name)))
    assert names == {"Ann Lee", "Bo Chen", "Cy Diaz"}
    invalid = client.get(imports_url(ws_a, f"{import_id}/invalid-rows.csv")).get_data(as_text=True)
    assert "dee@example.com" in invalid and "Name: A name is needed." in invalid

    import_id = import_id_of(upload(client, ws_a, "Email,Title\nbo@example.com,CEO\n"))
    response = check(client, app, ws_a, import_id)  # only adding: a new contact needs its name
    assert response.status_code == 422 and "Choose the column that holds the name" in response.get_data(as_text=True)


def test_a_row_that_would_give_a_contact_more_than_ten_phones_is_a_bad_row(app, client, auth, ws_a):
    """An update adds the file's numbers to those the contact has: past the ten the contact's form
    keeps, the form would refuse to save the contact afterwards; the row is refused instead."""
    phones = [f"+4420718387{n:02d}" for n in range(9)]
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], phones=phones, title="Clerk")
    bo = make_contact(app, ws_a, "Bo Chen", emails=["bo@example.com"], phones=phones[:1])
    auth.login(ws_a.email, ws_a.password)
    text = ('Name,Email,Phone,Title\nAnn Lee,ann@example.com,"+44 20 7183 8790; +44 20 7183 8791",CEO\n'
            'Bo Chen,bo@example.com,+44 20 7183 8790,\n')  # fmt: skip
    import_id = import_id_of(upload(client, ws_a, text))
    check(client, app, ws_a, import_id, mode="update")
    page = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert "This row would give the contact more than 10 phone numbers." in page
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    assert (len(snapshot(app, ws_a, ann)["phones"]), snapshot(app, ws_a, ann)["title"]) == (9, "Clerk")
    assert len(snapshot(app, ws_a, bo)["phones"]) == 2
