"""Start-up settings that a fresh clone and a production deployment depend on."""

import pytest
from cryptography.fernet import Fernet
from flask import request

from crm import create_app
from crm.config import ConfigError, load_config


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


def test_production_refuses_to_count_rate_limits_per_process(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("ENCRYPTION_KEYS", Fernet.generate_key().decode())
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("SERVER_NAME", "crm.example.com")
    with pytest.raises(ConfigError, match="REDIS_URL must be set in production"):
        load_config({"KEHU_ENV": "production"})
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    assert load_config({"KEHU_ENV": "production"})["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"


def test_a_stripe_key_without_a_webhook_secret_refuses_to_start(monkeypatch):
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_x")
    monkeypatch.delenv("STRIPE_WEBHOOK_SECRET", raising=False)
    with pytest.raises(ConfigError, match="STRIPE_WEBHOOK_SECRET must be set when STRIPE_SECRET_KEY is"):
        load_config({"KEHU_ENV": "test"})
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_x")
    assert load_config({"KEHU_ENV": "test"})["STRIPE_WEBHOOK_SECRET"] == "whsec_x"
    monkeypatch.delenv("STRIPE_SECRET_KEY")
    monkeypatch.delenv("STRIPE_WEBHOOK_SECRET")
    assert load_config({"KEHU_ENV": "test"})["STRIPE_SECRET_KEY"] == ""  # billing off: nothing needed


def test_production_talks_to_stripe_over_https_only(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("ENCRYPTION_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("SERVER_NAME", "crm.example.com")
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_live_x")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_x")
    monkeypatch.setenv("STRIPE_API_BASE", "http://127.0.0.1:12111")
    with pytest.raises(ConfigError, match="STRIPE_API_BASE must be an https:// URL in production"):
        load_config({"KEHU_ENV": "production"})
    assert load_config({"KEHU_ENV": "test"})["STRIPE_API_BASE"] == "http://127.0.0.1:12111"  # the fake, in tests
    monkeypatch.setenv("STRIPE_API_BASE", "https://api.stripe.com")
    assert load_config({"KEHU_ENV": "production"})["STRIPE_API_BASE"] == "https://api.stripe.com"


def test_production_refuses_to_start_without_the_public_host_name(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("ENCRYPTION_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.delenv("SERVER_NAME", raising=False)
    with pytest.raises(ConfigError, match="SERVER_NAME must be set in production: the public host name"):
        load_config({"KEHU_ENV": "production"})
    monkeypatch.setenv("SERVER_NAME", "https://crm.example.com/")  # a URL, not a host name
    with pytest.raises(ConfigError, match="SERVER_NAME must be a host name with an optional :port"):
        load_config({"KEHU_ENV": "production"})
    monkeypatch.setenv("SERVER_NAME", "crm.example.com")
    config = load_config({"KEHU_ENV": "production"})
    assert (config["SERVER_NAME"], config["PREFERRED_URL_SCHEME"]) == ("crm.example.com", "https")
    monkeypatch.delenv("SERVER_NAME")
    assert load_config({"KEHU_ENV": "development"})["SERVER_NAME"] is None  # make run's address (crm/links.py)
