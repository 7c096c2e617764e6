from dataclasses import dataclass
from datetime import timedelta

from flask import Blueprint, abort, g, render_template, request

from crm.contacts.forms import LEVEL_LABELS
from crm.csv_stream import csv_download, csv_row
from crm.db import utcnow
from crm.extensions import db
from crm.htmx import wants_partial
from crm.i18n import workspace_today
from crm.permissions import require
from crm.reports import service_report
from crm.reports.forms import ServiceFilterForm
from crm.reports.routes import DEFAULT_DAYS
from crm.reports.service_queries import ServiceScope
from crm.tickets import service as ticket_service
from crm.tickets.models import CHANNEL_LABELS, TicketCategory

bp = Blueprint("service_report", __name__, url_prefix="/reports")


@dataclass
class Filters:
    form: ServiceFilterForm
    categories: list[TicketCategory]
    scope: ServiceScope | None = None

    def args(self, **extra) -> dict:
        """The filters as URL arguments (for the CSV links)."""
        scope = self.scope
        values = {"from": scope.start.isoformat(), "until": scope.until.isoformat(), "category": scope.category_id,
                  "channel": scope.channel, "level": scope.level, **extra}  # fmt: skip
        return {key: value for key, value in values.items() if value not in (None, "")}

    def facts(self) -> service_report.Facts:
        return service_report.Facts(self.scope, self.categories)


def _filters() -> Filters:
    """The filters of the URL, the period defaulting to the last 90 days in the workspace's time
    zone. Another workspace's category id is a 404; junk in any filter leaves ``scope`` None and the
    form with its errors."""
    categories = ticket_service.categories()
    form = ServiceFilterForm(categories, CHANNEL_LABELS, LEVEL_LABELS, formdata=request.args)
    if not form.validate():
        return Filters(form, categories)
    category_id = int(form.category.data) if form.category.data else None
    if category_id is not None and db.session.get(TicketCategory, category_id) is None:
        abort(404)
    form.until.data = form.until.data or max(workspace_today(), form.start.data or workspace_today())
    form.start.data = form.start.data or form.until.data - timedelta(days=DEFAULT_DAYS - 1)
    scope = ServiceScope(form.start.data, form.until.data, g.membership, utcnow(), g.workspace.timezone,
                         category_id, form.channel.data or "", form.level.data or "")  # fmt: skip
    return Filters(form, categories, scope)


@bp.get("/service")
@require("reports.view")
def show():
    filters = _filters()
    context = {"filters": filters, "form": filters.form, "summary": None, "tables": []}
    if filters.scope is not None:
        context["summary"], context["tables"] = service_report.build(filters.facts())
    status = 422 if filters.form.errors else 200
    if wants_partial("service-report"):
        return render_template("reports/_service.html", **context), status
    return render_template("reports/service.html", **context), status


@bp.get("/service.csv")
@require("reports.view")
def download():
    make = service_report.TABLES.get(request.args.get("table", "")) or abort(400)  # the page links known tables
    filters = _filters()
    if filters.scope is None:
        return show()
    table = make(filters.facts())
    scope = filters.scope
    name = f"service-{table.key}-{scope.start.isoformat()}-{scope.until.isoformat()}.csv"
    return csv_download((csv_row(row) for row in table.csv_rows()), name)
