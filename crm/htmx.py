"""Helpers for answering htmx requests: partial or full page, triggers, toasts."""

import json

from flask import Flask, Response, get_flashed_messages, make_response, redirect, request, url_for


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def is_boosted() -> bool:
    return request.headers.get("HX-Boosted") == "true"


def wants_partial(target_id: str) -> bool:
    """True when htmx asked for the fragment whose outer element has id ``target_id``.

    Boosted navigation and direct loads always get the full page.
    """
    return is_htmx() and not is_boosted() and request.headers.get("HX-Target") == target_id


def trigger(response: Response, event: str, detail: object = None) -> Response:
    """Add an event to the response's HX-Trigger header, keeping any already there."""
    current = response.headers.get("HX-Trigger")
    events = json.loads(current) if current else {}
    events[event] = detail
    response.headers["HX-Trigger"] = json.dumps(events)
    return response


def answer_list(list_id: str, fragment, page, error: str | None = None):
    """After a change to an ordered settings list (lost reasons, complaint categories): the list
    fragment to htmx, with a toast for a refusal (``error``); without htmx the page, 409 on a
    refusal, else a redirect to the blueprint's index. ``fragment()`` and ``page()`` render them."""
    if is_htmx() and wants_partial(list_id):
        response = make_response(fragment())
        if error:
            trigger(response, "toast", [{"level": "error", "message": error}])
        return response
    if error:
        body, _status = page()
        return make_response(body, 409)
    return redirect(url_for(".index"), 303)


def _flashes_to_toasts(response: Response) -> Response:
    """A targeted htmx swap never re-renders the page's flash area, so flashes travel as toasts."""
    if not is_htmx() or is_boosted() or 300 <= response.status_code < 400 or "HX-Redirect" in response.headers:
        return response
    messages = get_flashed_messages(with_categories=True)
    if messages:
        trigger(response, "toast", [{"level": level, "message": text} for level, text in messages])
    return response


def _keep_address_of_a_refused_form(response: Response) -> Response:
    """A boosted form's address goes into the address bar; when the form comes back with its
    errors (422), the page is still the form's, so the address stays (a reload shows the form)."""
    if is_boosted() and request.method == "POST" and response.status_code == 422:
        response.headers.setdefault("HX-Push-Url", "false")
    return response


def init_app(app: Flask) -> None:
    @app.after_request
    def htmx_headers(response: Response) -> Response:
        response.vary.add("HX-Request")
        response.vary.add("HX-Target")
        return _flashes_to_toasts(_keep_address_of_a_refused_form(response))
