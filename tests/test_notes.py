import sqlalchemy as sa

from crm.extensions import db
from crm.notes.models import BODY_MAX, Note
from crm.notes.queries import PER_PAGE
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import make_member, make_note
from tests.query_counter import count_queries

HX_COMPOSER = {"HX-Request": "true", "HX-Target": "note-composer"}


def bodies(app, ws) -> list[str]:
    with app.app_context(), workspace_scope(ws.id):
        return list(db.session.scalars(sa.select(Note.body).order_by(Note.id)))


def test_add_note_with_a_plain_form(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    response = post(client, f"/w/{ws_a.slug}/notes/", {"body": "  Open at nine tomorrow  "})
    assert response.status_code == 303
    assert bodies(app, ws_a) == ["Open at nine tomorrow"]
    page = client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)
    assert "Open at nine tomorrow" in page
    assert "Note added." in page


def test_add_note_with_htmx_returns_composer_and_the_new_note(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    response = post(client, f"/w/{ws_a.slug}/notes/", {"body": "<script>alert(1)</script>"}, headers=HX_COMPOSER)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<form id="note-composer"')
    assert 'data-hx-swap-oob="afterbegin:#note-list"' in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script>alert" not in body


def test_empty_or_too_long_note_is_refused_and_nothing_saved(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    empty = post(client, f"/w/{ws_a.slug}/notes/", {"body": "   "}, headers=HX_COMPOSER)
    assert empty.status_code == 422
    assert "Write something first." in empty.get_data(as_text=True)
    too_long = post(client, f"/w/{ws_a.slug}/notes/", {"body": "x" * (BODY_MAX + 1)})
    assert too_long.status_code == 422
    assert f"Keep it under {BODY_MAX} characters." in too_long.get_data(as_text=True)
    assert bodies(app, ws_a) == []


def test_edit_inline_and_save(app, client, auth, ws_a):
    note_id = make_note(app, ws_a, "old text")
    auth.login(ws_a.email, ws_a.password)
    target = {"HX-Request": "true", "HX-Target": f"note-{note_id}"}
    form = client.get(f"/w/{ws_a.slug}/notes/{note_id}/edit", headers=target).get_data(as_text=True)
    assert form.lstrip().startswith(f'<li id="note-{note_id}"')
    assert f'<label for="note-{note_id}-body">' in form
    assert "old text</textarea>" in form
    full = client.get(f"/w/{ws_a.slug}/notes/{note_id}/edit").get_data(as_text=True)
    assert "<!doctype html>" in full and "<h1>Edit note</h1>" in full

    bad = post(client, f"/w/{ws_a.slug}/notes/{note_id}", {f"note-{note_id}-body": ""}, headers=target)
    assert bad.status_code == 422
    assert bodies(app, ws_a) == ["old text"]

    saved = post(client, f"/w/{ws_a.slug}/notes/{note_id}", {f"note-{note_id}-body": "new text"}, headers=target)
    assert saved.status_code == 200
    assert "new text" in saved.get_data(as_text=True)
    assert bodies(app, ws_a) == ["new text"]


def test_delete_note(app, client, auth, ws_a):
    note_id = make_note(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    target = {"HX-Request": "true", "HX-Target": f"note-{note_id}"}
    response = post(client, f"/w/{ws_a.slug}/notes/{note_id}/delete", {}, headers=target)
    assert response.status_code == 200
    assert response.get_data(as_text=True) == ""
    assert "Note deleted." in response.headers["HX-Trigger"]
    assert bodies(app, ws_a) == []


def test_member_cannot_change_someone_elses_note_but_can_change_own(app, client, auth, ws_a):
    owners_note = make_note(app, ws_a, "owner's note")
    member = make_member(app, ws_a, "clerk@alpha.example.com")
    auth.login(member.email, member.password)
    assert client.get(f"/w/{ws_a.slug}/notes/{owners_note}/edit").status_code == 403
    deface = {f"note-{owners_note}-body": "defaced"}
    assert post(client, f"/w/{ws_a.slug}/notes/{owners_note}", deface).status_code == 403
    assert post(client, f"/w/{ws_a.slug}/notes/{owners_note}/delete", {}).status_code == 403
    assert bodies(app, ws_a) == ["owner's note"]

    post(client, f"/w/{ws_a.slug}/notes/", {"body": "mine"})
    with app.app_context(), workspace_scope(ws_a.id):
        mine = db.session.scalar(sa.select(Note.id).where(Note.body == "mine"))
    assert post(client, f"/w/{ws_a.slug}/notes/{mine}", {f"note-{mine}-body": "mine, edited"}).status_code == 303
    assert bodies(app, ws_a) == ["owner's note", "mine, edited"]


def test_notes_load_more_pages_without_repeats(app, client, auth, ws_a):
    for i in range(PER_PAGE + 5):
        make_note(app, ws_a, f"note number {i:02d}")
    auth.login(ws_a.email, ws_a.password)
    first = client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)
    assert "note number 24" in first and "note number 04" not in first
    more_url = first.split('data-hx-get="')[-1].split('"')[0].replace("&amp;", "&")
    more = client.get(more_url, headers={"HX-Request": "true", "HX-Target": "notes-more"}).get_data(as_text=True)
    assert "<html" not in more
    assert [f"note number {i:02d}" in more for i in range(5)] == [True] * 5
    assert "note number 05" not in more
    assert "Show older notes" not in more
    assert client.get(f"/w/{ws_a.slug}/notes/?after=not-a-cursor").status_code == 400


def test_workspace_home_runs_a_fixed_number_of_queries(app, client, auth, ws_a):
    authors = [ws_a.membership_id] + [
        make_member(app, ws_a, f"staff{i}@alpha.example.com").membership_id for i in range(4)
    ]
    for i in range(PER_PAGE):
        make_note(app, ws_a, f"note {i}", author_id=authors[i % len(authors)])
    auth.login(ws_a.email, ws_a.password)
    client.get(f"/w/{ws_a.slug}/")
    with count_queries(app) as statements:
        response = client.get(f"/w/{ws_a.slug}/")
    assert response.status_code == 200
    # the user with their membership, role and workspace (the slug's workspace id is remembered),
    # notes with authors (the workspace menu loads its list only when opened)
    assert len(statements) == 2, "\n".join(statements)


def test_the_welcome_is_for_an_empty_workspace_only(app, client, auth, ws_a):
    from tests.factories import make_contact

    auth.login(ws_a.email, ws_a.password)
    assert "Your workspace is ready" in client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)
    make_contact(app, ws_a, "Ann Lee")  # customers, but no team note yet
    assert "Your workspace is ready" not in client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)
