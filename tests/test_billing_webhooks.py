"""POST /billing/webhook against the fake Stripe: each event type, duplicates, out-of-order
deliveries, signatures, unknown customers and types, isolation between workspaces, billing off."""

import json
import logging
import time
from datetime import timedelta

import sqlalchemy as sa
import stripe

from crm.billing import webhooks
from crm.billing.plans import current_plan, read_only
from crm.contacts.models import Contact
from crm.db import utcnow
from crm.extensions import db
from crm.tenancy import workspace_scope
from crm.workspaces.models import Workspace
from tests.billing_helpers import (
    WEBHOOK,
    audit_actions,
    checkout_events,
    invoices_of,
    link_customer,
    post_event,
    post_events,
    set_columns,
    state,
    stored_events,
    subscribe,
)
from tests.conftest import post
from tests.factories import make_contact, make_member


def event_types(events):
    return [event["type"] for event in events]


def retrieves(fake) -> int:
    return len(fake.calls("GET", "/v1/subscriptions/"))


# --- each event type ------------------------------------------------------------------------


def test_checkout_completed_puts_the_workspace_on_the_paid_plan(app, client, stripe_billing, ws_a):
    events = checkout_events(app, stripe_billing, ws_a, quantity=1)
    assert event_types(events) == ["customer.subscription.created", "invoice.paid", "checkout.session.completed"]
    completed = events[-1]
    response = post_event(client, stripe_billing, completed)
    assert response.status_code == 200
    assert response.get_json() == {"received": True, "result": "applied"}
    after = state(app, ws_a)
    subscription = stripe_billing.subscriptions[completed["data"]["object"]["subscription"]]
    assert (after.plan, after.billing_status) == ("team", "active")
    assert after.stripe_subscription_id == subscription["id"]
    assert int(after.current_period_end.timestamp()) == subscription["items"]["data"][0]["current_period_end"]
    assert after.cancel_at_period_end is False and after.past_due_since is None
    assert int(after.billing_synced_at.timestamp()) == completed["created"]
    assert stored_events(app) == [(completed["id"], "checkout.session.completed", ws_a.id)]
    [(action, actor, changes)] = audit_actions(app, ws_a)
    assert (action, actor) == ("billing.subscription_changed", "Stripe")
    assert changes["plan"] == ["free", "team"] and changes["billing_status"] == [None, "active"]
    with app.app_context():
        assert current_plan(db.session.get(Workspace, ws_a.id)).max_members == 25


def test_subscription_created_before_checkout_completed_is_applied_too(app, client, stripe_billing, ws_a):
    created, _paid, completed = checkout_events(app, stripe_billing, ws_a)
    post_events(client, stripe_billing, [created])
    assert (state(app, ws_a).plan, state(app, ws_a).billing_status) == ("team", "active")
    post_events(client, stripe_billing, [completed])
    assert state(app, ws_a).stripe_subscription_id == created["data"]["object"]["id"]
    # The second event found nothing new: one audit entry for the change.
    assert [a for a, _, _ in audit_actions(app, ws_a)] == ["billing.subscription_changed"]


def test_subscription_updated_reads_the_state_from_stripe(app, client, stripe_billing, ws_a):
    subscription_id = subscribe(app, client, stripe_billing, ws_a)
    [event] = stripe_billing.set_cancel_at_period_end(subscription_id, True)
    # The event's body is only a hint: the app asks Stripe for the subscription as it is now.
    event["data"]["object"]["cancel_at_period_end"] = False
    before = retrieves(stripe_billing)
    post_events(client, stripe_billing, [event])
    assert retrieves(stripe_billing) == before + 1
    assert state(app, ws_a).cancel_at_period_end is True
    assert audit_actions(app, ws_a)[-1][2]["cancel_at_period_end"] == [False, True]

    [event] = stripe_billing.change_price(subscription_id, "price_business")
    post_events(client, stripe_billing, [event])
    assert state(app, ws_a).plan == "business"


def test_subscription_deleted_falls_back_to_free_and_keeps_every_record(app, client, stripe_billing, ws_a):
    subscription_id = subscribe(app, client, stripe_billing, ws_a)
    for n in range(3):
        make_contact(app, ws_a, f"Customer {n}")
    make_member(app, ws_a, "third@example.com")
    make_member(app, ws_a, "fourth@example.com")  # more members than Free allows
    post_events(client, stripe_billing, stripe_billing.set_cancel_at_period_end(subscription_id, True))
    [deleted] = stripe_billing.cancel_now(subscription_id)
    before = retrieves(stripe_billing)
    post_events(client, stripe_billing, [deleted])
    assert retrieves(stripe_billing) == before  # final: no need to ask
    after = state(app, ws_a)
    assert (after.plan, after.billing_status, after.cancel_at_period_end) == ("free", "canceled", False)
    assert after.stripe_subscription_id == subscription_id
    with app.app_context(), workspace_scope(ws_a.id):
        assert current_plan(db.session.get(Workspace, ws_a.id)).key == "free"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Contact)) == 3
    assert audit_actions(app, ws_a)[-1][0] == "billing.subscription_ended"


def test_invoice_paid_is_stored_with_its_link(app, client, stripe_billing, ws_a):
    events = checkout_events(app, stripe_billing, ws_a, quantity=3)
    post_events(client, stripe_billing, [events[1]])  # invoice.paid alone
    [invoice] = invoices_of(app, ws_a)
    sent = events[1]["data"]["object"]
    assert (invoice.number, invoice.status, invoice.amount_paid, invoice.currency) == (
        sent["number"],
        "paid",
        4500,
        "USD",
    )
    assert invoice.url == sent["hosted_invoice_url"]
    assert state(app, ws_a).plan == "team"  # the subscription it pays for was read as well
    assert ("billing.invoice_paid", "Stripe", {"invoice": [None, sent["number"]], "amount": [None, "45.00 USD"]}) in (
        audit_actions(app, ws_a)
    )


def test_payment_failed_makes_the_workspace_past_due_and_tells_its_owners_once(
    app, client, stripe_billing, ws_a, mailbox
):
    subscription_id = subscribe(app, client, stripe_billing, ws_a)
    make_member(app, ws_a, "admin@example.com", role="admin")  # no billing.manage: not told
    make_member(app, ws_a, "co-owner@example.com", role="owner")
    mailbox.messages.clear()
    failed, updated = stripe_billing.fail_renewal(subscription_id)
    assert event_types([failed, updated]) == ["invoice.payment_failed", "customer.subscription.updated"]
    post_events(client, stripe_billing, [failed])
    after = state(app, ws_a)
    assert after.billing_status == "past_due" and after.past_due_since is not None
    assert abs(after.past_due_since.timestamp() - failed["created"]) < 1
    assert sorted(message["To"] for message in mailbox.messages) == [ws_a.email, "co-owner@example.com"]
    body = mailbox.messages[0].get_body(("plain",)).get_content()
    grace_end = after.past_due_since + timedelta(days=app.config["BILLING_GRACE_DAYS"])
    assert "read-only" in body and str(grace_end.year) in body and f"/w/{ws_a.slug}/settings/billing" in body
    assert mailbox.messages[0]["Subject"] == f"Payment failed for {ws_a.name} on Kehu"
    [invoice] = [i for i in invoices_of(app, ws_a) if i.status == "open"]
    assert invoice.amount_due == 1500 and invoice.amount_paid == 0

    # The subscription's own update, and Stripe's next retry, tell nobody again.
    post_events(client, stripe_billing, [updated])
    retry = stripe_billing.event("invoice.payment_failed", failed["data"]["object"])
    post_events(client, stripe_billing, [retry])
    assert len(mailbox.messages) == 2
    assert state(app, ws_a).past_due_since == after.past_due_since  # the grace period does not restart
    assert "billing.payment_failed" in [a for a, _, _ in audit_actions(app, ws_a)]


def test_paying_the_open_invoice_clears_past_due(app, client, stripe_billing, ws_a):
    subscription_id = subscribe(app, client, stripe_billing, ws_a)
    post_events(client, stripe_billing, stripe_billing.fail_renewal(subscription_id))
    assert state(app, ws_a).past_due_since is not None
    stripe_billing.clock_offset = 5
    post_events(client, stripe_billing, stripe_billing.pay_open_invoice(subscription_id))
    after = state(app, ws_a)
    assert (after.billing_status, after.past_due_since) == ("active", None)
    assert {i.status for i in invoices_of(app, ws_a)} == {"paid"}


# --- deliveries: duplicates, order, signatures ----------------------------------------------


def test_a_duplicate_delivery_is_a_no_op(app, client, stripe_billing, ws_a):
    events = checkout_events(app, stripe_billing, ws_a)
    post_events(client, stripe_billing, events)
    entries, calls = audit_actions(app, ws_a), len(stripe_billing.requests)
    for event in events:
        response = post_event(client, stripe_billing, event)
        assert response.status_code == 200
        assert response.get_json()["result"] == "duplicate"
    assert audit_actions(app, ws_a) == entries
    assert len(stripe_billing.requests) == calls  # not even a look at Stripe
    assert len(stored_events(app)) == 3
    assert len(invoices_of(app, ws_a)) == 1


def test_an_older_event_never_overwrites_a_newer_state(app, client, stripe_billing, ws_a, mailbox):
    subscription_id = subscribe(app, client, stripe_billing, ws_a)
    failed, went_past_due = stripe_billing.fail_renewal(subscription_id)  # at t
    stripe_billing.clock_offset = 60
    paid, back_to_active = stripe_billing.pay_open_invoice(subscription_id)  # at t + 60
    mailbox.messages.clear()
    post_events(client, stripe_billing, [paid, back_to_active])
    synced = state(app, ws_a)
    assert (synced.billing_status, synced.past_due_since) == ("active", None)
    assert int(synced.billing_synced_at.timestamp()) == back_to_active["created"]

    calls = retrieves(stripe_billing)
    responses = post_events(client, stripe_billing, [went_past_due, failed])  # late deliveries of older news
    assert [r.get_json()["result"] for r in responses] == ["ignored", "applied"]
    assert retrieves(stripe_billing) == calls  # too old to be worth asking Stripe about
    after = state(app, ws_a)
    assert (after.billing_status, after.past_due_since, after.billing_synced_at) == (
        "active",
        None,
        synced.billing_synced_at,
    )
    assert {i.status for i in invoices_of(app, ws_a)} == {"paid"}  # a paid invoice is not reopened
    assert mailbox.messages == []


def test_an_older_cancellation_does_not_end_a_newer_subscription(app, client, stripe_billing, ws_a):
    old = subscribe(app, client, stripe_billing, ws_a)
    [old_deleted] = stripe_billing.cancel_now(old)
    post_events(client, stripe_billing, [old_deleted])
    stripe_billing.clock_offset = 5
    new = subscribe(app, client, stripe_billing, ws_a, price="price_business")
    assert (state(app, ws_a).plan, state(app, ws_a).stripe_subscription_id) == ("business", new)
    # Stripe delivers the old subscription's events again: they belong to a subscription that is over.
    old_update = stripe_billing.event("customer.subscription.updated", stripe_billing.subscriptions[old])
    old_deleted_again = stripe_billing.event("customer.subscription.deleted", old_deleted["data"]["object"])
    responses = post_events(client, stripe_billing, [old_deleted_again, old_update])
    assert [r.get_json()["result"] for r in responses] == ["ignored", "ignored"]
    after = state(app, ws_a)
    assert (after.plan, after.billing_status, after.stripe_subscription_id) == ("business", "active", new)


def test_a_late_checkout_of_an_ended_subscription_changes_nothing(app, client, stripe_billing, ws_a):
    created, paid, completed = checkout_events(app, stripe_billing, ws_a)
    post_events(client, stripe_billing, [created, paid])  # checkout.session.completed is held up
    post_events(client, stripe_billing, stripe_billing.cancel_now(created["data"]["object"]["id"]))
    stripe_billing.clock_offset = 5
    new = subscribe(app, client, stripe_billing, ws_a, price="price_business")
    assert post_event(client, stripe_billing, completed).get_json()["result"] == "ignored"
    after = state(app, ws_a)
    assert (after.plan, after.billing_status, after.stripe_subscription_id) == ("business", "active", new)


def test_paying_twice_keeps_the_newest_subscription_and_says_so(app, client, stripe_billing, ws_a, caplog):
    first = subscribe(app, client, stripe_billing, ws_a)
    stripe_billing.clock_offset = 5
    events = checkout_events(app, stripe_billing, ws_a, price="price_business")  # a second tab, paid too
    responses = post_events(client, stripe_billing, events)
    assert [r.get_json()["result"] for r in responses] == ["ignored", "applied", "applied"]
    second = events[0]["data"]["object"]["id"]
    after = state(app, ws_a)
    assert (after.plan, after.stripe_subscription_id) == ("business", second)
    assert f"two live subscriptions, {first} and {second}" in caplog.text


def test_bad_signatures_are_refused(app, client, stripe_billing, ws_a, caplog):
    link_customer(app, stripe_billing, ws_a)
    [event] = checkout_events(app, stripe_billing, ws_a)[-1:]
    before = state(app, ws_a)
    payload = json.dumps(event)
    wrong_secret = post_event(client, stripe_billing, event, secret="whsec_someone_else")
    stale = post_event(client, stripe_billing, event, timestamp=int(time.time()) - 301)
    tampered = client.post(WEBHOOK, data=payload.replace('"complete"', '"open"'),
                           headers={"Stripe-Signature": stripe_billing.sign(payload)})  # fmt: skip
    missing = client.post(WEBHOOK, data=payload)
    garbage = post_event(client, stripe_billing, event, header="t=abc,v1=def")
    for response in (wrong_secret, stale, tampered, missing, garbage):
        assert response.status_code == 400
    assert "Timestamp outside the tolerance zone" in caplog.text
    assert stored_events(app) == []
    assert state(app, ws_a) == before


def test_a_signed_body_that_is_no_event_is_refused(app, client, stripe_billing):
    for body in ('{"not": "an event"}', "[1, 2]", "not json", '{"object": "event", "id": "evt_1", "type": "x"}'):
        response = client.post(WEBHOOK, data=body, headers={"Stripe-Signature": stripe_billing.sign(body)})
        assert response.status_code == 400, body
    latin = "caf\xe9".encode("latin-1")
    response = client.post(WEBHOOK, data=latin, headers={"Stripe-Signature": stripe_billing.sign("café")})
    assert response.status_code == 400
    assert stored_events(app) == []


def test_unknown_customers_and_event_types_are_acknowledged_and_logged(app, client, stripe_billing, ws_a, caplog):
    link_customer(app, stripe_billing, ws_a)
    before = state(app, ws_a)
    stranger = stripe_billing.create_customer({"name": "Not ours"})
    invoice = {"id": "in_x", "object": "invoice", "customer": stranger["id"], "status": "paid", "amount_due": 100,
               "amount_paid": 100, "currency": "usd", "created": 1}  # fmt: skip
    unknown_customer = stripe_billing.event("invoice.paid", invoice)
    unknown_type = stripe_billing.event("customer.updated", stripe_billing.customers[before.stripe_customer_id])
    with caplog.at_level(logging.INFO, logger="crm.billing.webhooks"):
        responses = post_events(client, stripe_billing, [unknown_customer, unknown_type])
    assert [r.get_json()["result"] for r in responses] == ["ignored", "ignored"]
    assert f"for customer {stranger['id']}: no workspace has it" in caplog.text
    assert "of type customer.updated: not handled" in caplog.text
    assert state(app, ws_a) == before
    assert invoices_of(app, ws_a) == []
    assert sorted((kind, applied) for _, kind, applied in stored_events(app)) == [
        ("customer.updated", None),
        ("invoice.paid", None),
    ]
    # Stored all the same: the next delivery of either is a no-op.
    assert post_event(client, stripe_billing, unknown_type).get_json()["result"] == "duplicate"


def test_an_event_for_one_workspace_never_changes_another(app, client, stripe_billing, ws_a, ws_b):
    link_customer(app, stripe_billing, ws_b)
    b_before = state(app, ws_b)
    subscription_id = subscribe(app, client, stripe_billing, ws_a)
    post_events(client, stripe_billing, stripe_billing.fail_renewal(subscription_id))
    assert state(app, ws_a).billing_status == "past_due"
    assert state(app, ws_b) == b_before
    assert invoices_of(app, ws_b) == [] and len(invoices_of(app, ws_a)) == 2
    assert audit_actions(app, ws_b) == []


def test_a_checkout_naming_another_workspace_than_its_customer_is_ignored(app, client, stripe_billing, ws_a, ws_b):
    link_customer(app, stripe_billing, ws_b)
    events = checkout_events(app, stripe_billing, ws_a)
    completed = events[-1]
    completed["data"]["object"]["client_reference_id"] = str(ws_b.id)  # B's id with A's customer
    b_before = state(app, ws_b)
    post_events(client, stripe_billing, [completed])
    assert state(app, ws_b) == b_before


def test_stripe_unreachable_answers_503_so_stripe_retries(app, client, stripe_billing, ws_a, caplog):
    events = checkout_events(app, stripe_billing, ws_a)
    stripe_billing.fail_api = True
    assert post_event(client, stripe_billing, events[-1]).status_code == 503
    assert stored_events(app) == [] and state(app, ws_a).plan == "free"
    stripe_billing.fail_api = False
    assert post_event(client, stripe_billing, events[-1]).get_json()["result"] == "applied"
    assert state(app, ws_a).plan == "team"


def test_billing_off_has_no_webhook(app, client, fake_stripe):
    assert app.config["STRIPE_SECRET_KEY"] == ""
    body = json.dumps({"id": "evt_1", "object": "event", "type": "invoice.paid", "created": 1, "data": {"object": {}}})
    response = client.post(WEBHOOK, data=body, headers={"Stripe-Signature": fake_stripe.sign(body)})
    assert response.status_code == 404
    assert stored_events(app) == []


def test_the_webhook_needs_no_csrf_token_and_no_session(app, stripe_billing, ws_a):
    events = checkout_events(app, stripe_billing, ws_a)
    fresh = app.test_client()  # no cookie, no CSRF token: as Stripe calls
    assert post_event(fresh, stripe_billing, events[-1]).status_code == 200


def test_webhook_changes_are_audited_as_stripe_without_a_signed_in_user(app, client, auth, stripe_billing, ws_a):
    auth.login(ws_a.email, ws_a.password)  # the same client signed in: the actor is still Stripe
    subscribe(app, client, stripe_billing, ws_a)
    assert {actor for _, actor, _ in audit_actions(app, ws_a)} == {"Stripe"}


def test_the_free_trial_ends_when_stripe_starts_billing(app, client, stripe_billing, ws_a):
    link_customer(app, stripe_billing, ws_a)
    set_columns(app, ws_a, trial_ends_at=utcnow() + timedelta(days=10))
    subscribe(app, client, stripe_billing, ws_a, price="price_business")
    after = state(app, ws_a)
    assert (after.trial_ends_at, after.plan) == (None, "business")


# --- a debt outlives its subscription -----------------------------------------------------


def read_only_after_failed_renewal(app, client, fake, ws) -> str:
    """A subscriber whose renewal failed past the grace period; returns the subscription id."""
    subscription_id = subscribe(app, client, fake, ws)
    post_events(client, fake, fake.fail_renewal(subscription_id))
    set_columns(app, ws, past_due_since=utcnow() - timedelta(days=30))
    return subscription_id


def is_read_only(app, ws) -> bool:
    with app.app_context(), workspace_scope(ws.id):
        return read_only(db.session.get(Workspace, ws.id))


def add_note(client, ws):
    return post(client, f"/w/{ws.slug}/notes/", {"body": "Call back at nine"})


def test_canceling_while_read_only_keeps_the_debt_and_the_wall(app, client, auth, stripe_billing, ws_a):
    subscription_id = read_only_after_failed_renewal(app, client, stripe_billing, ws_a)
    since = state(app, ws_a).past_due_since
    # The owner cancels in the Customer Portal, or Stripe cancels after the last retry.
    post_events(client, stripe_billing, stripe_billing.cancel_now(subscription_id))
    after = state(app, ws_a)
    assert (after.plan, after.billing_status, after.past_due_since) == ("free", "canceled", since)
    auth.login(ws_a.email, ws_a.password)
    assert add_note(client, ws_a).status_code == 402
    # The billing page still leads to Stripe's portal, where the open invoice is paid.
    page = client.get(f"/w/{ws_a.slug}/settings/billing/").get_data(as_text=True)
    assert 'action="/w/alpha-trading/settings/billing/portal"' in page and "Pay the open invoice" in page
    portal = post(client, f"/w/{ws_a.slug}/settings/billing/portal", {})
    assert portal.status_code == 303 and portal.headers["Location"].startswith(stripe_billing.url)
    # A new subscription pays for the new plan, not for the old invoice.
    post_events(client, stripe_billing, checkout_events(app, stripe_billing, ws_a))
    assert state(app, ws_a).billing_status == "active" and is_read_only(app, ws_a)


def test_paying_the_old_invoice_after_the_cancellation_lifts_the_wall(app, client, auth, stripe_billing, ws_a):
    subscription_id = read_only_after_failed_renewal(app, client, stripe_billing, ws_a)
    post_events(client, stripe_billing, stripe_billing.cancel_now(subscription_id))
    post_events(client, stripe_billing, stripe_billing.pay_open_invoice(subscription_id))
    after = state(app, ws_a)
    assert after.past_due_since is None and not is_read_only(app, ws_a)
    assert (after.plan, after.billing_status) == ("free", "canceled")  # the ended subscription stays ended
    assert audit_actions(app, ws_a)[-1][0] == "billing.debt_settled"
    auth.login(ws_a.email, ws_a.password)
    assert add_note(client, ws_a).status_code == 303


def forgive(fake, subscription_id: str, kind: str, status: str) -> dict:
    with fake.lock:
        invoice = fake.invoices[fake.subscriptions[subscription_id]["latest_invoice"]]
        invoice["status"] = status
        return fake.event(kind, invoice)


def test_a_voided_or_uncollectible_invoice_settles_the_debt(app, client, stripe_billing, ws_a, ws_b):
    for ws, kind, status in ((ws_a, "invoice.voided", "void"), (ws_b, "invoice.marked_uncollectible", "uncollectible")):
        subscription_id = read_only_after_failed_renewal(app, client, stripe_billing, ws)
        post_events(client, stripe_billing, stripe_billing.cancel_now(subscription_id))
        assert is_read_only(app, ws)
        [response] = post_events(client, stripe_billing, [forgive(stripe_billing, subscription_id, kind, status)])
        assert response.get_json()["result"] == "applied"
        assert state(app, ws).past_due_since is None and not is_read_only(app, ws)
        assert invoices_of(app, ws)[-1].status == status


def test_a_new_subscriptions_first_invoice_does_not_settle_an_older_one(app, client, stripe_billing, ws_a):
    subscription_id = read_only_after_failed_renewal(app, client, stripe_billing, ws_a)
    post_events(client, stripe_billing, stripe_billing.cancel_now(subscription_id))
    post_events(client, stripe_billing, checkout_events(app, stripe_billing, ws_a))
    assert [i.status for i in invoices_of(app, ws_a)] == ["paid", "open", "paid"]
    assert is_read_only(app, ws_a)
    post_events(client, stripe_billing, stripe_billing.pay_open_invoice(subscription_id)[:1])
    assert not is_read_only(app, ws_a) and state(app, ws_a).plan == "team"


# --- hardening ----------------------------------------------------------------------------


def signed_event(fake, kind: str, obj: dict, **extra) -> dict:
    event = fake.event(kind, obj)
    event.update(extra)
    return event


def test_checkout_never_gives_a_workspace_a_customer(app, client, stripe_billing, ws_a, ws_b, caplog):
    """A Checkout naming a workspace without a customer (or with another one) is ignored: the app
    always makes the customer first, so the event cannot be one of ours."""
    subscription_b = subscribe(app, client, stripe_billing, ws_b)
    b_before = state(app, ws_b)
    set_columns(app, ws_a, stripe_customer_id=None, trial_ends_at=None)
    a_before = state(app, ws_a)
    session = {"id": "cs_x", "object": "checkout.session", "mode": "subscription", "client_reference_id": str(ws_a.id),
               "customer": b_before.stripe_customer_id, "subscription": subscription_b}  # fmt: skip
    caplog.set_level(logging.WARNING, "crm.billing.webhooks")
    [response] = post_events(
        client, stripe_billing, [signed_event(stripe_billing, "checkout.session.completed", session)]
    )
    assert response.get_json()["result"] == "ignored"
    assert state(app, ws_a) == a_before and state(app, ws_b) == b_before
    assert "names customer" in caplog.text


def test_a_subscription_of_another_customer_is_not_adopted(app, client, stripe_billing, ws_a, ws_b, caplog):
    subscription_b = subscribe(app, client, stripe_billing, ws_b)
    link_customer(app, stripe_billing, ws_a)
    a_before = state(app, ws_a)
    # An event under A's customer naming B's subscription: re-read, it is B's customer's.
    with stripe_billing.lock:
        body = dict(stripe_billing.subscriptions[subscription_b], customer=a_before.stripe_customer_id)
    caplog.set_level(logging.WARNING, "crm.billing.webhooks")
    [response] = post_events(
        client, stripe_billing, [signed_event(stripe_billing, "customer.subscription.updated", body)]
    )
    assert response.get_json()["result"] == "ignored"
    assert state(app, ws_a) == a_before
    assert "not its own" in caplog.text


def test_events_of_the_other_mode_or_of_connected_accounts_are_ignored(app, client, stripe_billing, ws_a):
    events = checkout_events(app, stripe_billing, ws_a)
    live = [dict(event, id=event["id"] + "_live", livemode=True) for event in events]
    connected = [dict(event, id=event["id"] + "_acct", account="acct_123") for event in events]
    for response in post_events(client, stripe_billing, live + connected):
        assert response.get_json()["result"] == "ignored"
    assert state(app, ws_a).plan == "free"
    post_events(client, stripe_billing, events)
    assert state(app, ws_a).plan == "team"


def test_live_keys_take_only_live_events(app, client, stripe_billing, ws_a, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_live_fake")
    [created, *_rest] = checkout_events(app, stripe_billing, ws_a)
    assert post_event(client, stripe_billing, created).get_json()["result"] == "ignored"
    live = dict(created, id=created["id"] + "_live", livemode=True)
    assert post_event(client, stripe_billing, live).get_json()["result"] == "applied"


def test_a_constraint_refusing_an_event_is_acknowledged_not_retried(
    app, client, stripe_billing, ws_a, ws_b, caplog, monkeypatch
):
    subscribe(app, client, stripe_billing, ws_b)
    subscription_b = state(app, ws_b).stripe_subscription_id
    link_customer(app, stripe_billing, ws_a)

    # Two workspaces would hold one subscription: say the database refuses it.
    def refuse(*args, **kwargs):
        raise sa.exc.IntegrityError("UPDATE workspaces", {}, Exception("duplicate key"))

    monkeypatch.setattr(webhooks, "_subscription_changed", refuse)
    caplog.set_level(logging.ERROR, "crm.billing.routes")
    with stripe_billing.lock:
        body = stripe_billing.subscriptions[subscription_b]
    event = signed_event(stripe_billing, "customer.subscription.updated", body)
    response = post_event(client, stripe_billing, event)
    assert response.status_code == 200 and response.get_json()["result"] == "ignored"
    assert "a constraint refused it" in caplog.text
    assert event["id"] not in [row[0] for row in stored_events(app)]


def test_an_empty_webhook_secret_accepts_nothing(app, client, stripe_billing, ws_a, monkeypatch):
    subscription_id = subscribe(app, client, stripe_billing, ws_a)
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", "")
    [deleted] = stripe_billing.cancel_now(subscription_id)
    header = stripe.WebhookSignature.generate_signature_header(json.dumps(deleted), "")
    assert post_event(client, stripe_billing, deleted, header=header).status_code == 400
    assert state(app, ws_a).plan == "team"
