from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm.audit import queries as audit_queries
from crm.audit.service import ACTIONS
from crm.extensions import db
from crm.htmx import wants_partial
from crm.permissions import OWNER, RECORD_SCOPES, grouped_permissions, require
from crm.roles import service
from crm.roles.forms import NewRoleForm, RoleForm
from crm.workspaces.models import Role

bp = Blueprint("roles", __name__, url_prefix="/settings/roles")


def _role_or_404(role_id: int) -> Role:
    return service.role_or_none(role_id) or abort(404)


def _index(form: NewRoleForm | None = None, status: int = 200):
    rows = service.roles_with_member_counts()
    form = form or NewRoleForm([role for role, _count in rows], formdata=None)
    return render_template("roles/index.html", rows=rows, form=form, record_scopes=RECORD_SCOPES), status


def _show(role: Role, form: RoleForm | None = None, status: int = 200, matrix_error: str | None = None):
    context = {
        "role": role,
        "form": form or RoleForm(obj=role, name=role.display_name, formdata=None),
        "groups": grouped_permissions(),
        "locked": role.builtin == OWNER,
        "matrix_error": matrix_error,
        "history": audit_queries.history_of("role", role.id),
        "actions": ACTIONS,
    }
    if wants_partial("permission-matrix"):
        return render_template("roles/_matrix.html", **context), status
    return render_template("roles/show.html", **context), status


@bp.get("/")
@require("settings.manage")
def index():
    return _index()


@bp.post("/")
@require("settings.manage")
def create():
    form = NewRoleForm([role for role, _count in service.roles_with_member_counts()])
    if form.validate_on_submit():
        source = service.role_or_none(form.copy_from.data) if form.copy_from.data else None
        try:
            role = service.create(g.membership, form.name.data, source)
        except service.RoleError as error:
            db.session.rollback()
            form.name.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Role %(name)s created. Now choose what it may do.", name=role.name), "success")
            return redirect(url_for("ws.roles.show", role_id=role.id), 303)
    return _index(form, 422)


@bp.get("/<int:role_id>")
@require("settings.manage")
def show(role_id: int):
    return _show(_role_or_404(role_id))


@bp.post("/<int:role_id>")
@require("settings.manage")
def update(role_id: int):
    role = _role_or_404(role_id)
    form = RoleForm()
    if form.validate_on_submit():
        try:
            # A built-in role shown under its translated name keeps its stored name.
            name = role.name if form.name.data.strip() == role.display_name else form.name.data
            service.update(g.membership, role, name, form.record_scope.data)
        except service.RoleError as error:
            db.session.rollback()
            form.name.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Role saved."), "success")
            return redirect(url_for("ws.roles.show", role_id=role.id), 303)
    return _show(role, form, 422)


@bp.post("/<int:role_id>/permissions")
@require("settings.manage")
def update_permissions(role_id: int):
    """The whole matrix is posted: by htmx on every change, or with the Save button without JS."""
    role = _role_or_404(role_id)
    try:
        service.set_permissions(g.membership, role, set(request.form.getlist("permission")))
    except service.RoleError as error:
        db.session.rollback()
        db.session.refresh(role)
        if wants_partial("permission-matrix"):
            flash(str(error), "error")
        return _show(role, status=422, matrix_error=str(error))
    db.session.commit()
    flash(_("Permissions of %(name)s saved.", name=role.display_name), "success")
    if wants_partial("permission-matrix"):
        return _show(role)
    return redirect(url_for("ws.roles.show", role_id=role.id), 303)


@bp.post("/<int:role_id>/copy")
@require("settings.manage")
def copy(role_id: int):
    source = _role_or_404(role_id)
    role = service.create(g.membership, service.copy_name(source), source)
    db.session.commit()
    flash(_("Role %(name)s created.", name=role.name), "success")
    return redirect(url_for("ws.roles.show", role_id=role.id), 303)


@bp.post("/<int:role_id>/delete")
@require("settings.manage")
def delete(role_id: int):
    role = _role_or_404(role_id)
    try:
        service.delete(role)
    except service.RoleError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("ws.roles.show", role_id=role_id), 303)
    db.session.commit()
    flash(_("Role deleted."), "success")
    return redirect(url_for("ws.roles.index"), 303)
