"""Plain helpers of the Stripe billing tests: signed webhook deliveries through the test client,
and workspaces that are already Stripe customers or subscribers of the fake (tests/fake_stripe.py)."""

import json
from types import SimpleNamespace

import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.billing.models import Invoice, StripeEvent
from crm.extensions import db
from crm.tenancy import workspace_scope
from crm.workspaces.models import Workspace

WEBHOOK = "/billing/webhook"
BILLING_COLUMNS = (
    "plan",
    "billing_status",
    "trial_ends_at",
    "stripe_customer_id",
    "stripe_subscription_id",
    "current_period_end",
    "cancel_at_period_end",
    "past_due_since",
    "billing_synced_at",
)


def post_event(client, fake, event: dict, timestamp: int | None = None, secret: str | None = None, header=None):
    """Delivers one event as Stripe would: the JSON body signed with the endpoint secret."""
    payload = json.dumps(event)
    signature = header if header is not None else fake.sign(payload, timestamp, secret)
    return client.post(
        WEBHOOK, data=payload, headers={"Stripe-Signature": signature}, content_type="application/json; charset=utf-8"
    )


def post_events(client, fake, events: list[dict]) -> list:
    responses = [post_event(client, fake, event) for event in events]
    assert [r.status_code for r in responses] == [200] * len(events), [r.get_data(as_text=True) for r in responses]
    return responses


def state(app, ws) -> SimpleNamespace:
    """The workspace's billing columns now."""
    with app.app_context():
        workspace = db.session.get(Workspace, ws.id)
        return SimpleNamespace(**{name: getattr(workspace, name) for name in BILLING_COLUMNS})


def set_columns(app, ws, **values) -> None:
    with app.app_context():
        workspace = db.session.get(Workspace, ws.id)
        for name, value in values.items():
            setattr(workspace, name, value)
        db.session.commit()


def link_customer(app, fake, ws) -> str:
    """The workspace becomes a Stripe customer of the fake, out of its free trial (on Free)."""
    with fake.lock:
        customer = fake.create_customer({"name": ws.name, "email": ws.email, "metadata": {"workspace_id": str(ws.id)}})
    set_columns(app, ws, stripe_customer_id=customer["id"], trial_ends_at=None)
    return customer["id"]


def checkout_events(app, fake, ws, price: str = "price_team", quantity: int = 1) -> list[dict]:
    """The events of a Checkout the workspace completed at the fake (not delivered yet)."""
    customer = state(app, ws).stripe_customer_id or link_customer(app, fake, ws)
    with fake.lock:
        session = fake.create_checkout_session({
            "mode": "subscription", "customer": customer, "client_reference_id": str(ws.id),
            "line_items": [{"price": price, "quantity": str(quantity)}], "metadata": {"workspace_id": str(ws.id)},
            "subscription_data": {"metadata": {"workspace_id": str(ws.id)}}, "success_url": "http://app/ok",
        })  # fmt: skip
    return fake.complete_checkout(session["id"])


def subscribe(app, client, fake, ws, price: str = "price_team", quantity: int = 1) -> str:
    """The workspace pays for a plan; its webhooks are delivered. Returns the subscription id."""
    events = checkout_events(app, fake, ws, price, quantity)
    post_events(client, fake, events)
    return events[0]["data"]["object"]["id"]


def audit_actions(app, ws, prefix: str = "billing.") -> list[tuple[str, str, dict | None]]:
    """(action, actor label, changes) of the workspace's audit entries starting with ``prefix``, oldest first."""
    with app.app_context(), workspace_scope(ws.id):
        entries = db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action.startswith(prefix)).order_by(AuditEntry.id)
        )
        return [(e.action, e.actor_label, e.changes) for e in entries]


def stored_events(app) -> list[tuple[str, str, int | None]]:
    with app.app_context():
        rows = db.session.scalars(sa.select(StripeEvent).order_by(StripeEvent.received_at))
        return [(row.id, row.type, row.applied_to_workspace_id) for row in rows]


def invoices_of(app, ws) -> list[SimpleNamespace]:
    with app.app_context(), workspace_scope(ws.id):
        rows = db.session.scalars(sa.select(Invoice).order_by(Invoice.issued_at, Invoice.id))
        return [SimpleNamespace(number=r.number, status=r.status, amount_due=r.amount_due, amount_paid=r.amount_paid,
                                currency=r.currency, url=r.hosted_invoice_url, stripe_id=r.stripe_invoice_id)
                for r in rows]  # fmt: skip
