"""What imports did to a record shows in its history: a contact's timeline and History panel say
"Changed by import of customers.csv" (who ran it, the values it set, masked as the audit log masks
them) and "Created by import of customers.csv", a company's History panel its creation, and an
undo "Import undone: values restored". Read from the import's own rows (crm/imports/history.py)."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.auth.models import User
from crm.contacts.models import Contact
from crm.extensions import db
from crm.imports.models import Import, ImportChange
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import (
    assign_role,
    make_activity,
    make_contact,
    make_custom_field,
    make_member,
    make_role,
    make_user,
    set_custom_value,
)
from tests.query_counter import count_queries
from tests.test_change_history import history_of, timeline_of
from tests.test_imports import check, contacts_of, import_id_of, imports_url, upload

UPDATE = "Name,Email,Phone,Title,Owner\nAnn Lee,ann@example.com,+44 20 7946 0958,Director,{owner}\n"


def contact_url(ws, contact_id: int, rest: str = "") -> str:
    return f"/w/{ws.slug}/contacts/{contact_id}{rest}"


def run_import(client, app, ws, text: str, filename: str = "customers.csv", mode: str = "update", **kw) -> int:
    import_id = import_id_of(upload(client, ws, text, filename, **kw))
    check(client, app, ws, import_id, mode=mode)
    assert post(client, imports_url(ws, f"{import_id}/run"), {}).status_code == 303
    return import_id


def page_of(client, ws, contact_id: int) -> str:
    response = client.get(contact_url(ws, contact_id))
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_contact_an_import_updated_shows_what_it_changed_and_who_ran_it(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], title="Clerk")
    make_user(app, "bob@alpha.example.com", name="Bob")
    bob = make_member(app, ws_a, "bob@alpha.example.com")
    auth.login(ws_a.email, ws_a.password)
    import_id = run_import(client, app, ws_a, UPDATE.format(owner=bob.email))
    page = page_of(client, ws_a, ann)
    link = f'Changed by import of <a href="/w/{ws_a.slug}/imports/{import_id}">customers.csv</a>'
    for section in (timeline_of(page), history_of(page)):
        assert link in section
        assert '<span class="field-name">Job title</span>: <del>Clerk</del> → <ins>Director</ins>' in section
        assert '<span class="field-name">Phone numbers</span>: <ins>+44 20 7946 0958</ins>' in section
        assert '<span class="field-name">Owner</span>: <ins>Bob</ins>' in section
        assert "Alice" in section and ws_a.email not in section  # who ran it, by name as every entry
    assert 'class="badge">Import</span>' in timeline_of(page)
    assert '· Alice</p><p class="import-of">Changed by import of' in timeline_of(page)
    # By the name they have now, as the rest of the history names members.
    with app.app_context():
        db.session.get(User, ws_a.user_id).name = "Alice Chen"
        db.session.commit()
    page = page_of(client, ws_a, ann)
    assert "Alice Chen" in timeline_of(page) and "Alice Chen" in history_of(page)


def test_a_contact_an_import_created_shows_its_creation_and_so_does_a_company(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    import_id = run_import(client, app, ws_a, "Name,Email,Company\nNew Person,new@example.com,<b>Acme</b>\n",
                           "people.csv", mode="create")  # fmt: skip
    person = contacts_of(app, ws_a)["New Person"]
    page = page_of(client, ws_a, person.id)
    created = f'Created by import of <a href="/w/{ws_a.slug}/imports/{import_id}">people.csv</a>'
    assert created in timeline_of(page) and created in history_of(page)
    assert "Changed by import" not in page
    company = client.get(f"/w/{ws_a.slug}/companies/{person.company_id}").get_data(as_text=True)
    assert created in history_of(company) and "<b>Acme" not in company
    # A file of companies creates them too.
    import_id = run_import(client, app, ws_a, "Name\nGlobex\n", "firms.csv", mode="create", entity="companies")
    with app.app_context(), workspace_scope(ws_a.id):
        from crm.contacts.models import Company

        globex = db.session.scalar(sa.select(Company.id).where(Company.name == "Globex"))
    company = client.get(f"/w/{ws_a.slug}/companies/{globex}").get_data(as_text=True)
    assert f'Created by import of <a href="/w/{ws_a.slug}/imports/{import_id}">firms.csv</a>' in history_of(company)


def test_an_undo_shows_what_it_put_back_and_who_undid_it(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], title="Clerk", tags=["old"])
    make_user(app, "admin@alpha.example.com", name="Dana")
    admin = make_member(app, ws_a, "admin@alpha.example.com", role="admin")
    auth.login(ws_a.email, ws_a.password)
    text = "Name,Email,Title,Tags\nAnn Lee,ann@example.com,Director,fair\nNew Person,new@example.com,,\n"
    import_id = run_import(client, app, ws_a, text)
    new_person = contacts_of(app, ws_a)["New Person"].id
    auth.logout()
    auth.login(admin.email, admin.password)
    assert post(client, imports_url(ws_a, f"{import_id}/undo"), {}).status_code == 303
    page = page_of(client, ws_a, ann)
    for section in (timeline_of(page), history_of(page)):
        undone = section.split("Import undone: values restored")[1]
        assert '<span class="field-name">Job title</span>: <del>Director</del> → <ins>Clerk</ins>' in undone
        assert '<span class="field-name">Tags</span>: <del>fair, old</del> → <ins>old</ins>' in undone
        assert "Dana" in section and "Alice" in section  # who undid it, and who ran the import
        assert "Changed by import of" in undone  # the change itself stays, older
    # The contact it added went to the trash, audited as a deletion by who undid the import.
    with app.app_context(), workspace_scope(ws_a.id):
        deleted = db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "contact.deleted", AuditEntry.record_id == new_person)
        ).one()
        assert (deleted.actor_label, deleted.changes) == (admin.email, {"name": ["New Person", None]})


def test_sensitive_values_an_import_set_stay_masked(app, client, auth, ws_a):
    id_number = make_custom_field(app, ws_a, "ID number", sensitive=True)
    make_custom_field(app, ws_a, "Segment")
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], city="Oslo")
    set_custom_value(app, ws_a, ann, id_number, "110101199001011234")
    auth.login(ws_a.email, ws_a.password)
    text = ("Name,Email,Phone,City,Birthday,ID number,Segment\n"
            "Ann Lee,ann@example.com,+44 20 7946 0958,Bergen,1990-04-02,220101199001011234,Retail\n")  # fmt: skip
    run_import(client, app, ws_a, text)
    mine = page_of(client, ws_a, ann)
    assert "<del>Oslo</del> → <ins>Bergen</ins>" in timeline_of(mine)
    assert '<span class="field-name">ID number</span>: <del>••••••</del> → <ins>••••••</ins>' in timeline_of(mine)
    assert '<span class="field-name">Segment</span>: <ins>Retail</ins>' in timeline_of(mine)
    assert "1234" not in timeline_of(mine) and "1234" not in history_of(mine)
    sales = make_member(app, ws_a, "sales@alpha.example.com", role="sales")  # no contacts.sensitive
    auth.logout()
    auth.login(sales.email, sales.password)
    theirs = page_of(client, ws_a, ann)
    for changed in ("Phone numbers changed", "City changed", "Birthday changed"):
        assert changed in timeline_of(theirs)
    assert '<span class="field-name">Segment</span>: <ins>Retail</ins>' in timeline_of(theirs)
    for secret in ("Bergen", "Oslo", "7946", "1990", "1234"):
        assert secret not in theirs


def test_a_field_made_again_with_another_type_does_not_read_the_old_fields_values(app, client, auth, ws_a):
    staff = make_custom_field(app, ws_a, "Staff")  # text: "10-50"; to count, it is made again as a number
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"])
    auth.login(ws_a.email, ws_a.password)
    run_import(client, app, ws_a, "Name,Email,Staff\nAnn Lee,ann@example.com,10-50\n")
    assert "<ins>10-50</ins>" in timeline_of(page_of(client, ws_a, ann))
    post(client, f"/w/{ws_a.slug}/settings/custom-fields/{staff}/delete", {"confirmed": "yes"})
    make_custom_field(app, ws_a, "Staff", kind="number")  # the same key again
    page = page_of(client, ws_a, ann)  # was a 500: "10-50" read as a number
    assert "10-50" not in page and "Changed by import of" in timeline_of(page)


def test_the_imports_link_only_for_who_may_open_the_import(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], title="Clerk")
    reader = make_role(app, ws_a, "Reader", permissions=["contacts.read"])
    viewer = make_member(app, ws_a, "viewer@alpha.example.com")
    assign_role(app, ws_a, viewer.membership_id, reader)
    auth.login(ws_a.email, ws_a.password)
    import_id = run_import(client, app, ws_a, UPDATE.format(owner=""))
    auth.logout()
    auth.login(viewer.email, viewer.password)
    page = page_of(client, ws_a, ann)
    assert "Changed by import of customers.csv" in timeline_of(page)
    assert f"/imports/{import_id}" not in page
    assert client.get(imports_url(ws_a, str(import_id))).status_code == 403


def test_another_workspaces_import_never_shows(app, client, auth, ws_a, ws_b):
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], title="Clerk")
    theirs = make_contact(app, ws_b, "Ann Lee", emails=["ann@example.com"], title="Clerk")
    auth.login(ws_b.email, ws_b.password)
    run_import(client, app, ws_b, UPDATE.format(owner=""), "secret-list.csv")
    assert "secret-list.csv" in timeline_of(page_of(client, ws_b, theirs))
    assert client.get(contact_url(ws_a, ann)).status_code == 404
    assert client.get(contact_url(ws_a, ann, "/timeline")).status_code == 404
    auth.logout()
    auth.login(ws_a.email, ws_a.password)
    page = page_of(client, ws_a, ann)
    assert "secret-list.csv" not in page and "Director" not in page and "by import" not in page


def test_a_change_kept_before_imports_kept_their_values_names_its_fields_only(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], title="Director")
    with app.app_context(), workspace_scope(ws_a.id):
        job = Import(
            filename="old.csv", stored_name="x", file_format="csv", status="done", finished_at=datetime.now(UTC)
        )
        db.session.add(job)
        db.session.flush()
        db.session.add(ImportChange(import_id=job.id, contact_id=ann, before={"title": "Clerk"}, after=None))
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    timeline = timeline_of(page_of(client, ws_a, ann))
    assert "Changed by import of" in timeline and "Job title changed" in timeline and "Clerk" not in timeline


def test_import_entries_page_with_the_rest_of_the_timeline(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], title="Clerk")
    long_ago = datetime.now(UTC) - timedelta(days=30)
    for n in range(25):
        make_activity(app, ws_a, ann, f"Call {n}", kind="call", occurred_at=long_ago + timedelta(hours=n))
    auth.login(ws_a.email, ws_a.password)
    run_import(client, app, ws_a, UPDATE.format(owner=""))
    with app.app_context(), workspace_scope(ws_a.id):  # the import went between calls 4 and 5
        db.session.execute(sa.update(Import).values(finished_at=long_ago + timedelta(hours=4, minutes=30)))
        db.session.commit()
    first = timeline_of(page_of(client, ws_a, ann))
    assert "by import" not in first and "Call 24" in first and "Call 5" in first and "Call 4" not in first
    after = first.split("after=")[1].split('"')[0]
    older = client.get(contact_url(ws_a, ann, f"/timeline?after={after}")).get_data(as_text=True)
    assert older.count("Changed by import of") == 1 and "Call 5" not in older
    assert older.index("Changed by import of") < older.index("Call 4") < older.index("Call 0")


def test_the_contact_page_reads_imports_in_a_fixed_number_of_queries(app, client, auth, ws_a):
    few = make_contact(app, ws_a, "Few", emails=["few@example.com"], title="Clerk")
    many = make_contact(app, ws_a, "Many", emails=["many@example.com"], title="Clerk")
    auth.login(ws_a.email, ws_a.password)
    run_import(client, app, ws_a, "Name,Email,Title,Company\nFew,few@example.com,Director,Firm\n")
    for n in range(6):
        run_import(client, app, ws_a, f"Name,Email,Title,Company\nMany,many@example.com,Director {n},Firm {n}\n")

    def queries_for(contact_id: int) -> tuple[int, str]:
        client.get(contact_url(ws_a, contact_id))
        with count_queries(app) as queries:
            page = client.get(contact_url(ws_a, contact_id)).get_data(as_text=True)
        return len(queries), page

    few_count, _ = queries_for(few)
    many_count, page = queries_for(many)
    assert timeline_of(page).count("Changed by import of") == 6
    assert "<del>Firm 4</del> → <ins>Firm 5</ins>" in timeline_of(page)
    assert many_count == few_count, (few_count, many_count)


def test_the_history_is_the_same_through_the_contact_edit_swap(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], title="Clerk")
    auth.login(ws_a.email, ws_a.password)
    run_import(client, app, ws_a, UPDATE.format(owner=""))
    edited = post(client, contact_url(ws_a, ann), {"name": "Ann Lee", "title": "Boss", "lifecycle": "lead",
                                                   "emails": "ann@example.com"},
                  headers={"HX-Request": "true", "HX-Target": "contact-details"})  # fmt: skip
    assert edited.status_code == 200
    history = history_of(edited.get_data(as_text=True))
    assert "Changed by import of" in history and "<ins>Boss</ins>" in history
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Contact, ann).title == "Boss"
