"""Custom fields kept honest: a multi-select's refusal in the app's words, no "required" yes/no
field, field keys that never take another field's range filter, filters on fields that cannot be
filtered on matching nobody, a delete that asks first, and options renamed on the records too."""

import re

import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.contacts.models import Company, Contact
from crm.custom_fields.models import CustomField
from crm.extensions import db
from crm.tenancy import workspace_scope
from crm.workspaces.models import Workspace
from tests.conftest import post
from tests.factories import make_company, make_contact, make_custom_field, make_member, set_custom_value

SETTINGS = "/settings/custom-fields/"
NEW_CONTACT = {"name": "Zed", "lifecycle": "lead", "level": ""}


def url(ws, rest: str) -> str:
    return f"/w/{ws.slug}{rest}"


def custom_of(app, ws, model, record_id: int) -> dict:
    with app.app_context(), workspace_scope(ws.id):
        return dict(db.session.get(model, record_id).custom)


def test_a_choice_not_offered_by_a_multi_select_is_refused_in_the_apps_words(app, client, auth, ws_a):
    make_custom_field(app, ws_a, "Likes", kind="multi_select", options=["Tea", "Coffee"])
    auth.login(ws_a.email, ws_a.password)
    response = post(client, url(ws_a, "/contacts/"), {**NEW_CONTACT, "cf_likes": ["Tea", "Beer", "Wine"]})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Beer, Wine are not among this field&#39;s choices." in page
    assert "not a valid choice" not in page
    one = post(client, url(ws_a, "/contacts/"), {**NEW_CONTACT, "cf_likes": ["Beer"]}).get_data(as_text=True)
    assert "Beer is not one of this field&#39;s choices." in one
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Contact)) == 0


def test_a_yes_no_field_cannot_be_required(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    agreed = {"entity": "contact", "contact-label": "Agreed", "contact-kind": "checkbox", "contact-required": "y"}
    refused = post(client, url(ws_a, SETTINGS), agreed)
    assert refused.status_code == 422
    assert "A yes/no field cannot be required: unticked is an answer." in refused.get_data(as_text=True)
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CustomField)) == 0
    assert post(client, url(ws_a, SETTINGS), {**agreed, "contact-required": ""}).status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        field_id = db.session.scalar(sa.select(CustomField.id))
    edit = client.get(url(ws_a, f"{SETTINGS}{field_id}")).get_data(as_text=True)
    assert 'name="required"' not in edit  # nothing to tick on its page either
    # Text fields may still be required.
    code = {"entity": "contact", "contact-label": "Code", "contact-kind": "text", "contact-required": "y"}
    assert post(client, url(ws_a, SETTINGS), code).status_code == 303


def test_yes_no_fields_made_required_before_lose_the_badge_with_0050(app, client, auth, ws_a, ws_b):
    from flask_migrate import downgrade, upgrade

    make_custom_field(app, ws_a, "Agreed", kind="checkbox", required=True)
    make_custom_field(app, ws_a, "Code", required=True)
    make_custom_field(app, ws_b, "Theirs", kind="checkbox", required=True)
    auth.login(ws_a.email, ws_a.password)
    assert client.get(url(ws_a, SETTINGS)).get_data(as_text=True).count(">Required</span>") == 2  # as it was
    with app.app_context():
        downgrade(revision="0049")
        upgrade()
    page = client.get(url(ws_a, SETTINGS)).get_data(as_text=True)
    assert page.count(">Required</span>") == 1  # Code's
    with app.app_context(), workspace_scope(ws_b.id):
        assert db.session.scalar(sa.select(CustomField.required)) is False


def bump_fields_version(app, ws) -> None:
    """After changing a definition behind the service's back: the cached definitions are read again."""
    with app.app_context():
        db.session.get(Workspace, ws.id).custom_fields_version += 1
        db.session.commit()


def keys_of(app, ws) -> dict:
    with app.app_context(), workspace_scope(ws.id):
        return dict(db.session.execute(sa.select(CustomField.label, CustomField.key)).all())


def test_a_field_key_never_takes_another_fields_range_filter(app, client, auth, ws_a, ws_b):
    make_custom_field(app, ws_b, "Start", kind="date")  # another workspace's fields take nothing here
    make_custom_field(app, ws_a, "Start from", kind="text")
    make_custom_field(app, ws_a, "Start", kind="date")  # its ends would be start_from and start_to
    make_custom_field(app, ws_a, "Due", kind="number")
    make_custom_field(app, ws_a, "Due to", kind="text")  # would be due_to, the number's upper end
    assert keys_of(app, ws_a) == {"Start from": "start_from", "Start": "start_2", "Due": "due", "Due to": "due_to_2"}
    assert keys_of(app, ws_b) == {"Start": "start"}
    auth.login(ws_a.email, ws_a.password)
    page = client.get(url(ws_a, "/contacts/")).get_data(as_text=True)
    for name in ("cf_start_from", "cf_start_2_from", "cf_start_2_to", "cf_due_to", "cf_due_to_2", "cf_due_from"):
        assert page.count(f'name="{name}"') == 1, name


def test_a_key_that_took_a_range_end_before_keeps_its_filter(app, client, auth, ws_a):
    """Fields made before keys avoided range ends: the field whose key the argument is takes it, and
    the range's end of that name is not offered."""
    make_custom_field(app, ws_a, "Start", kind="date")
    starts = make_custom_field(app, ws_a, "Start from")
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(CustomField, starts).key = "start_from"  # as _unique_key made it before
        db.session.get(CustomField, starts).label = "Begins"
        db.session.commit()
    early = make_contact(app, ws_a, "Early bird")
    make_contact(app, ws_a, "Late riser")
    set_custom_value(app, ws_a, early, starts, "monday")
    bump_fields_version(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(url(ws_a, "/contacts/")).get_data(as_text=True)
    assert page.count('name="cf_start_from"') == 1 and "Start from</label>" not in page
    assert 'name="cf_start_to"' in page  # the other end is still offered
    found = client.get(url(ws_a, "/contacts/"), query_string={"cf_start_from": "Monday"}).get_data(as_text=True)
    assert "Early bird" in found and "Late riser" not in found
    assert "left out" not in found


GONE = "a custom field that no longer exists or that lists cannot filter by, so nothing matches"
RESULTS = {"HX-Request": "true", "HX-Target": "contact-results"}


def test_a_filter_on_a_field_lists_cannot_filter_by_matches_nobody_and_says_why(app, client, auth, ws_a, ws_b):
    make_custom_field(app, ws_a, "Notes2", kind="long_text")
    make_custom_field(app, ws_a, "Passport", sensitive=True)
    make_custom_field(app, ws_a, "Notes2", kind="long_text", entity="company")
    make_custom_field(app, ws_b, "Notes2")  # a text field there: filterable in ws_b only
    make_contact(app, ws_a, "Ann Lee")
    make_contact(app, ws_a, "Bob Ray")
    make_company(app, ws_a, "Acme Ltd")
    theirs = make_contact(app, ws_b, "Cy Vip")
    set_custom_value(app, ws_b, theirs, keys_of_ids(app, ws_b)["Notes2"], "vip")
    auth.login(ws_a.email, ws_a.password)
    for query in ({"cf_notes2": "vip"}, {"cf_passport": "X1"}):
        page = client.get(url(ws_a, "/contacts/"), query_string=query).get_data(as_text=True)
        assert "Ann Lee" not in page and "Bob Ray" not in page and GONE in page
        assert "Filters (1 active)" in page
        count = client.get(url(ws_a, "/contacts/bulk-count"), query_string={"scope": "all", **query})
        assert "0 contacts match this list." in count.get_data(as_text=True)
        post(client, url(ws_a, "/contacts/bulk"), {"scope": "all", "action": "delete", **query}, headers=RESULTS)
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count()).where(Contact.deleted_at.isnot(None))) == 0
    companies = client.get(url(ws_a, "/companies/"), query_string={"cf_notes2": "vip"}).get_data(as_text=True)
    assert "Acme Ltd" not in companies and GONE in companies
    company_count = client.get(url(ws_a, "/companies/bulk-count"), query_string={"scope": "all", "cf_notes2": "vip"})
    assert "0 companies match this list." in company_count.get_data(as_text=True)
    auth.logout()
    auth.login(ws_b.email, ws_b.password)
    found = client.get(url(ws_b, "/contacts/"), query_string={"cf_notes2": "VIP"}).get_data(as_text=True)
    assert "Cy Vip" in found and GONE not in found


def keys_of_ids(app, ws) -> dict:
    with app.app_context(), workspace_scope(ws.id):
        return dict(db.session.execute(sa.select(CustomField.label, CustomField.id)).all())


def test_deleting_a_field_asks_first_saying_how_many_records_hold_a_value(app, client, auth, ws_a, ws_b):
    region = make_custom_field(app, ws_a, "Region", kind="select", options=["North", "South"])
    ann, bob = make_contact(app, ws_a, "Ann North"), make_contact(app, ws_a, "Bo South")
    make_contact(app, ws_a, "Cy Nowhere")
    set_custom_value(app, ws_a, ann, region, "North")
    set_custom_value(app, ws_a, bob, region, "South")
    theirs = make_custom_field(app, ws_b, "Region", kind="select", options=["North"])
    for name in ("Di", "Ed", "Fay"):  # another workspace's values are not counted
        set_custom_value(app, ws_b, make_contact(app, ws_b, name), theirs, "North")
    empty = make_custom_field(app, ws_a, "Size", entity="company")
    make_company(app, ws_a, "Acme Ltd")
    auth.login(ws_a.email, ws_a.password)
    settings = client.get(url(ws_a, SETTINGS)).get_data(as_text=True)
    ask = url(ws_a, f"{SETTINGS}{region}/delete")
    assert f'<a href="{ask}" class="danger">Delete<span class="visually-hidden"> Region</span></a>' in settings
    assert f'action="{ask}"' not in settings  # no one-click delete, with or without JavaScript
    question = client.get(ask).get_data(as_text=True)
    assert "<h1>Delete Region</h1>" in question and "2 contacts hold a value of this field." in question
    assert "nothing can bring them back" in question
    assert "No record holds a value of this field." in client.get(url(ws_a, f"{SETTINGS}{empty}/delete")).get_data(
        as_text=True
    )
    unasked = post(client, ask, {})  # a POST that did not come from the question deletes nothing
    assert unasked.status_code == 303 and unasked.headers["Location"].endswith(f"{SETTINGS}{region}/delete")
    assert custom_of(app, ws_a, Contact, ann) == {"region": "North"}
    assert post(client, ask, {"confirmed": "yes"}).status_code == 303
    assert custom_of(app, ws_a, Contact, ann) == {} and custom_of(app, ws_a, Contact, bob) == {}
    assert client.get(url(ws_a, f"{SETTINGS}{theirs}/delete")).status_code == 404
    assert post(client, url(ws_a, f"{SETTINGS}{theirs}/delete"), {"confirmed": "yes"}).status_code == 404
    with app.app_context(), workspace_scope(ws_b.id):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CustomField)) == 1
    auth.logout()
    sales = make_member(app, ws_a, "sales@alpha.example.com", role="sales")
    auth.login(sales.email, sales.password)
    assert client.get(url(ws_a, f"{SETTINGS}{empty}/delete")).status_code == 403


def plan_select(page: str) -> str:
    return re.search(r'<select id="cf_plan" name="cf_plan">.*?</select>', page, re.S).group(0)


def test_a_filter_on_a_choice_no_longer_offered_shows_in_the_panel_and_stays_on(app, client, auth, ws_a):
    plan = make_custom_field(app, ws_a, "Plan", kind="select", options=["Gold", "Silver"])
    ann, bob = make_contact(app, ws_a, "Ann Gold"), make_contact(app, ws_a, "Bob Silver")
    set_custom_value(app, ws_a, ann, plan, "Gold")
    set_custom_value(app, ws_a, bob, plan, "Silver")
    auth.login(ws_a.email, ws_a.password)
    # The list of choices edited: Gold removed, Golden added; Ann keeps Gold.
    assert (
        post(client, url(ws_a, f"{SETTINGS}{plan}"), {"label": "Plan", "options": "Golden\nSilver"}).status_code == 303
    )
    page = client.get(url(ws_a, "/contacts/"), query_string={"cf_plan": "Gold"}).get_data(as_text=True)
    assert "Ann Gold" in page and "Bob Silver" not in page and "Filters (1 active)" in page
    assert '<option value="Gold" selected>Gold (no longer offered)</option>' in plan_select(page)
    assert '<option value="" selected' not in plan_select(page)
    # A value of a link in another case chooses its option, as the filter matches it.
    lower = client.get(url(ws_a, "/contacts/"), query_string={"cf_plan": "silver"}).get_data(as_text=True)
    assert '<option value="Silver" selected>Silver</option>' in plan_select(lower)
    assert "no longer offered" not in plan_select(lower)
    plain = client.get(url(ws_a, "/contacts/")).get_data(as_text=True)
    assert "no longer offered" not in plan_select(plain)


def rename(client, ws, field_id: int, old: str, new: str):
    return post(client, url(ws, f"{SETTINGS}{field_id}/options/rename"), {"rename-option": old, "rename-new_name": new})


def test_renaming_a_choice_renames_it_on_the_records_that_hold_it(app, client, auth, ws_a, ws_b):
    plan = make_custom_field(app, ws_a, "Plan", kind="select", options=["Gold", "Silver"])
    teas = make_custom_field(app, ws_a, "Teas", kind="multi_select", options=["Green", "Black", "White"])
    size = make_custom_field(app, ws_a, "Size", kind="select", entity="company", options=["Gold", "Big"])
    ann, bob, cy = (make_contact(app, ws_a, name) for name in ("Ann Gold", "Bob Silver", "Cy Gold"))
    for contact, value in ((ann, "Gold"), (bob, "Silver"), (cy, "Gold")):
        set_custom_value(app, ws_a, contact, plan, value)
    set_custom_value(app, ws_a, ann, teas, ["Black", "Green", "White"])
    set_custom_value(app, ws_a, bob, teas, ["White"])
    acme = make_company(app, ws_a, "Acme Ltd")
    set_custom_value(app, ws_a, acme, size, "Gold")  # another field's Gold stays
    theirs = make_custom_field(app, ws_b, "Plan", kind="select", options=["Gold"])
    dee = make_contact(app, ws_b, "Dee Gold")
    set_custom_value(app, ws_b, dee, theirs, "Gold")  # another workspace's Gold stays
    auth.login(ws_a.email, ws_a.password)
    edit = client.get(url(ws_a, f"{SETTINGS}{plan}")).get_data(as_text=True)
    assert "Rename a choice" in edit and '<option value="Gold">Gold</option>' in edit
    response = rename(client, ws_a, plan, "Gold", "Golden")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"{SETTINGS}{plan}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Choice Gold renamed Golden. 2 contacts now have Golden." in page
    assert "Golden\nSilver</textarea>" in page  # in its place among the choices
    assert custom_of(app, ws_a, Contact, ann)["plan"] == "Golden"
    assert (
        custom_of(app, ws_a, Contact, cy)["plan"] == "Golden" and custom_of(app, ws_a, Contact, bob)["plan"] == "Silver"
    )
    assert custom_of(app, ws_a, Company, acme) == {"size": "Gold"}
    assert custom_of(app, ws_b, Contact, dee) == {"plan": "Gold"}
    listed = client.get(url(ws_a, "/contacts/"), query_string={"cf_plan": "Golden"}).get_data(as_text=True)
    assert "Ann Gold" in listed and "Cy Gold" in listed and "Bob Silver" not in listed
    assert "no longer offered" not in client.get(url(ws_a, f"/contacts/{ann}/edit")).get_data(as_text=True)
    # A multi-select: the choice renamed where it stands among each record's choices.
    assert rename(client, ws_a, teas, "White", "Silver needle").status_code == 303
    assert custom_of(app, ws_a, Contact, ann)["teas"] == ["Black", "Green", "Silver needle"]
    assert custom_of(app, ws_a, Contact, bob)["teas"] == ["Silver needle"]
    company = rename(client, ws_a, size, "Gold", "Premium")
    assert "1 company now has Premium." in client.get(company.headers["Location"]).get_data(as_text=True)
    assert custom_of(app, ws_a, Company, acme) == {"size": "Premium"}
    with app.app_context(), workspace_scope(ws_a.id):
        entry = db.session.scalar(
            sa.select(AuditEntry).where(AuditEntry.action == "custom_field.option_renamed").order_by(AuditEntry.id)
        )
        assert entry.record_id == plan and entry.changes == {
            "label": "Plan",
            "choice": ["Gold", "Golden"],
            "records": 2,
        }
    log = client.get(url(ws_a, "/settings/audit/"), query_string={"action": "custom_field.option_renamed"})
    log_text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", log.get_data(as_text=True)))
    assert "Renamed a choice of a custom field" in log_text and "Records changed" in log_text


def test_a_rename_that_cannot_be_is_refused_and_changes_nothing(app, client, auth, ws_a, ws_b):
    plan = make_custom_field(app, ws_a, "Plan", kind="select", options=["Gold", "Silver"])
    note = make_custom_field(app, ws_a, "Note")
    ann = make_contact(app, ws_a, "Ann Gold")
    set_custom_value(app, ws_a, ann, plan, "Gold")
    theirs = make_custom_field(app, ws_b, "Plan", kind="select", options=["Gold"])
    auth.login(ws_a.email, ws_a.password)
    for old, new, message in (
        ("Gold", " silver ", "Another choice already has this name."),
        ("Gold", "", "Enter the new name."),
        ("Bronze", "Copper", "Not a valid choice."),
    ):
        response = rename(client, ws_a, plan, old, new)
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert rename(client, ws_a, plan, "Gold", "GOLD").status_code == 303  # its own name in another case
    assert custom_of(app, ws_a, Contact, ann) == {"plan": "GOLD"}
    assert rename(client, ws_a, note, "Gold", "Golden").status_code == 404  # a text field has no choices
    assert rename(client, ws_a, theirs, "Gold", "Golden").status_code == 404
    with app.app_context(), workspace_scope(ws_b.id):
        assert db.session.get(CustomField, theirs).options == ["Gold"]


def test_a_choice_renamed_to_a_retired_one_a_record_holds_is_not_held_twice(app, client, auth, ws_a):
    """A multi-select record holding Gold and Platinum, Platinum no longer offered: Gold renamed
    Platinum leaves the record (in the trash too) Platinum once, where its first stood; a
    single-select record holding the retired Platinum keeps it, one holding Gold has Platinum."""
    from crm.contacts.service import delete_contact

    tiers = make_custom_field(app, ws_a, "Tiers", kind="multi_select", options=["Gold", "Platinum", "Silver"])
    plan = make_custom_field(app, ws_a, "Plan", kind="select", options=["Gold", "Platinum", "Silver"])
    ann, bob, cy, dee = (make_contact(app, ws_a, name) for name in ("Ann Lee", "Bob Ray", "Cy Fox", "Dee Roe"))
    set_custom_value(app, ws_a, ann, tiers, ["Silver", "Gold", "Platinum"])
    set_custom_value(app, ws_a, bob, tiers, ["Platinum", "Silver", "Gold"])
    set_custom_value(app, ws_a, cy, tiers, ["Gold"])
    set_custom_value(app, ws_a, dee, tiers, ["Gold", "Platinum"])
    set_custom_value(app, ws_a, ann, plan, "Platinum")
    set_custom_value(app, ws_a, bob, plan, "Gold")
    with app.app_context(), workspace_scope(ws_a.id):
        delete_contact(db.session.get(Contact, dee))
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    for field in (tiers, plan):  # Platinum no longer offered: the records keep it
        edited = {"label": "Tiers" if field == tiers else "Plan", "options": "Gold\nSilver"}
        assert post(client, url(ws_a, f"{SETTINGS}{field}"), edited).status_code == 303
    response = rename(client, ws_a, tiers, "Gold", "Platinum")
    assert "Choice Gold renamed Platinum. 4 contacts now have Platinum." in client.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    assert custom_of(app, ws_a, Contact, ann)["tiers"] == ["Silver", "Platinum"]
    assert custom_of(app, ws_a, Contact, bob)["tiers"] == ["Platinum", "Silver"]
    assert custom_of(app, ws_a, Contact, cy)["tiers"] == ["Platinum"]
    assert custom_of(app, ws_a, Contact, dee)["tiers"] == ["Platinum"]  # in the trash
    shown = client.get(url(ws_a, f"/contacts/{ann}")).get_data(as_text=True)
    assert "<dd>Silver, Platinum</dd>" in re.sub(r"\s*(<|>)\s*", r"\1", shown)
    assert rename(client, ws_a, plan, "Gold", "Platinum").status_code == 303
    assert custom_of(app, ws_a, Contact, ann)["plan"] == "Platinum" and custom_of(app, ws_a, Contact, bob)["plan"] == (
        "Platinum"
    )
    with app.app_context(), workspace_scope(ws_a.id):
        entries = db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "custom_field.option_renamed").order_by(AuditEntry.id)
        ).all()
        assert [entry.changes for entry in entries] == [
            {"label": "Tiers", "choice": ["Gold", "Platinum"], "records": 4},
            {"label": "Plan", "choice": ["Gold", "Platinum"], "records": 1},
        ]
    # Saved as it stands, Ann's form changes nothing: no phantom "Platinum, Platinum" -> "Platinum".
    saved = {"name": "Ann Lee", "lifecycle": "lead", "level": "", "cf_tiers": ["Silver", "Platinum"],
             "cf_plan": "Platinum"}  # fmt: skip
    assert post(client, url(ws_a, f"/contacts/{ann}"), saved).status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        updates = db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "contact.updated", AuditEntry.record_id == ann)
        ).all()
        assert all("Tiers" not in entry.changes for entry in updates)


def test_a_sensitive_choice_renamed_to_a_retired_one_a_record_holds_is_not_held_twice(app, client, auth, ws_a):
    from crm.custom_fields.service import FieldDef, from_storage

    grades = make_custom_field(app, ws_a, "Grades", kind="multi_select", options=["A", "B", "C"], sensitive=True)
    ann = make_contact(app, ws_a, "Ann")
    set_custom_value(app, ws_a, ann, grades, ["B", "A", "C"])
    auth.login(ws_a.email, ws_a.password)
    retired = {"label": "Grades", "options": "A\nC"}
    assert post(client, url(ws_a, f"{SETTINGS}{grades}"), retired).status_code == 303
    assert rename(client, ws_a, grades, "A", "B").status_code == 303
    definition = FieldDef(grades, "contact", "grades", "Grades", "multi_select", ("B", "C"), False, True)
    with app.app_context(), workspace_scope(ws_a.id):
        assert from_storage(definition, db.session.get(Contact, ann).custom["grades"]) == ["B", "C"]


def test_renaming_a_choice_of_a_sensitive_field_renames_the_encrypted_values(app, client, auth, ws_a):
    from crm.custom_fields.service import FieldDef, from_storage

    grade = make_custom_field(app, ws_a, "Grade", kind="select", options=["A", "B"], sensitive=True)
    ann, bob = make_contact(app, ws_a, "Ann"), make_contact(app, ws_a, "Bob")
    set_custom_value(app, ws_a, ann, grade, "A")
    set_custom_value(app, ws_a, bob, grade, "B")
    auth.login(ws_a.email, ws_a.password)
    page = client.get(rename(client, ws_a, grade, "A", "A+").headers["Location"]).get_data(as_text=True)
    assert "1 contact now has A+." in page
    definition = FieldDef(grade, "contact", "grade", "Grade", "select", ("A+", "B"), False, True)
    with app.app_context(), workspace_scope(ws_a.id):
        assert from_storage(definition, db.session.get(Contact, ann).custom["grade"]) == "A+"
        assert from_storage(definition, db.session.get(Contact, bob).custom["grade"]) == "B"


def test_a_key_holding_quotes_is_bound_not_written_into_the_renaming_statement(app, client, auth, ws_a):
    """Keys made by Kehu are letters, digits and underscores, but a restored backup brings its own:
    one holding quotes still renames its values, and nothing of it reaches the SQL as text."""
    odd = "tier'); DROP TABLE contacts; --"
    plan = make_custom_field(app, ws_a, "Plan", kind="select", options=["Gold", "Silver"])
    teas = make_custom_field(app, ws_a, "Teas", kind="multi_select", options=["Green", "White"])
    ann = make_contact(app, ws_a, "Ann Lee")
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(CustomField, plan).key = odd
        db.session.get(CustomField, teas).key = odd + "s"
        db.session.get(Contact, ann).custom = {odd: "Gold", odd + "s": ["White", "Green"]}
        db.session.get(Workspace, ws_a.id).custom_fields_version += 1
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    assert rename(client, ws_a, plan, "Gold", "Golden").status_code == 303
    assert rename(client, ws_a, teas, "White", "Silver needle").status_code == 303
    assert custom_of(app, ws_a, Contact, ann) == {odd: "Golden", odd + "s": ["Silver needle", "Green"]}
