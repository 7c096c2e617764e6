"""Start-up settings that a fresh clone and a production deployment depend on."""

from flask import request

from crm import create_app
from crm.config import load_config


def test_a_fresh_clone_gets_its_sqlite_directory_created(tmp_path):
    database = tmp_path / "not-yet" / "kehu.sqlite3"
    create_app({"KEHU_ENV": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"})
    assert database.parent.is_dir()


def _scheme_seen_by_the_app(tmp_path, trusted_proxies: int) -> str:
    app = create_app(
        {
            "KEHU_ENV": "test",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'proxy.db'}",
            "TRUSTED_PROXIES": trusted_proxies,
        }
    )
    with app.test_client() as client:
        response = client.get("/healthz", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
        assert response.status_code == 200
        return request.scheme


def test_forwarded_headers_count_only_behind_a_trusted_proxy(tmp_path):
    assert _scheme_seen_by_the_app(tmp_path, 0) == "http"
    assert _scheme_seen_by_the_app(tmp_path, 1) == "https"


def test_trusted_proxies_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "2")
    assert load_config({"KEHU_ENV": "test"})["TRUSTED_PROXIES"] == 2
