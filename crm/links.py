"""``url_for`` for templates, with the URLs it builds kept per process.

A page links to some thirty endpoints (navigation, footer, headings, forms), and Flask builds each
one anew: url_defaults, Werkzeug's rule builder and quoting, about 20 µs a link. The same arguments
give the same relative URL, so a URL is built once per endpoint, arguments and the implicit values
our url_defaults add: the workspace's slug (crm/workspaces/routes.py) and the portal's
(crm/portal/routes.py). Calls that ask for more than a path (``_external``, ``_anchor``...), with
arguments that cannot be a key (lists), or outside a request go to Flask every time; so do links that
carry a secret (a ``token`` argument: tracking, invitation and password-reset links), which are not
kept in the process's memory. An argument's
type is part of the key: ``True == 1``, but one is written "True" and the other "1"."""

import re
from contextlib import AbstractContextManager

from flask import Flask, g, has_request_context, request, url_for

KEPT = 10_000
_built: dict[tuple, str] = {}


def template_url_for(endpoint: str, **values) -> str:
    if not has_request_context() or any(name.startswith("_") or "token" in name for name in values):
        return url_for(endpoint, **values)
    try:
        key = (endpoint, _slug("workspace"), _slug("portal_workspace"), request.script_root,
               request.blueprint if endpoint.startswith(".") else None,
               frozenset((name, type(value), value) for name, value in values.items()))  # fmt: skip
        url = _built.get(key)
    except TypeError:  # an unhashable argument
        return url_for(endpoint, **values)
    if url is None:
        if len(_built) >= KEPT:
            _built.clear()
        url = _built[key] = url_for(endpoint, **values)
    return url


LOCAL_ADDRESS = "127.0.0.1:5000"  # where make run serves


def public_request(app: Flask) -> AbstractContextManager:
    """A request context for work outside any request (cron commands) in which
    ``url_for(..., _external=True)`` builds the app's public links: Flask builds its environment
    from SERVER_NAME, PREFERRED_URL_SCHEME and APPLICATION_ROOT. Production refuses to start
    without SERVER_NAME (crm/config.py); development and tests without it get make run's address.
    Jobs need no such context: they run in an app context, where Flask builds links from the same
    settings."""
    if app.config["SERVER_NAME"]:
        return app.test_request_context()
    return app.test_request_context(base_url=f"{app.config['PREFERRED_URL_SCHEME']}://{LOCAL_ADDRESS}")


def _slug(name: str) -> str | None:
    workspace = g.get(name)
    return workspace.slug if workspace is not None else None


WEB_LINK = re.compile(r"https?://", re.I)


def web_href(address: str | None) -> str:
    """The link for a stored web address (a company's website, a custom field's): as written when it
    starts with http(s)://, else with https:// in front, so that no other scheme (javascript:, data:)
    ever reaches an href, whatever was stored before validation tightened."""
    address = address or ""
    return address if WEB_LINK.match(address) else f"https://{address}"
