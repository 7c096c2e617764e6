import sqlalchemy as sa

from crm.auth.models import User
from crm.extensions import db
from crm.workspaces.models import Workspace
from tests.conftest import post
from tests.factories import make_workspace

SETTINGS = {"name": "Alpha Trading Co", "slug": "alpha-co", "timezone": "Asia/Shanghai"}


def workspace(app, ws_id) -> Workspace:
    with app.app_context():
        return db.session.get(Workspace, ws_id)


def test_owner_edits_name_slug_and_time_zone(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    form = client.get(f"/w/{ws_a.slug}/settings").get_data(as_text=True)
    assert '<label for="slug">Web address</label>' in form
    response = post(client, f"/w/{ws_a.slug}/settings", SETTINGS)
    assert response.status_code == 303
    assert response.headers["Location"] == "/w/alpha-co/settings"
    saved = workspace(app, ws_a.id)
    assert (saved.name, saved.slug, saved.timezone) == ("Alpha Trading Co", "alpha-co", "Asia/Shanghai")
    assert client.get(f"/w/{ws_a.slug}/").headers["Location"] == "/w/alpha-co/"  # old links redirect
    assert client.get("/w/alpha-co/").status_code == 200


def test_settings_refuse_taken_or_malformed_slug_and_save_nothing(app, client, auth, ws_a, ws_b):
    auth.login(ws_a.email, ws_a.password)
    for slug, message in [
        (ws_b.slug, "Another workspace already uses this address."),
        ("Has Spaces", "Use 1 to 50 lower-case letters"),
        ("-dash-first", "Use 1 to 50 lower-case letters"),
        ("x" * 51, "Use 1 to 50 lower-case letters"),
    ]:
        response = post(client, f"/w/{ws_a.slug}/settings", {**SETTINGS, "slug": slug})
        assert response.status_code == 422, slug
        assert message in response.get_data(as_text=True)
    unknown_zone = post(client, f"/w/{ws_a.slug}/settings", {**SETTINGS, "timezone": "Mars/Olympus"})
    assert unknown_zone.status_code == 422
    saved = workspace(app, ws_a.id)
    assert (saved.name, saved.slug, saved.timezone) == (ws_a.name, ws_a.slug, "UTC")


def test_create_another_workspace_and_switch(app, client, auth, ws_a, ws_b):
    auth.login(ws_a.email, ws_a.password)
    assert client.get("/workspaces/new").status_code == 200
    bad = post(client, "/workspaces/", {"name": ""})
    assert bad.status_code == 422
    assert "Name your business." in bad.get_data(as_text=True)
    response = post(client, "/workspaces/", {"name": "Alpha Bakery", "timezone": "Europe/Helsinki"})
    assert response.headers["Location"] == "/w/alpha-bakery/"
    home = client.get("/w/alpha-bakery/").get_data(as_text=True)
    assert 'data-hx-get="/workspaces/?current=alpha-bakery"' in home  # the menu loads its list when opened
    headers = {"HX-Request": "true", "HX-Target": "workspace-list"}
    switcher = client.get("/workspaces/", query_string={"current": "alpha-bakery"}, headers=headers).get_data(
        as_text=True
    )
    assert f'href="/w/{ws_a.slug}/"' in switcher
    assert 'href="/w/alpha-bakery/" aria-current="page"' in switcher
    assert ws_b.slug not in switcher
    assert client.get(f"/w/{ws_a.slug}/").status_code == 200


def test_login_returns_to_the_last_workspace_used(app, client, auth, ws_a):
    second = make_workspace(app, "Alpha Bakery", ws_a.email)
    auth.login(ws_a.email, ws_a.password)
    client.get(f"/w/{second.slug}/")
    auth.logout()
    assert auth.login(ws_a.email, ws_a.password).headers["Location"] == f"/w/{second.slug}/"
    with app.app_context():
        assert db.session.scalar(sa.select(User.last_workspace_id).where(User.id == ws_a.user_id)) == second.id


def test_a_stale_remembered_slug_is_looked_up_again_and_the_user_stays_usable(app, client, auth, ws_a):
    from crm.workspaces.service import remember_slug

    second = make_workspace(app, "Alpha Bakery", ws_a.email)
    auth.login(ws_a.email, ws_a.password)
    client.get(f"/w/{second.slug}/")  # the last workspace used is now the second one
    remember_slug(ws_a.slug, second.id)  # as if the slug had moved from one workspace to another
    page = client.get(f"/w/{ws_a.slug}/")
    assert page.status_code == 200 and "Alpha Trading" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(User.last_workspace_id).where(User.id == ws_a.user_id)) == ws_a.id


def test_landing_page_offers_sign_up_and_log_in(client):
    body = client.get("/").get_data(as_text=True)
    assert 'href="/signup"' in body and 'href="/login"' in body
    assert "<main" in body and "<header" in body and "<footer" in body
    assert 'class="skip-link" href="#main"' in body


def test_landing_page_links_a_signed_in_user_to_the_workspace(client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    body = client.get("/").get_data(as_text=True)
    assert f'href="/w/{ws_a.slug}/"' in body
    assert client.get("/signup").headers["Location"] == f"/w/{ws_a.slug}/"
