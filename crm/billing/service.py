"""The Stripe side of billing: the workspace's Stripe customer (made once, reused), Checkout and
Customer Portal sessions, applying what Stripe says about the subscription to the workspace, the
invoices, and keeping a per-seat subscription's quantity equal to the active members.

Stripe is the source of truth for the subscription. The workspace's columns are a copy, written
only from an answer of Stripe's API (never from a webhook body alone, except the final
``customer.subscription.deleted``) and never from an event older than the newest one applied
(``billing_synced_at``), so deliveries that arrive late or out of order cannot roll it back.

Changing between paid plans while a subscription runs goes through the Customer Portal (Stripe
prorates and keeps one subscription); Checkout is only for a workspace without a live one.
"""

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import sqlalchemy as sa
import sqlalchemy.orm as so
from babel.numbers import get_currency_precision
from flask_babel import gettext as _

from crm.audit import service as audit
from crm.billing import stripe_api
from crm.billing.models import Invoice
from crm.billing.plans import (
    FREE,
    OWING_STATUSES,
    Plan,
    billing_enabled,
    current_plan,
    in_local_trial,
    plan_by_price,
    plans,
)
from crm.db import utcnow
from crm.extensions import db
from crm.jobs import enqueue
from crm.tenancy import bound_workspace_id
from crm.workspaces.models import ACTIVE, Membership, Workspace

log = logging.getLogger(__name__)

# The audit log's actor for changes Stripe reported (webhooks) and for those Kehu made on its own.
STRIPE_ACTOR = SimpleNamespace(id=None, email="Stripe")
KEHU_ACTOR = SimpleNamespace(id=None, email="Kehu")
# A subscription in these states is over: the workspace may start a new one through Checkout.
ENDED_STATUSES = frozenset({"canceled", "incomplete_expired"})
SETTLED_INVOICE_STATUSES = frozenset({"paid", "void", "uncollectible"})
# Checkout refuses a trial_end less than 48 hours away.
MIN_TRIAL_LEFT = timedelta(hours=48)
SEAT_SYNC_KEY = "billing_seat_sync"
WATCHED_FIELDS = (
    "plan",
    "stripe_customer_id",
    "billing_status",
    "stripe_subscription_id",
    "current_period_end",
    "cancel_at_period_end",
    "past_due_since",
)


class BillingError(ValueError):
    """A refused billing action, with a message for the person who asked."""


def from_timestamp(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(int(value), UTC)


def major_units(amount: int, currency: str) -> Decimal:
    """Stripe counts in the currency's minor unit (cents); the money filter wants the amount."""
    return Decimal(amount).scaleb(-get_currency_precision(currency.upper()))


def stripe_id(value) -> str | None:
    """An id field of a Stripe object, expanded (a dict) or not (a string)."""
    return value.get("id") if isinstance(value, dict) else value


# --- reading -------------------------------------------------------------------------------


def has_live_subscription(workspace: Workspace) -> bool:
    """A subscription Stripe still bills or may bill again (paid, trialing, past due, unpaid...)."""
    return bool(workspace.stripe_subscription_id) and workspace.billing_status not in ENDED_STATUSES | {None}


def purchasable_plans() -> list[Plan]:
    """Paid plans with a Stripe price configured, in the configuration's order."""
    return [plan for plan in plans().values() if plan.key != FREE and plan.price_id]


def active_members() -> int:
    """Active members of the bound workspace: a per-seat plan's quantity."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Membership).where(Membership.status == ACTIVE))


def invoices(limit: int = 24) -> list[Invoice]:
    """The bound workspace's latest invoices, newest first."""
    return list(
        db.session.scalars(sa.select(Invoice).order_by(Invoice.issued_at.desc(), Invoice.id.desc()).limit(limit))
    )


def billing_managers() -> list[Membership]:
    """Active members of the bound workspace who may manage billing (Owners, and custom roles)."""
    members = db.session.scalars(
        sa.select(Membership).options(so.joinedload(Membership.role)).where(Membership.status == ACTIVE)
    )
    return [member for member in members if member.can("billing.manage")]


# --- customer, Checkout and the Customer Portal --------------------------------------------


def ensure_customer(workspace: Workspace, email: str | None) -> str:
    """The workspace's Stripe customer, created on first use. The idempotency key makes two
    concurrent first clicks get the same customer; the caller commits the id at once, since the
    customer exists at Stripe whatever happens next."""
    if workspace.stripe_customer_id:
        return workspace.stripe_customer_id
    params = {"name": workspace.name, "metadata": {"workspace_id": str(workspace.id), "workspace_slug": workspace.slug}}
    if email:
        params["email"] = email
    try:
        customer = stripe_api.client().v1.customers.create(
            params, options={"idempotency_key": f"kehu-workspace-{workspace.id}-customer"}
        )
    except stripe_api.StripeError as error:
        log.warning("Stripe refused to create a customer for workspace %s: %s", workspace.id, error)
        raise BillingError(_("Stripe could not be reached. Please try again in a minute.")) from error
    workspace.stripe_customer_id = customer.id
    return customer.id


def plan_for_checkout(workspace: Workspace, plan_key: str | None) -> Plan:
    """The plan a workspace may start a subscription to through Checkout, or BillingError."""
    plan = next((plan for plan in purchasable_plans() if plan.key == plan_key), None)
    if plan is None:
        raise BillingError(_("Choose one of the plans listed."))
    if has_live_subscription(workspace):
        raise BillingError(_("This workspace already has a subscription. Change it in the billing portal."))
    return plan


def start_checkout(
    workspace: Workspace,
    plan_key: str,
    *,
    email: str | None,
    success_url: str,
    cancel_url: str,
    locale: str | None = None,
) -> str:
    """The URL of a Stripe Checkout page (subscription mode) for ``plan_key``. Per-seat plans are
    bought for the active members. A workspace still in its free trial keeps the days left: the
    card is charged when the trial ends."""
    plan = plan_for_checkout(workspace, plan_key)
    customer_id = ensure_customer(workspace, email)
    metadata = {"workspace_id": str(workspace.id), "plan": plan.key}
    subscription_data: dict = {"metadata": metadata}
    if in_local_trial(workspace) and workspace.trial_ends_at - utcnow() > MIN_TRIAL_LEFT:
        subscription_data["trial_end"] = int(workspace.trial_ends_at.timestamp())
    params = {
        "mode": "subscription",
        "customer": customer_id,
        "client_reference_id": str(workspace.id),
        "line_items": [{"price": plan.price_id, "quantity": active_members() if plan.per_seat else 1}],
        "metadata": metadata,
        "subscription_data": subscription_data,
        "success_url": success_url,
        "cancel_url": cancel_url,
        "locale": "zh" if (locale or "").startswith("zh") else "auto",
    }
    try:
        session = stripe_api.client().v1.checkout.sessions.create(params)
    except stripe_api.StripeError as error:
        log.warning("Stripe refused a Checkout session for workspace %s: %s", workspace.id, error)
        raise BillingError(_("Stripe could not start the payment. Please try again in a minute.")) from error
    before = current_plan(workspace)
    audit.record("billing.checkout_started", "workspace", workspace.id,
                 {"plan": [before.key if before else None, plan.key]})  # fmt: skip
    return session.url


def portal_url(workspace: Workspace, return_url: str, locale: str | None = None) -> str:
    """A Customer Portal session: card, plan changes, cancellation and invoices, at Stripe."""
    if not workspace.stripe_customer_id:
        raise BillingError(_("This workspace has not paid for a plan yet."))
    params = {
        "customer": workspace.stripe_customer_id,
        "return_url": return_url,
        "locale": "zh" if (locale or "").startswith("zh") else "auto",
    }
    try:
        session = stripe_api.client().v1.billing_portal.sessions.create(params)
    except stripe_api.StripeError as error:
        log.warning("Stripe refused a portal session for workspace %s: %s", workspace.id, error)
        raise BillingError(_("Stripe could not open the billing portal. Please try again in a minute.")) from error
    audit.record("billing.portal_opened", "workspace", workspace.id)
    return session.url


# --- applying Stripe's state ---------------------------------------------------------------


def retrieve_subscription(subscription_id: str) -> dict:
    return stripe_api.plain(stripe_api.client().v1.subscriptions.retrieve(subscription_id))


def is_stale(workspace: Workspace, event_created: int | None) -> bool:
    """An event older than the newest state applied: what it says was already overtaken."""
    synced = workspace.billing_synced_at
    return event_created is not None and synced is not None and from_timestamp(event_created) < synced


def may_adopt(workspace: Workspace, subscription_id: str) -> bool:
    """Whether a subscription's news concerns this workspace's plan: it is its subscription, or
    the workspace has none that is still live (a new one after a canceled one)."""
    return subscription_id == workspace.stripe_subscription_id or not has_live_subscription(workspace)


def apply_subscription(workspace: Workspace, subscription: dict, event_created: int | None = None) -> bool:
    """Copies a subscription as Stripe's API returned it onto the workspace. Returns True when
    this made the workspace past due (the first failed payment: its owners are told once)."""
    was_past_due = workspace.past_due_since is not None
    # The subscription that owed (the same one, past due or unpaid until now).
    was_owing = (
        subscription.get("id") == workspace.stripe_subscription_id and workspace.billing_status in OWING_STATUSES
    )
    item = (subscription.get("items") or {}).get("data") or [{}]
    price_id = stripe_id(item[0].get("price") or {})
    plan = plan_by_price(price_id) if price_id else None
    if plan is not None:
        workspace.plan = plan.key
    else:
        log.warning("workspace %s: subscription %s has price %s of no configured plan; plan kept",
                    workspace.id, subscription.get("id"), price_id)  # fmt: skip
    status = subscription.get("status")
    workspace.stripe_subscription_id = subscription["id"]
    workspace.billing_status = status
    # From API version 2025-03-31 the period is the items'; older versions have it on the subscription.
    period_end = item[0].get("current_period_end") or subscription.get("current_period_end")
    if status == "trialing" and subscription.get("trial_end"):
        period_end = subscription["trial_end"]
    workspace.current_period_end = from_timestamp(period_end)
    workspace.cancel_at_period_end = bool(subscription.get("cancel_at_period_end") or subscription.get("cancel_at"))
    if status in OWING_STATUSES:
        workspace.past_due_since = workspace.past_due_since or from_timestamp(event_created) or utcnow()
    elif was_owing and status in ("active", "trialing"):
        # The subscription that owed is paid up again. A new subscription (after one that ended
        # unpaid) settles nothing: the old invoice stays owed until paid or voided (``settle_debt``).
        workspace.past_due_since = None
    if status in ("active", "trialing", "past_due"):
        workspace.trial_ends_at = None  # the local trial (no card) is over once Stripe bills
    _mark_synced(workspace, event_created)
    _record_changes(workspace, "billing.subscription_changed")
    return not was_past_due and workspace.past_due_since is not None


def end_subscription(workspace: Workspace, subscription: dict, event_created: int | None = None) -> None:
    """The subscription is over (canceled at period end, or at once): back to Free. Nothing is
    deleted; what is beyond Free's limits stays readable and exportable. An unpaid invoice is
    still owed: ``past_due_since`` stays, and so does the read-only wall, until ``settle_debt``."""
    workspace.plan = FREE
    workspace.billing_status = "canceled"
    workspace.stripe_subscription_id = subscription["id"]
    workspace.cancel_at_period_end = False
    ended = subscription.get("ended_at") or subscription.get("canceled_at")
    workspace.current_period_end = from_timestamp(ended) or workspace.current_period_end
    _mark_synced(workspace, event_created)
    _record_changes(workspace, "billing.subscription_ended")


def settle_debt(workspace: Workspace) -> bool:
    """After an invoice of the bound workspace was paid, voided or marked uncollectible: the debt
    is settled once none of its invoices is still open, and the workspace is writable again.
    Returns True when this lifted it."""
    if workspace.past_due_since is None:
        return False
    still_open = db.session.scalar(sa.select(sa.func.count()).select_from(Invoice).where(Invoice.status == "open"))
    if still_open:
        return False
    workspace.past_due_since = None
    _record_changes(workspace, "billing.debt_settled")
    return True


def cancel_for_deletion(workspace: Workspace) -> bool:
    """Stops the workspace's live subscription at Stripe at once, before the workspace is
    deleted, so the customer is not charged for a workspace that is gone. True when one was
    canceled; BillingError (and nothing deleted) when Stripe could not be reached."""
    if not billing_enabled() or not has_live_subscription(workspace):
        return False
    subscription_id = workspace.stripe_subscription_id
    try:
        stripe_api.client().v1.subscriptions.cancel(subscription_id)
    except stripe_api.InvalidRequestError as error:
        if error.code != "resource_missing":
            log.warning("Stripe refused to cancel subscription %s of workspace %s: %s",
                        subscription_id, workspace.id, error)  # fmt: skip
            raise BillingError(_deletion_refused()) from error
        log.info("workspace %s: subscription %s is already gone at Stripe", workspace.id, subscription_id)
    except stripe_api.StripeError as error:
        log.warning("Stripe could not cancel subscription %s of workspace %s: %s", subscription_id, workspace.id, error)
        raise BillingError(_deletion_refused()) from error
    # The workspace's own audit log goes with it; the app log keeps the cancellation too.
    log.info("workspace %s deleted: subscription %s canceled at Stripe", workspace.id, subscription_id)
    changes = {"stripe_subscription_id": [subscription_id, None]}
    audit.record("billing.subscription_canceled", "workspace", workspace.id, changes)
    return True


def _deletion_refused() -> str:
    return _("Stripe could not be reached to stop the subscription; nothing was deleted. Try again in a minute.")


def _mark_synced(workspace: Workspace, event_created: int | None) -> None:
    created = from_timestamp(event_created)
    if created is not None and (workspace.billing_synced_at is None or created > workspace.billing_synced_at):
        workspace.billing_synced_at = created


def _record_changes(workspace: Workspace, action: str) -> None:
    changes = audit.changes_of(workspace, WATCHED_FIELDS)
    if changes:
        audit.record(action, "workspace", workspace.id, changes, actor=STRIPE_ACTOR)


def invoice_subscription_id(invoice: dict) -> str | None:
    """The subscription an invoice bills: under ``parent`` from API version 2025-03-31, at the top before."""
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return stripe_id(details.get("subscription")) or stripe_id(invoice.get("subscription"))


def upsert_invoice(invoice: dict, action: str | None = None) -> Invoice:
    """Stores or refreshes one of the bound workspace's invoices. A settled invoice (paid, void)
    is not put back to open by a late delivery of an earlier event."""
    row = db.session.scalar(sa.select(Invoice).where(Invoice.stripe_invoice_id == invoice["id"]))
    if row is None:
        row = Invoice(stripe_invoice_id=invoice["id"])
        db.session.add(row)
    status = invoice.get("status") or "open"
    if row.status not in SETTLED_INVOICE_STATUSES or status in SETTLED_INVOICE_STATUSES:
        row.status = status
        row.amount_paid = int(invoice.get("amount_paid") or 0)
    row.number = invoice.get("number")
    row.amount_due = int(invoice.get("amount_due") or 0)
    row.currency = (invoice.get("currency") or "usd").upper()
    row.issued_at = from_timestamp(invoice.get("created")) or utcnow()
    row.hosted_invoice_url = invoice.get("hosted_invoice_url")
    row.invoice_pdf = invoice.get("invoice_pdf")
    db.session.flush()
    if action:
        amount = major_units(row.amount_paid if action == "billing.invoice_paid" else row.amount_due, row.currency)
        changes = {"invoice": [None, row.number or row.stripe_invoice_id], "amount": [None, f"{amount} {row.currency}"]}
        audit.record(action, "invoice", row.id, changes, actor=STRIPE_ACTOR)
    return row


# --- seats ---------------------------------------------------------------------------------


def seats_changed(workspace: Workspace) -> None:
    """Called by the members service after a member joins, leaves or is disabled: once the
    change is committed, a job sets the subscription's quantity to the active members. Nothing
    while billing is off or without a live subscription; a rolled-back change queues nothing."""
    if not billing_enabled() or not has_live_subscription(workspace):
        return
    db.session.info.setdefault(SEAT_SYNC_KEY, set()).add(workspace.id)


@sa.event.listens_for(so.Session, "after_commit")
def _sync_seats_after_commit(session: so.Session) -> None:
    for workspace_id in sorted(session.info.pop(SEAT_SYNC_KEY, ())):
        enqueue(sync_seats_task, workspace_id)


@sa.event.listens_for(so.Session, "after_soft_rollback")
def _forget_seat_sync(session: so.Session, previous_transaction) -> None:
    session.info.pop(SEAT_SYNC_KEY, None)


def sync_seats_task() -> None:
    """Job (bound to the workspace): see ``sync_seats``."""
    workspace = db.session.get(Workspace, bound_workspace_id())
    if workspace is not None:
        sync_seats(workspace)


def sync_seats(workspace: Workspace) -> int | None:
    """Sets a per-seat subscription's quantity to the bound workspace's active members; Stripe
    prorates. Returns the new quantity, or None when nothing changed. Never raises for Stripe:
    the member change it follows is done, so a failure is logged and the next change (or the
    next run) catches up."""
    if not billing_enabled() or not has_live_subscription(workspace):
        return None
    plan = plans().get(workspace.plan)
    if plan is None or not plan.per_seat:
        return None
    quantity = active_members()
    try:
        subscription = retrieve_subscription(workspace.stripe_subscription_id)
        item = subscription["items"]["data"][0]
        if item.get("quantity") == quantity:
            return None
        stripe_api.client().v1.subscriptions.update(
            workspace.stripe_subscription_id,
            {"items": [{"id": item["id"], "quantity": quantity}], "proration_behavior": "create_prorations"},
        )
    except (stripe_api.StripeError, KeyError, IndexError) as error:
        log.warning("seat count of workspace %s not sent to Stripe: %s", workspace.id, error)
        return None
    audit.record("billing.seats_changed", "workspace", workspace.id, {"seats": [item.get("quantity"), quantity]},
                 actor=KEHU_ACTOR)  # fmt: skip
    return quantity
