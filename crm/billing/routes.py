"""Settings → Billing (the plan, usage, invoices; Checkout and the Customer Portal at Stripe) and
the Stripe webhook. While billing is off (no STRIPE_SECRET_KEY) every one of them answers 404.

Stripe's pages are other sites: the buttons that lead there are forms whose answer is a full-page
navigation (``HX-Redirect`` for htmx, a 303 otherwise, which the page's CSP ``form-action`` allows)."""

import logging

import sqlalchemy as sa
from flask import Blueprint, abort, g, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from crm.billing import limits, notify, service, stripe_api, webhooks
from crm.billing.forms import PlanForm
from crm.billing.plans import billing_enabled, current_plan, grace_ends_at, in_local_trial, plans, read_only
from crm.extensions import csrf, db
from crm.htmx import is_htmx
from crm.i18n import lazy_gettext as _l
from crm.permissions import require
from crm.security import CSP

log = logging.getLogger(__name__)

bp = Blueprint("billing", __name__, url_prefix="/settings/billing")
webhook_bp = Blueprint("billing_webhook", __name__)

STATUS_LABELS = {
    "trialing": _l("Trial"),
    "active": _l("Active"),
    "past_due": _l("Past due"),
    "canceled": _l("Canceled"),
    "unpaid": _l("Unpaid"),
    "incomplete": _l("Waiting for the first payment"),
    "incomplete_expired": _l("First payment not made"),
    "paused": _l("Paused"),
}
INVOICE_STATUS_LABELS = {
    "draft": _l("Draft"),
    "open": _l("Open"),
    "paid": _l("Paid"),
    "uncollectible": _l("Uncollectible"),
    "void": _l("Void"),
}
INVOICES_SHOWN = 24


@bp.before_request
def billing_on():
    if not billing_enabled():
        abort(404)


@bp.app_template_global()
def billing_tab_shown() -> bool:
    """Whether Settings lists a Billing tab (the member's permission is checked with the others)."""
    return billing_enabled()


def _page(status: int = 200, error: str | None = None):
    workspace = g.workspace
    plan = current_plan(workspace)
    context = {
        "plan": plan,
        "plans": list(plans().values()),
        "purchasable": {p.key for p in service.purchasable_plans()},
        "live": service.has_live_subscription(workspace),
        "in_trial": in_local_trial(workspace),
        "grace_end": grace_ends_at(workspace),
        "read_only": read_only(workspace),
        "usage": limits.usage(workspace),
        "invoices": service.invoices(INVOICES_SHOWN),
        "status_labels": STATUS_LABELS,
        "invoice_status_labels": INVOICE_STATUS_LABELS,
        "major_units": service.major_units,
        "checkout": request.args.get("checkout") if status == 200 else None,
        "page_error": error,
        "form": PlanForm(formdata=None),
    }
    # The plan buttons' forms may lead to Stripe's pages (a 303 there when htmx is not running).
    csp = CSP.replace("form-action 'self'", f"form-action 'self' {' '.join(stripe_api.hosted_origins())}")
    return render_template("billing/page.html", **context), status, {"Content-Security-Policy": csp}


def _to_stripe(url: str):
    """A full-page navigation to Stripe, from an htmx request or a plain form."""
    if is_htmx():
        return "", 204, {"HX-Redirect": url}
    return redirect(url, 303)


@bp.get("/")
@require("billing.manage")
def page():
    return _page()


@bp.post("/checkout")
@require("billing.manage")
def checkout():
    form = PlanForm()
    if not form.validate_on_submit():
        return _page(422, _("Choose one of the plans listed."))
    workspace = g.workspace
    try:
        service.plan_for_checkout(workspace, form.plan.data)  # before anything is made at Stripe
        service.ensure_customer(workspace, current_user.email)
        db.session.commit()  # the customer exists at Stripe now, whatever happens next
        url = service.start_checkout(
            workspace,
            form.plan.data,
            email=current_user.email,
            success_url=url_for("ws.billing.page", checkout="success", _external=True),
            cancel_url=url_for("ws.billing.page", checkout="canceled", _external=True),
            locale=str(get_locale()),
        )
    except service.BillingError as error:
        db.session.rollback()
        return _page(422, str(error))
    db.session.commit()
    return _to_stripe(url)


@bp.post("/portal")
@require("billing.manage")
def portal():
    PlanForm()  # CSRF is checked by CSRFProtect for every POST; nothing else to read
    try:
        url = service.portal_url(g.workspace, url_for("ws.billing.page", _external=True), locale=str(get_locale()))
    except service.BillingError as error:
        db.session.rollback()
        return _page(422, str(error))
    db.session.commit()
    return _to_stripe(url)


@webhook_bp.post("/billing/webhook")
@csrf.exempt
def webhook():
    """Stripe's events. 400 for a bad or stale signature; 200 for everything verified, applied
    or not (a duplicate, an unknown type or customer, one a database constraint refused), so
    Stripe stops retrying; 503 when Stripe itself could not be asked, so it retries later."""
    if not billing_enabled():
        abort(404)
    try:
        event = stripe_api.verified_event(request.get_data(), request.headers.get("Stripe-Signature"))
    except stripe_api.BadWebhook as error:
        log.warning("Stripe webhook refused: %s", error)
        return jsonify(error="invalid signature or payload"), 400
    try:
        outcome = webhooks.handle(event)
        db.session.commit()
    except stripe_api.StripeError as error:
        db.session.rollback()
        log.error("Stripe event %s not applied, Stripe did not answer: %s", event["id"], error)
        return jsonify(error="try again later"), 503
    except sa.exc.IntegrityError as error:
        # A constraint refused what the event would write (two workspaces claiming one Stripe id,
        # say): retrying would fail the same way for days, so it is logged and acknowledged.
        db.session.rollback()
        log.error("Stripe event %s (%s) not applied, a constraint refused it: %s", event["id"], event["type"], error)
        return jsonify(received=True, result="ignored")
    if outcome.newly_past_due:
        try:
            notify.payment_failed(outcome.workspace)
        except Exception:  # the change is committed: Stripe must not retry it for a mail queue's sake
            log.exception("workspace %s: payment-failed mail not queued", outcome.workspace.id)
    return jsonify(received=True, result=outcome.result)
