"""Error pages: full pages for normal and boosted requests, a toast fragment for htmx swaps."""

import logging

import sqlalchemy as sa
from flask import Flask, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from crm.billing.limits import LimitError
from crm.extensions import db
from crm.htmx import is_boosted, is_htmx, trigger
from crm.i18n import lazy_gettext as _l

log = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Please check what you sent.")),
    403: (_l("Not allowed"), _l("You do not have permission to do this. Ask a workspace admin.")),
    404: (_l("Page not found"), _l("The page you are looking for does not exist or has moved.")),
    405: (_l("Not allowed"), _l("This address does not accept that kind of request.")),
    409: (_l("Not possible now"), _l("This cannot be done in the record's current state. Reload the page.")),
    413: (_l("Too large"), _l("What you sent is larger than we accept.")),
    422: (_l("Not saved"), _l("Check what you entered and try again.")),
    429: (_l("Too many attempts"), _l("Please wait a minute before trying again.")),
    500: (_l("Something went wrong"), _l("An unexpected error happened on our side. Please try again.")),
    503: (
        _l("Temporarily unavailable"),
        _l("Kehu cannot reach its database right now. Please try again in a moment."),
    ),
}


def render_error(code: int, message: str | None = None):
    # str(): Flask-Babel's lazy strings declare themselves safe HTML; these must be escaped.
    lazy_title, default_message = MESSAGES.get(code, MESSAGES[500])
    title, text = str(lazy_title), message or str(default_message)
    if is_htmx() and not is_boosted():
        response = app_response(render_template("errors/_error.html", title=title, message=text), code)
        toast = _("%(title)s: %(message)s", title=title, message=text)
        return trigger(response, "toast", [{"level": "error", "message": toast}])
    return app_response(render_template("errors/error.html", code=code, title=title, message=text), code)


def app_response(body: str, code: int):
    from flask import make_response

    response = make_response(body, code)
    if code == 503:
        response.headers["Retry-After"] = "30"
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        # abort(403, "why") gives a message of its own; werkzeug's stock descriptions are not shown.
        custom = error.description if error.description != type(error).description else None
        return render_error(error.code, custom)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(
            400, str(_l("Your form expired or was sent from elsewhere. Reload the page and try again."))
        )

    @app.errorhandler(LimitError)
    def plan_limit(error: LimitError):
        # A route that does not show the limit in its own form still answers 422 with the reason.
        db.session.rollback()
        return render_error(422, str(error))

    @app.errorhandler(sa.exc.OperationalError)
    @app.errorhandler(sa.exc.InterfaceError)
    def database_down(error: Exception):
        log.error("database unavailable: %s", error)
        db.session.rollback()
        return render_error(503)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        if app.testing and app.config.get("PROPAGATE_EXCEPTIONS") is not False:
            raise error
        log.exception("unhandled error")
        db.session.rollback()
        return render_error(500)
