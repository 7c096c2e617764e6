"""Settings → Service hours (``settings.manage``): the business hours, holidays and SLA targets the
tickets' clocks count with. Saving changes the due times of tickets opened afterwards; open tickets
keep theirs (a change of priority recomputes a ticket's)."""

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from crm.audit import service as audit
from crm.extensions import db
from crm.permissions import require
from crm.tickets.sla import LEVEL_KEYS, PRIORITY_KEYS
from crm.tickets.sla_forms import LEVEL_NAMES, PRIORITY_NAMES, WEEKDAYS, ServiceHoursForm

bp = Blueprint("sla_settings", __name__, url_prefix="/settings/service-hours")


def _page(form: ServiceHoursForm, status: int = 200):
    context = {"form": form, "weekdays": WEEKDAYS, "levels": [(key, LEVEL_NAMES[key]) for key in LEVEL_KEYS],
               "priorities": [(key, PRIORITY_NAMES[key]) for key in PRIORITY_KEYS]}  # fmt: skip
    return render_template("sla/settings.html", **context), status


@bp.get("/")
@require("settings.manage")
def index():
    return _page(ServiceHoursForm.of(g.workspace.sla_settings))


@bp.post("/")
@require("settings.manage")
def update():
    form = ServiceHoursForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    settings = form.settings()
    if settings != g.workspace.sla_settings:
        audit.record(
            "workspace.sla_changed", "workspace", g.workspace.id, {"sla_settings": [g.workspace.sla_settings, settings]}
        )
        g.workspace.sla_settings = settings
        db.session.commit()
    flash(_("Service hours saved. New tickets are due by them."), "success")
    return redirect(url_for(".index"), 303)
