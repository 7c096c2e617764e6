"""Tags typed several at once, separated as people separate them: commas and semicolons, the
full-width ones a Chinese input method types ("北京，vip"), the enumeration comma ("、"). The same
reading (crm/contacts/tags.py) in the contact form, the bulk bar, the list's tag filter and an
import's tags column: a stored tag's name never holds a separator, and a tag longer than a tag may
be is refused with a message instead of cut."""

import json

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from crm.audit.models import AuditEntry
from crm.contacts.list_view import ListState
from crm.contacts.models import Contact, Tag
from crm.contacts.tags import TagError, read_tags, split_tags
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import make_contact
from tests.test_imports import check, contacts_of, import_id_of, imports_url, job_of, upload

BULK = {"HX-Request": "true", "HX-Target": "contact-results"}
LONG = "x" * 51


def contacts_url(ws, rest: str = "") -> str:
    return f"/w/{ws.slug}/contacts/{rest}"


def tags_of(app, ws, contact_id: int) -> list[str]:
    with app.app_context(), workspace_scope(ws.id):
        return [tag.name for tag in db.session.get(Contact, contact_id).tags]


def tag_names(app, ws) -> list[str]:
    with app.app_context(), workspace_scope(ws.id):
        return sorted(db.session.scalars(sa.select(Tag.name)))


def toast(response) -> str:
    return json.loads(response.headers.get("HX-Trigger", "{}")).get("toast", [{}])[0].get("message", "")


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("a,b", ["a", "b"]),
        ("北京，上海", ["北京", "上海"]),
        ("北京、上海；VIP", ["北京", "上海", "vip"]),
        (" Fair  2026 ;; ,\n old|new ", ["fair 2026", "old", "new"]),
        ("vip, VIP，vip", ["vip"]),
        ("，、 ;", []),
        ("", []),
        (None, []),
    ],
)
def test_typed_tags_are_split_on_every_separator_trimmed_and_lower_case(typed, read):
    assert split_tags(typed) == read
    assert read_tags(typed) == read


def test_a_tag_longer_than_fifty_characters_is_refused_not_cut(app):
    assert read_tags("y" * 50) == ["y" * 50]
    with app.test_request_context(), pytest.raises(TagError) as refused:
        read_tags(f"ok, {LONG}")
    with app.test_request_context():
        assert str(refused.value) == f"A tag has at most 50 characters: {LONG}"
    assert split_tags(LONG) == [LONG]  # the filter keeps it whole: it matches nothing, never a cut tag


def test_the_list_filter_reads_full_width_commas(app, client, auth, ws_a, ws_b):
    state = ListState.from_args(MultiDict([("tag", "北京，VIP"), ("tag", "上海、北京")]))
    assert state.tags == ("北京", "vip", "上海") and state.as_args() == {"tag": ["北京", "vip", "上海"]}
    make_contact(app, ws_a, "Beijing Bo", tags=["北京"])
    make_contact(app, ws_a, "Vip Vera", tags=["vip"])
    make_contact(app, ws_a, "Both Bai", tags=["北京", "vip"])
    make_contact(app, ws_a, "Nobody Ng", tags=["上海"])
    make_contact(app, ws_b, "Beta Beijing", tags=["北京", "vip"])
    auth.login(ws_a.email, ws_a.password)
    page = client.get(contacts_url(ws_a), query_string={"tag": "北京，vip"}).get_data(as_text=True)
    assert all(name in page for name in ("Beijing Bo", "Vip Vera", "Both Bai"))
    assert "Nobody Ng" not in page and "Beta Beijing" not in page
    assert 'name="tag" value="北京, vip"' in page
    every = client.get(contacts_url(ws_a), query_string={"tag": "北京；vip", "tag_match": "all"}).get_data(as_text=True)
    assert "Both Bai" in every and "Beijing Bo" not in every and "Vip Vera" not in every
    # A name longer than a tag matches nothing: cut to 50, it used to select the tag it began with.
    make_contact(app, ws_a, "Fifty Fay", tags=["z" * 50])
    assert "Fifty Fay" in client.get(contacts_url(ws_a), query_string={"tag": "z" * 50}).get_data(as_text=True)
    longer = client.get(contacts_url(ws_a), query_string={"tag": "z" * 51}).get_data(as_text=True)
    assert "Fifty Fay" not in longer and "No contact matches." in longer


def test_the_bulk_bar_adds_and_removes_each_tag_typed(app, client, auth, ws_a, ws_b):
    first, second = make_contact(app, ws_a, "One", tags=["a"]), make_contact(app, ws_a, "Two")
    untouched = make_contact(app, ws_a, "Three")
    foreign = make_contact(app, ws_b, "Beta", tags=["a"])
    auth.login(ws_a.email, ws_a.password)
    ticked = {"scope": "selected", "ids": [str(first), str(second)]}
    response = post(client, contacts_url(ws_a, "bulk"), {**ticked, "action": "add_tag", "bulk_tag": "a,b"},
                    headers=BULK)  # fmt: skip
    assert response.status_code == 200 and toast(response) == "2 contacts changed."
    assert tags_of(app, ws_a, first) == ["a", "b"] and tags_of(app, ws_a, second) == ["a", "b"]
    post(client, contacts_url(ws_a, "bulk"), {**ticked, "action": "add_tag", "bulk_tag": "北京，上海、VIP"})
    assert tags_of(app, ws_a, first) == ["a", "b", "vip", "上海", "北京"]
    assert "a,b" not in tag_names(app, ws_a) and "北京，上海、vip" not in tag_names(app, ws_a)
    with app.app_context(), workspace_scope(ws_a.id):  # one entry a contact for the three tags
        entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.record_id == second)
                                     .order_by(AuditEntry.id)).all()  # fmt: skip
        assert entries[-1].changes == {"tags": [["a", "b"], ["a", "b", "vip", "上海", "北京"]]}
    # Each tag is reachable: its badge link and the filter select it alone.
    page = client.get(contacts_url(ws_a), query_string={"tag": "上海"}).get_data(as_text=True)
    assert "One" in page and "Two" in page and "Three" not in page
    response = post(client, contacts_url(ws_a, "bulk"), {**ticked, "action": "remove_tag", "bulk_tag": "a；北京"},
                    headers=BULK)  # fmt: skip
    assert toast(response) == "2 contacts changed."
    assert tags_of(app, ws_a, first) == ["b", "vip", "上海"] and tags_of(app, ws_a, untouched) == []
    assert tags_of(app, ws_b, foreign) == ["a"]


def test_the_bulk_bar_refuses_a_tag_too_long_or_too_many_tags_with_nothing_saved(app, client, auth, ws_a):
    contact = make_contact(app, ws_a, "One", tags=["old"])
    auth.login(ws_a.email, ws_a.password)
    ticked = {"scope": "selected", "ids": [str(contact)], "action": "add_tag"}
    for typed, message in (
        (f"fine, {LONG}", f"A tag has at most 50 characters: {LONG}"),
        (",".join(f"t{n}" for n in range(11)), "Enter at most 10 tags at once."),
        ("，、", "Enter a tag."),
    ):
        response = post(client, contacts_url(ws_a, "bulk"), {**ticked, "bulk_tag": typed}, headers=BULK)
        assert response.status_code == 422 and response.headers["HX-Reswap"] == "none"
        assert toast(response) == message
    assert tags_of(app, ws_a, contact) == ["old"] and tag_names(app, ws_a) == ["old"]
    # Without JavaScript: the list again, with the reason.
    plain = post(client, contacts_url(ws_a, "bulk"), {**ticked, "bulk_tag": LONG})
    assert plain.status_code == 303
    assert f"A tag has at most 50 characters: {LONG}" in client.get(plain.headers["Location"]).get_data(as_text=True)


def test_the_contact_form_splits_full_width_commas_and_refuses_a_long_tag(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    refused = post(client, contacts_url(ws_a), {"name": "Ann", "lifecycle": "lead", "tags": f"vip, {LONG}"})
    assert refused.status_code == 422
    assert f"A tag has at most 50 characters: {LONG}" in refused.get_data(as_text=True)
    assert tag_names(app, ws_a) == []
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count(Contact.id))) == 0
    created = post(client, contacts_url(ws_a), {"name": "Ann", "lifecycle": "lead", "tags": "北京，VIP、上海；vip"})
    assert created.status_code == 303
    contact_id = int(created.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert tags_of(app, ws_a, contact_id) == ["vip", "上海", "北京"]
    form = client.get(contacts_url(ws_a, f"{contact_id}/edit")).get_data(as_text=True)
    assert 'value="vip, 上海, 北京"' in form


def test_an_imported_tags_cell_is_split_the_same_way_and_a_long_tag_refused(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    text = f'Name,Email,Tags\nAnn Lee,ann@example.com,"北京，VIP、上海"\nBo Long,bo@example.com,{LONG}\n'
    import_id = import_id_of(upload(client, ws_a, text))
    check(client, app, ws_a, import_id)
    assert job_of(app, ws_a, import_id).invalid_count == 1
    page = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert f"A tag has at most 50 characters: {LONG}" in page
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    contacts = contacts_of(app, ws_a)
    assert set(contacts) == {"Ann Lee"}
    assert sorted(tag.name for tag in contacts["Ann Lee"].tags) == ["vip", "上海", "北京"]


def test_a_background_change_adds_each_tag_typed_and_a_job_queued_with_one_name_still_runs(
    app, client, auth, ws_a, monkeypatch
):
    from crm import jobs
    from crm.contacts import bulk_jobs
    from crm.contacts.models import BulkJob
    from tests.factories import make_bulk_job

    fair = [make_contact(app, ws_a, f"Fair {n}", tags=["fair"]) for n in range(3)]
    monkeypatch.setattr("crm.contacts.bulk.MAX_AT_ONCE", 2)
    auth.login(ws_a.email, ws_a.password)
    every = {"scope": "all", "tag": "fair", "action": "add_tag", "bulk_tag": "北京，vip"}
    response = post(client, contacts_url(ws_a, "bulk"), every, headers=BULK)
    assert "3 contacts changed." in response.get_data(as_text=True)  # the job ran inline
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(BulkJob.value)) == ["北京", "vip"]
    assert all(tags_of(app, ws_a, contact_id) == ["fair", "vip", "北京"] for contact_id in fair)
    # A job queued before (its value one name, as the bar sent it then) runs as it did.
    old = make_bulk_job(app, ws_a)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.execute(sa.update(BulkJob).where(BulkJob.id == old).values(action="add_tag", value="older"))
        db.session.commit()
    jobs._run(app, f"{bulk_jobs.run.__module__}:run", ws_a.id, (old,))
    assert all("older" in tags_of(app, ws_a, contact_id) for contact_id in fair)
