"""Saved views of the contacts list ("segments"): a name for a list state, private or shared."""

from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm.contacts.list_view import ListState
from crm.contacts.models import SavedView
from crm.extensions import db
from crm.htmx import wants_partial
from crm.permissions import require

bp = Blueprint("saved_views", __name__, url_prefix="/contacts/views")
NAME_MAX = 80


def views_for(member) -> list[SavedView]:
    """The member's own views and those the team shares, by name."""
    statement = sa.select(SavedView).where(sa.or_(SavedView.owner_id == member.id, SavedView.shared.is_(True)))
    return list(db.session.scalars(statement.order_by(SavedView.name, SavedView.id)))


def _panel(status: int = 200, error: str | None = None):
    state = ListState.from_args(request.values)
    partial = wants_partial("saved-views-panel")
    # Inside the list page the form sends the live filters (hx-include); elsewhere (the page of its
    # own, without JavaScript) it carries the list's state as hidden fields, which in the list page
    # would go stale as soon as the filters change.
    in_list = partial and urlsplit(request.headers.get("HX-Current-URL", "")).path == url_for("ws.contacts.index")
    context = {"views": views_for(g.membership), "state": state, "in_list": in_list, "error": error,
               "name": request.form.get("name", "")}  # fmt: skip
    template = "contacts/_saved_views.html" if partial else "contacts/saved_views.html"
    return render_template(template, **context), status


@bp.get("/")
@require("contacts.read")
def index():
    return _panel()


@bp.post("/")
@require("contacts.read")
def create():
    name = request.form.get("name", "").strip()
    if not name or len(name) > NAME_MAX:
        return _panel(422, _("Name the view (at most %(max)d characters).", max=NAME_MAX))
    state = ListState.from_args(request.form)
    view = SavedView(name=name, query=urlencode(state.as_args(), doseq=True), owner_id=g.membership.id,
                     shared=request.form.get("shared") == "y")  # fmt: skip
    db.session.add(view)
    db.session.commit()
    flash(_("View %(name)s saved.", name=name), "success")
    if wants_partial("saved-views-panel"):
        return _panel()
    return redirect(url_for("ws.contacts.index") + (f"?{view.query}" if view.query else ""), 303)


@bp.post("/<int:view_id>/delete")
@require("contacts.read")
def delete(view_id: int):
    view = db.session.get(SavedView, view_id)
    if view is None or (view.owner_id != g.membership.id and not view.shared):
        abort(404)
    if view.owner_id != g.membership.id and not g.membership.can("settings.manage"):
        abort(403)
    db.session.delete(view)
    db.session.commit()
    flash(_("View %(name)s deleted.", name=view.name), "success")
    if wants_partial("saved-views-panel"):
        return _panel()
    return redirect(url_for(".index"), 303)
