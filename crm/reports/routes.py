from dataclasses import dataclass
from datetime import timedelta

from flask import Blueprint, abort, g, render_template, request

from crm.contacts.queries import owner_choices
from crm.csv_stream import csv_download, csv_row
from crm.deals import queries as deal_queries
from crm.deals import service as deal_service
from crm.deals.models import Pipeline
from crm.extensions import db
from crm.htmx import wants_partial
from crm.i18n import workspace_today
from crm.permissions import require
from crm.reports import queries, sales
from crm.reports.forms import SalesFilterForm

bp = Blueprint("reports", __name__, url_prefix="/reports")

DEFAULT_DAYS = 90  # the period when the URL names none: the last 90 days


@dataclass
class Filters:
    form: SalesFilterForm
    pipeline: Pipeline | None = None
    scope: queries.ReportScope | None = None

    def args(self, **extra) -> dict:
        """The filters as URL arguments (for the CSV links)."""
        scope = self.scope
        values = {"pipeline": scope.pipeline_id, "from": scope.start.isoformat(), "until": scope.until.isoformat(),
                  "owner": scope.owner, "currency": scope.currency, **extra}  # fmt: skip
        return {key: value for key, value in values.items() if value not in (None, "")}


def _filters() -> Filters:
    """The filters of the URL, with the defaults filled in. Another workspace's pipeline id is a 404;
    junk in any filter leaves ``scope`` None and the form with its errors."""
    pipelines = deal_queries.pipelines()
    form = SalesFilterForm(pipelines, owner_choices(), formdata=request.args)
    if not form.validate():
        form.currency.choices = [form.currency.data or g.workspace.currency]
        return Filters(form)
    if form.pipeline.data:
        pipeline = db.session.get(Pipeline, int(form.pipeline.data)) or abort(404)
    elif pipelines:
        pipeline = pipelines[0]
    else:
        return Filters(form)
    form.pipeline.data = str(pipeline.id)
    form.until.data = form.until.data or max(workspace_today(), form.start.data or workspace_today())
    form.start.data = form.start.data or form.until.data - timedelta(days=DEFAULT_DAYS - 1)
    currency = form.currency.data or g.workspace.currency
    form.currency.data = currency
    form.currency.choices = sorted({currency, g.workspace.currency, *queries.currencies(g.membership)})
    scope = queries.ReportScope(pipeline.id, form.start.data, form.until.data, currency, g.membership,
                                g.workspace.timezone, form.owner.data or "")  # fmt: skip
    return Filters(form, pipeline, scope)


@bp.get("/sales")
@require("reports.view")
def sales_report():
    filters = _filters()
    context = {"filters": filters, "form": filters.form, "summary": None, "tables": []}
    if filters.scope is not None:
        context["summary"], context["tables"] = sales.build(filters.scope, deal_service.stages_of(filters.pipeline.id))
    status = 422 if filters.form.errors else 200
    if wants_partial("sales-report"):
        return render_template("reports/_sales.html", **context), status
    return render_template("reports/sales.html", **context), status


@bp.get("/sales.csv")
@require("reports.view")
def sales_csv():
    make = sales.TABLES.get(request.args.get("table", "")) or abort(400)  # the page links known tables only
    filters = _filters()
    if filters.scope is None:
        return sales_report() if filters.form.errors else abort(404)
    table = make(sales.Facts(filters.scope, deal_service.stages_of(filters.pipeline.id)))
    scope = filters.scope
    name = f"sales-{table.key}-{scope.start.isoformat()}-{scope.until.isoformat()}.csv"
    return csv_download((csv_row(row) for row in table.csv_rows()), name)
