"""Links in templates (crm/links.py): URLs are kept per process, and must still follow the
workspace, the portal and the arguments of each request."""

import pytest
from flask import url_for

from crm import links
from crm.links import template_url_for


def test_each_workspace_page_links_to_its_own_workspace(app, client, auth, ws_a, ws_b):
    from tests.factories import make_member

    both = make_member(app, ws_b, "both@example.com", role="admin")
    make_member(app, ws_a, both.email, role="admin")
    auth.login(both.email, both.password)
    for ws, other in ((ws_a, ws_b), (ws_b, ws_a), (ws_a, ws_b)):
        page = client.get(f"/w/{ws.slug}/contacts/").get_data(as_text=True)
        assert f'href="/w/{ws.slug}/deals/"' in page and f"/w/{other.slug}/" not in page


def test_each_portal_links_to_its_own_workspace(client, ws_a, ws_b):
    for ws, other in ((ws_a, ws_b), (ws_b, ws_a)):
        page = client.get(f"/portal/{ws.slug}/").get_data(as_text=True)
        assert f'action="/portal/{ws.slug}/' in page or f'href="/portal/{ws.slug}/' in page
        assert f"/portal/{other.slug}/" not in page


def test_arguments_are_part_of_the_url_and_of_what_is_kept(app):
    with app.test_request_context("/"):
        assert template_url_for("auth.login", next="/a") == url_for("auth.login", next="/a")
        assert template_url_for("auth.login", next="/b") == url_for("auth.login", next="/b") != url_for("auth.login")
        assert template_url_for("auth.login", n=1) != template_url_for("auth.login", n=True)  # equal as keys
        assert template_url_for("auth.login", cols=["a", "b"]) == url_for("auth.login", cols=["a", "b"])
        assert template_url_for("auth.login", _external=True).startswith("http://")
        # A link that carries a secret is built, never kept.
        assert "s3cret" in template_url_for("auth.update_forgotten_password", token="s3cret")
        assert not any("s3cret" in url for url in links._built.values())
    with app.app_context(), pytest.raises(RuntimeError, match="SERVER_NAME"):
        template_url_for("auth.login")  # no request (a job's email): Flask's own rules, and nothing kept
