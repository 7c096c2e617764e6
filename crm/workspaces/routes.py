import hashlib

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.billing import states as billing_states
from crm.contacts.models import Contact
from crm.extensions import db
from crm.htmx import is_boosted, is_htmx, wants_partial
from crm.notes import queries as notes_queries
from crm.notes.forms import NoteForm
from crm.permissions import every_member, require
from crm.tenancy import bind_workspace
from crm.workspaces import service
from crm.workspaces.forms import DeleteWorkspaceForm, LogoForm, NewWorkspaceForm, WorkspaceSettingsForm
from crm.workspaces.models import DISABLED

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


ws_bp.context_processor(billing_states.template_context)  # the billing banner of base.html


@ws_bp.before_request
def load_workspace():
    """Wall 1: sign-in required, membership loaded, 404 for a workspace the user is not in."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    membership = g.pop("signed_in_member", None) or _membership_at(g.workspace_slug)
    if membership is False:
        return _redirect_old_slug()
    if membership is None:
        abort(404)
    if membership.status == DISABLED:
        abort(403, _("An admin of this workspace has disabled your access."))
    g.membership, g.workspace = membership, membership.workspace
    if g.workspace.require_two_factor and not current_user.two_factor_enabled:
        return _send_to_two_factor_setup()
    refused = billing_states.refuse_write_if_read_only()  # unpaid past the grace period
    if refused is not None:
        return refused
    if current_user.last_workspace_id != membership.workspace_id:
        current_user.last_workspace_id = membership.workspace_id
        db.session.commit()


def _membership_at(slug: str):
    """The signed-in user's membership of the workspace at ``slug`` (bound to the session), None if
    they are not in it, False if no workspace lives at ``slug``. The slug's workspace id comes from
    the process's memory when it can; a stale one (slug renamed, workspace deleted) is looked up again."""
    remembered = service.remembered_workspace_id(slug)
    if remembered is not None:
        bind_workspace(remembered)
        membership = service.membership_of(current_user, slug)
        if membership is not None:
            return membership
        service.forget_slug(slug)
        # Nothing of that workspace was loaded: unbind without emptying the identity map, which
        # holds the signed-in user (rebinding straight to another workspace would detach it).
        bind_workspace(None)
    workspace_id = service.workspace_id_for_slug(slug)
    if workspace_id is None:
        return False
    service.remember_slug(slug, workspace_id)
    bind_workspace(workspace_id)
    return service.membership_of(current_user, slug)


def _send_to_two_factor_setup():
    """The workspace requires two-factor authentication and this member has none yet."""
    flash(
        _("%(workspace)s requires two-factor authentication. Set it up to continue.", workspace=g.workspace.name),
        "info",
    )
    target = url_for("auth.two_factor")
    if is_htmx() and not is_boosted():
        return "", 204, {"HX-Redirect": target}
    return redirect(target, 303)


def _redirect_old_slug():
    """A link with a slug the workspace used before: its members are sent on to the same page at
    the current slug (301, or 308 keeping the method and body of a POST). Anyone else gets the
    same 404 as for a slug that never existed, so old slugs are not confirmed to outsiders."""
    workspace = service.workspace_for_old_slug(g.workspace_slug)
    if workspace is None:
        abort(404)
    bind_workspace(workspace.id)
    if service.membership_of(current_user) is None:
        abort(404)
    rest = request.path.removeprefix(f"/w/{g.workspace_slug}")
    location = f"{request.script_root}/w/{workspace.slug}{rest}"
    if request.query_string:
        location += "?" + request.query_string.decode("latin-1")
    return redirect(location, 301 if request.method in ("GET", "HEAD") else 308)


@ws_bp.get("/")
@every_member
def home():
    page = notes_queries.notes_page(request.args.get("after"))
    # The welcome is for a workspace with nothing in it yet, not for one without team notes.
    first_steps = not page.items and not _has_contacts()
    return render_template("workspaces/home.html", page=page, form=NoteForm(), first_steps=first_steps)


def _has_contacts() -> bool:
    return db.session.scalar(sa.select(Contact.id).where(Contact.deleted_at.is_(None)).limit(1)) is not None


def _settings_page(status: int = 200, form=None, logo_form=None, delete_form=None, error: str | None = None):
    """The General settings page; each of its forms re-rendered with its errors or fresh."""
    workspace, owner = g.workspace, g.membership.is_owner
    form = form or WorkspaceSettingsForm(formdata=None, obj=workspace)
    form.require_two_factor.description = (
        _("Members without two-factor authentication must set it up before they can open this workspace.")
        if owner
        else _("Only an Owner can change this.")
    )
    if owner:
        delete_form = delete_form or DeleteWorkspaceForm(formdata=None)
        delete_form.confirm_name.description = _("Type %(name)s to confirm.", name=workspace.name)
    return render_template(
        "workspaces/settings.html",
        form=form,
        logo_form=logo_form or LogoForm(formdata=None),
        delete_form=delete_form if owner else None,
        owner=owner,
        page_error=error,
    ), status


@ws_bp.get("/settings")
@require("settings.manage")
def settings():
    return _settings_page()


@ws_bp.post("/settings")
@require("settings.manage")
def update_settings():
    # A field left out of the request keeps its current value (the checkbox aside: unticked
    # boxes are never sent).
    form = WorkspaceSettingsForm(obj=g.workspace)
    if form.validate_on_submit():
        # A disabled checkbox is not sent: for an admin, absent means "unchanged", not "off".
        two_factor = form.require_two_factor
        require_two_factor = two_factor.data if g.membership.is_owner or two_factor.name in request.form else None
        try:
            service.update_settings(
                g.workspace,
                g.membership,
                name=form.name.data,
                slug=form.slug.data,
                timezone=form.timezone.data,
                currency=form.currency.data,
                phone_region=form.phone_region.data,
                require_two_factor=require_two_factor,
                currency_confirmed=form.currency_confirmed.data,
            )
            db.session.commit()
        except service.WorkspaceError as error:
            db.session.rollback()
            form[error.field].errors.append(str(error))
        except sa.exc.IntegrityError:  # another request took the slug in the meantime
            db.session.rollback()
            form.slug.errors.append(_("Another workspace already uses this address."))
        else:
            flash(_("Workspace settings are saved."), "success")
            return redirect(url_for("ws.settings", workspace_slug=g.workspace.slug), 303)
    db.session.rollback()
    return _settings_page(422, form=form)


@ws_bp.get("/settings/logo")
@every_member
def logo():
    data = g.workspace.logo if g.workspace.logo_type else None
    if not data:
        abort(404)
    response = make_response(data)
    response.content_type = g.workspace.logo_type
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Opened on its own, the image gets no script, style or plugin rights whatever its bytes hold.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    # Members only: private; revalidated each time (a 304 thanks to the ETag) so a new logo shows at once.
    response.cache_control.private = True
    response.cache_control.no_cache = True
    response.set_etag(hashlib.sha256(data).hexdigest()[:32])
    return response.make_conditional(request)


@ws_bp.post("/settings/logo")
@require("settings.manage")
def update_logo():
    form = LogoForm()
    if form.validate_on_submit():
        # Read one byte more than allowed: enough to refuse an oversize file without reading it all.
        data = form.logo.data.stream.read(service.LOGO_MAX_BYTES + 1)
        try:
            service.set_logo(g.workspace, data)
        except service.WorkspaceError as error:
            form.logo.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("The logo is saved."), "success")
            return redirect(url_for("ws.settings"), 303)
    db.session.rollback()
    return _settings_page(422, logo_form=form)


@ws_bp.post("/settings/logo/delete")
@require("settings.manage")
def delete_logo():
    if service.remove_logo(g.workspace):
        db.session.commit()
        flash(_("The logo is removed."), "success")
    return redirect(url_for("ws.settings"), 303)


@ws_bp.post("/settings/delete")
@require("settings.manage")
def delete_workspace():
    # settings.manage lets an admin reach this view, but only an Owner may delete: anyone else gets
    # 422 with the reason, as the members pages refuse Owner-only actions. The service checks again.
    form = DeleteWorkspaceForm()
    if not g.membership.is_owner:
        return _settings_page(422, error=_("Only an Owner can delete the workspace."))
    if form.validate_on_submit():
        name = g.workspace.name
        try:
            service.delete_workspace(g.workspace, g.membership, form.confirm_name.data, request.remote_addr)
        except service.WorkspaceError as error:
            db.session.rollback()
            if error.field is None:
                return _settings_page(422, error=str(error))
            form.confirm_name.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("The workspace %(name)s and everything in it are deleted.", name=name), "success")
            return redirect(service.home_url_for(current_user), 303)
    db.session.rollback()
    return _settings_page(422, delete_form=form)


@bp.get("/")
@login_required
def index():
    """The workspaces the user may enter: the header menu's list, or a page of its own."""
    context = {"memberships": service.memberships_of(current_user), "current": request.args.get("current")}
    if wants_partial("workspace-list"):
        return render_template("workspaces/_list.html", **context)
    return render_template("workspaces/index.html", **context)


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
    user = current_user._get_current_object()
    workspace = service.committed_with_free_slug(
        lambda: service.create_workspace(user, form.name.data, form.timezone.data)
    )
    flash(_("Your workspace %(name)s is ready.", name=workspace.name), "success")
    return redirect(url_for("ws.home", workspace_slug=workspace.slug), 303)
