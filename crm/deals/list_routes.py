"""The deals list beside the board (Board | List): one pipeline's deals as a sortable table with the
board's filters, a status and "load more" paging, and its export as CSV or XLSX."""

from dataclasses import replace

import sqlalchemy as sa
from flask import Blueprint, abort, g, render_template, request
from flask_babel import gettext as _

from crm.audit import service as audit
from crm.contacts.queries import owner_choices
from crm.csv_stream import csv_download
from crm.custom_fields import service as custom_fields
from crm.deals import customers, list_export, list_queries, queries
from crm.deals.list_queries import SORTS, STATUSES, ListView
from crm.deals.models import Deal, Pipeline
from crm.extensions import db
from crm.htmx import wants_partial
from crm.permissions import require
from crm.xlsx_stream import xlsx_download

bp = Blueprint("deal_list", __name__, url_prefix="/deals")


def _view() -> tuple[ListView, str | None]:
    """The list's state from the URL, without a customer the member cannot see, and its name."""
    view = ListView.from_args(request.args)
    filters, customer_label = customers.resolved(view.filters, g.membership)
    return replace(view, filters=filters), customer_label


def _render(pipeline: Pipeline, pipelines: list[Pipeline] | None = None):
    view, customer_label = _view()
    page = list_queries.deal_rows(pipeline.id, view, g.membership, request.args.get("after"))
    context = {"pipeline": pipeline, "view": view, "page": page, "sorts": SORTS, "statuses": STATUSES,
               "can_export": g.membership.can("contacts.export")}  # fmt: skip
    if wants_partial("deal-list-more"):
        return render_template("deals/_list_rows.html", **context)
    if wants_partial("deal-list-results"):
        return render_template("deals/_list_results.html", **context)
    every = queries.pipelines() if pipelines is None else pipelines
    return render_template("deals/list.html", pipelines=every, owners=owner_choices(),
                           customer_label=customer_label, **context)  # fmt: skip


@bp.get("/list")
@require("deals.read")
def index():
    every = queries.pipelines()
    if not every:
        return render_template("deals/list.html", pipelines=[], pipeline=None)
    return _render(_first_of_customer(every), every)


def _first_of_customer(every: list[Pipeline]) -> Pipeline:
    """The first pipeline, or with a customer asked for (a contact's or company's page links here),
    the first that holds deals of theirs: the others are a tab away."""
    customer = customers.parse_customer(request.args.get("customer"))
    if not customer:
        return every[0]
    statement = customers.where_customer(sa.select(Deal.pipeline_id).where(Deal.deleted_at.is_(None)), customer)
    holding = set(db.session.scalars(statement.distinct()))
    return next((pipeline for pipeline in every if pipeline.id in holding), every[0])


@bp.get("/pipelines/<int:pipeline_id>/list")
@require("deals.read")
def pipeline_list(pipeline_id: int):
    if wants_partial("deal-list-results") or wants_partial("deal-list-more"):
        return _render(db.session.get(Pipeline, pipeline_id) or abort(404))
    every = queries.pipelines()  # the tabs; the pipeline is one of them (no query of its own)
    return _render(next((p for p in every if p.id == pipeline_id), None) or abort(404), every)


def _export_plan(pipeline_id: int, file_format: str) -> list_export.Plan:
    """What the URL asks to export, its statement built before the audit entry is committed (the
    CSV's rows are read after the view returns, when the member's objects are no longer loaded)."""
    pipeline = db.session.get(Pipeline, pipeline_id) or abort(404)
    view, _label = _view()
    plan = list_export.with_fields(list_queries.export_statement(pipeline.id, view, g.membership),
                                   g.workspace.timezone, custom_fields.definitions(g.workspace, "deal"),
                                   g.membership.can("contacts.sensitive"))  # fmt: skip
    audit.record("deal.exported", "pipeline", pipeline.id,
                 {"filters": [None, view.as_args()], "format": [None, file_format]})  # fmt: skip
    db.session.commit()
    return plan


@bp.get("/pipelines/<int:pipeline_id>/export.csv")
@require("contacts.export")  # the file names customers; the walker checks the outer permission
@require("deals.read")
def export(pipeline_id: int):
    plan = _export_plan(pipeline_id, "csv")
    return csv_download(list_export.csv_lines(g.workspace.id, plan), f"deals-{g.workspace.slug}.csv")


@bp.get("/pipelines/<int:pipeline_id>/export.xlsx")
@require("contacts.export")
@require("deals.read")
def export_xlsx(pipeline_id: int):
    plan = _export_plan(pipeline_id, "xlsx")
    return xlsx_download(list_export.rows(plan), f"deals-{g.workspace.slug}.xlsx", _("Deals"))
