"""What billing's states mean for the people in a workspace: the trial a new workspace starts
with, the banners of the workspace pages, and the read-only wall of a workspace whose invoice
stayed unpaid past the grace period.

Read-only refuses every non-GET request under ``/w/<slug>`` with 402, except what must stay
possible while unpaid: paying (the billing pages), reading that happens to be a POST (revealing a
sensitive field), answering a customer's privacy request (a legal duty), taking access away
(disabling or removing a member, revoking an invitation) and deleting the workspace. Reads,
exports and backup downloads are GETs and never blocked; restoring a backup is a write and waits
for the payment like any other. Outside the workspace wall nothing changes: the account pages
and sign-out, the Stripe webhook, CLI commands and jobs, and the public complaint portal, whose
visitors (the business's customers) may still file and follow complaints.

Everything here reads columns of ``g.workspace`` and the configuration only: no query per page.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, g, render_template, request
from flask_babel import format_date, ngettext
from flask_babel import gettext as _

from crm.billing import plans
from crm.billing.limits import billing_url
from crm.db import utcnow
from crm.htmx import is_boosted, is_htmx, trigger
from crm.workspaces.models import Membership, Workspace

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Writes a read-only workspace still accepts (see the module's docstring); billing.* endpoints too.
WRITABLE_WHEN_READ_ONLY = frozenset(
    {
        "ws.custom_field_values.reveal",
        "ws.tickets.fulfil_privacy",
        "ws.members.disable",
        "ws.members.remove",
        "ws.members.revoke_invitation",
        "ws.delete_workspace",
    }
)
READ_ONLY_STATUS = 402  # Payment Required: the refusal lasts until the invoice is paid


def start_trial(workspace: Workspace, now: datetime | None = None) -> None:
    """A new workspace tries BILLING_TRIAL_PLAN for BILLING_TRIAL_DAYS without a card (plan stays
    Free, no subscription: ``plans.current_plan`` gives the trial plan until it ends). Nothing
    while billing is off, or with BILLING_TRIAL_DAYS 0."""
    days = current_app.config.get("BILLING_TRIAL_DAYS") or 0
    if plans.billing_enabled() and days > 0:
        workspace.trial_ends_at = (now or utcnow()) + timedelta(days=days)


def may_pay(membership: Membership | None) -> bool:
    return membership is not None and membership.can("billing.manage")


def _is_billing_endpoint(endpoint: str) -> bool:
    return endpoint.startswith(("ws.billing.", "billing."))


def _is_export(endpoint: str) -> bool:
    """The lists' bulk bars export their rows by a POST, answered with the file (it writes nothing but
    the audit entry)."""
    bulk_bars = ("ws.contacts.bulk_action", "ws.companies.bulk_action")
    return endpoint in bulk_bars and request.form.get("action") in ("export", "export_xlsx")


def refuse_write_if_read_only():
    """The workspace wall's hook (crm/workspaces/routes.py): None to go on, else the 402 answer."""
    if request.method in SAFE_METHODS or not plans.read_only(g.workspace):
        return None
    endpoint = request.endpoint or ""
    if endpoint in WRITABLE_WHEN_READ_ONLY or _is_billing_endpoint(endpoint) or _is_export(endpoint):
        return None
    return read_only_response(g.workspace, g.get("membership"))


def read_only_message(workspace: Workspace, membership: Membership | None) -> str:
    """The reason in one plain sentence plus what the reader can do (no link: toasts are text)."""
    reason = _read_only_reason(workspace)
    if may_pay(membership):
        return f"{reason} {_('Pay it on the Billing page to edit again.')}"
    return f"{reason} {_('Ask the workspace owner to pay it.')}"


def _read_only_reason(workspace: Workspace) -> str:
    since = workspace.past_due_since
    if since is None:
        return _("This workspace is read-only because an invoice is unpaid.")
    return _("This workspace is read-only because the invoice of %(date)s is unpaid.", date=format_date(since))


def read_only_response(workspace: Workspace, membership: Membership | None):
    """402 with the reason: a toast and an alert fragment for htmx swaps, the full page (with the
    toast too, since htmx swaps no 4xx page) for boosted and plain requests."""
    from crm.errors import app_response

    message = read_only_message(workspace, membership)
    context = {
        "title": _("Read-only"),
        "reason": _read_only_reason(workspace),
        "pay_url": billing_url(workspace) if may_pay(membership) else None,
        "message": message,
    }
    if is_htmx() and not is_boosted():
        response = app_response(render_template("errors/_read_only.html", **context), READ_ONLY_STATUS)
    else:
        response = app_response(render_template("errors/read_only.html", **context), READ_ONLY_STATUS)
    if is_htmx():
        trigger(response, "toast", [{"level": "error", "message": message}])
    return response


@dataclass(frozen=True, slots=True)
class Banner:
    kind: str  # "read_only" | "past_due" | "trial"
    role: str  # ARIA role: "alert" when writes are refused, else "status"
    text: str
    link_text: str | None = None
    link_url: str | None = None


def banner(workspace: Workspace | None, membership: Membership | None, now: datetime | None = None) -> Banner | None:
    """The one billing banner the workspace pages show this member, if any. Past due and trial
    speak to those who may pay; read-only to everyone. None while billing is off."""
    if workspace is None or not plans.billing_enabled():
        return None
    now = now or utcnow()
    payer = may_pay(membership)
    if plans.read_only(workspace, now):
        if payer:
            return Banner("read_only", "alert", _read_only_reason(workspace), _("Pay now"), billing_url(workspace))
        return Banner("read_only", "alert", f"{_read_only_reason(workspace)} {_('Ask the workspace owner to pay it.')}")
    if not payer:
        return None
    grace_end = plans.grace_ends_at(workspace)
    if grace_end is not None:
        text = _("Payment failed. Update your card by %(date)s to keep editing.", date=format_date(grace_end))
        return Banner("past_due", "status", text, _("Update payment"), billing_url(workspace))
    if plans.in_local_trial(workspace, now):
        trial = plans.plans().get(current_app.config["BILLING_TRIAL_PLAN"])
        days = max(1, math.ceil((workspace.trial_ends_at - now) / timedelta(days=1)))
        text = ngettext("%(plan)s trial: %(num)d day left.", "%(plan)s trial: %(num)d days left.", days,
                        plan=trial.name if trial else "")  # fmt: skip
        return Banner("trial", "status", text, _("Choose a plan"), billing_url(workspace))
    return None


def template_context() -> dict:
    """Context processor of the workspace blueprint: ``billing_banner`` for base.html."""
    return {"billing_banner": banner(g.get("workspace"), g.get("membership"))}
