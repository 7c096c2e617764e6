"""Settings → Customer tiers: the workspace's rules for tier, level and lifecycle; saving them
classifies every customer again (in the background for a large workspace)."""

import sqlalchemy as sa
from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from crm.audit import service as audit
from crm.contacts import classification
from crm.contacts.models import Contact
from crm.contacts.tier_forms import CustomerRulesForm
from crm.extensions import db
from crm.jobs import enqueue
from crm.permissions import require

bp = Blueprint("customer_tiers", __name__, url_prefix="/settings/customer-tiers")
INLINE_LIMIT = 2000  # customers with purchases classified during the request; more go to a job


@bp.get("/")
@require("settings.manage")
def index():
    form = CustomerRulesForm(data=classification.stated_rules(g.workspace))
    return render_template("contacts/customer_tiers.html", form=form)


@bp.post("/")
@require("settings.manage")
def update():
    form = CustomerRulesForm()
    if not form.validate_on_submit():
        return render_template("contacts/customer_tiers.html", form=form), 422
    changes = classification.save_rules(g.workspace, form.rules())
    if not changes:
        flash(_("Nothing changed."), "info")
        return redirect(url_for(".index"), 303)
    audit.record("workspace.rules_changed", "workspace", g.workspace.id, changes)
    db.session.commit()
    classified = sa.select(sa.func.count()).where(Contact.deleted_at.is_(None), Contact.last_purchase_at.isnot(None))
    if db.session.scalar(classified) <= INLINE_LIMIT:
        classification.reclassify_workspace(g.workspace.id)
        db.session.commit()
        flash(_("Rules saved; every customer is classified by them now."), "success")
    else:
        enqueue(classification.reclassify_workspace, g.workspace.id, g.workspace.id)
        flash(_("Rules saved; customers are being classified again in the background."), "success")
    return redirect(url_for(".index"), 303)
