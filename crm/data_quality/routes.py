"""The Data quality page: the last check's counts and, per kind of problem, the contacts it found
(50 a page, "load more"), within the member's record scope. Members who may edit contacts
(contacts.write) can run the check now, as a background job whose progress the page polls."""

from datetime import date

from flask import Blueprint, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _

from crm.custom_fields.service import MASK
from crm.data_quality import queries, service
from crm.data_quality.checks import KINDS, NAME_REASONS, STALE_MONTHS
from crm.extensions import db
from crm.htmx import wants_partial
from crm.jobs import enqueue
from crm.permissions import require

bp = Blueprint("data_quality", __name__, url_prefix="/data-quality")


@bp.get("/")
@require("contacts.read")
def index():
    report = queries.report(g.membership)
    kind = request.args.get("kind", "")
    if kind not in KINDS:
        kind = next((key for key in KINDS if report.counts.get(key)), next(iter(KINDS)))
    page = queries.findings_page(report.run, kind, request.args.get("after"), g.membership) if report.run else None
    current = report.current
    running = current if current is not None and not service.stopped(current) else None
    context = {"report": report, "running": running, "failed": current if current and not running else None,
               "kind": kind, "page": page, "kinds": KINDS, "name_reasons": NAME_REASONS,
               "stale_months": STALE_MONTHS, "sensitive": g.membership.can("contacts.sensitive"), "mask": MASK,
               "format_day": lambda text: format_date(date.fromisoformat(text))}  # fmt: skip
    if page is not None and wants_partial("findings-more"):
        return render_template("data_quality/_rows.html", **context)
    if page is not None and wants_partial("findings"):
        return render_template("data_quality/_findings.html", **context)
    return render_template("data_quality/index.html", **context)


@bp.post("/run")
@require("contacts.write")
def run():
    try:
        started = service.start_run(g.membership.user_id)
    except service.AlreadyRunning:
        flash(_("A check is already running."), "error")
        return redirect(url_for(".index"), 303)
    db.session.commit()
    enqueue(service.run_check, g.workspace.id, started.id)
    return redirect(url_for(".index"), 303)


@bp.get("/progress")
@require("contacts.read")
def progress():
    current = service.running_run()
    if current is not None and not service.stopped(current):
        return render_template("data_quality/_progress.html", current=current, poll=True)
    response = make_response("", 200)
    response.headers["HX-Refresh"] = "true"  # finished: the whole page changes
    return response
