from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.extensions import db
from crm.notes import queries as notes_queries
from crm.notes.forms import NoteForm
from crm.tenancy import bind_workspace
from crm.workspaces import service
from crm.workspaces.forms import NewWorkspaceForm, WorkspaceSettingsForm

bp = Blueprint("workspaces", __name__, url_prefix="/workspaces")

# Parent of every feature blueprint of a workspace: /w/<slug>/...
ws_bp = Blueprint("ws", __name__, url_prefix="/w/<workspace_slug>")


@ws_bp.url_value_preprocessor
def pull_workspace_slug(endpoint, values) -> None:
    g.workspace_slug = values.pop("workspace_slug", None)


@ws_bp.url_defaults
def add_workspace_slug(endpoint, values) -> None:
    workspace = g.get("workspace")
    if (
        workspace is not None
        and "workspace_slug" not in values
        and current_app.url_map.is_endpoint_expecting(endpoint, "workspace_slug")
    ):
        values["workspace_slug"] = workspace.slug


@ws_bp.before_request
def load_workspace():
    """Wall 1: sign-in required, membership loaded, 404 for a workspace the user is not in."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    membership = service.membership_in(current_user, g.workspace_slug)
    if membership is None:
        abort(404)
    bind_workspace(membership.workspace_id)
    g.membership, g.workspace = membership, membership.workspace
    if current_user.last_workspace_id != membership.workspace_id:
        current_user.last_workspace_id = membership.workspace_id
        db.session.commit()


@ws_bp.app_context_processor
def workspace_context() -> dict:
    def switcher():
        return service.memberships_of(current_user) if current_user.is_authenticated else []

    return {"workspace_switcher": switcher}


def _require_owner() -> None:
    # Until roles and permissions land (issue 3), only the owner changes workspace settings.
    if g.membership.role != "owner":
        abort(403)


@ws_bp.get("/")
def home():
    page = notes_queries.notes_page(request.args.get("after"))
    return render_template("workspaces/home.html", page=page, form=NoteForm())


@ws_bp.get("/settings")
def settings():
    _require_owner()
    form = WorkspaceSettingsForm(obj=g.workspace)
    return render_template("workspaces/settings.html", form=form)


@ws_bp.post("/settings")
def update_settings():
    _require_owner()
    form = WorkspaceSettingsForm()
    if form.validate_on_submit():
        try:
            service.update_settings(g.workspace, form.name.data, form.slug.data, form.timezone.data)
        except service.SlugTaken:
            form.slug.errors.append(_("Another workspace already uses this address."))
        else:
            db.session.commit()
            flash(_("Workspace settings are saved."), "success")
            return redirect(url_for("ws.settings", workspace_slug=g.workspace.slug), 303)
    db.session.rollback()
    return render_template("workspaces/settings.html", form=form), 422


@bp.get("/new")
@login_required
def new():
    return render_template("workspaces/new.html", form=NewWorkspaceForm())


@bp.post("/")
@login_required
def create():
    form = NewWorkspaceForm()
    if not form.validate_on_submit():
        return render_template("workspaces/new.html", form=form), 422
    workspace = service.create_workspace(current_user, form.name.data, form.timezone.data)
    db.session.commit()
    flash(_("Your workspace %(name)s is ready.", name=workspace.name), "success")
    return redirect(url_for("ws.home", workspace_slug=workspace.slug), 303)
