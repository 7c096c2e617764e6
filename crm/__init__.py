"""Kehu CRM: create_app() wires configuration, extensions, tenancy, blueprints, errors and CLI."""

import logging
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from crm import errors, form_fields, htmx, i18n, links, search, secrets, security, sorting, transactions
from crm.audit import change_text, history_text
from crm.config import INSTANCE_DIR, load_config
from crm.extensions import babel, csrf, db, limiter, login_manager, migrate

log = logging.getLogger(__name__)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_path=str(INSTANCE_DIR),
    )
    app.config.from_mapping(load_config(config))
    _ensure_sqlite_directory(app.config["SQLALCHEMY_DATABASE_URI"])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if app.config.get("TRUSTED_PROXIES"):
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from crm.backup.routes import allow_large_upload as allow_large_backup
    from crm.imports.routes import allow_large_upload
    from crm.tickets.attachments import allow_attachment_upload

    app.before_request(allow_large_upload)  # before CSRFProtect's hook reads the body
    app.before_request(allow_large_backup)
    app.before_request(allow_attachment_upload)
    _init_extensions(app)
    form_fields.install()
    security.install_converters(app)  # before the blueprints add their rules
    _register_blueprints(app)
    errors.init_app(app)
    htmx.init_app(app)
    security.init_app(app)
    i18n.init_app(app)
    app.jinja_env.globals["url_for"] = links.template_url_for
    app.jinja_env.filters["web_href"] = links.web_href
    app.jinja_env.globals["change_lines"] = change_text.change_lines
    app.jinja_env.globals["actor_name"] = change_text.actor_name
    app.jinja_env.globals["history_items"] = history_text.history_items

    from crm.cli import crm_cli

    app.cli.add_command(crm_cli)
    _check_database_role(app)
    secrets.check_stored_secrets(app)
    return app


def _ensure_sqlite_directory(database_url: str) -> None:
    """The embedded default lives in instance/, which a fresh clone does not have yet."""
    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(INSTANCE_DIR.parent / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    babel.domain_instance = i18n.RequestDomain()
    login_manager.init_app(app)
    app.teardown_request(transactions.end_read_only_transaction)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            sqlite_connections(db.engine)

    from crm.activities import models as _activity_models  # noqa: F401
    from crm.audit import models as _audit_models  # noqa: F401  (register mappers)
    from crm.auth import models as _auth_models  # noqa: F401
    from crm.billing import models as _billing_models  # noqa: F401
    from crm.contacts import models as _contact_models  # noqa: F401
    from crm.custom_fields import models as _custom_field_models  # noqa: F401
    from crm.data_quality import models as _data_quality_models  # noqa: F401
    from crm.deals import models as _deal_models  # noqa: F401
    from crm.duplicates import models as _duplicate_models  # noqa: F401
    from crm.members import models as _member_models  # noqa: F401
    from crm.notes import models as _note_models  # noqa: F401
    from crm.products import models as _product_models  # noqa: F401
    from crm.purchases import models as _purchase_models  # noqa: F401
    from crm.quotes import models as _quote_models  # noqa: F401
    from crm.saved_replies import models as _saved_reply_models  # noqa: F401
    from crm.tickets import models as _ticket_models  # noqa: F401
    from crm.workspaces import models as _workspace_models  # noqa: F401


def sqlite_connections(engine: sa.Engine) -> None:
    """What each SQLite connection of ``engine`` is set up with: the app's, and the migrations' own
    (migrations/env.py), since an index in the ``human`` collation cannot be written without it."""

    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA busy_timeout = 5000")
        cursor.close()
        # Filters in any case fold non-ASCII letters as PostgreSQL's lower() does (crm.search).
        dbapi_connection.create_function("unicode_lower", 1, search.lower_as_postgresql, deterministic=True)
        # Names in the order people read them; the name indexes use it (crm.sorting).
        dbapi_connection.create_collation(sorting.HUMAN, sorting.compare_names)


def _register_blueprints(app: Flask) -> None:
    from crm.routes import APP_BLUEPRINTS, DEV_BLUEPRINTS

    for blueprint in APP_BLUEPRINTS:
        app.register_blueprint(blueprint)
    if app.config["DEV_OUTBOX"]:
        for blueprint in DEV_BLUEPRINTS:
            app.register_blueprint(blueprint)


def _check_database_role(app: Flask) -> None:
    """Refuse to start on PostgreSQL as a role that RLS would not bind.

    When the database is unreachable at start-up the check runs on the first request instead,
    so an outage gives the 503 page rather than a crash loop.
    """
    if not app.config["CHECK_DATABASE_ROLE"]:
        return
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return
        from crm.pg import check_app_role

        try:
            check_app_role(db.engine)
            return
        except sa.exc.OperationalError:
            log.warning("database unreachable at start-up; checking its role on the first request")

    checked = False

    @app.before_request
    def check_role_once() -> None:
        nonlocal checked
        # /healthz reports the outage itself, as JSON for the load balancer.
        if not checked and request.endpoint != "site.healthz":
            check_app_role(db.engine)
            checked = True
