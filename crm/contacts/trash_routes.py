"""The trash page: deleted contacts or companies (a tab each), restored one by one (their own
routes) or several at once here."""

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from crm.billing.limits import LimitError
from crm.contacts import bulk, service, trash
from crm.extensions import db
from crm.htmx import wants_partial
from crm.permissions import require

bp = Blueprint("trash", __name__, url_prefix="/contacts/trash")


def _kind(values) -> str:
    kind = values.get("kind", "")
    return kind if kind in trash.KINDS else "contacts"


def _page(kind: str, after: str | None = None) -> dict:
    page = trash.trash_page(trash.KINDS[kind], g.membership, after)
    return {"kind": kind, "page": page, "days": service.RESTORE_DAYS}


@bp.get("")
@require("contacts.delete")
def index():
    kind = _kind(request.args)
    context = _page(kind, request.args.get("after"))
    if wants_partial("trash-more"):
        return render_template("contacts/_trash_rows.html", more_page=True, **context)
    return render_template("contacts/trash.html", **context)


@bp.post("/restore")
@require("contacts.delete")
def restore():
    kind = _kind(request.form)
    model = trash.KINDS[kind]
    statement = trash.in_trash(model, g.membership)
    if request.form.get("scope") != "all":
        ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()]
        if not ids or len(ids) > bulk.MAX_SELECTED:
            flash(_("Tick between 1 and %(count)d rows, or choose the whole trash.", count=bulk.MAX_SELECTED), "error")
            return _after_restore(kind, 422)
        statement = statement.where(model.id.in_(ids))
    try:
        restored = trash.restore(model, statement, g.workspace)
    except LimitError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _after_restore(kind, 422)
    db.session.commit()
    if kind == "contacts":
        flash(ngettext("%(num)d contact restored.", "%(num)d contacts restored.", restored), "success")
    else:
        flash(ngettext("%(num)d company restored.", "%(num)d companies restored.", restored), "success")
    return _after_restore(kind)


def _after_restore(kind: str, status: int = 200):
    if wants_partial("trash-results"):
        return render_template("contacts/_trash_results.html", **_page(kind)), status
    return redirect(url_for(".index", kind=kind), 303)
