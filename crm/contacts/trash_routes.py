"""The trash page: deleted contacts or companies (a tab each), restored a row at a time (its own
button), the ticked rows, or the whole tab (in the background beyond what one request changes)."""

from functools import partial

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _

from crm.billing.limits import LimitError
from crm.contacts import bulk, bulk_jobs, service, trash
from crm.contacts.models import BulkJob
from crm.extensions import db
from crm.htmx import is_boosted, is_htmx, wants_partial
from crm.permissions import require

bp = Blueprint("trash", __name__, url_prefix="/contacts/trash")


def _kind(values) -> str:
    kind = values.get("kind", "")
    return kind if kind in trash.KINDS else "contacts"


def _page(kind: str, after: str | None = None) -> dict:
    model = trash.KINDS[kind]
    page = trash.trash_page(model, g.membership, after)
    context = {"kind": kind, "page": page, "days": service.RESTORE_DAYS, "cap": bulk.COUNT_CAP, "total": 0,
               "time_left": partial(trash.time_left, zone=g.workspace.timezone)}  # fmt: skip
    if page.items and after is None:  # for "restore them all", which asks first with their number
        context["total"] = bulk.capped_count(trash.in_trash(model, g.membership), model)
    return context


@bp.get("")
@require("contacts.delete")
def index():
    kind = _kind(request.args)
    context = _page(kind, request.args.get("after"))
    if wants_partial("trash-more"):
        return render_template("contacts/_trash_rows.html", more_page=True, **context)
    return render_template("contacts/trash.html", job_panel=bulk_jobs.followed_panel(f"trash:{kind}"), **context)


@bp.post("/restore")
@require("contacts.delete")
def restore():
    kind = _kind(request.form)
    model = trash.KINDS[kind]
    statement = trash.in_trash(model, g.membership)
    none = _("Tick at least one row, or choose the whole trash.")
    too_many = _("Tick at most %(count)d rows, or choose the whole trash.", count=bulk.MAX_SELECTED)
    try:
        statement = bulk.selection(statement, model, request.form, none, too_many)
        if bulk.too_large(request.form, statement, model):
            trash.check_fits(model, statement, g.workspace)
            job = bulk_jobs.start(f"trash:{kind}", "restore", {}, None)
            flash(_("More than %(count)s rows: they are restored in the background, a thousand at a time.",
                    count=format_decimal(bulk.MAX_AT_ONCE)), "success")  # fmt: skip
            return _after_restore(kind, job=job)
        restored = trash.restore(model, statement, g.workspace)
    except (bulk.BulkError, LimitError) as error:
        db.session.rollback()
        flash(str(error), "error")
        return _after_restore(kind, 422)
    db.session.commit()
    trash.look_for_duplicates(model, restored, g.workspace.id)
    if not restored:
        flash(_("Nothing was restored: it was restored already, or deleted more than %(days)d days ago.",
                days=service.RESTORE_DAYS), "error")  # fmt: skip
    else:
        flash(bulk.done_message(f"trash:{kind}", "restore", len(restored)), "success")
    return _after_restore(kind)


def _after_restore(kind: str, status: int = 200, job: BulkJob | None = None):
    if not is_htmx() or is_boosted():
        return redirect(url_for("ws.contacts.bulk_job", job_id=job.id) if job else url_for(".index", kind=kind), 303)
    if status == 422:
        return bulk.REFUSED
    if wants_partial("trash-results"):
        results = render_template("contacts/_trash_results.html", **_page(kind))
        return results + bulk_jobs.panel(job, oob=True) if job else results
    # A row's own Restore: htmx takes the row away, so rows loaded by "Load more" and ticks stay.
    return render_template("contacts/_trash_row_restored.html", **_page(kind))
