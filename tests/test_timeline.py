"""A contact's timeline: logging activities and tasks, adding purchases that classify the customer
(tier, level, lifecycle), keyset pages over both, and `flask crm recompute`."""

import base64
import json
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from babel.dates import format_date

from crm.activities.models import Activity
from crm.cli import crm_cli
from crm.contacts.models import Contact
from crm.contacts.timeline import ACTIVITY, encode
from crm.contacts.timeline import PURCHASE as PURCHASE_RANK
from crm.db import utcnow
from crm.extensions import db
from crm.purchases.models import Purchase
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import make_activity, make_company, make_contact, make_deal, make_member, make_purchase

COMPOSER = {"HX-Request": "true", "HX-Target": "activity-composer"}
PURCHASE = {"HX-Request": "true", "HX-Target": "purchase-composer"}
TODAY = date.today()


def contact_url(ws, contact_id: int, rest: str = "") -> str:
    return f"/w/{ws.slug}/contacts/{contact_id}{rest}"


def contact_row(app, ws, contact_id: int) -> Contact:
    with app.app_context(), workspace_scope(ws.id):
        contact = db.session.get(Contact, contact_id)
        db.session.expunge(contact)
        return contact


def count(app, ws, model) -> int:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_log_a_call_without_leaving_the_page(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    auth.login(ws_a.email, ws_a.password)
    response = post(
        client, contact_url(ws_a, contact_id, "/activities/"), {"kind": "call", "body": "Asked for <b>prices</b>"},
        headers=COMPOSER,
    )  # fmt: skip
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<form id="activity-composer"')
    assert 'data-hx-swap-oob="afterbegin:#timeline-list"' in body and "Asked for &lt;b&gt;prices&lt;/b&gt;" in body
    assert contact_row(app, ws_a, contact_id).last_activity_at is not None
    summary = body.split('id="contact-summary"')[1]  # sent again: its "Last activity" is now
    assert "Last activity</dt><dd>—" not in summary.replace("\n", "") and "Last activity" in summary
    page = client.get(contact_url(ws_a, contact_id)).get_data(as_text=True)
    assert "Asked for &lt;b&gt;prices&lt;/b&gt;" in page and "Logged an activity" in page
    assert page.count("Time in UTC.") == 2  # due and reminder times are the workspace's, which may not be yours
    assert "Empty for now; or when it happened, in UTC." in page


def page_head(client, ws, contact_id: int) -> str:
    page = client.get(contact_url(ws, contact_id)).get_data(as_text=True)
    return page.split('<ol id="timeline-list"')[1].split(">")[0]


def test_a_call_from_yesterday_is_logged_at_its_time(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    make_activity(app, ws_a, contact_id, "Wrote this morning", occurred_at=utcnow() - timedelta(hours=1))
    auth.login(ws_a.email, ws_a.password)
    yesterday = (utcnow() - timedelta(days=1)).replace(hour=14, minute=30, second=0, microsecond=0)
    url = contact_url(ws_a, contact_id, "/activities/")
    data = {"kind": "call", "body": "Called about the lid", "occurred_at": yesterday.strftime("%Y-%m-%dT%H:%M")}
    assert post(client, url, data).status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        call = db.session.scalar(sa.select(Activity).where(Activity.body == "Called about the lid"))
        assert call.occurred_at == yesterday  # typed in the workspace's zone (UTC here)
        assert contact_row(app, ws_a, contact_id).last_activity_at > yesterday  # the later entry stays last
    timeline = client.get(contact_url(ws_a, contact_id)).get_data(as_text=True).split('id="timeline-list"')[1]
    assert timeline.index("Wrote this morning") < timeline.index("Called about the lid")  # at its time
    # In place, a back-dated entry is not put on top: the timeline is asked to draw itself again.
    earlier = post(client, url, {**data, "body": "Met last week"}, headers=COMPOSER)
    assert json.loads(earlier.headers["HX-Trigger"]) == {
        "timeline-changed": None,
        "toast": [{"level": "success", "message": "Call logged."}],
    }
    assert "afterbegin:#timeline-list" not in earlier.get_data(as_text=True)
    assert f'data-hx-get="/w/{ws_a.slug}/contacts/{contact_id}/timeline"' in page_head(client, ws_a, contact_id)
    assert 'data-hx-trigger="timeline-changed from:body"' in page_head(client, ws_a, contact_id)
    future = {**data, "body": "Will call", "occurred_at": (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")}
    refused = post(client, url, future, headers=COMPOSER)
    assert refused.status_code == 422 and "plan what is to come as a task" in refused.get_data(as_text=True)
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count(Activity.id)).where(Activity.body == "Will call")) == 0


def test_a_task_needs_a_due_date_and_can_be_done_and_reopened(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    auth.login(ws_a.email, ws_a.password)
    bad = post(client, contact_url(ws_a, contact_id, "/activities/"), {"kind": "task", "body": "Call back"},
               headers=COMPOSER)  # fmt: skip
    assert bad.status_code == 422 and "A task needs a due date." in bad.get_data(as_text=True)
    assert count(app, ws_a, Activity) == 0
    data = {"kind": "task", "body": "Call back", "due_at": "2030-01-02T09:30", "assignee_id": str(ws_a.membership_id)}
    assert post(client, contact_url(ws_a, contact_id, "/activities/"), data).status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        task = db.session.scalar(sa.select(Activity))
        assert (task.assignee_id, task.due_at.year, task.done_at) == (ws_a.membership_id, 2030, None)
    target = {"HX-Request": "true", "HX-Target": f"entry-activity-{task.id}"}
    done = post(client, contact_url(ws_a, contact_id, f"/activities/{task.id}/done"), {"done": "1"}, headers=target)
    assert "Reopen" in done.get_data(as_text=True)
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Activity, task.id).done_at is not None
    assert contact_row(app, ws_a, contact_id).last_activity_at is None  # a task is not contact with the customer


def test_a_time_off_the_calendar_is_refused_with_a_message(app, client, auth, ws_a):
    from crm.workspaces.models import Workspace

    with app.app_context():
        db.session.get(Workspace, ws_a.id).timezone = "Asia/Shanghai"  # year 1 here is before year 1 in UTC
        db.session.commit()
    contact_id = make_contact(app, ws_a, "Ann Lee")
    auth.login(ws_a.email, ws_a.password)
    task = {"kind": "task", "body": "Call"}
    for data in ({"kind": "note", "body": "Met", "occurred_at": "0001-01-01T00:00"},
                 {**task, "due_at": "9999-12-31T23:59"},
                 {**task, "due_at": "2030-01-01T09:00", "remind_at": "0001-01-01T00:00"}):  # fmt: skip
        refused = post(client, contact_url(ws_a, contact_id, "/activities/"), data, headers=COMPOSER)
        assert refused.status_code == 422 and "Enter a time from 1900 to 2999." in refused.get_data(as_text=True), data
    assert count(app, ws_a, Activity) == 0


def test_only_the_author_or_a_deleter_removes_an_entry(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    owners_note = make_activity(app, ws_a, contact_id, "the owner's note", author_id=ws_a.membership_id)
    sales = make_member(app, ws_a, "sales@alpha.example.com", role="sales")
    auth.login(sales.email, sales.password)
    assert post(client, contact_url(ws_a, contact_id, f"/activities/{owners_note}/delete"), {}).status_code == 403
    own = make_activity(app, ws_a, contact_id, "my note", author_id=sales.membership_id)
    assert post(client, contact_url(ws_a, contact_id, f"/activities/{own}/delete"), {}).status_code == 303
    assert count(app, ws_a, Activity) == 1


def test_a_purchase_classifies_the_customer_and_updates_the_summary(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    auth.login(ws_a.email, ws_a.password)
    data = {"purchased_on": TODAY.isoformat(), "product": "Tea chest", "quantity": "3", "unit_price": "4000"}
    response = post(client, contact_url(ws_a, contact_id, "/purchases/"), data, headers=PURCHASE)
    today = date.today()  # not TODAY: the suite may have started before midnight
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="contact-summary"' in body and 'data-hx-swap-oob="true"' in body and "Tier A" in body
    assert "$12,000.00" in body
    assert f'name="purchased_on" required type="date" value="{today.isoformat()}"' in body  # the fresh form: today
    contact = contact_row(app, ws_a, contact_id)
    assert (contact.tier, contact.level, contact.lifecycle) == ("A", "ordinary", "new")
    assert contact.lifetime_value == contact.value_12m == 12000
    page = client.get(contact_url(ws_a, contact_id)).get_data(as_text=True)
    assert "Tier A: at least $10,000.00 in the last 12 months." in page
    assert "New: first purchase within the last 90 days." in page  # the lifecycle's rule too
    assert "Customer class changed" in page  # the change of class is in the record's history


def test_a_customer_with_purchases_gets_the_lifecycle_from_the_rules_not_by_hand(app, client, auth, ws_a):
    lead = make_contact(app, ws_a, "Lee Lead")
    buyer = make_contact(app, ws_a, "Ann Buyer")
    make_purchase(app, ws_a, buyer, amount=500, on=TODAY - timedelta(days=10))
    auth.login(ws_a.email, ws_a.password)
    assert 'name="lifecycle"' in client.get(contact_url(ws_a, lead, "/edit")).get_data(as_text=True)
    form = client.get(contact_url(ws_a, buyer, "/edit")).get_data(as_text=True)
    assert 'name="lifecycle"' not in form and "gets it from the customer tier rules" in form
    for contact_id in (lead, buyer):
        saved = post(client, contact_url(ws_a, contact_id), {"name": "Renamed", "lifecycle": "churned"})
        assert saved.status_code == 303
    assert contact_row(app, ws_a, lead).lifecycle == "churned"  # no purchase: as set by hand
    assert contact_row(app, ws_a, buyer).lifecycle == "new"  # first purchase 10 days ago


def test_a_purchase_in_another_currency_counts_what_it_is_worth_in_the_workspaces(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    auth.login(ws_a.email, ws_a.password)
    euros = {"purchased_on": TODAY.isoformat(), "product": "Tea chest", "quantity": "1", "unit_price": "10000",
             "currency": "EUR"}  # fmt: skip
    refused = post(client, contact_url(ws_a, contact_id, "/purchases/"), euros, headers=PURCHASE)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Enter what it is worth in USD" in body
    assert '<details class="other-currency" open>' in body and count(app, ws_a, Purchase) == 0
    saved = post(client, contact_url(ws_a, contact_id, "/purchases/"), {**euros, "base_amount": "11000"},
                 headers=PURCHASE)  # fmt: skip
    assert saved.status_code == 200 and '<details class="other-currency">' in saved.get_data(as_text=True)  # fresh
    contact = contact_row(app, ws_a, contact_id)
    assert (contact.lifetime_value, contact.value_12m, contact.tier) == (11000, 11000, "A")  # the tier rules' dollars
    page = client.get(contact_url(ws_a, contact_id)).get_data(as_text=True)
    assert "= <strong>€10,000.00</strong> (worth $11,000.00)" in page
    with app.app_context(), workspace_scope(ws_a.id):
        purchase_id = db.session.scalar(sa.select(Purchase.id))
    form = client.get(contact_url(ws_a, contact_id, f"/purchases/{purchase_id}/edit")).get_data(as_text=True)
    assert '<option selected value="EUR">' in form and 'value="11000.00"' in form
    # Back in dollars, the purchase is worth its amount, whatever the folded field still holds.
    dollars = {**euros, "currency": "USD", "unit_price": "500", "base_amount": "11000"}
    prefixed = {f"purchase-{purchase_id}-{name}": value for name, value in dollars.items()}
    assert post(client, contact_url(ws_a, contact_id, f"/purchases/{purchase_id}"), prefixed).status_code == 303
    assert contact_row(app, ws_a, contact_id).lifetime_value == 500


def test_bad_purchases_are_refused_and_nothing_saved(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    auth.login(ws_a.email, ws_a.password)
    for data, message in (
        ({"purchased_on": "", "product": "Tea", "quantity": "1", "unit_price": "1"}, "Enter the date of the purchase."),
        ({"purchased_on": "2026-01-01", "product": " ", "quantity": "1", "unit_price": "1"}, "Enter what was bought."),
        ({"purchased_on": "2026-01-01", "product": "Tea", "quantity": "0", "unit_price": "1"},
         "Enter a quantity from 0.001 to 999,999,999."),
        ({"purchased_on": "2026-01-01", "product": "Tea", "quantity": "1", "unit_price": "-5"},
         "Enter an amount from 0 to 999,999,999,999.99."),
        ({"purchased_on": "2026-01-01", "product": "Tea", "quantity": "999999", "unit_price": "9999999999"},
         "Quantity times unit price is too large."),
        # A year mistyped (2062): it would make the customer tier A and "new" until then.
        ({"purchased_on": (date.today() + timedelta(days=2)).isoformat(), "product": "Tea", "quantity": "1",
          "unit_price": "30000"}, "A purchase cannot be dated in the future."),
        # A year mistyped the other way (0001, 1024): it would be the customer's first purchase ever.
        ({"purchased_on": "0001-01-01", "product": "Tea", "quantity": "1", "unit_price": "1"},
         "Enter a purchase date from 1900 on."),
        ({"purchased_on": "1899-12-31", "product": "Tea", "quantity": "1", "unit_price": "1"},
         "Enter a purchase date from 1900 on."),
    ):  # fmt: skip
        response = post(client, contact_url(ws_a, contact_id, "/purchases/"), data, headers=PURCHASE)
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True), data
    assert count(app, ws_a, Purchase) == 0
    assert contact_row(app, ws_a, contact_id).tier is None


def test_levels_and_lifecycle_follow_the_rules(app, ws_a):
    vip = make_contact(app, ws_a, "Big Spender")
    make_purchase(app, ws_a, vip, amount=25000, on=TODAY - timedelta(days=100))
    grower = make_contact(app, ws_a, "Grower")
    make_purchase(app, ws_a, grower, amount=1000, on=TODAY - timedelta(days=400))
    make_purchase(app, ws_a, grower, amount=2000, on=TODAY - timedelta(days=30))
    sleeper = make_contact(app, ws_a, "Sleeper")
    make_purchase(app, ws_a, sleeper, amount=300, on=TODAY - timedelta(days=200))
    gone = make_contact(app, ws_a, "Gone")
    make_purchase(app, ws_a, gone, amount=300, on=TODAY - timedelta(days=500))
    classes = {
        name: (c.tier, c.level, c.lifecycle)
        for name, c in (("vip", contact_row(app, ws_a, vip)), ("grower", contact_row(app, ws_a, grower)),
                        ("sleeper", contact_row(app, ws_a, sleeper)), ("gone", contact_row(app, ws_a, gone)))
    }  # fmt: skip
    assert classes == {
        "vip": ("A", "vip", "active"),
        "grower": ("B", "potential", "active"),
        "sleeper": ("D", "ordinary", "dormant"),
        "gone": ("D", "ordinary", "churned"),
    }


def test_a_pinned_level_stays_and_deleting_the_last_purchase_makes_a_lead_again(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    with app.app_context(), workspace_scope(ws_a.id):
        contact = db.session.get(Contact, contact_id)
        contact.level, contact.level_pinned = "vip", True
        db.session.commit()
    purchase = make_purchase(app, ws_a, contact_id, amount=100)
    assert contact_row(app, ws_a, contact_id).level == "vip"
    auth.login(ws_a.email, ws_a.password)
    assert "Level set by hand." in client.get(contact_url(ws_a, contact_id)).get_data(as_text=True)
    post(client, contact_url(ws_a, contact_id, f"/purchases/{purchase}/delete"), {})
    contact = contact_row(app, ws_a, contact_id)
    assert (contact.tier, contact.lifecycle, contact.lifetime_value) == (None, "lead", 0)


def test_timeline_pages_cover_every_entry_once_newest_first(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    for number in range(25):
        make_activity(app, ws_a, contact_id, f"note {number:02d}")
    for number in range(4):  # same day: ties broken by id across the page boundary
        make_purchase(app, ws_a, contact_id, f"item {number}", amount=5, on=TODAY - timedelta(days=1))
    auth.login(ws_a.email, ws_a.password)
    page = client.get(contact_url(ws_a, contact_id)).get_data(as_text=True)
    timeline = page.split('id="timeline-list"')[1]
    assert timeline.count('<li id="entry-') == 20 and "note 24" in timeline  # 20 entries, newest first
    assert "note 00" not in timeline
    link = page.split('id="timeline-more"')[1].split('data-hx-get="')[1].split('"')[0].replace("&amp;", "&")
    rest = client.get(link, headers={"HX-Request": "true", "HX-Target": "timeline-more"}).get_data(as_text=True)
    everything = page.split('id="timeline-more"')[0] + rest
    for label in [f"note {n:02d}" for n in range(25)] + [f"item {n}" for n in range(4)]:
        assert everything.count(f">{label}<") + everything.count(f">{label} ·") == 1, label
    assert "timeline-more" not in rest


def timeline_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


FORGED_TIMELINE_CURSORS = (
    "2030-01-01T00:00:00|0|1",  # no time zone: "naive datetime given to a UTC column"
    "0001-01-01T00:00:00+14:00|0|1",  # no instant in UTC
    "9999-12-31T23:00:00-14:00|0|1",
    "2030-01-01T00:00:00+00:00|0|99999999999999999999",  # OverflowError on SQLite
    "2030-01-01T00:00:00+00:00|99999999999999999999|1",
    "2030-01-01T00:00:00+00:00|0",
)


def test_a_forged_timeline_cursor_is_refused_rather_than_failing(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    make_purchase(app, ws_a, contact_id, "Green tea")
    auth.login(ws_a.email, ws_a.password)
    for text in FORGED_TIMELINE_CURSORS:
        response = client.get(contact_url(ws_a, contact_id, "/timeline"), query_string={"after": timeline_cursor(text)})
        assert response.status_code == 400, text
    genuine = timeline_cursor("2999-12-31T00:00:00+14:00|0|1")
    later = client.get(contact_url(ws_a, contact_id, "/timeline"), query_string={"after": genuine})
    assert later.status_code == 200 and "Green tea" in later.get_data(as_text=True)


def test_recompute_moves_customers_as_time_passes(app, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    make_purchase(app, ws_a, contact_id, amount=600, on=TODAY - timedelta(days=170))
    assert contact_row(app, ws_a, contact_id).lifecycle == "active"
    with app.app_context(), workspace_scope(ws_a.id):
        # As if the purchase had been made 20 days earlier than recorded: it is now dormant.
        db.session.execute(sa.update(Purchase).values(purchased_on=TODAY - timedelta(days=190)))
        db.session.commit()
    result = app.test_cli_runner().invoke(crm_cli, ["recompute"])
    assert result.exit_code == 0, result.output
    assert "Alpha Trading: 1 customer(s) changed class." in result.output
    assert contact_row(app, ws_a, contact_id).lifecycle == "dormant"


RULES = {
    "tier_by": "value", "tier_a": "5000", "tier_b": "1000", "tier_c": "100",
    "tier_a_top": "10", "tier_b_top": "30", "tier_c_top": "60",
    "vip_by": "value", "vip_value": "8000", "vip_top": "5", "potential_growth_percent": "50",
    "potential_deal_value": "5000",
    "new_days": "30", "dormant_days": "120", "churned_days": "300",
}  # fmt: skip


def test_changing_the_rules_classifies_everyone_again(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    make_purchase(app, ws_a, contact_id, amount=6000, on=TODAY - timedelta(days=60))
    assert (contact_row(app, ws_a, contact_id).tier, contact_row(app, ws_a, contact_id).lifecycle) == ("B", "new")
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/settings/customer-tiers/").get_data(as_text=True)
    assert 'value="10000.00"' in page and 'value="90"' in page  # the defaults
    response = post(client, f"/w/{ws_a.slug}/settings/customer-tiers/", RULES, follow_redirects=True)
    assert "every customer is classified by them now" in response.get_data(as_text=True)
    contact = contact_row(app, ws_a, contact_id)
    assert (contact.tier, contact.lifecycle) == ("A", "active")
    assert 'value="5000.00"' in client.get(f"/w/{ws_a.slug}/settings/customer-tiers/").get_data(as_text=True)
    assert "Changed the customer tier rules" in client.get(f"/w/{ws_a.slug}/settings/audit/").get_data(as_text=True)


def test_rules_that_contradict_themselves_are_refused(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    bad = {**RULES, "tier_b": "9000", "churned_days": "100", "new_days": "0", "vip_value": "-1"}
    response = post(client, f"/w/{ws_a.slug}/settings/customer-tiers/", bad)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Tier B must start below tier A." in page and "use more days than for dormant" in page
    assert "Number must be between 1 and 3650." in page and "Number must be between" in page
    with app.app_context():
        from crm.workspaces.models import Workspace

        assert db.session.get(Workspace, ws_a.id).customer_rules is None
    longer_new = post(client, f"/w/{ws_a.slug}/settings/customer-tiers/", {**RULES, "new_days": "500"})
    assert longer_new.status_code == 422  # "new" is decided first: it would hide dormant customers
    assert "use at most as many days as for dormant" in longer_new.get_data(as_text=True)


def test_tiers_and_vip_by_share_of_customers(app, client, auth, ws_a):
    ids = {}
    for thousands in range(1, 11):
        ids[thousands] = make_contact(app, ws_a, f"Buyer {thousands}")
        make_purchase(app, ws_a, ids[thousands], amount=thousands * 1000, on=TODAY - timedelta(days=100))
    auth.login(ws_a.email, ws_a.password)
    shares = {**RULES, "tier_by": "share", "vip_by": "share", "vip_top": "20"}
    assert post(client, f"/w/{ws_a.slug}/settings/customer-tiers/", shares).status_code == 303
    tiers = {k: (contact_row(app, ws_a, i).tier, contact_row(app, ws_a, i).level) for k, i in ids.items()}
    assert tiers == {
        10: ("A", "vip"), 9: ("B", "vip"), 8: ("B", "ordinary"),  # top 10%, top 30%; VIP the top 20%
        7: ("C", "ordinary"), 6: ("C", "ordinary"), 5: ("C", "ordinary"),  # down to the top 60%
        4: ("D", "ordinary"), 3: ("D", "ordinary"), 2: ("D", "ordinary"), 1: ("D", "ordinary"),
    }  # fmt: skip
    page = client.get(contact_url(ws_a, ids[10])).get_data(as_text=True)
    assert "Tier A: in the top 10% of customers by the last 12 months&#39; value (from $10,000.00)." in page
    make_purchase(app, ws_a, ids[1], amount=12000)  # one purchase: classified against the stored cut-offs
    assert (contact_row(app, ws_a, ids[1]).tier, contact_row(app, ws_a, ids[1]).level) == ("A", "vip")
    form = client.get(f"/w/{ws_a.slug}/settings/customer-tiers/").get_data(as_text=True)
    assert '<input checked id="tier_by-1" name="tier_by" type="radio" value="share">' in form


def test_shares_must_narrow_from_a_to_c(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    bad = {**RULES, "tier_by": "share", "tier_a_top": "30", "tier_b_top": "20", "tier_c_top": "0", "vip_by": "maybe"}
    response = post(client, f"/w/{ws_a.slug}/settings/customer-tiers/", bad)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Tier B must reach further down than tier A." in page and "Number must be between 1 and 100." in page
    assert "Not a valid choice." in page
    with app.app_context():
        from crm.workspaces.models import Workspace

        assert db.session.get(Workspace, ws_a.id).customer_rules is None


def test_only_settings_managers_change_the_rules(app, client, auth, ws_a):
    manager = make_member(app, ws_a, "manager@alpha.example.com", role="manager")
    auth.login(manager.email, manager.password)
    assert post(client, f"/w/{ws_a.slug}/settings/customer-tiers/", RULES).status_code == 403


def test_a_large_workspace_is_classified_again_by_a_job(app, client, auth, ws_a, monkeypatch):
    from crm.contacts import tier_routes

    monkeypatch.setattr(tier_routes, "INLINE_LIMIT", 0)
    contact_id = make_contact(app, ws_a, "Ann Lee")
    make_purchase(app, ws_a, contact_id, amount=6000, on=TODAY - timedelta(days=60))
    auth.login(ws_a.email, ws_a.password)
    response = post(client, f"/w/{ws_a.slug}/settings/customer-tiers/", RULES, follow_redirects=True)
    assert "being classified again in the background" in response.get_data(as_text=True)
    assert contact_row(app, ws_a, contact_id).tier == "A"  # the job ran (in-process without Redis)


def test_level_set_by_hand_on_the_form_and_handed_back_to_the_rules(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    make_purchase(app, ws_a, contact_id, amount=25000)
    assert contact_row(app, ws_a, contact_id).level == "vip"
    auth.login(ws_a.email, ws_a.password)
    form = {"name": "Ann Lee", "lifecycle": "new", "level": "ordinary"}
    post(client, contact_url(ws_a, contact_id), form)
    contact = contact_row(app, ws_a, contact_id)
    assert (contact.level, contact.level_pinned) == ("ordinary", True)
    edit = client.get(contact_url(ws_a, contact_id, "/edit")).get_data(as_text=True)
    assert '<option selected value="ordinary">' in edit or '<option value="ordinary" selected>' in edit
    post(client, contact_url(ws_a, contact_id), {**form, "level": ""})
    contact = contact_row(app, ws_a, contact_id)
    assert (contact.level, contact.level_pinned) == ("vip", False)


def test_editing_a_purchase_reclassifies_and_is_audited(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    purchase = make_purchase(app, ws_a, contact_id, "Tea", amount=600)
    assert contact_row(app, ws_a, contact_id).tier == "C"
    auth.login(ws_a.email, ws_a.password)
    target = {"HX-Request": "true", "HX-Target": f"entry-purchase-{purchase}"}
    form = client.get(contact_url(ws_a, contact_id, f"/purchases/{purchase}/edit"), headers=target)
    assert form.get_data(as_text=True).lstrip().startswith(f'<li id="entry-purchase-{purchase}"')
    prefix = f"purchase-{purchase}-"
    # Quantity times price: "Amount paid" is left empty, so that a new price recomputes it.
    assert amount_input(form.get_data(as_text=True), prefix) == ""
    data = {f"{prefix}purchased_on": TODAY.isoformat(), f"{prefix}product": "Tea chest", f"{prefix}quantity": "2",
            f"{prefix}unit_price": "6000"}  # fmt: skip
    bad = post(client, contact_url(ws_a, contact_id, f"/purchases/{purchase}"), {**data, f"{prefix}product": ""},
               headers=target)  # fmt: skip
    assert bad.status_code == 422 and "Enter what was bought." in bad.get_data(as_text=True)
    good = post(client, contact_url(ws_a, contact_id, f"/purchases/{purchase}"), data, headers=target)
    body = good.get_data(as_text=True)
    assert good.status_code == 200 and "Tea chest" in body and "Tier A" in body  # entry and summary
    contact = contact_row(app, ws_a, contact_id)
    assert (contact.tier, contact.lifetime_value) == ("A", 12000)
    assert "Edited a purchase" in client.get(contact_url(ws_a, contact_id)).get_data(as_text=True)


def test_cancelling_a_purchase_edit_gives_the_entry_back_unchanged(app, client, auth, ws_a, ws_b):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    purchase = make_purchase(app, ws_a, contact_id, "Tea", amount=600)
    auth.login(ws_a.email, ws_a.password)
    target = {"HX-Request": "true", "HX-Target": f"entry-purchase-{purchase}"}
    edit = contact_url(ws_a, contact_id, f"/purchases/{purchase}/edit")
    form = client.get(edit, headers=target).get_data(as_text=True)
    cancel = re.search(r'<a href="([^"]+)" data-cancel data-hx-get="\1"([^>]*)>Cancel</a>', form)
    assert cancel and cancel.group(1) == f"{edit}?cancel=1"
    assert f'data-hx-target="#entry-purchase-{purchase}" data-hx-swap="outerHTML"' in cancel.group(2)
    # Back on the entry, the focus goes to its Edit link (app.js, data-focus-after).
    assert f"data-focus-after='#entry-purchase-{purchase} a[href$=\"/edit\"]'" in cancel.group(2)
    entry = client.get(cancel.group(1), headers=target).get_data(as_text=True).lstrip()
    assert entry.startswith(f'<li id="entry-purchase-{purchase}" class="entry purchase">') and "Tea" in entry
    assert f'<a href="{edit}" data-hx-get="{edit}"' in entry and "<form" in entry  # Edit, and Delete's form
    plain = client.get(cancel.group(1))  # without JavaScript: back to the contact's page
    assert plain.status_code == 303 and plain.headers["Location"].endswith(contact_url(ws_a, contact_id))
    theirs = make_purchase(app, ws_b, make_contact(app, ws_b, "Secret Sam"), "Secret tea")
    for url in (f"/w/{ws_a.slug}/contacts/{contact_id}/purchases/{theirs}/edit?cancel=1",
                f"/w/{ws_b.slug}/contacts/{contact_id}/purchases/{purchase}/edit?cancel=1"):  # fmt: skip
        response = client.get(url, headers=target)
        assert response.status_code == 404 and "Secret" not in response.get_data(as_text=True)


def test_a_purchases_quantity_is_shown_without_trailing_zeros(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    purchase = make_purchase(app, ws_a, contact_id, "Tea", amount=25, quantity="2.5")
    auth.login(ws_a.email, ws_a.password)
    page = client.get(contact_url(ws_a, contact_id)).get_data(as_text=True)
    # The composer offers 1 ("1.000" reads as a thousand where a point groups thousands).
    composer = page.split('<form id="purchase-composer"')[1].split("</form>")[0]
    assert re.search(r'id="quantity"[^>]* value="1"', composer)
    assert "Tea · 2.5 \N{MULTIPLICATION SIGN}" in page
    prefix = f"purchase-{purchase}-"
    form = client.get(contact_url(ws_a, contact_id, f"/purchases/{purchase}/edit")).get_data(as_text=True)
    assert re.search(rf'id="{prefix}quantity"[^>]* value="2.5"', form) and "2.500" not in form
    typed = {f"{prefix}purchased_on": TODAY.isoformat(), f"{prefix}product": "", f"{prefix}quantity": "3.0",
             f"{prefix}unit_price": "4"}  # fmt: skip
    refused = post(client, contact_url(ws_a, contact_id, f"/purchases/{purchase}"), typed)
    assert refused.status_code == 422  # what was typed stays as typed
    assert re.search(rf'id="{prefix}quantity"[^>]* value="3.0"', refused.get_data(as_text=True))


def test_an_amount_paid_by_hand_shows_when_its_purchase_is_edited(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    purchase = make_purchase(app, ws_a, contact_id, "Tea", amount=600)
    data = {"purchased_on": TODAY.isoformat(), "product": "Tea", "quantity": "2", "unit_price": "400", "amount": "750"}
    auth.login(ws_a.email, ws_a.password)
    prefix = f"purchase-{purchase}-"
    post(client, contact_url(ws_a, contact_id, f"/purchases/{purchase}"), {prefix + key: v for key, v in data.items()})
    assert contact_row(app, ws_a, contact_id).lifetime_value == 750  # a discount on 800
    form = client.get(contact_url(ws_a, contact_id, f"/purchases/{purchase}/edit")).get_data(as_text=True)
    assert amount_input(form, prefix) == "750.00"
    page = client.get(contact_url(ws_a, contact_id)).get_data(as_text=True)
    assert "2 \N{MULTIPLICATION SIGN} $400.00 paid <strong>$750.00</strong>" in page  # "= $750.00" would look wrong
    make_purchase(app, ws_a, contact_id, "Cups", amount=30)
    assert "= <strong>$30.00</strong>" in client.get(contact_url(ws_a, contact_id)).get_data(as_text=True)


def amount_input(page: str, prefix: str) -> str:
    tag = page.split(f'id="{prefix}amount"')[1].split(">")[0]
    return tag.split('value="')[1].split('"')[0] if 'value="' in tag else ""


def test_a_call_keeps_a_customer_from_going_dormant(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    make_purchase(app, ws_a, contact_id, amount=600, on=TODAY - timedelta(days=200))
    assert contact_row(app, ws_a, contact_id).lifecycle == "dormant"
    auth.login(ws_a.email, ws_a.password)
    page = client.get(contact_url(ws_a, contact_id)).get_data(as_text=True)
    assert "Dormant: no purchase or activity for more than 180 days." in page
    post(client, contact_url(ws_a, contact_id, "/activities/"), {"kind": "call", "body": "Checked in"})
    assert contact_row(app, ws_a, contact_id).lifecycle == "active"
    page = client.get(contact_url(ws_a, contact_id)).get_data(as_text=True)
    assert "Active: a purchase or activity within the last 180 days." in page


def test_field_and_class_changes_are_on_the_timeline_masked_where_sensitive(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee", title="Buyer", phones=["+16502530000"])
    auth.login(ws_a.email, ws_a.password)
    post(client, contact_url(ws_a, contact_id), {"name": "Ann Lee", "title": "Head buyer", "lifecycle": "lead",
                                                 "phones": "+1 650 253 0001"})  # fmt: skip
    make_purchase(app, ws_a, contact_id, "Tea chest", amount=12000)
    page = client.get(contact_url(ws_a, contact_id)).get_data(as_text=True)
    timeline = page.split('id="timeline-list"')[1].split("</ol>")[0]
    assert "<del>Buyer</del> → <ins>Head buyer</ins>" in timeline
    assert "<del>(650) 253-0000</del> → <ins>(650) 253-0001</ins>" in timeline  # as the details write them
    assert "Customer class changed" in timeline and "<ins>A</ins>" in timeline
    assert timeline.index("entry-change-") < timeline.index("Tea chest")  # newest first
    sales = make_member(app, ws_a, "sales@alpha.example.com", role="sales")  # no contacts.sensitive
    auth.logout()
    auth.login(sales.email, sales.password)
    theirs = client.get(contact_url(ws_a, contact_id)).get_data(as_text=True)
    assert "Phone numbers changed" in theirs and "+16502530001" not in theirs and "Head buyer" in theirs


def test_every_text_on_the_timeline_is_escaped_and_written_in_the_members_language(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee", title="<i>Buyer</i>")
    auth.login(ws_a.email, ws_a.password)
    post(client, contact_url(ws_a, contact_id), {"name": "Ann Lee", "title": "Tea & <b>cups</b>", "lifecycle": "lead"})
    make_purchase(app, ws_a, contact_id, "<b>Tea</b>", amount=600, on=date(2026, 3, 9))
    make_deal(app, ws_a, "<u>Big</u> order", contact_id=contact_id)  # classifies her again: before the call
    make_activity(app, ws_a, contact_id, "<script>alert(1)</script>", kind="call")
    page = client.get(contact_url(ws_a, contact_id), headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    timeline = page.get_data(as_text=True).split('id="timeline-list"')[1].split("</ol>")[0]
    assert "<del>&lt;i&gt;Buyer&lt;/i&gt;</del> → <ins>Tea &amp; &lt;b&gt;cups&lt;/b&gt;</ins>" in timeline
    assert "&lt;b&gt;Tea&lt;/b&gt;" in timeline and "<b>" not in timeline
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in timeline and "<script" not in timeline
    assert "&lt;u&gt;Big&lt;/u&gt; order" in timeline and "<u>" not in timeline
    assert "购买" in timeline and format_date(date(2026, 3, 9), "medium", locale="zh_Hans") in timeline
    assert timeline.count('<li id="entry-') == 5  # the change, the class change, the purchase, the call, the deal


def test_a_change_of_class_names_the_level_and_lifecycle_not_their_keys(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    make_purchase(app, ws_a, contact_id, amount=25000)  # lead, ordinary -> new, VIP
    auth.login(ws_a.email, ws_a.password)
    english = client.get(contact_url(ws_a, contact_id)).get_data(as_text=True)
    timeline = english.split('id="timeline-list"')[1].split("</ol>")[0]
    assert "<del>Ordinary</del> → <ins>VIP</ins>" in timeline
    assert "<del>Lead</del> → <ins>New customer</ins>" in timeline
    chinese = client.get(contact_url(ws_a, contact_id), headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    timeline = chinese.get_data(as_text=True).split('id="timeline-list"')[1].split("</ol>")[0]
    assert "<del>线索</del> → <ins>新客户</ins>" in timeline


def test_the_history_panel_names_fields_and_hides_what_the_reader_may_not_see(app, client, auth, ws_a):
    from tests.factories import assign_role, make_role

    contact_id = make_contact(app, ws_a, "Ann Lee")
    auth.login(ws_a.email, ws_a.password)
    post(client, contact_url(ws_a, contact_id), {"name": "Ann Lee", "phones": "+1 650 253 0001", "lifecycle": "lead",
                                                 "gender": "female"})  # fmt: skip
    data = {"purchased_on": "2026-03-09", "product": "Tea chest", "quantity": "3", "unit_price": "4000"}
    post(client, contact_url(ws_a, contact_id, "/purchases/"), data, headers=PURCHASE)
    page = client.get(contact_url(ws_a, contact_id)).get_data(as_text=True)
    history = page.split('id="history-title"')[1].split("</section>")[0]
    assert '<span class="field-name">Unit price</span>: <ins>$4,000.00</ins>' in history and "unit_price" not in history
    assert '<span class="field-name">Date</span>: <ins>Mar 9, 2026</ins>' in history
    assert '<span class="field-name">Gender</span>: <ins>Female</ins>' in history and "(650) 253-0001" in history
    auditor = make_member(app, ws_a, "auditor@alpha.example.com")
    assign_role(app, ws_a, auditor.membership_id, make_role(app, ws_a, "Auditor", ("contacts.read", "audit.view")))
    auth.logout()
    auth.login(auditor.email, auditor.password)
    theirs = client.get(contact_url(ws_a, contact_id)).get_data(as_text=True)
    history = theirs.split('id="history-title"')[1].split("</section>")[0]
    assert "<li>Phone numbers changed</li>" in history and "+16502530001" not in history
    log = client.get(f"/w/{ws_a.slug}/settings/audit/").get_data(as_text=True)
    assert "Phone numbers changed" in log and "+16502530001" not in log and "Unit price" in log
    export = client.get(f"/w/{ws_a.slug}/settings/audit/export.csv").get_data(as_text=True)
    assert "phones: changed" in export and "+16502530001" not in export and "unit_price: 4000" in export


def test_a_back_dated_purchase_takes_its_place_on_the_timeline_at_once(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    make_activity(app, ws_a, contact_id, "Called today")
    auth.login(ws_a.email, ws_a.password)
    data = {"purchased_on": "2024-01-15", "product": "Old tea", "quantity": "1", "unit_price": "50"}
    body = post(client, contact_url(ws_a, contact_id, "/purchases/"), data, headers=PURCHASE).get_data(as_text=True)
    timeline = body.split('id="timeline-list"')[1].split("</ol>")[0]
    assert 'data-hx-swap-oob="true"' in timeline.split(">")[0]  # the whole first page, drawn again
    assert timeline.index("Called today") < timeline.index("Old tea")  # newest first, as after a reload


def test_a_purchase_dated_1900_or_today_is_taken_and_an_edit_to_year_1_is_refused(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    auth.login(ws_a.email, ws_a.password)
    for day in ("1900-01-01", TODAY.isoformat()):
        data = {"purchased_on": day, "product": f"Tea {day}", "quantity": "1", "unit_price": "1"}
        assert post(client, contact_url(ws_a, contact_id, "/purchases/"), data, headers=PURCHASE).status_code == 200
    with app.app_context(), workspace_scope(ws_a.id):
        oldest = db.session.scalar(sa.select(Purchase).order_by(Purchase.purchased_on))
        assert oldest.purchased_on == date(1900, 1, 1)
        purchase_id = oldest.id
    edit = {"purchased_on": "0001-01-01", "product": "Tea", "quantity": "1", "unit_price": "1"}
    response = post(client, contact_url(ws_a, contact_id, f"/purchases/{purchase_id}"),
                    {f"purchase-{purchase_id}-{key}": value for key, value in edit.items()})  # fmt: skip
    assert response.status_code == 422 and "Enter a purchase date from 1900 on." in response.get_data(as_text=True)
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Purchase, purchase_id).purchased_on == date(1900, 1, 1)


def test_a_value_out_of_range_gets_its_own_message_and_no_comparison_besides(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    url = f"/w/{ws_a.slug}/settings/customer-tiers/"
    dormant = "A new customer can turn dormant: use at most as many days as for dormant."
    churned = "A customer churns after being dormant: use more days than for dormant."
    for changes, shown, left_out in (
        ({"new_days": "9" * 30}, "Number must be between 1 and 3650.", dormant),
        ({"new_days": "4000", "dormant_days": "3650"}, "Number must be between 1 and 3650.", dormant),
        ({"dormant_days": "4000", "new_days": "3000", "churned_days": "300"}, "Number must be between 1 and 3650.",
         churned),
        ({"churned_days": "0"}, "Number must be between 1 and 3650.", churned),
        ({"tier_b": "-1"}, "Number must be between 0 and 999999999999.", "Tier B must start below tier A."),
        ({"tier_b_top": "101"}, "Number must be between 1 and 100.", "Tier B must reach further down than tier A."),
        ({"tier_c_top": "abc"}, "Not a valid integer value.", "Tier C must reach further down than tier B."),
    ):  # fmt: skip
        response = post(client, url, {**RULES, **changes})
        page = response.get_data(as_text=True).replace("&#39;", "'")
        assert response.status_code == 422, changes
        assert shown in page and left_out not in page, changes
    both = post(client, url, {**RULES, "new_days": "200", "churned_days": "100"}).get_data(as_text=True)
    assert dormant in both and churned in both  # in range, out of order: still said
    with app.app_context():
        from crm.workspaces.models import Workspace

        assert db.session.get(Workspace, ws_a.id).customer_rules is None


def summary_text(client, ws, contact_id: int) -> str:
    """The customer summary of the contact's page, as words."""
    page = client.get(contact_url(ws, contact_id)).get_data(as_text=True)
    section = page.split('id="contact-summary"')[1].split("</section>")[0]
    return re.sub(r"\s+", " ", re.sub("<[^>]+>", " ", section))


def test_deleting_the_latest_call_gives_back_the_last_activity_and_lifecycle_before_it(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee")
    make_purchase(app, ws_a, ann, amount=100, on=TODAY - timedelta(days=400))
    auth.login(ws_a.email, ws_a.password)
    assert "Churned" in summary_text(client, ws_a, ann)
    post(client, contact_url(ws_a, ann, "/activities/"), {"kind": "call", "body": "Wrong customer"})
    assert "Active" in summary_text(client, ws_a, ann)
    with app.app_context(), workspace_scope(ws_a.id):
        call = db.session.scalar(sa.select(Activity.id))
    assert post(client, contact_url(ws_a, ann, f"/activities/{call}/delete"), {}).status_code == 303
    after = summary_text(client, ws_a, ann)
    assert "Churned" in after and "Active" not in after and "Last activity — " in after
    assert contact_row(app, ws_a, ann).last_activity_at is None
    result = app.test_cli_runner().invoke(crm_cli, ["recompute"])  # the nightly run reads what is stored
    assert result.exit_code == 0 and contact_row(app, ws_a, ann).lifecycle == "churned"


def test_deleting_a_call_in_place_sends_the_summary_with_the_call_before_it(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee")
    make_purchase(app, ws_a, ann, amount=100, on=TODAY - timedelta(days=400))
    earlier = make_activity(app, ws_a, ann, "Autumn call", kind="call", occurred_at=utcnow() - timedelta(days=300))
    task = make_activity(app, ws_a, ann, "Call again", kind="task", due_at=utcnow() + timedelta(days=1))
    auth.login(ws_a.email, ws_a.password)
    post(client, contact_url(ws_a, ann, "/activities/"), {"kind": "call", "body": "Wrong customer"})
    with app.app_context(), workspace_scope(ws_a.id):
        call = db.session.scalar(sa.select(Activity.id).where(Activity.body == "Wrong customer"))
        autumn = db.session.get(Activity, earlier).occurred_at
    swap = {"HX-Request": "true", "HX-Target": f"entry-activity-{call}"}
    response = post(client, contact_url(ws_a, ann, f"/activities/{call}/delete"), {}, headers=swap)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="contact-summary"' in body and 'data-hx-swap-oob="true"' in body
    assert "Dormant" in body and "Wrong customer" not in body  # no purchase or activity for 300 days
    assert contact_row(app, ws_a, ann).last_activity_at == autumn
    # Deleting a task leaves the last activity alone (a task is not being in touch).
    assert post(client, contact_url(ws_a, ann, f"/activities/{task}/delete"), {}).status_code == 303
    assert contact_row(app, ws_a, ann).last_activity_at == autumn


@pytest.mark.parametrize("where", ["deal", "company"])
def test_deleting_a_persons_call_from_a_deal_or_company_page_classifies_them_again(app, client, auth, ws_a, where):
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    make_purchase(app, ws_a, ann, amount=100, on=TODAY - timedelta(days=400))
    deal = make_deal(app, ws_a, "Tea chests", contact_id=ann)
    auth.login(ws_a.email, ws_a.password)
    record = f"/w/{ws_a.slug}/deals/{deal}" if where == "deal" else f"/w/{ws_a.slug}/companies/{acme}"
    logged_on = f"/w/{ws_a.slug}/deals/{deal}" if where == "deal" else contact_url(ws_a, ann)
    post(client, f"{logged_on}/activities/", {"kind": "call", "body": "Wrong customer"})
    assert contact_row(app, ws_a, ann).lifecycle == "active"
    with app.app_context(), workspace_scope(ws_a.id):
        call = db.session.scalar(sa.select(Activity.id))
    assert post(client, f"{record}/activities/{call}/delete", {}).status_code == 303
    contact = contact_row(app, ws_a, ann)
    assert (contact.lifecycle, contact.last_activity_at) == ("churned", None)
    assert "Churned" in summary_text(client, ws_a, ann)


def test_a_vip_threshold_of_0_is_refused_with_a_reason(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    url = f"/w/{ws_a.slug}/settings/customer-tiers/"
    response = post(client, url, {**RULES, "vip_value": "0"})
    assert response.status_code == 422
    assert "VIP must start above 0, or every customer would be VIP." in response.get_data(as_text=True)
    with app.app_context():
        from crm.workspaces.models import Workspace

        assert db.session.get(Workspace, ws_a.id).customer_rules is None
    # By share the amount is not used (the form keeps it, hidden): the top 100% is "every customer".
    assert post(client, url, {**RULES, "vip_value": "0", "vip_by": "share", "vip_top": "100"}).status_code == 303


def test_without_a_purchase_in_12_months_no_contact_is_vip_by_value_whether_or_not_a_note_is_logged(
    app, client, auth, ws_a
):
    from crm.workspaces.models import Workspace

    lead = make_contact(app, ws_a, "Lead Lucy")
    buyer = make_contact(app, ws_a, "Buyer Bo")
    make_purchase(app, ws_a, buyer, amount=5, on=TODAY - timedelta(days=30))
    lapsed = make_contact(app, ws_a, "Lapsed Li")
    make_purchase(app, ws_a, lapsed, amount=5000, on=TODAY - timedelta(days=500))
    with app.app_context():  # rules saved before a VIP threshold of 0 was refused
        db.session.get(Workspace, ws_a.id).customer_rules = {"vip_value": 0}
        db.session.commit()
    assert app.test_cli_runner().invoke(crm_cli, ["recompute"]).exit_code == 0
    auth.login(ws_a.email, ws_a.password)
    for contact_id in (lead, buyer, lapsed):
        post(client, contact_url(ws_a, contact_id, "/activities/"), {"kind": "note", "body": "hello"})
    levels = {name: contact_row(app, ws_a, i).level for name, i in (("lead", lead), ("buyer", buyer),
                                                                      ("lapsed", lapsed))}  # fmt: skip
    assert levels == {"lead": "ordinary", "buyer": "vip", "lapsed": "ordinary"}
    text = summary_text(client, ws_a, lead)
    assert "Ordinary" in text and "VIP" not in text
    assert app.test_cli_runner().invoke(crm_cli, ["recompute"]).exit_code == 0  # the nightly run agrees
    assert [contact_row(app, ws_a, i).level for i in (lead, buyer, lapsed)] == ["ordinary", "vip", "ordinary"]


def set_zone(app, ws, zone: str) -> None:
    from crm.workspaces.models import Workspace

    with app.app_context():
        db.session.get(Workspace, ws.id).timezone = zone
        db.session.commit()


def entry_ids(html: str) -> list[str]:
    """The activities' and purchases' entries in the order shown (changes of class left out)."""
    return re.findall(r'<li id="entry-((?:activity|purchase)-\d+)"', html)


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Asia/Shanghai"])
def test_a_purchase_sorts_from_the_start_of_its_day_in_the_workspaces_time_zone(app, client, auth, ws_a, zone):
    set_zone(app, ws_a, zone)
    ann = make_contact(app, ws_a, "Ann Lee")
    auth.login(ws_a.email, ws_a.password)
    today = datetime.now(ZoneInfo(zone)).date()
    post(
        client,
        contact_url(ws_a, ann, "/activities/"),
        {"kind": "call", "body": "Called the evening before", "occurred_at": f"{today - timedelta(days=1)}T20:00"},
    )
    post(
        client,
        contact_url(ws_a, ann, "/activities/"),
        {"kind": "call", "body": "Called that morning", "occurred_at": f"{today - timedelta(days=1)}T07:00"},
    )
    data = {"purchased_on": str(today), "product": "Tea today", "quantity": "1", "unit_price": "10"}
    added = post(client, contact_url(ws_a, ann, "/purchases/"), data, headers=PURCHASE).get_data(as_text=True)
    data = {**data, "purchased_on": str(today - timedelta(days=1)), "product": "Tea yesterday"}
    post(client, contact_url(ws_a, ann, "/purchases/"), data)
    timeline = client.get(contact_url(ws_a, ann)).get_data(as_text=True).split('id="timeline-list"')[1]
    order = ["Tea today", "Called the evening before", "Called that morning", "Tea yesterday"]
    assert [timeline.index(text) for text in order] == sorted(timeline.index(text) for text in order)
    redrawn = added.split('id="timeline-list"')[1]  # the first page sent back after adding a purchase
    assert redrawn.index("Tea today") < redrawn.index("Called the evening before")


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Asia/Shanghai"])
def test_timeline_pages_cover_every_entry_once_in_the_order_of_the_workspaces_days(app, client, auth, ws_a, zone):
    set_zone(app, ws_a, zone)
    ann = make_contact(app, ws_a, "Ann Lee")
    today = datetime.now(ZoneInfo(zone)).date()
    expected, keys, tied = [], [], None

    def call(body: str, day: date, hour: int) -> None:
        at = datetime.combine(day, time(hour), tzinfo=ZoneInfo(zone)).astimezone(UTC)
        expected.append(f"activity-{make_activity(app, ws_a, ann, body, kind='call', occurred_at=at)}")
        keys.append((at, ACTIVITY, int(expected[-1].split("-")[1])))

    for days_ago in range(12):  # each day: a call at noon (not today's), its purchase, the evening before's call
        day = today - timedelta(days=days_ago)
        if days_ago:
            call(f"noon {days_ago}", day, 12)
        purchases = [make_purchase(app, ws_a, ann, f"item {days_ago}", amount=5, on=day)]
        if days_ago == 6:  # two on the day where the first page ends: ties broken by id across the pages
            tied = make_purchase(app, ws_a, ann, "item 6b", amount=5, on=day)
            purchases.append(tied)
        for purchase in reversed(purchases):  # each from 00:00 of its day where the workspace is
            expected.append(f"purchase-{purchase}")
            keys.append((datetime.combine(day, time(), tzinfo=ZoneInfo(zone)).astimezone(UTC), PURCHASE_RANK, purchase))
        call(f"evening {days_ago}", day - timedelta(days=1), 20)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(contact_url(ws_a, ann)).get_data(as_text=True)
    first = page.split('id="timeline-list"')[1].split('id="timeline-more"')[0]
    link = page.split('id="timeline-more"')[1].split('data-hx-get="')[1].split('"')[0].replace("&amp;", "&")
    rest = client.get(link, headers={"HX-Request": "true", "HX-Target": "timeline-more"}).get_data(as_text=True)
    assert "timeline-more" not in rest
    assert entry_ids(first)[-1] == f"purchase-{tied}"  # the page's cursor is a purchase's
    assert entry_ids(first) + entry_ids(rest) == expected
    for place, key in enumerate(keys):  # a page may end on any entry: the next one starts right after it
        after = client.get(contact_url(ws_a, ann, "/timeline"), query_string={"after": encode(key)})
        assert entry_ids(after.get_data(as_text=True)) == expected[place + 1 : place + 21], expected[place]


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Asia/Shanghai"])
def test_a_cursor_at_the_edge_of_time_pages_on_in_any_time_zone(app, client, auth, ws_a, zone):
    set_zone(app, ws_a, zone)
    ann = make_contact(app, ws_a, "Ann Lee")
    make_purchase(app, ws_a, ann, "Green tea")
    auth.login(ws_a.email, ws_a.password)
    for text, shown in (
        ("0001-01-01T00:00:00+00:00|0|1", False),  # before every purchase: the zone has no day there
        ("0001-01-01T20:00:00+00:00|1|1", False),
        ("9999-12-31T23:00:00+00:00|0|1", True),  # after every purchase
        ("9999-12-31T10:00:00+00:00|1|1", True),
    ):
        response = client.get(contact_url(ws_a, ann, "/timeline"), query_string={"after": timeline_cursor(text)})
        assert response.status_code == 200 and ("Green tea" in response.get_data(as_text=True)) == shown, text
