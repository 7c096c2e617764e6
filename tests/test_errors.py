"""Error pages as full pages and as htmx fragments; the 503 page when the database is down;
security headers on every response."""

import pytest
from werkzeug.exceptions import NotFound
from werkzeug.routing import Map, Rule

from crm import create_app
from crm.security import IdConverter, TextConverter
from tests.conftest import post
from tests.factories import make_company, make_member


def test_404_is_a_full_page(client):
    response = client.get("/no/such/page")
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in body
    assert "<!doctype html>" in body


def test_404_for_htmx_is_a_fragment_with_a_toast(client):
    response = client.get("/no/such/page", headers={"HX-Request": "true", "HX-Target": "main"})
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "<html" not in body
    assert 'role="alert"' in body
    assert "Page not found" in response.headers["HX-Trigger"]


def test_boosted_navigation_gets_the_full_error_page(client):
    response = client.get("/no/such/page", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<!doctype html>" in response.get_data(as_text=True)


def test_a_path_segment_with_a_control_character_names_nothing(app, client, auth, ws_a):
    """PostgreSQL refuses NUL in a query: /portal/ab%00c/ gave a 500 to anyone, /w/ab%00c/ to a member."""
    urls = app.url_map.bind("localhost")
    for path in ("/portal/ab\x00c/", f"/w/{ws_a.slug}\x07/", "/w/ab\x1bc/contacts/", "/portal/a\x85b/"):
        with pytest.raises(NotFound):
            urls.match(path)
    assert client.get("/portal/ab%00c/").status_code == 404
    auth.login(ws_a.email, ws_a.password)
    for path in ("/w/ab%00c/", f"/w/{ws_a.slug}%00/contacts/", f"/w/{ws_a.slug}/tickets/%C2%85/"):
        assert client.get(path).status_code == 404, path
    assert client.get(f"/w/{ws_a.slug}/contacts/").status_code == 200


def test_an_id_beyond_what_a_bigint_holds_is_a_404(app, client, auth, ws_a):
    """SQLite raised OverflowError (a 500) on an id above 2**63 - 1; a thousand digits were a ValueError."""
    company = make_company(app, ws_a, "Alpha Trading")
    auth.login(ws_a.email, ws_a.password)
    for id_ in ("9223372036854775808", "99999999999999999999", "9" * 5000):
        assert client.get(f"/w/{ws_a.slug}/companies/{id_}").status_code == 404
        assert client.get(f"/w/{ws_a.slug}/contacts/views/{id_}/rename").status_code == 404
        assert post(client, f"/w/{ws_a.slug}/contacts/views/{id_}/rename", {"name": "Mine"}).status_code == 404
    assert client.get(f"/w/{ws_a.slug}/companies/9223372036854775807").status_code == 404  # the largest: no row
    assert client.get(f"/w/{ws_a.slug}/companies/{company}").status_code == 200


def test_every_rule_reads_its_arguments_through_the_checking_converters(app):
    """Set up before any blueprint adds a rule, so a new route is covered without a word of its own
    (the static files' rule, added by Flask itself, checks its file name on its own)."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint != "static":
            for name, converter in rule._converters.items():
                assert isinstance(converter, (TextConverter, IdConverter)), (rule.rule, name)
    paths = Map([Rule("/files/<path:name>", endpoint="file")], converters=app.url_map.converters).bind("localhost")
    assert paths.match("/files/a/b.txt") == ("file", {"name": "a/b.txt"})
    with pytest.raises(NotFound):
        paths.match("/files/a/b\x00.txt")
    limited = Map([Rule("/n/<int(max=10):n>", endpoint="n")], converters=app.url_map.converters).bind("localhost")
    assert limited.match("/n/10") == ("n", {"n": 10})
    with pytest.raises(NotFound):
        limited.match("/n/11")


def test_403_for_a_member_without_the_right(app, client, auth, ws_a):
    member = make_member(app, ws_a, "clerk@alpha.example.com")
    auth.login(member.email, member.password)
    response = client.get(f"/w/{ws_a.slug}/settings")
    assert response.status_code == 403
    assert "Not allowed" in response.get_data(as_text=True)
    hijack = {"name": "Hijack", "slug": "hijack", "timezone": "UTC"}
    assert post(client, f"/w/{ws_a.slug}/settings", hijack).status_code == 403


@pytest.fixture
def app_with_boom(tmp_path):
    app = create_app(
        {
            "KEHU_ENV": "test",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'boom.db'}",
            "PROPAGATE_EXCEPTIONS": False,
        }
    )

    @app.get("/boom")
    def boom():
        raise RuntimeError("kaboom: internal detail")

    return app


def test_500_page_hides_the_stack_trace(app_with_boom):
    response = app_with_boom.test_client().get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in body
    assert "kaboom" not in body and "Traceback" not in body


@pytest.fixture
def app_without_database():
    # Nothing listens on port 9: every connection attempt is refused at once.
    return create_app(
        {
            "KEHU_ENV": "test",
            "SQLALCHEMY_DATABASE_URI": "postgresql://kehu_app@127.0.0.1:9/kehu",
            "WTF_CSRF_ENABLED": False,
            "PROPAGATE_EXCEPTIONS": False,
        }
    )


def test_database_outage_gives_a_friendly_503(app_without_database):
    client = app_without_database.test_client()
    assert client.get("/").status_code in (200, 503)
    response = client.post("/login", data={"email": "a@b.example.com", "password": "whatever123"})
    body = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "Temporarily unavailable" in body
    assert response.headers["Retry-After"] == "30"
    assert "OperationalError" not in body and "Traceback" not in body


def test_healthz_reports_the_database(client, app_without_database):
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "up"}
    down = app_without_database.test_client().get("/healthz")
    assert down.status_code == 503
    assert down.get_json()["database"] == "down"


def test_security_headers_on_every_response(client):
    for url in ("/", "/login", "/no/such/page"):
        headers = client.get(url).headers
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "script-src" not in headers["Content-Security-Policy"]  # no inline-script exceptions
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert "HX-Request" in headers["Vary"]


def test_pages_load_no_third_party_or_inline_script(client):
    body = client.get("/").get_data(as_text=True)
    assert '<script src="/static/vendor/htmx-2.0.11.min.js"' in body
    assert "<script>" not in body
    assert "http://" not in body.split("<body")[0] and "https://" not in body.split("<body")[0]
