"""A workspace that requires two-factor authentication sends members without it to set it up."""

from crm.auth.models import User
from crm.db import utcnow
from crm.extensions import db
from crm.workspaces.models import Workspace
from tests.conftest import post
from tests.factories import make_member


def require_two_factor(app, ws) -> None:
    with app.app_context():
        db.session.get(Workspace, ws.id).require_two_factor = True
        db.session.commit()


def mark_two_factor_enabled(app, user_id: int) -> None:
    with app.app_context():
        db.session.get(User, user_id).totp_enabled_at = utcnow()
        db.session.commit()


def test_owner_turns_it_on_and_members_without_2fa_are_sent_to_set_up(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    settings = {"name": ws_a.name, "slug": ws_a.slug, "timezone": "UTC", "currency": "USD", "phone_region": "US"}
    assert post(client, f"/w/{ws_a.slug}/settings", {**settings, "require_two_factor": "y"}).status_code == 303
    response = client.get(f"/w/{ws_a.slug}/")
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/two-factor"
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "requires two-factor authentication" in page
    htmx = client.get(f"/w/{ws_a.slug}/notes/", headers={"HX-Request": "true", "HX-Target": "notes-more"})
    assert htmx.headers["HX-Redirect"] == "/account/two-factor"


def test_members_with_2fa_and_other_workspaces_are_unaffected(app, client, auth, ws_a, ws_b):
    require_two_factor(app, ws_a)
    member = make_member(app, ws_a, "secure@alpha.example.com")
    make_member(app, ws_b, member.email)
    auth.login(member.email, member.password)
    assert client.get(f"/w/{ws_b.slug}/").status_code == 200
    assert client.get(f"/w/{ws_a.slug}/").status_code == 303
    mark_two_factor_enabled(app, member.user_id)
    assert client.get(f"/w/{ws_a.slug}/").status_code == 200
