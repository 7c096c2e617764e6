"""The plans on sale (from configuration, crm/config.py ``BILLING_PLANS``), which plan a workspace is
on now, and the states billing puts a workspace in. Without ``STRIPE_SECRET_KEY`` billing is off:
every workspace is unlimited and writable."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app

from crm.db import utcnow
from crm.workspaces.models import Workspace

FREE = "free"
# Stripe subscription statuses under which the paid plan applies (past due: during the grace period).
PAID_STATUSES = frozenset({"active", "trialing", "past_due"})
# An invoice is unpaid: past due while Stripe retries the card, unpaid once it has stopped trying.
# Both set ``past_due_since``: writable for the grace period, then read-only until paid.
OWING_STATUSES = frozenset({"past_due", "unpaid"})


@dataclass(frozen=True, slots=True)
class Plan:
    key: str
    name: str
    price_id: str | None
    per_seat: bool
    max_members: int | None  # None: unlimited
    max_contacts: int | None
    storage_mb: int | None
    portal: bool


def billing_enabled() -> bool:
    return bool(current_app.config.get("STRIPE_SECRET_KEY"))


def plans() -> dict[str, Plan]:
    return {key: Plan(key=key, **values) for key, values in current_app.config["BILLING_PLANS"].items()}


def plan_by_price(price_id: str) -> Plan | None:
    return next((plan for plan in plans().values() if plan.price_id and plan.price_id == price_id), None)


def in_local_trial(workspace: Workspace, now: datetime | None = None) -> bool:
    """The trial new workspaces get without a card: no Stripe subscription yet."""
    return (
        workspace.stripe_subscription_id is None
        and workspace.trial_ends_at is not None
        and workspace.trial_ends_at > (now or utcnow())
    )


def current_plan(workspace: Workspace, now: datetime | None = None) -> Plan | None:
    """The plan whose limits apply now; None while billing is off (no limits). A canceled or
    unpaid subscription falls back to Free; nothing is deleted, only new writes are limited."""
    if not billing_enabled():
        return None
    available = plans()
    if in_local_trial(workspace, now):
        return available.get(current_app.config["BILLING_TRIAL_PLAN"], available[FREE])
    if workspace.billing_status in PAID_STATUSES and workspace.plan in available:
        return available[workspace.plan]
    return available[FREE]


def grace_ends_at(workspace: Workspace) -> datetime | None:
    """The end of the grace period of an unpaid invoice, whatever the subscription's status: a
    subscription canceled while it owes (in the portal, or by Stripe after the last retry) leaves
    the debt, and ``past_due_since``, in place until the invoice is paid, voided or written off."""
    if workspace.past_due_since is None:
        return None
    return workspace.past_due_since + timedelta(days=current_app.config["BILLING_GRACE_DAYS"])


def read_only(workspace: Workspace, now: datetime | None = None) -> bool:
    """An invoice unpaid for longer than the grace period: reads and exports only, until it is
    paid (or voided). An unpaid workspace's limits are Free's meanwhile (``current_plan``)."""
    ends = grace_ends_at(workspace)
    return billing_enabled() and ends is not None and ends <= (now or utcnow())
