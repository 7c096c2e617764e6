"""Short-lived counters every worker must see alike: the rate-limit store (Redis in production,
memory in one process otherwise), under Kehu's own key prefix. Used for TOTP steps already accepted
and for the lock-out of addresses that have no account."""

from flask import current_app
from limits.storage import Storage, storage_from_string


def shared_store() -> Storage:
    app = current_app._get_current_object()
    storage = app.extensions.get("kehu.shared_store")
    if storage is None:
        uri = app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
        storage = app.extensions.setdefault("kehu.shared_store", storage_from_string(uri, key_prefix="kehu-auth"))
    return storage


def forget_everything() -> None:
    """Tests start a case with a clean slate (the app outlives them)."""
    shared_store().reset()
