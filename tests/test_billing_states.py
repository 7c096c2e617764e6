"""Billing's states in the workspace (crm/billing/states.py): the trial banner, past due within
the grace period (writable, a banner for those who pay), read-only after it (writes refused with
402 except paying, reads and exports untouched), paid again, the portal, and billing off."""

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from crm.billing import states
from crm.contacts.models import Contact
from crm.db import utcnow
from crm.extensions import db
from crm.notes.models import Note
from crm.tenancy import workspace_scope
from crm.workspaces.models import Membership
from tests.conftest import post
from tests.factories import make_contact, make_invitation, make_member, make_workspace
from tests.query_counter import count_queries
from tests.test_billing_limits import on_free, set_billing, turn_billing_on, use_small_plans
from tests.test_portal import submit

HTMX = {"HX-Request": "true", "HX-Target": "notes-composer"}


@pytest.fixture
def billing(app, monkeypatch):
    turn_billing_on(app, monkeypatch)


def past_due(app, ws, days_ago: float) -> datetime:
    since = utcnow() - timedelta(days=days_ago)
    set_billing(app, ws, plan="team", billing_status="past_due", trial_ends_at=None, past_due_since=since,
                stripe_subscription_id="sub_test")  # fmt: skip
    return since


def notes_count(app, ws) -> int:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.scalar(sa.select(sa.func.count()).select_from(Note))


def add_note(client, ws, body: str = "Call back at nine", headers=None):
    return post(client, f"/w/{ws.slug}/notes/", {"body": body}, headers=headers)


def banner_of(page: str) -> str | None:
    start = page.find('billing-banner"')
    return None if start < 0 else page[start : page.index("</div>", start)]


# --- trial ------------------------------------------------------------------------------------------


def test_a_new_workspace_starts_a_trial_shown_to_the_owner_only(app, client, auth, billing):
    ws = make_workspace(app, "Trial Shop", "trial@example.com")
    sales = make_member(app, ws, "sales@trial.example.com")
    auth.login(ws.email, ws.password)
    banner = banner_of(client.get(f"/w/{ws.slug}/").get_data(as_text=True))
    assert "Team trial: 14 days left." in banner
    assert 'role="status"' in client.get(f"/w/{ws.slug}/").get_data(as_text=True)
    assert f'href="/w/{ws.slug}/settings/billing/"' in banner
    auth.logout()
    auth.login(sales.email, sales.password)
    assert banner_of(client.get(f"/w/{ws.slug}/").get_data(as_text=True)) is None


def test_the_trial_length_is_configurable(app, billing, monkeypatch):
    monkeypatch.setitem(app.config, "BILLING_TRIAL_DAYS", 0)
    ws = make_workspace(app, "No Trial", "notrial@example.com")
    with app.app_context():
        from crm.workspaces.models import Workspace

        assert db.session.get(Workspace, ws.id).trial_ends_at is None


def test_the_banner_costs_no_query(app, client, auth, ws_a, monkeypatch):
    use_small_plans(app, monkeypatch)
    auth.login(ws_a.email, ws_a.password)
    client.get(f"/w/{ws_a.slug}/")
    with count_queries(app) as off:
        client.get(f"/w/{ws_a.slug}/")
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_x")
    past_due(app, ws_a, 1)
    client.get(f"/w/{ws_a.slug}/")
    with count_queries(app) as on:
        page = client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)
    assert "Payment failed." in page
    assert len(on) == len(off), "\n".join(on)


# --- past due ---------------------------------------------------------------------------------------


def test_past_due_within_grace_stays_writable_with_a_banner_for_those_who_pay(app, client, auth, ws_a, billing):
    since = past_due(app, ws_a, 2)
    sales = make_member(app, ws_a, "sales@alpha.example.com")
    auth.login(ws_a.email, ws_a.password)
    assert add_note(client, ws_a).status_code == 303
    assert notes_count(app, ws_a) == 1
    banner = banner_of(client.get(f"/w/{ws_a.slug}/").get_data(as_text=True))
    assert "Payment failed. Update your card by" in banner
    with app.test_request_context():
        from flask_babel import format_date

        assert format_date(since + timedelta(days=7)) in banner
    assert f'href="/w/{ws_a.slug}/settings/billing/"' in banner
    auth.logout()
    auth.login(sales.email, sales.password)
    assert banner_of(client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)) is None
    assert add_note(client, ws_a, "Mine too").status_code == 303


# --- read-only --------------------------------------------------------------------------------------


def test_after_the_grace_period_writes_are_refused_with_402(app, client, auth, ws_a, billing):
    past_due(app, ws_a, 8)
    auth.login(ws_a.email, ws_a.password)
    response = add_note(client, ws_a)
    assert response.status_code == 402
    page = response.get_data(as_text=True)
    assert "This workspace is read-only because the invoice of" in page
    assert f'href="/w/{ws_a.slug}/settings/billing/"' in page and "Pay now" in page
    assert notes_count(app, ws_a) == 0
    # htmx: a toast with the reason, and an alert fragment.
    response = add_note(client, ws_a, headers=HTMX)
    assert response.status_code == 402
    assert "read-only" in response.headers["HX-Trigger"]
    assert 'role="alert"' in response.get_data(as_text=True)
    # A boosted form gets the full page and the toast (htmx does not swap a 402).
    response = add_note(client, ws_a, headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert response.status_code == 402 and "toast" in response.headers["HX-Trigger"]
    assert notes_count(app, ws_a) == 0


def test_read_only_keeps_reading_exporting_and_backups(app, client, auth, ws_a, billing):
    set_billing(app, ws_a, plan="team", billing_status="active", trial_ends_at=None)
    make_contact(app, ws_a, "Ann Lee")
    past_due(app, ws_a, 30)
    auth.login(ws_a.email, ws_a.password)
    for url in ("/", "/contacts/", "/deals/", "/tickets/", "/settings/members/", "/settings/billing/"):
        assert client.get(f"/w/{ws_a.slug}{url}").status_code == 200, url
    assert "Ann Lee" in client.get(f"/w/{ws_a.slug}/contacts/export.csv").get_data(as_text=True)
    assert client.get(f"/w/{ws_a.slug}/contacts/export.xlsx").status_code == 200
    assert client.get(f"/w/{ws_a.slug}/settings/backup/download").status_code == 200
    for bar in ("contacts", "companies"):  # a POST that exports: answered with the file
        exported = post(client, f"/w/{ws_a.slug}/{bar}/bulk", {"action": "export", "scope": "all"})
        assert exported.status_code == 200 and exported.mimetype == "text/csv", bar
        exported.get_data()  # read to its end: the stream holds the request's context until then
    assert post(client, f"/w/{ws_a.slug}/contacts/bulk", {"action": "add_tag", "scope": "all"}).status_code == 402
    assert 'class="alert error billing-banner" role="alert"' in client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)


def test_read_only_tells_members_who_cannot_pay_to_ask_the_owner(app, client, auth, ws_a, billing):
    past_due(app, ws_a, 8)
    sales = make_member(app, ws_a, "sales@alpha.example.com")
    auth.login(sales.email, sales.password)
    banner = banner_of(client.get(f"/w/{ws_a.slug}/").get_data(as_text=True))
    assert "read-only" in banner and "Ask the workspace owner to pay it." in banner
    assert "settings/billing" not in banner
    response = add_note(client, ws_a)
    assert response.status_code == 402
    assert "Ask the workspace owner to pay it." in response.get_data(as_text=True)


def test_read_only_still_lets_the_owner_pay(app, client, auth, ws_a, billing):
    """The billing routes take POSTs: an invalid plan gets the form's own 422, not the wall's 402."""
    past_due(app, ws_a, 8)
    auth.login(ws_a.email, ws_a.password)
    response = post(client, f"/w/{ws_a.slug}/settings/billing/checkout", {"plan": "no-such-plan"})
    assert response.status_code != 402
    for rule in client.application.url_map.iter_rules():
        if rule.endpoint.startswith("ws.billing.") and "POST" in rule.methods:
            assert states._is_billing_endpoint(rule.endpoint)


def test_read_only_still_lets_access_be_taken_away(app, client, auth, ws_a, billing):
    past_due(app, ws_a, 8)
    leaver = make_member(app, ws_a, "leaver@alpha.example.com")
    auth.login(ws_a.email, ws_a.password)
    response = post(client, f"/w/{ws_a.slug}/settings/members/{leaver.membership_id}/remove", {})
    assert response.status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Membership, leaver.membership_id).status == "removed"


def test_read_only_takes_no_new_member(app, client, ws_a, billing):
    invitation = make_invitation(app, ws_a, "newcomer@example.com")
    past_due(app, ws_a, 8)
    data = {"name": "New Comer", "password": "a long enough password", "confirm": "a long enough password"}
    response = post(client, f"/join/{ws_a.slug}/{invitation.token}", data)
    assert response.status_code == 422
    assert "cannot take new members right now" in response.get_data(as_text=True)


def test_customers_can_still_complain_while_the_business_is_read_only(app, client, ws_a, billing):
    past_due(app, ws_a, 8)
    assert submit(client, app, ws_a).status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Contact)) == 1


def test_paid_again_the_workspace_is_writable_and_the_banner_gone(app, client, auth, ws_a, billing):
    past_due(app, ws_a, 8)
    auth.login(ws_a.email, ws_a.password)
    assert add_note(client, ws_a).status_code == 402
    set_billing(app, ws_a, billing_status="active", past_due_since=None)
    assert add_note(client, ws_a).status_code == 303
    assert banner_of(client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)) is None


def test_another_workspaces_state_does_not_reach_this_one(app, client, auth, ws_a, ws_b, billing):
    on_free(app, ws_a)
    past_due(app, ws_b, 30)
    make_member(app, ws_b, ws_a.email, role="owner")  # the same person owns both
    auth.login(ws_a.email, ws_a.password)
    assert add_note(client, ws_a).status_code == 303
    assert banner_of(client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)) is None
    assert add_note(client, ws_b).status_code == 402


@pytest.mark.parametrize("days_ago", [6.9, 7.1])
def test_the_grace_period_boundary(app, client, auth, ws_a, billing, days_ago):
    past_due(app, ws_a, days_ago)
    auth.login(ws_a.email, ws_a.password)
    assert add_note(client, ws_a).status_code == (303 if days_ago < 7 else 402)


def test_unpaid_after_the_retries_stays_read_only_until_paid(app, client, auth, ws_a, billing):
    """Stripe moves a subscription from past due to unpaid once it stops retrying the card: the
    invoice is still owed, so the workspace stays read-only (and on Free's limits) until it is paid."""
    past_due(app, ws_a, 30)
    set_billing(app, ws_a, billing_status="unpaid")
    auth.login(ws_a.email, ws_a.password)
    assert add_note(client, ws_a).status_code == 402
    set_billing(app, ws_a, billing_status="active", past_due_since=None)
    assert add_note(client, ws_a).status_code == 303


# --- billing off ------------------------------------------------------------------------------------


def test_billing_off_ignores_the_stored_state(app, client, auth, ws_a):
    """Without STRIPE_SECRET_KEY a workspace is never read-only and sees no banner, whatever its
    columns say (a key removed from the configuration must not lock anyone out)."""
    past_due(app, ws_a, 30)
    auth.login(ws_a.email, ws_a.password)
    assert add_note(client, ws_a).status_code == 303
    assert banner_of(client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)) is None
    assert client.get(f"/w/{ws_a.slug}/settings/billing/").status_code == 404
