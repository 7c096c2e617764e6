"""Secrets at rest: Fernet encryption under ENCRYPTION_KEYS, key rotation, and clear errors for a
missing, malformed or lost key."""

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask

from crm import create_app, secrets
from crm.auth.models import User
from crm.config import ConfigError, load_config
from crm.extensions import db
from crm.secrets import SecretUnreadable, decrypt, encrypt, reencrypt

OLD, NEW, OTHER = (Fernet.generate_key().decode() for _ in range(3))


def keyed(keys: str) -> Flask:
    """A bare app whose config holds these keys: enough for crm.secrets, no database."""
    app = Flask(__name__)
    app.config["ENCRYPTION_KEYS"] = keys
    return app


def in_app(keys: str, function, *args):
    with keyed(keys).app_context():
        return function(*args)


def test_encrypted_text_reads_back_and_never_shows_the_plain_text(app):
    with app.app_context():
        token = encrypt("JBSWY3DPEHPK3PXP")
        again = encrypt("JBSWY3DPEHPK3PXP")
        assert "JBSWY3DPEHPK3PXP" not in token
        assert token != again  # a fresh IV every time
        assert decrypt(token) == decrypt(again) == "JBSWY3DPEHPK3PXP"
        assert decrypt(encrypt("密码 ✓")) == "密码 ✓"


def test_rotation_keeps_old_values_readable_and_encrypts_with_the_new_key():
    token = in_app(OLD, encrypt, "the secret")
    # A new key is put first; the old one stays after it, for decrypting only.
    assert in_app(f"{NEW},{OLD}", decrypt, token) == "the secret"
    fresh = in_app(f"{NEW}, {OLD}", encrypt, "another")
    assert in_app(NEW, decrypt, fresh) == "another"
    with pytest.raises(SecretUnreadable):
        in_app(OLD, decrypt, fresh)
    # Re-encrypting moves old values to the new key, after which the old key can go.
    moved = in_app(f"{NEW},{OLD}", reencrypt, token)
    assert in_app(NEW, decrypt, moved) == "the secret"


def test_a_value_no_key_can_read_is_a_clear_error_never_garbage():
    token = in_app(OLD, encrypt, "the secret")
    with pytest.raises(SecretUnreadable, match="not in ENCRYPTION_KEYS"):
        in_app(OTHER, decrypt, token)
    with pytest.raises(SecretUnreadable):
        in_app(OLD, decrypt, "not a token at all")
    with pytest.raises(SecretUnreadable):
        in_app(OLD, decrypt, token[:-4] + "AAAA")  # tampered: the HMAC catches it


def test_production_refuses_to_start_without_encryption_keys(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.delenv("ENCRYPTION_KEYS", raising=False)
    with pytest.raises(ConfigError, match="ENCRYPTION_KEYS must be set") as error:
        load_config({"KEHU_ENV": "production"})
    assert "Fernet.generate_key()" in str(error.value)
    monkeypatch.setenv("ENCRYPTION_KEYS", NEW)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("SERVER_NAME", "crm.example.com")
    assert load_config({"KEHU_ENV": "production"})["ENCRYPTION_KEYS"] == NEW


@pytest.mark.parametrize(
    "value",
    ["not-a-key", f"{NEW},short", "A" * 44 + "!", f"{NEW},{NEW[:-2]}"],
)
def test_a_malformed_key_is_refused_at_start_up_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("ENCRYPTION_KEYS", value)
    with pytest.raises(ConfigError, match=r"ENCRYPTION_KEYS: key \d of \d is not a Fernet key") as error:
        load_config({"KEHU_ENV": "test"})
    # The message says which key, never what it is.
    bad = value.split(",")[-1]
    assert bad not in str(error.value)


def test_development_and_test_derive_a_stable_key_from_secret_key(monkeypatch):
    monkeypatch.delenv("ENCRYPTION_KEYS", raising=False)
    first = load_config({"KEHU_ENV": "development", "SECRET_KEY": "one"})["ENCRYPTION_KEYS"]
    again = load_config({"KEHU_ENV": "test", "SECRET_KEY": "one"})["ENCRYPTION_KEYS"]
    other = load_config({"KEHU_ENV": "development", "SECRET_KEY": "two"})["ENCRYPTION_KEYS"]
    assert first == again != other
    Fernet(first.encode())  # a valid key


def test_the_test_app_has_working_keys(app):
    assert secrets.parse_keys(app.config["ENCRYPTION_KEYS"])


def _database_with_a_secret(tmp_path, key: str) -> str:
    url = f"sqlite:///{tmp_path / 'secrets.sqlite3'}"
    engine = sa.create_engine(url)
    from crm.workspaces.models import Workspace

    db.metadata.create_all(engine, tables=[Workspace.__table__, User.__table__])
    with engine.begin() as connection:
        connection.execute(
            sa.insert(User.__table__).values(
                email="ann@example.com",
                name="Ann",
                password_hash="x",
                session_version=1,
                failed_logins=0,
                totp_secret=Fernet(key.encode()).encrypt(b"JBSWY3DPEHPK3PXP").decode(),
            )
        )
    engine.dispose()
    return url


def test_a_lost_key_is_a_start_up_error(tmp_path):
    url = _database_with_a_secret(tmp_path, OLD)
    config = {"KEHU_ENV": "test", "SQLALCHEMY_DATABASE_URI": url, "MIGRATION_DATABASE_URL": ""}
    with pytest.raises(ConfigError, match=r"ENCRYPTION_KEYS cannot decrypt users\.totp_secret"):
        create_app({**config, "ENCRYPTION_KEYS": NEW})
    create_app({**config, "ENCRYPTION_KEYS": f"{NEW},{OLD}"})  # rotated, not replaced: starts


def test_an_unmigrated_database_does_not_stop_start_up(tmp_path):
    create_app({"KEHU_ENV": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.sqlite3'}"})


def test_reencrypt_command_moves_stored_secrets_to_the_new_key(app, ws_a, monkeypatch):
    current = app.config["ENCRYPTION_KEYS"]
    with app.app_context():
        db.session.get(User, ws_a.user_id).totp_secret = encrypt("JBSWY3DPEHPK3PXP")
        db.session.commit()
    monkeypatch.setitem(app.config, "ENCRYPTION_KEYS", f"{NEW},{current}")
    result = app.test_cli_runner().invoke(args=["crm", "reencrypt-secrets"])
    assert result.exit_code == 0, result.output
    assert "1 stored secret(s)" in result.output
    with app.app_context():
        token = db.session.get(User, ws_a.user_id).totp_secret
    assert in_app(NEW, decrypt, token) == "JBSWY3DPEHPK3PXP"


def test_reencrypt_command_also_moves_sensitive_custom_values(app, ws_a, monkeypatch):
    from crm.contacts.models import Contact
    from crm.tenancy import workspace_scope
    from tests.factories import make_contact, make_custom_field, set_custom_value

    field_id = make_custom_field(app, ws_a, "ID number", sensitive=True)
    contact_id = make_contact(app, ws_a, "Ann")
    set_custom_value(app, ws_a, contact_id, field_id, "110101199001011234")
    current = app.config["ENCRYPTION_KEYS"]
    monkeypatch.setitem(app.config, "ENCRYPTION_KEYS", f"{NEW},{current}")
    result = app.test_cli_runner().invoke(args=["crm", "reencrypt-secrets"])
    assert result.exit_code == 0 and "1 stored secret(s)" in result.output, result.output
    with app.app_context(), workspace_scope(ws_a.id):
        token = db.session.get(Contact, contact_id).custom["id_number"]
    assert in_app(NEW, decrypt, token) == '"110101199001011234"'
