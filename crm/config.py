"""Settings from the environment.

KEHU_ENV picks the profile: ``development`` (make run), ``test`` (pytest) or ``production``
(the default, so a forgotten variable fails safe: no SECRET_KEY or ENCRYPTION_KEYS means no start).
"""

import os
import re
from pathlib import Path

from crm.secrets import GENERATE_HINT, derived_key, parse_keys

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"
ENVIRONMENTS = ("development", "test", "production")
SERVER_NAME = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?")  # a host and an optional port, nothing more


class ConfigError(RuntimeError):
    """The environment does not allow the app to start safely."""


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def billing_plans() -> dict:
    """The plans on sale, by key. Limits are None for unlimited; ``price_id`` is the Stripe Price
    (from the environment) and ``per_seat`` bills one unit per active member. Change limits here
    or replace the whole dict with the ``BILLING_PLANS`` setting of ``create_app``."""
    return {
        "free": {"name": "Free", "price_id": None, "per_seat": False,
                 "max_members": 2, "max_contacts": 1_000, "storage_mb": 500, "portal": True},
        "team": {"name": "Team", "price_id": os.environ.get("STRIPE_PRICE_TEAM", ""), "per_seat": True,
                 "max_members": 25, "max_contacts": 50_000, "storage_mb": 10_000, "portal": True},
        "business": {"name": "Business", "price_id": os.environ.get("STRIPE_PRICE_BUSINESS", ""), "per_seat": True,
                     "max_members": None, "max_contacts": 500_000, "storage_mb": 100_000, "portal": True},
    }  # fmt: skip


def _engine_options(database_url: str) -> dict:
    """PostgreSQL's pool hands out the connection used last: its prepared statements are warm (see
    crm/transactions.py) and the others may time out. Prepared statements are always planned for
    their parameters (``force_custom_plan``): a generic plan is costed for an average workspace,
    and for the 200,000-contact one of the bench it made a tag filter take 450 ms instead of 15
    and the board 2 s instead of 25 ms. Preparing still saves parsing and rewriting."""
    if database_url.startswith("postgresql"):
        return {"pool_pre_ping": True, "pool_use_lifo": True,
                "connect_args": {"options": "-c plan_cache_mode=force_custom_plan"}}  # fmt: skip
    return {"pool_pre_ping": True}


def load_config(overrides: dict | None = None) -> dict:
    env = (overrides or {}).get("KEHU_ENV") or os.environ.get("KEHU_ENV", "production")
    if env not in ENVIRONMENTS:
        raise ConfigError(f"KEHU_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    relaxed = env != "production"
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'kehu.sqlite3'}"
    redis_url = os.environ.get("REDIS_URL", "")
    config = {
        "KEHU_ENV": env,
        "TESTING": env == "test",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or ("dev-only-insecure-key" if relaxed else ""),
        # Fernet keys for secrets at rest (crm.secrets): the first encrypts, all decrypt.
        "ENCRYPTION_KEYS": os.environ.get("ENCRYPTION_KEYS", ""),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MIGRATION_DATABASE_URL": os.environ.get("MIGRATION_DATABASE_URL", ""),
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_ENABLED": _flag("RATELIMIT_ENABLED", True),
        "RATELIMIT_HEADERS_ENABLED": True,
        "MAIL_URL": os.environ.get("MAIL_URL", ""),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Kehu CRM <no-reply@kehu.example.com>"),
        "DEV_OUTBOX": _flag("DEV_OUTBOX", env == "development"),
        "OUTBOX_DIR": str(INSTANCE_DIR / "outbox"),
        # The app's public host: links built outside a request (cron commands' mail, jobs) use it, and
        # once set, links built in a request no longer take their host from the request. Required in
        # production; development and tests without it get make run's address (crm/links.py).
        "PREFERRED_URL_SCHEME": "http" if relaxed else "https",
        "SERVER_NAME": os.environ.get("SERVER_NAME") or None,
        # How many proxies in front of the app set X-Forwarded-For/-Proto/-Host (0: trust none).
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES") or 0),
        # Boosted navigation never refreshes <body hx-headers>, so the token must not expire.
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": not relaxed,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": not relaxed,
        "REMEMBER_COOKIE_DURATION": 60 * 60 * 24 * 30,
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        # Spreadsheet imports: uploads are kept here until imported (a shared volume for RQ workers
        # on other machines); the size limit applies to the import upload only.
        "UPLOAD_DIR": os.environ.get("UPLOAD_DIR") or str(INSTANCE_DIR / "uploads"),
        "IMPORT_MAX_BYTES": int(os.environ.get("IMPORT_MAX_MB") or 50) * 1024 * 1024,
        "IMPORT_UNDO_DAYS": 7,
        # Files attached to tickets (the portal and the staff page): the largest in MB (default 10).
        "TICKET_ATTACHMENT_MAX_BYTES": int(os.environ.get("TICKET_ATTACHMENT_MAX_MB") or 10) * 1024 * 1024,
        # Workspace restore (Settings > Backup): the largest backup ZIP accepted by the web page.
        "BACKUP_MAX_BYTES": int(os.environ.get("BACKUP_MAX_MB") or 50) * 1024 * 1024,
        # Without Redis, jobs run in a thread of the web process; tests run them in the request.
        "JOBS_INLINE": _flag("JOBS_INLINE", env == "test"),
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_ROOT / "crm" / "translations"),
        "PASSWORD_RESET_MAX_AGE": 60 * 60,
        # Consecutive wrong passwords or codes before an account is locked, and for how long.
        "LOGIN_LOCKOUT_ATTEMPTS": 10,
        "LOGIN_LOCKOUT_MINUTES": 15,
        # How long a right password waits for its second factor before the sign-in starts over.
        "TWO_FACTOR_PENDING_SECONDS": 10 * 60,
        "SIGN_IN_HISTORY_DAYS": 90,
        "CHECK_DATABASE_ROLE": _flag("CHECK_DATABASE_ROLE", True),
        # Billing (crm/billing): off without a secret key, and then every workspace is unlimited.
        "STRIPE_SECRET_KEY": os.environ.get("STRIPE_SECRET_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET", ""),
        # Where stripe-python sends its calls: Stripe itself, or the local fake (tests, demos).
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE") or "https://api.stripe.com",
        "BILLING_PLANS": billing_plans(),
        "BILLING_TRIAL_PLAN": os.environ.get("BILLING_TRIAL_PLAN", "team"),
        "BILLING_TRIAL_DAYS": int(os.environ.get("BILLING_TRIAL_DAYS") or 14),
        # Days a past-due workspace keeps writing before it becomes read-only until paid.
        "BILLING_GRACE_DAYS": int(os.environ.get("BILLING_GRACE_DAYS") or 7),
    }
    config.update(overrides or {})
    config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", _engine_options(config["SQLALCHEMY_DATABASE_URI"]))
    if not config["SECRET_KEY"]:
        raise ConfigError("SECRET_KEY must be set outside development and test (see .env.example)")
    if not config["ENCRYPTION_KEYS"]:
        if env == "production":
            raise ConfigError(
                "ENCRYPTION_KEYS must be set outside development and test: it encrypts two-factor secrets "
                f"at rest, and losing it makes them unreadable. Generate a key with: {GENERATE_HINT}"
            )
        config["ENCRYPTION_KEYS"] = derived_key(config["SECRET_KEY"])
    if env == "production" and not config["REDIS_URL"] and config["RATELIMIT_STORAGE_URI"] == "memory://":
        raise ConfigError(
            "REDIS_URL must be set in production: rate limits and used two-factor codes must be shared "
            "by every worker process, not counted per process."
        )
    if env == "production" and not config["SERVER_NAME"]:
        raise ConfigError(
            "SERVER_NAME must be set in production: the public host name of the app (crm.example.com, with "
            ":port if not the default), which links in emails sent by jobs and cron commands (reminders, late "
            "tickets) point at; without it they would point at this server's loopback address."
        )
    if config["SERVER_NAME"] and not SERVER_NAME.fullmatch(config["SERVER_NAME"]):
        raise ConfigError(
            f"SERVER_NAME must be a host name with an optional :port (crm.example.com), not "
            f"{config['SERVER_NAME']!r}: the scheme comes from PREFERRED_URL_SCHEME (https in production)."
        )
    if config["STRIPE_SECRET_KEY"] and not config["STRIPE_WEBHOOK_SECRET"]:
        raise ConfigError(
            "STRIPE_WEBHOOK_SECRET must be set when STRIPE_SECRET_KEY is: without it every Stripe event is "
            "refused and subscriptions, payments and cancellations never reach the workspaces (see README.md)."
        )
    if env == "production" and not config["STRIPE_API_BASE"].lower().startswith("https://"):
        raise ConfigError(
            f"STRIPE_API_BASE must be an https:// URL in production, not {config['STRIPE_API_BASE']!r}: "
            "the secret key is sent with every call."
        )
    try:
        parse_keys(config["ENCRYPTION_KEYS"])
    except ValueError as error:
        raise ConfigError(f"ENCRYPTION_KEYS: {error}") from None
    return config
