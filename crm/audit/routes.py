from flask import Blueprint, g, render_template, request
from flask_babel import gettext as _

from crm.audit import queries
from crm.audit import service as audit
from crm.audit.change_text import logged_changes, prepare
from crm.audit.forms import AuditFilterForm
from crm.audit.service import ACTIONS, RECORD_TYPES
from crm.contacts.service import SENSITIVE_FIELDS
from crm.csv_stream import csv_download, csv_row
from crm.extensions import db
from crm.htmx import wants_partial
from crm.permissions import require
from crm.tenancy import bind_workspace

bp = Blueprint("audit", __name__, url_prefix="/settings/audit")


FILTERS = ("actor", "action", "record_type", "since", "until")


def _filters() -> tuple[AuditFilterForm, dict]:
    form = AuditFilterForm(queries.people(), formdata=request.args)
    if request.args and not form.validate():
        return form, {}
    data = {name: form[name].data for name in FILTERS}
    return form, data


def _filter_args() -> dict:
    """The filters as the address had them, for the links that keep them ("Show older", the CSV);
    nothing else of the query string, which url_for would take as its own options (_external...)."""
    return {name: request.args[name] for name in FILTERS if request.args.get(name)}


@bp.get("/")
@require("audit.view")
def index():
    form, filters = _filters()
    statement = queries.filtered(**filters, tz=g.workspace.timezone) if not form.errors else None
    page = queries.page(statement, request.args.get("after")) if statement is not None else None
    if page is not None:
        prepare(page.items)
    context = {"form": form, "page": page, "actions": ACTIONS, "record_types": RECORD_TYPES}
    context["filter_args"] = _filter_args()
    status = 422 if form.errors else 200
    if wants_partial("audit-more"):
        return render_template("audit/_rows.html", **context), status
    if wants_partial("audit-results"):
        return render_template("audit/_results.html", **context), status
    return render_template("audit/index.html", **context), status


@bp.get("/export.csv")
@require("audit.view")
def export():
    form, filters = _filters()
    if form.errors:
        return index()
    statement = queries.filtered(**filters, tz=g.workspace.timezone)
    # Labels are translated now: the rows stream after the view returns, outside its session.
    labels = {**{k: str(v) for k, v in ACTIONS.items()}, **{k: str(v) for k, v in RECORD_TYPES.items()}}
    header = [_("Time (UTC)"), _("Person"), _("Action"), _("Record type"), _("Record"), _("Changes"), _("IP"),
              _("Browser")]  # fmt: skip
    audit.record("audit.exported", changes={"filters": [None, {k: str(v) for k, v in filters.items() if v}]})
    db.session.commit()
    hidden = frozenset() if g.membership.can("contacts.sensitive") else frozenset(SENSITIVE_FIELDS)
    lines = _csv_lines(statement, g.workspace.id, header, labels, hidden)
    return csv_download(lines, f"audit-log-{g.workspace.slug}.csv")


def _csv_lines(statement, workspace_id: int, header: list[str], labels: dict[str, str], hidden: frozenset):
    """``hidden``: a contact's fields whose values the reader may not see (the History panel's rule,
    crm/audit/change_text.py)."""
    bind_workspace(workspace_id)
    yield csv_row(header)
    for entry in queries.in_batches(statement):
        yield csv_row(
            [
                entry.created_at.isoformat(timespec="seconds"),
                entry.actor_label,
                labels.get(entry.action, entry.action),
                labels.get(entry.record_type, entry.record_type or ""),
                entry.record_id or "",
                _changes_text(entry.changes, hidden if entry.record_type == "contact" else frozenset()),
                entry.ip or "",
                entry.user_agent or "",
            ]
        )


def _changes_text(changes: dict | None, hidden: frozenset) -> str:
    if not changes:
        return ""
    return "; ".join(
        _field_text(field, before, after, field in hidden) for field, before, after in logged_changes(changes)
    )


def _field_text(field: str, before, after, hidden: bool) -> str:
    if hidden:
        return f"{field}: changed"
    return f"{field}: {after!s}" if before is None else f"{field}: {before!s} → {after!s}"
