"""Applying one verified Stripe event (the route, crm/billing/routes.py, checks the signature).

Each event id is stored once in ``stripe_events`` (its primary key): a second delivery, even one
racing the first, finds it there and changes nothing. The workspace is found by its Stripe
customer (Checkout also names it in ``client_reference_id``), bound explicitly, and changed in
the same transaction as the event row, so a failure leaves both undone and Stripe's retry starts
over. At most one call to Stripe per event (re-reading the subscription), so the answer is quick.
"""

import logging
from dataclasses import dataclass

import sqlalchemy as sa

from crm.billing import service, stripe_api
from crm.billing.models import StripeEvent
from crm.extensions import db
from crm.tenancy import bind_workspace
from crm.workspaces.models import Workspace

log = logging.getLogger(__name__)

CHECKOUT_COMPLETED = "checkout.session.completed"
SUBSCRIPTION_CHANGED = ("customer.subscription.created", "customer.subscription.updated")
SUBSCRIPTION_DELETED = "customer.subscription.deleted"
INVOICE_PAID, PAYMENT_FAILED = "invoice.paid", "invoice.payment_failed"
# The operator forgave the invoice in Stripe's dashboard: settled like a paid one.
INVOICE_FORGIVEN = ("invoice.voided", "invoice.marked_uncollectible")
INVOICE_ACTIONS = {
    INVOICE_PAID: "billing.invoice_paid",
    PAYMENT_FAILED: "billing.payment_failed",
    "invoice.voided": "billing.invoice_voided",
    "invoice.marked_uncollectible": "billing.invoice_uncollectible",
}
HANDLED = frozenset({CHECKOUT_COMPLETED, *SUBSCRIPTION_CHANGED, SUBSCRIPTION_DELETED, *INVOICE_ACTIONS})


@dataclass
class Outcome:
    result: str  # "applied", "duplicate", "ignored" (unknown type or customer, stale, not ours)
    workspace: Workspace | None = None
    newly_past_due: bool = False  # the owners are to be told, once the change is committed


def handle(event: dict) -> Outcome:
    """Stores the event and applies it, in the session's open transaction (the caller commits)."""
    record = StripeEvent(
        id=event["id"], type=str(event.get("type"))[:100], created=service.from_timestamp(event.get("created"))
    )
    db.session.add(record)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        db.session.rollback()
        log.info("Stripe event %s delivered again: ignored", event["id"])
        return Outcome("duplicate")
    kind, obj = event.get("type"), event["data"]["object"]
    if kind not in HANDLED:
        log.info("Stripe event %s of type %s: not handled", event["id"], kind)
        return Outcome("ignored")
    if bool(event.get("livemode")) != stripe_api.live_mode():
        log.warning("Stripe event %s: livemode %s does not match the key's mode: ignored",
                    event["id"], event.get("livemode"))  # fmt: skip
        return Outcome("ignored")
    if event.get("account"):
        log.warning("Stripe event %s of connected account %s: ignored", event["id"], event["account"])
        return Outcome("ignored")
    workspace = _workspace_for(kind, obj)
    if workspace is None:
        log.warning("Stripe event %s (%s) for customer %s: no workspace has it", event["id"], kind, obj.get("customer"))
        return Outcome("ignored")
    bind_workspace(workspace.id)
    record.applied_to_workspace_id = workspace.id
    created = event.get("created")
    if kind == CHECKOUT_COMPLETED:
        return _checkout_completed(workspace, obj, created)
    if kind in SUBSCRIPTION_CHANGED:
        return _subscription_changed(workspace, obj["id"], created)
    if kind == SUBSCRIPTION_DELETED:
        return _subscription_deleted(workspace, obj, created)
    return _invoice(workspace, obj, created, kind)


def _workspace_for(kind: str, obj: dict) -> Workspace | None:
    """The workspace the event is about, locked for this transaction (a concurrent event of the
    same workspace waits, then reads what this one wrote). Checkout names it; the customer id
    must then be the workspace's own: the app makes the customer before Checkout, and an event
    never writes a customer id onto a workspace."""
    customer_id = service.stripe_id(obj.get("customer"))
    if kind == CHECKOUT_COMPLETED:
        reference = obj.get("client_reference_id") or (obj.get("metadata") or {}).get("workspace_id")
        if reference and str(reference).isdigit():
            workspace = db.session.scalar(sa.select(Workspace).where(Workspace.id == int(reference)).with_for_update())
            if workspace is not None and customer_id and workspace.stripe_customer_id == customer_id:
                return workspace
            if workspace is not None:
                log.warning("Checkout session %s of workspace %s names customer %s, not its own %s",
                            obj.get("id"), workspace.id, customer_id, workspace.stripe_customer_id)  # fmt: skip
                return None
    if not customer_id:
        return None
    return db.session.scalar(sa.select(Workspace).where(Workspace.stripe_customer_id == customer_id).with_for_update())


def _checkout_completed(workspace: Workspace, session: dict, created: int | None) -> Outcome:
    subscription_id = service.stripe_id(session.get("subscription"))
    if session.get("mode") != "subscription" or not subscription_id:
        return Outcome("ignored", workspace)
    if not service.may_adopt(workspace, subscription_id):
        if service.is_stale(workspace, created):  # a late delivery: a newer subscription runs now
            log.info("workspace %s: late Checkout of subscription %s: ignored", workspace.id, subscription_id)
            return Outcome("ignored", workspace)
        # Paid twice (two Checkout tabs, say): the newest purchase wins; the other still bills.
        log.error("workspace %s has two live subscriptions, %s and %s: cancel one in Stripe's dashboard",
                  workspace.id, workspace.stripe_subscription_id, subscription_id)  # fmt: skip
    subscription = _retrieve(workspace, subscription_id)
    if subscription is None:
        return Outcome("ignored", workspace)
    return Outcome("applied", workspace, service.apply_subscription(workspace, subscription, created))


def _retrieve(workspace: Workspace, subscription_id: str) -> dict | None:
    """The subscription as Stripe has it now, or None when it is another customer's."""
    subscription = service.retrieve_subscription(subscription_id)
    customer_id = service.stripe_id(subscription.get("customer"))
    if not customer_id or customer_id != workspace.stripe_customer_id:
        log.warning("workspace %s: subscription %s belongs to customer %s, not its own %s: ignored",
                    workspace.id, subscription_id, customer_id, workspace.stripe_customer_id)  # fmt: skip
        return None
    return subscription


def _subscription_changed(workspace: Workspace, subscription_id: str, created: int | None) -> Outcome:
    if not service.may_adopt(workspace, subscription_id):
        log.info("workspace %s: event about subscription %s, not its own %s: ignored",
                 workspace.id, subscription_id, workspace.stripe_subscription_id)  # fmt: skip
        return Outcome("ignored", workspace)
    if service.is_stale(workspace, created):
        log.info("workspace %s: subscription event older than the state applied: ignored", workspace.id)
        return Outcome("ignored", workspace)
    subscription = _retrieve(workspace, subscription_id)  # the state now, not the event's
    if subscription is None:
        return Outcome("ignored", workspace)
    return Outcome("applied", workspace, service.apply_subscription(workspace, subscription, created))


def _subscription_deleted(workspace: Workspace, subscription: dict, created: int | None) -> Outcome:
    # Final: a deleted subscription never changes again, so its body is the truth.
    if subscription["id"] != workspace.stripe_subscription_id and service.has_live_subscription(workspace):
        log.info("workspace %s: subscription %s deleted, not its own: ignored", workspace.id, subscription["id"])
        return Outcome("ignored", workspace)
    service.end_subscription(workspace, subscription, created)
    return Outcome("applied", workspace)


def _invoice(workspace: Workspace, invoice: dict, created: int | None, kind: str) -> Outcome:
    row = service.upsert_invoice(invoice, INVOICE_ACTIONS[kind])
    if kind in INVOICE_FORGIVEN and row.status not in service.SETTLED_INVOICE_STATUSES:
        row.status = "void" if kind == "invoice.voided" else "uncollectible"  # the event says so
    subscription_id = service.invoice_subscription_id(invoice)
    newly_past_due = False
    if subscription_id and service.may_adopt(workspace, subscription_id) and not service.is_stale(workspace, created):
        # Paid or failed, the subscription's status and period moved with it. An ended one stays
        # ended (``customer.subscription.deleted`` said so); only its invoice is news.
        subscription = _retrieve(workspace, subscription_id)
        if subscription is not None and subscription.get("status") not in service.ENDED_STATUSES:
            newly_past_due = service.apply_subscription(workspace, subscription, created)
    if kind != PAYMENT_FAILED:
        service.settle_debt(workspace)
    return Outcome("applied", workspace, newly_past_due)
