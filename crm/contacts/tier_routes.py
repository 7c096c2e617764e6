"""Settings -> Customer tiers: the workspace's rules for tier, level and lifecycle; saving them
classifies every customer again (crm/contacts/tier_runs.py: in the request for a small workspace,
else in the background, the page following the run until it ends), and the page shows the money
cut-offs the rules given as shares came to."""

import logging

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.audit import service as audit
from crm.contacts import classification, tier_runs
from crm.contacts.tier_forms import CustomerRulesForm
from crm.extensions import db
from crm.htmx import wants_partial
from crm.jobs import enqueue
from crm.permissions import require

log = logging.getLogger(__name__)
bp = Blueprint("customer_tiers", __name__, url_prefix="/settings/customer-tiers")
INLINE_LIMIT = tier_runs.INLINE_LIMIT


def _page(form: CustomerRulesForm, status: int = 200):
    return render_template("contacts/customer_tiers.html", form=form, tier_run=tier_runs.panel(g.workspace)), status


@bp.get("/")
@require("settings.manage")
def index():
    return _page(CustomerRulesForm(data=classification.stated_rules(g.workspace)))


@bp.post("/")
@require("settings.manage")
def update():
    form = CustomerRulesForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    changes = classification.save_rules(g.workspace, form.rules())
    if not changes:
        flash(_("Nothing changed."), "info")
        return redirect(url_for(".index"), 303)
    audit.record("workspace.rules_changed", "workspace", g.workspace.id, changes)
    db.session.commit()
    inline = tier_runs.live_buyers() <= INLINE_LIMIT
    started = tier_runs.request_run(current_user.id)
    if started is None:
        flash(_("Rules saved; the classification under way starts over with them."), "success")
    elif inline:
        tier_runs.run(started.id)
        flash(_("Rules saved; every customer is classified by them now."), "success")
    else:
        try:
            enqueue(tier_runs.run, g.workspace.id, started.id)
        except Exception:  # Redis unreachable: the run would never start
            log.exception("classification run %s could not be queued", started.id)
            tier_runs.give_up(started.id)
            flash(_("Rules saved, but classifying the customers again could not be started. Save again in a "
                    "moment; it also happens every night."), "error")  # fmt: skip
        else:
            flash(_("Rules saved; customers are being classified again in the background."), "success")
    return redirect(url_for(".index"), 303)


@bp.get("/run")
@require("settings.manage")
def run():
    """How far classifying the customers again has got (the page's panel polls here while it runs)."""
    if not wants_partial("tier-run"):
        return redirect(url_for(".index"), 303)
    return render_template("contacts/_tier_run.html", tier_run=tier_runs.panel(g.workspace), announce=True)
