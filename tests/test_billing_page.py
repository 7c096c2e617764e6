"""Settings → Billing against the fake Stripe: the page, Checkout and the Customer Portal, who may
open them, isolation between workspaces, seat sync, and billing off without keys."""

import re
from datetime import timedelta

import sqlalchemy as sa

from crm.db import utcnow
from crm.extensions import db
from crm.tenancy import workspace_scope
from crm.workspaces.models import Membership
from tests.billing_helpers import (
    audit_actions,
    link_customer,
    post_events,
    set_columns,
    state,
    subscribe,
)
from tests.conftest import post
from tests.factories import make_invitation, make_member
from tests.test_pages import assert_valid_page

HTMX = {"HX-Request": "true", "HX-Boosted": "true"}


def billing_url(ws) -> str:
    return f"/w/{ws.slug}/settings/billing/"


def signed_in(auth, who):
    auth.login(who.email, who.password)


def checkout(client, ws, plan: str = "team", headers=None):
    return post(client, f"{billing_url(ws)}checkout", {"plan": plan}, headers=headers)


def page_text(client, ws) -> str:
    response = client.get(billing_url(ws))
    assert response.status_code == 200
    return response.get_data(as_text=True)


# --- billing off ----------------------------------------------------------------------------


def test_billing_off_has_no_billing_page_and_no_tab(app, client, auth, ws_a):
    assert app.config["STRIPE_SECRET_KEY"] == ""
    signed_in(auth, ws_a)
    assert client.get(billing_url(ws_a)).status_code == 404
    assert checkout(client, ws_a).status_code == 404
    assert post(client, f"{billing_url(ws_a)}portal", {}).status_code == 404
    settings = client.get(f"/w/{ws_a.slug}/settings").get_data(as_text=True)
    assert "/settings/billing" not in settings and ">Billing<" not in settings


# --- the page -------------------------------------------------------------------------------


def test_the_owner_sees_plan_usage_plans_and_the_tab(app, client, auth, stripe_billing, ws_a):
    set_columns(app, ws_a, trial_ends_at=None)
    make_member(app, ws_a, "sam@example.com")
    signed_in(auth, ws_a)
    html = page_text(client, ws_a)
    assert_valid_page(html, billing_url(ws_a))
    assert re.search(r'id="current-plan">Free<', html)
    assert re.search(r'id="usage-members">\s*<th scope="row">[^<]+</th>\s*<td>2</td>\s*<td>2</td>', html)
    assert re.search(r'id="usage-contacts">\s*<th scope="row">Contacts</th>\s*<td>0</td>\s*<td>1,000</td>', html)
    assert "Upgrade to Team" in html and "Upgrade to Business" in html
    assert "Manage card" not in html  # not a Stripe customer yet
    assert "No invoices yet." in html
    settings = client.get(f"/w/{ws_a.slug}/settings").get_data(as_text=True)
    assert f'href="/w/{ws_a.slug}/settings/billing/"' in settings


def test_the_page_allows_forms_to_go_to_stripe(app, client, auth, stripe_billing, ws_a):
    signed_in(auth, ws_a)
    policy = client.get(billing_url(ws_a)).headers["Content-Security-Policy"]
    assert f"form-action 'self' {stripe_billing.url};" in policy
    app.config["STRIPE_API_BASE"] = "https://api.stripe.com"  # restored by the fixture's monkeypatch
    policy = client.get(billing_url(ws_a)).headers["Content-Security-Policy"]
    assert "form-action 'self' https://checkout.stripe.com https://billing.stripe.com;" in policy


def test_a_local_trial_is_shown_with_its_end(app, client, auth, stripe_billing, ws_a):
    set_columns(app, ws_a, trial_ends_at=utcnow() + timedelta(days=10))
    signed_in(auth, ws_a)
    html = page_text(client, ws_a)
    assert re.search(r'id="current-plan">Team<', html)
    assert "Free trial until" in html and "Subscribe to Team" in html


def test_status_words_for_each_state(app, client, auth, stripe_billing, ws_a):
    signed_in(auth, ws_a)
    subscribe(app, client, stripe_billing, ws_a)
    html = page_text(client, ws_a)
    assert re.search(r'id="current-plan">Team<', html) and "Renews on" in html and "Manage card" in html
    assert "Change to Business" in html and "Upgrade to Team" not in html and "Upgrade to Business" not in html
    set_columns(app, ws_a, cancel_at_period_end=True)
    assert "Cancels at the end of the period" in page_text(client, ws_a)
    set_columns(
        app, ws_a, billing_status="past_due", past_due_since=utcnow() - timedelta(days=2), cancel_at_period_end=False
    )
    assert "Past due: update the card by" in page_text(client, ws_a)
    set_columns(app, ws_a, past_due_since=utcnow() - timedelta(days=8))
    assert "Read-only: the invoice of" in page_text(client, ws_a)
    set_columns(app, ws_a, billing_status="canceled", plan="free", past_due_since=None)
    html = page_text(client, ws_a)
    assert re.search(r'id="current-plan">Free<', html) and "Ended on" in html and "nothing was deleted" in html
    assert "Upgrade to Team" in html  # a new subscription goes through Checkout again


def test_invoices_are_listed_with_amount_status_and_link(app, client, auth, stripe_billing, ws_a, ws_b):
    signed_in(auth, ws_a)
    subscription_id = subscribe(app, client, stripe_billing, ws_a, quantity=2)
    post_events(client, stripe_billing, stripe_billing.fail_renewal(subscription_id))
    html = page_text(client, ws_a)
    invoices = [i for i in stripe_billing.invoices.values()]
    for invoice in invoices:
        assert invoice["number"] in html and invoice["hosted_invoice_url"] in html
    assert_valid_page(html, billing_url(ws_a))
    assert "$30.00" in html and ">Paid<" in html and ">Open<" in html
    assert 'data-hx-boost="false"' in html
    # Workspace B's owner sees none of it on B's page, and cannot open A's.
    auth.logout()
    signed_in(auth, ws_b)
    other = page_text(client, ws_b)
    assert all(invoice["number"] not in other for invoice in invoices)
    assert client.get(billing_url(ws_a)).status_code == 404


def test_only_members_with_billing_manage_may_open_it(app, client, auth, stripe_billing, ws_a):
    admin = make_member(app, ws_a, "admin@example.com", role="admin")
    viewer = make_member(app, ws_a, "viewer@example.com", role="viewer")
    for member in (admin, viewer):
        signed_in(auth, member)
        assert client.get(billing_url(ws_a)).status_code == 403
        assert checkout(client, ws_a).status_code == 403
        assert post(client, f"{billing_url(ws_a)}portal", {}).status_code == 403
        settings = client.get(f"/w/{ws_a.slug}/settings/members/").get_data(as_text=True)
        assert "/settings/billing" not in settings
        auth.logout()
    assert stripe_billing.requests == []


# --- Checkout -------------------------------------------------------------------------------


def test_checkout_creates_the_customer_once_and_sends_the_workspace_along(app, client, auth, stripe_billing, ws_a):
    set_columns(app, ws_a, trial_ends_at=None)
    make_member(app, ws_a, "sam@example.com")
    make_member(app, ws_a, "off@example.com", status="disabled")  # not billed
    signed_in(auth, ws_a)
    response = checkout(client, ws_a)
    assert response.status_code == 303
    [session] = stripe_billing.checkout_sessions.values()
    assert response.headers["Location"] == session["url"] == f"{stripe_billing.url}/checkout/{session['id']}"
    [customer] = stripe_billing.customers.values()
    assert customer["metadata"] == {"workspace_id": str(ws_a.id), "workspace_slug": ws_a.slug}
    assert customer["email"] == ws_a.email and customer["name"] == ws_a.name
    assert state(app, ws_a).stripe_customer_id == customer["id"]
    [params] = stripe_billing.calls("POST", "/v1/checkout/sessions")
    assert params["mode"] == "subscription" and params["customer"] == customer["id"]
    assert params["client_reference_id"] == str(ws_a.id)
    assert params["line_items"] == [{"price": "price_team", "quantity": "2"}]
    assert params["metadata"] == {"workspace_id": str(ws_a.id), "plan": "team"}
    assert params["subscription_data"] == {"metadata": {"workspace_id": str(ws_a.id), "plan": "team"}}
    assert params["success_url"] == f"http://localhost/w/{ws_a.slug}/settings/billing/?checkout=success"
    assert params["cancel_url"] == f"http://localhost/w/{ws_a.slug}/settings/billing/?checkout=canceled"

    # Back without paying, then again (with htmx): the same customer.
    assert "Nothing was charged" in client.get(f"{billing_url(ws_a)}?checkout=canceled").get_data(as_text=True)
    again = checkout(client, ws_a, "business", headers=HTMX)
    assert again.status_code == 204 and again.headers["HX-Redirect"].startswith(f"{stripe_billing.url}/checkout/")
    assert len(stripe_billing.customers) == 1 and len(stripe_billing.calls("POST", "/v1/customers")) == 1
    assert stripe_billing.calls("POST", "/v1/checkout/sessions")[-1]["customer"] == customer["id"]
    assert [a for a, _, _ in audit_actions(app, ws_a)] == ["billing.checkout_started"] * 2
    assert audit_actions(app, ws_a)[0][1] == ws_a.email


def test_a_trial_carries_its_remaining_days_into_the_subscription(app, client, auth, stripe_billing, ws_a):
    ends = utcnow() + timedelta(days=10)
    set_columns(app, ws_a, trial_ends_at=ends)
    signed_in(auth, ws_a)
    assert checkout(client, ws_a).status_code == 303
    [params] = stripe_billing.calls("POST", "/v1/checkout/sessions")
    assert params["subscription_data"]["trial_end"] == str(int(ends.timestamp()))
    set_columns(app, ws_a, trial_ends_at=utcnow() + timedelta(hours=20))  # too close for Stripe: none
    assert checkout(client, ws_a).status_code == 303
    assert "trial_end" not in stripe_billing.calls("POST", "/v1/checkout/sessions")[-1]["subscription_data"]


def test_checkout_refuses_an_unknown_plan_and_a_second_subscription(app, client, auth, stripe_billing, ws_a):
    signed_in(auth, ws_a)
    for plan in ("free", "platinum", ""):
        response = checkout(client, ws_a, plan)
        assert response.status_code == 422
        assert "Choose one of the plans listed." in response.get_data(as_text=True)
    subscribe(app, client, stripe_billing, ws_a)
    calls = len(stripe_billing.calls("POST", "/v1/checkout/sessions"))
    response = checkout(client, ws_a, "business")
    assert response.status_code == 422
    assert "already has a subscription" in response.get_data(as_text=True)
    assert len(stripe_billing.calls("POST", "/v1/checkout/sessions")) == calls


def test_a_plan_without_a_price_is_not_on_sale(app, client, auth, stripe_billing, ws_a):
    app.config["BILLING_PLANS"]["business"]["price_id"] = ""
    signed_in(auth, ws_a)
    html = page_text(client, ws_a)
    assert "Upgrade to Business" not in html and "Not on sale here yet." in html
    assert checkout(client, ws_a, "business").status_code == 422


def test_stripe_down_gives_a_clear_message(app, client, auth, stripe_billing, ws_a, caplog):
    signed_in(auth, ws_a)
    stripe_billing.fail_api = True
    response = checkout(client, ws_a)
    assert response.status_code == 422
    assert "Stripe could not be reached" in response.get_data(as_text=True)
    assert state(app, ws_a).stripe_customer_id is None


# --- the Customer Portal --------------------------------------------------------------------


def test_the_portal_opens_for_the_workspace_customer(app, client, auth, stripe_billing, ws_a):
    signed_in(auth, ws_a)
    response = post(client, f"{billing_url(ws_a)}portal", {})
    assert response.status_code == 422 and "has not paid for a plan yet" in response.get_data(as_text=True)
    customer = link_customer(app, stripe_billing, ws_a)
    response = post(client, f"{billing_url(ws_a)}portal", {}, headers=HTMX)
    assert response.status_code == 204
    [session] = stripe_billing.portal_sessions.values()
    assert response.headers["HX-Redirect"] == session["url"]
    assert session["customer"] == customer
    assert session["return_url"] == f"http://localhost/w/{ws_a.slug}/settings/billing/"
    assert post(client, f"{billing_url(ws_a)}portal", {}).status_code == 303
    assert "billing.portal_opened" in [a for a, _, _ in audit_actions(app, ws_a)]


# --- seats follow active members ------------------------------------------------------------


def quantity(fake, subscription_id: str) -> int:
    return fake.subscriptions[subscription_id]["items"]["data"][0]["quantity"]


def test_seats_follow_joining_disabling_and_removing(app, client, auth, stripe_billing, ws_a):
    signed_in(auth, ws_a)
    subscription_id = subscribe(app, client, stripe_billing, ws_a)
    assert quantity(stripe_billing, subscription_id) == 1
    auth.logout()

    invitation = make_invitation(app, ws_a, "newcomer@example.com")
    data = {"name": "New Comer", "password": "a long enough password", "confirm": "a long enough password"}
    assert post(client, f"/join/{ws_a.slug}/{invitation.token}", data).status_code == 303
    assert quantity(stripe_billing, subscription_id) == 2
    [update] = stripe_billing.calls("POST", f"/v1/subscriptions/{subscription_id}")
    assert update["proration_behavior"] == "create_prorations"
    auth.logout()

    signed_in(auth, ws_a)
    with app.app_context(), workspace_scope(ws_a.id):
        newcomer = db.session.scalar(sa.select(Membership.id).where(Membership.id != ws_a.membership_id))
    members = f"/w/{ws_a.slug}/settings/members/{newcomer}"
    for action, seats in (("disable", 1), ("enable", 2), ("remove", 1)):
        assert post(client, f"{members}/{action}", {}).status_code in (200, 303), action
        assert quantity(stripe_billing, subscription_id) == seats, action
    entries = [(changes["seats"], actor) for action, actor, changes in audit_actions(app, ws_a)
               if action == "billing.seats_changed"]  # fmt: skip
    assert entries == [([1, 2], "Kehu"), ([2, 1], "Kehu"), ([1, 2], "Kehu"), ([2, 1], "Kehu")]


def test_a_member_change_never_fails_because_stripe_is_down(app, client, auth, stripe_billing, ws_a, caplog,
                                                            monkeypatch):  # fmt: skip
    signed_in(auth, ws_a)
    subscribe(app, client, stripe_billing, ws_a)
    sam = make_member(app, ws_a, "sam@example.com")
    stripe_billing.fail_api = True
    response = post(client, f"/w/{ws_a.slug}/settings/members/{sam.membership_id}/remove", {})
    assert response.status_code in (200, 303)
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Membership, sam.membership_id).status == "removed"
    assert "not sent to Stripe" in caplog.text


def test_no_seat_sync_without_a_subscription(app, client, auth, stripe_billing, ws_a):
    sam = make_member(app, ws_a, "sam@example.com")
    signed_in(auth, ws_a)
    assert post(client, f"/w/{ws_a.slug}/settings/members/{sam.membership_id}/remove", {}).status_code in (200, 303)
    assert stripe_billing.requests == []


def test_a_refused_member_change_syncs_nothing(app, client, auth, stripe_billing, ws_a):
    signed_in(auth, ws_a)
    subscribe(app, client, stripe_billing, ws_a)
    calls = len(stripe_billing.requests)
    # Removing oneself is refused (the last Owner): nothing committed, nothing sent.
    post(client, f"/w/{ws_a.slug}/settings/members/{ws_a.membership_id}/remove", {})
    assert len(stripe_billing.requests) == calls
