"""Settings → Backup: download the whole workspace as a ZIP, restore such a ZIP into a new,
empty workspace. The restore runs in the request (one transaction); `flask crm restore-backup`
does the same without a request's time and size limits, for big workspaces."""

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from crm.audit import service as audit
from crm.backup import people, service
from crm.backup.archive import InvalidBackup
from crm.backup.forms import RestoreForm
from crm.extensions import db
from crm.permissions import require

bp = Blueprint("backup", __name__, url_prefix="/settings/backup")


def _may_back_up() -> None:
    if not service.may_back_up(g.membership):
        abort(403, _("Only the Owner, or a member with every permission of an Admin, may back up or restore."))


def _page(form: RestoreForm | None = None, status: int = 200, error: str | None = None):
    context = {
        "form": form or RestoreForm(formdata=None),
        "empty": not service.tables_with_records(g.workspace.id, g.membership.id),
        "last_restore": service.last_restore(),
        "page_error": error,
    }
    return render_template("backup/index.html", **context), status


def allow_large_upload() -> None:
    """The restore upload takes bigger bodies than the rest of the app (MAX_CONTENT_LENGTH). Runs
    as an app-wide before-request hook registered ahead of CSRFProtect, which reads the body."""
    if request.endpoint == "ws.backup.restore" and current_user.is_authenticated:  # nobody else sends 50 MB
        request.max_content_length = current_app.config["BACKUP_MAX_BYTES"]


@bp.get("/")
@require("settings.manage")
def index():
    _may_back_up()
    return _page()


@bp.get("/download")
@require("settings.manage")
def download():
    _may_back_up()
    audit.record("workspace.backup_downloaded", "workspace", g.workspace.id)
    db.session.commit()
    chunks = service.backup_chunks(g.workspace.id, current_user.email, people.texts())
    return Response(
        stream_with_context(chunks),
        mimetype="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{service.backup_filename(g.workspace)}"',
            "Cache-Control": "no-store",
        },
    )


@bp.post("/restore")
@require("settings.manage")
def restore():
    _may_back_up()
    form = RestoreForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    limit = current_app.config["BACKUP_MAX_BYTES"] * service.UNPACK_RATIO
    try:
        report = service.restore(form.file.data.stream, g.workspace, g.membership, limit)
        db.session.commit()
    except service.NotEmpty as error:
        db.session.rollback()
        return _page(form, 409, error=str(error))
    except InvalidBackup as error:
        db.session.rollback()
        form.file.errors.append(str(error))
        return _page(form, 422)
    flash(_("The backup of %(name)s is restored: %(records)d records.", name=report.source.get("name", ""),
            records=report.rows), "success")  # fmt: skip
    if report.members_not_restored:
        flash(_("The records of the other members are now yours: %(emails)s. Invite them on the Members page, "
                "then hand their records back.", emails=", ".join(report.members_not_restored)), "warning")  # fmt: skip
    return redirect(url_for(".index"), 303)
