"""Saved views ("segments") of the contacts and the companies lists: a name for a list state,
private or shared with the team. Each list has its own blueprint, made by ``_views_blueprint``."""

from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm.audit import service as audit
from crm.contacts.company_list import CompanyListState
from crm.contacts.list_view import ListState
from crm.contacts.models import SavedView
from crm.contacts.queries import member_names
from crm.extensions import db
from crm.htmx import wants_partial
from crm.permissions import require
from crm.search import any_case

NAME_MAX = 80


@dataclass(frozen=True)
class SavedList:
    name: str  # SavedView.list_name
    state: type  # the list's state class (from_args, as_args)
    list_endpoint: str
    filters_form: str  # the id of the list page's filter form, which the panel's form includes


def views_for(member, list_name: str) -> list[SavedView]:
    """The member's own views of the list and those the team shares, by name."""
    mine_or_shared = sa.or_(SavedView.owner_id == member.id, SavedView.shared.is_(True))
    statement = sa.select(SavedView).where(SavedView.list_name == list_name, mine_or_shared)
    return list(db.session.scalars(statement.order_by(SavedView.name, SavedView.id)))


def _own_view_named(name: str, list_name: str, owner_id: int | None = None) -> SavedView | None:
    """The view of that name (in any case) among the member's own views of the list (or ``owner_id``'s)."""
    same = any_case(SavedView.name) == any_case(name)
    statement = sa.select(SavedView).where(
        SavedView.owner_id == (owner_id or g.membership.id), SavedView.list_name == list_name, same
    )
    return db.session.scalars(statement.order_by(SavedView.id)).first()


def _managed_view(view_id: int, list_name: str) -> SavedView:
    """A view the member may rename or delete: their own, or one shared with the team for those who
    manage the workspace's settings. Another's private view (or another list's, or workspace's)
    answers 404; a shared one of a colleague, to a member who may not manage it, 403."""
    view = db.session.get(SavedView, view_id)
    if view is None or view.list_name != list_name or (view.owner_id != g.membership.id and not view.shared):
        abort(404)
    if view.owner_id != g.membership.id and not g.membership.can("settings.manage"):
        abort(403)
    return view


def _update_view(view: SavedView, query: str, ticked: bool) -> None:
    """Saves the member's own view again with the list as it is now. Its sharing stays as it was:
    the box to share is always drawn unticked, so leaving it so must not take a shared view away
    from the team (the Share / Keep to me button does that); ticking it shares a private view."""
    shared = view.shared or ticked
    compared = (("filters", view.query, query), ("shared", view.shared, shared))
    changes = {name: [old, new] for name, old, new in compared if old != new}
    was_shared, view.query, view.shared = view.shared, query, shared
    if changes:
        audit.record("saved_view.updated", "saved_view", view.id, {"name": [view.name, view.name], **changes})
    if was_shared:
        message = _("View %(name)s updated with the list as it is now; it stays shared with the team.", name=view.name)
    elif shared:
        message = _("View %(name)s updated with the list as it is now and shared with the team.", name=view.name)
    else:
        message = _("View %(name)s updated with the list as it is now.", name=view.name)
    flash(message, "success")


def _views_blueprint(name: str, url_prefix: str, saved: SavedList) -> Blueprint:
    bp = Blueprint(name, __name__, url_prefix=url_prefix)

    def panel(status: int = 200, error: str | None = None, renaming: dict | None = None, focused: int | None = None,
              none_left: bool = False):  # fmt: skip
        """The views and the form that saves the list as one; ``renaming``: the view whose name is
        being changed in place (its ``id``, the ``name`` typed and the ``error``), ``focused``: the
        view whose link takes the focus (renamed, or the next after one deleted); ``none_left``: the
        last was deleted, the words saying there is none take the focus."""
        partial = wants_partial("saved-views-panel")
        # Inside the list page the form sends the live filters (hx-include); elsewhere (the page of
        # its own, without JavaScript) it carries the list's state as hidden fields, which in the
        # list page would go stale as soon as the filters change.
        list_url = url_for(saved.list_endpoint)
        in_list = partial and urlsplit(request.headers.get("HX-Current-URL", "")).path == list_url
        state = saved.state.from_args(request.values)
        context = {"views": views_for(g.membership, saved.name), "state": state, "names": member_names(),
                   "back_url": url_for(saved.list_endpoint, **state.as_args()),
                   "in_list": in_list, "error": error, "name": request.form.get("name", "") if error else "",
                   "renaming": renaming or {}, "focused": focused, "none_left": none_left,
                   "list_url": list_url,
                   "views_endpoint": f"ws.{name}", "filters_form": saved.filters_form,
                   "list_name": saved.name}  # fmt: skip
        template = "contacts/_saved_views.html" if partial else "contacts/saved_views.html"
        return render_template(template, **context), status

    @bp.get("/")
    @require("contacts.read")
    def index():
        return panel()

    @bp.post("/")
    @require("contacts.read")
    def create():
        view_name = request.form.get("name", "").strip()
        if not view_name or len(view_name) > NAME_MAX:
            return panel(422, _("Name the view (at most %(max)d characters).", max=NAME_MAX))
        query = urlencode(saved.state.from_args(request.form).as_args(), doseq=True)
        shared = request.form.get("shared") == "y"
        view = _own_view_named(view_name, saved.name)
        if view is None:
            view = SavedView(name=view_name, query=query, owner_id=g.membership.id, list_name=saved.name, shared=shared)
            db.session.add(view)
            db.session.flush()
            audit.record("saved_view.created", "saved_view", view.id,
                         {"name": [None, view_name], "filters": [None, query], "shared": [None, shared]})  # fmt: skip
            flash(_("View %(name)s saved.", name=view_name), "success")
        else:  # the member's own view of that name: saved again with the list as it is now
            _update_view(view, query, shared)
        db.session.commit()
        view = _own_view_named(view_name, saved.name)
        if wants_partial("saved-views-panel"):
            return panel()
        return redirect(url_for(saved.list_endpoint) + (f"?{view.query}" if view.query else ""), 303)

    @bp.post("/<int:view_id>/share")
    @require("contacts.read")
    def share(view_id: int):
        """Shares the member's own view with the team, or keeps it to them again."""
        view = db.session.get(SavedView, view_id)
        if view is None or view.list_name != saved.name or view.owner_id != g.membership.id:
            abort(404)
        view.shared = not view.shared
        audit.record("saved_view.updated", "saved_view", view.id,
                     {"name": [view.name, view.name], "shared": [not view.shared, view.shared]})  # fmt: skip
        db.session.commit()
        if view.shared:
            flash(_("View %(name)s shared with the team.", name=view.name), "success")
        else:
            flash(_("View %(name)s is yours alone again.", name=view.name), "success")
        if wants_partial("saved-views-panel"):
            return panel()
        return redirect(url_for(".index"), 303)

    @bp.post("/<int:view_id>/delete")
    @require("contacts.read")
    def delete(view_id: int):
        view = _managed_view(view_id, saved.name)
        audit.record("saved_view.deleted", "saved_view", view.id, {"name": [view.name, None]})
        shown = [each.id for each in views_for(g.membership, saved.name)]
        db.session.delete(view)
        db.session.commit()
        flash(_("View %(name)s deleted.", name=view.name), "success")
        if wants_partial("saved-views-panel"):
            # The focus goes on from where the deleted view was: to the next one's link, or the last's.
            left = [each for each in shown if each != view_id]
            if not left:
                return panel(none_left=True)
            return panel(focused=left[min(shown.index(view_id), len(left) - 1)])
        return redirect(url_for(".index"), 303)

    @bp.get("/<int:view_id>/rename")
    @require("contacts.read")
    def edit(view_id: int):
        """The views with this one's name in a field of its own, to change it in place."""
        view = _managed_view(view_id, saved.name)
        return panel(renaming={"id": view.id, "name": view.name})

    @bp.post("/<int:view_id>/rename")
    @require("contacts.read")
    def rename(view_id: int):
        view = _managed_view(view_id, saved.name)
        new_name = request.form.get("name", "").strip()
        error = None
        if not new_name or len(new_name) > NAME_MAX:
            error = _("Name the view (at most %(max)d characters).", max=NAME_MAX)
        elif (same := _own_view_named(new_name, saved.name, view.owner_id)) is not None and same.id != view.id:
            if view.owner_id == g.membership.id:
                error = _("You already have a view named %(name)s: choose another name.", name=same.name)
            else:
                error = _("Its owner already has a view named %(name)s: choose another name.", name=same.name)
        if error:
            return panel(422, renaming={"id": view.id, "name": request.form.get("name", ""), "error": error})
        old_name = view.name
        if new_name != old_name:
            view.name = new_name
            audit.record("saved_view.renamed", "saved_view", view.id, {"name": [old_name, new_name]})
            db.session.commit()
        flash(_("View %(old)s renamed to %(name)s.", old=old_name, name=new_name), "success")
        if wants_partial("saved-views-panel"):
            return panel(focused=view.id)
        return redirect(url_for(".index"), 303)

    return bp


CONTACTS = SavedList("contacts", ListState, "ws.contacts.index", "contact-filters")
COMPANIES = SavedList("companies", CompanyListState, "ws.companies.index", "company-filters")
bp = _views_blueprint("saved_views", "/contacts/views", CONTACTS)
company_views_bp = _views_blueprint("company_views", "/companies/views", COMPANIES)
