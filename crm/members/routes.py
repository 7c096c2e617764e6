from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from crm.auth.service import start_session
from crm.billing.limits import LimitError, member_limit
from crm.extensions import db, limiter
from crm.htmx import wants_partial
from crm.members import service
from crm.members.forms import InviteForm, JoinForm, MemberRoleForm
from crm.members.models import Invitation
from crm.permissions import require
from crm.tenancy import bind_workspace
from crm.workspaces import service as workspaces

bp = Blueprint("members", __name__, url_prefix="/settings/members")
# The invitation link: outside /w/<slug>, since the invitee is not a member yet.
join_bp = Blueprint("join", __name__, url_prefix="/join")


def _invitation_link(token: str) -> str:
    return url_for("join.show", workspace_slug=g.workspace.slug, token=token, _external=True)


def _context(invite_form: InviteForm | None, limit_error: LimitError | None = None) -> dict:
    grantable = service.grantable_roles(g.membership)
    seat_limit = member_limit(g.workspace)[0]
    return {
        "members": service.members(),
        "invitations": service.pending_invitations(),
        "invite_form": invite_form or InviteForm(grantable, formdata=None),
        "role_form_for": lambda member: MemberRoleForm(grantable, formdata=None, role_id=member.role_id),
        "seat_limit": seat_limit,
        "seats_used": service.seats_used() if seat_limit is not None else None,
        "limit_error": limit_error,
    }


def _page(invite_form: InviteForm | None = None, status: int = 200, limit_error: LimitError | None = None):
    return render_template("members/index.html", **_context(invite_form, limit_error)), status


def _panel(status: int = 200, invite_form: InviteForm | None = None, limit_error: LimitError | None = None):
    return render_template("members/_panel.html", **_context(invite_form, limit_error)), status


def _member_or_404(member_id: int):
    return service.member_or_none(member_id) or abort(404)


def _invitation_or_404(invitation_id: int) -> Invitation:
    return db.get_or_404(Invitation, invitation_id)


def _done(message: str):
    """After a change: the refreshed panel for htmx, a redirect for a plain form."""
    db.session.commit()
    flash(message, "success")
    if wants_partial("members-panel"):
        return _panel()
    return redirect(url_for("ws.members.index"), 303)


def _refused(error: service.MemberError | LimitError):
    db.session.rollback()
    flash(str(error), "error")
    if wants_partial("members-panel"):
        return _panel(422, limit_error=error if isinstance(error, LimitError) else None)
    return redirect(url_for("ws.members.index"), 303)


@bp.get("/")
@require("members.manage")
def index():
    return _page()


@bp.post("/invitations")
@require("members.manage")
def invite():
    grantable = service.grantable_roles(g.membership)
    form = InviteForm(grantable)
    limit_error = None
    if form.validate_on_submit():
        role = next(role for role in grantable if role.id == form.role_id.data)
        try:
            service.invite(g.workspace, g.membership, form.email.data, role, _invitation_link)
        except service.MemberError as error:
            db.session.rollback()
            form.email.errors.append(str(error))
        except LimitError as error:  # the plan's members: the field says so, the notice shows the way on
            db.session.rollback()
            form.email.errors.append(error.reason)
            limit_error = error
        else:
            return _done(_("Invitation sent to %(email)s.", email=form.email.data.strip()))
    if wants_partial("members-panel"):
        return _panel(422, form, limit_error)
    return _page(form, 422, limit_error)


@bp.post("/invitations/<int:invitation_id>/resend")
@require("members.manage")
def resend_invitation(invitation_id: int):
    invitation = _invitation_or_404(invitation_id)
    try:
        service.resend(g.workspace, g.membership, invitation, _invitation_link)
    except (service.MemberError, LimitError) as error:
        return _refused(error)
    return _done(_("Invitation sent again to %(email)s.", email=invitation.email))


@bp.post("/invitations/<int:invitation_id>/revoke")
@require("members.manage")
def revoke_invitation(invitation_id: int):
    invitation = _invitation_or_404(invitation_id)
    try:
        service.revoke(invitation)
    except service.MemberError as error:
        return _refused(error)
    return _done(_("The invitation for %(email)s is revoked.", email=invitation.email))


@bp.post("/<int:member_id>/role")
@require("members.manage")
def change_role(member_id: int):
    member = _member_or_404(member_id)
    grantable = service.grantable_roles(g.membership)
    form = MemberRoleForm(grantable)
    if not form.validate_on_submit():
        return _refused(service.MemberError(_("Choose one of the roles listed.")))
    role = next(role for role in grantable if role.id == form.role_id.data)
    try:
        service.change_role(g.membership, member, role)
    except service.MemberError as error:
        return _refused(error)
    return _done(_("%(name)s is now %(role)s.", name=member.user.name, role=role.display_name))


@bp.post("/<int:member_id>/disable")
@require("members.manage")
def disable(member_id: int):
    member = _member_or_404(member_id)
    try:
        service.disable(g.membership, member)
    except service.MemberError as error:
        return _refused(error)
    return _done(_("%(name)s is disabled and can no longer open this workspace.", name=member.user.name))


@bp.post("/<int:member_id>/enable")
@require("members.manage")
def enable(member_id: int):
    member = _member_or_404(member_id)
    try:
        service.enable(g.workspace, g.membership, member)
    except (service.MemberError, LimitError) as error:
        return _refused(error)
    return _done(_("%(name)s can use this workspace again.", name=member.user.name))


@bp.post("/<int:member_id>/remove")
@require("members.manage")
def remove(member_id: int):
    member = _member_or_404(member_id)
    try:
        handed = service.remove(g.membership, member)
    except service.MemberError as error:
        return _refused(error)
    if handed:
        return _done(ngettext("%(name)s is removed from this workspace. "
                              "Their %(num)d open task is yours now, in My tasks.",
                              "%(name)s is removed from this workspace. "
                              "Their %(num)d open tasks are yours now, in My tasks.",
                              handed, name=member.user.name))  # fmt: skip
    return _done(_("%(name)s is removed from this workspace.", name=member.user.name))


@bp.post("/<int:member_id>/transfer-ownership")
@require("members.manage")
def transfer_ownership(member_id: int):
    member = _member_or_404(member_id)
    try:
        service.transfer_ownership(g.membership, member)
    except service.MemberError as error:
        return _refused(error)
    db.session.commit()
    flash(_("%(name)s is now an Owner; you are an Admin.", name=member.user.name), "success")
    # The actor may just have lost the right to see this page: a full reload decides.
    return redirect(url_for("ws.home"), 303)


# --- accepting an invitation ---------------------------------------------------------------


def _open_invitation(workspace_slug: str, token: str):
    """(workspace, invitation) for a live link, or (workspace or None, None)."""
    workspace_id = workspaces.workspace_id_for_slug(workspace_slug)
    if workspace_id is None:
        # The link names the address the workspace had when it was sent: it still leads there.
        renamed = workspaces.workspace_for_old_slug(workspace_slug)
        if renamed is None:
            return None, None
        workspace_id = renamed.id
    bind_workspace(workspace_id)
    invitation = service.invitation_for_token(token)
    return (invitation.workspace if invitation else None), invitation


def _join_page(workspace, invitation, token: str, form: JoinForm | None = None, status: int = 200):
    return render_template(
        "members/join.html",
        workspace=workspace,
        invitation=invitation,
        token=token,
        form=form or JoinForm(),
        account_exists=service.account_exists(invitation.email),
    ), status


@join_bp.get("/<workspace_slug>/<token>")
def show(workspace_slug: str, token: str):
    workspace, invitation = _open_invitation(workspace_slug, token)
    if invitation is None:
        return render_template("members/join_invalid.html"), 404
    return _join_page(workspace, invitation, token)


@join_bp.post("/<workspace_slug>/<token>")
@limiter.limit("20 per hour")
def accept(workspace_slug: str, token: str):
    workspace, invitation = _open_invitation(workspace_slug, token)
    if invitation is None:
        return render_template("members/join_invalid.html"), 404
    new_user = None
    try:
        if current_user.is_authenticated:
            service.accept(invitation, current_user._get_current_object())
        elif service.account_exists(invitation.email):
            return redirect(url_for("auth.login", next=request.path), 303)
        else:
            form = JoinForm()
            if not form.validate_on_submit():
                return _join_page(workspace, invitation, token, form, 422)
            locale = session.get("locale")
            new_user = service.accept_as_new_user(invitation, form.name.data, form.password.data, locale)
    except service.MemberError as error:
        db.session.rollback()
        if not current_user.is_authenticated or current_user.email == invitation.email:
            flash(str(error), "error")  # (the page itself explains a wrong account)
        return _join_page(workspace, invitation, token, status=422)
    db.session.commit()
    if new_user is not None:
        start_session(new_user)
    flash(_("Welcome to %(workspace)s.", workspace=workspace.name), "success")
    return redirect(url_for("ws.home", workspace_slug=workspace.slug), 303)
