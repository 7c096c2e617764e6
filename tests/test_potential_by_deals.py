"""A customer whose open deals are worth enough is potential (Settings -> Customer tiers: "Or
potential: open deals worth at least", 5,000 in the workspace's currency by default; 0 leaves deals
out), a lead without purchases too. Each change of a deal that moves the total classifies its person
again; the page says which rule gave the level."""

from decimal import Decimal

import sqlalchemy as sa

from crm.contacts import classification
from crm.contacts.models import Contact
from crm.deals import service as deals
from crm.deals.models import Deal
from crm.extensions import db
from crm.tenancy import workspace_scope
from crm.workspaces.models import Workspace
from tests.conftest import post
from tests.factories import lost_reason_id, make_contact, make_deal, make_purchase
from tests.test_timeline import RULES

TIERS = "/w/{slug}/settings/customer-tiers/"


def level(app, ws, contact_id: int) -> str:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.get(Contact, contact_id).level


def deal_url(ws, deal_id: int, action: str) -> str:
    return f"/w/{ws.slug}/deals/{deal_id}/{action}"


def test_an_open_deal_worth_enough_makes_a_lead_potential_until_it_closes(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee")
    bob = make_contact(app, ws_a, "Bob Small")
    make_deal(app, ws_a, "Small order", value=4999.99, contact_id=bob)
    big = make_deal(app, ws_a, "Tea for the hotel", value=6000, contact_id=ann)
    assert (level(app, ws_a, ann), level(app, ws_a, bob)) == ("potential", "ordinary")
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/contacts/{ann}").get_data(as_text=True)
    assert "Potential: open deals worth at least $5,000.00." in page
    assert "Customer level</span>: <del>Ordinary</del> → <ins>Potential</ins>" in page  # on the timeline
    assert post(client, deal_url(ws_a, big, "lost"), {"reason_id": lost_reason_id(app, ws_a)}).status_code == 303
    assert level(app, ws_a, ann) == "ordinary"
    assert post(client, deal_url(ws_a, big, "reopen"), {}).status_code == 303
    assert level(app, ws_a, ann) == "potential"
    assert post(client, deal_url(ws_a, big, "won"), {}).status_code == 303
    assert level(app, ws_a, ann) == "ordinary"  # won without a purchase recorded: nothing bought, nothing open
    assert post(client, deal_url(ws_a, big, "reopen"), {}).status_code == 303
    assert post(client, deal_url(ws_a, big, "delete"), {}).status_code == 303
    assert level(app, ws_a, ann) == "ordinary"


def test_deals_add_up_and_follow_their_person_value_and_currency(app, ws_a):
    ann, bob = make_contact(app, ws_a, "Ann Lee"), make_contact(app, ws_a, "Bob Lee")
    first = make_deal(app, ws_a, "First", value=3000, contact_id=ann)
    make_deal(app, ws_a, "In euros", value=9000, currency="EUR", contact_id=ann)  # no worth to compare in USD
    assert level(app, ws_a, ann) == "ordinary"
    make_deal(app, ws_a, "Second", value=2000, contact_id=ann)
    assert level(app, ws_a, ann) == "potential"  # 3,000 + 2,000
    with app.app_context(), workspace_scope(ws_a.id):
        deals.update_deal(db.session.get(Deal, first), {"contact_id": bob}, None)
        db.session.commit()
    assert (level(app, ws_a, ann), level(app, ws_a, bob)) == ("ordinary", "ordinary")
    with app.app_context(), workspace_scope(ws_a.id):
        deals.update_deal(db.session.get(Deal, first), {"value": Decimal("5000")}, None)
        db.session.commit()
    assert level(app, ws_a, bob) == "potential"


def test_the_rule_is_set_in_settings_and_0_leaves_deals_out(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee")
    make_deal(app, ws_a, "Tea for the hotel", value=6000, contact_id=ann)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(TIERS.format(slug=ws_a.slug)).get_data(as_text=True)
    assert '<label for="potential_deal_value">Or potential: open deals worth at least</label>' in page
    response = post(client, TIERS.format(slug=ws_a.slug), {**RULES, "potential_deal_value": "0"})
    assert response.status_code == 303
    assert level(app, ws_a, ann) == "ordinary"  # saving classified everyone again, leads with deals too
    response = post(client, TIERS.format(slug=ws_a.slug), {**RULES, "potential_deal_value": "6000"})
    assert level(app, ws_a, ann) == "potential"


def test_a_bad_deal_threshold_is_refused_with_a_message_and_nothing_saved(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    for bad, message in (("", "Enter an amount."), ("-1", "Number must be between 0 and 999999999999."),
                         ("lots", "Enter a number.")):  # fmt: skip
        response = post(client, TIERS.format(slug=ws_a.slug), {**RULES, "potential_deal_value": bad})
        assert response.status_code == 422, bad
        assert message in response.get_data(as_text=True), bad
    with app.app_context():
        assert db.session.get(Workspace, ws_a.id).customer_rules is None


def test_a_classification_run_counts_open_deals_and_vip_comes_first(app, ws_a):
    """The nightly run (reclassify_all, in batches) reaches leads with open deals, and puts back to
    ordinary those whose deals went; a customer spending enough for VIP stays VIP whatever their deals."""
    ann, vip = make_contact(app, ws_a, "Ann Lee"), make_contact(app, ws_a, "Vera Vip")
    make_purchase(app, ws_a, vip, amount=25000)
    make_deal(app, ws_a, "Another order", value=7000, contact_id=vip)
    with app.app_context(), workspace_scope(ws_a.id):
        deal = Deal(title="Made behind the service's back", value=Decimal(8000), currency="USD", status="open",
                    contact_id=ann, pipeline_id=1, stage_id=1, position=0)  # fmt: skip
        deal.pipeline_id, deal.stage_id = db.session.execute(sa.text("SELECT pipeline_id, id FROM stages")).first()
        db.session.add(deal)
        db.session.commit()
    assert level(app, ws_a, ann) == "ordinary"
    with app.app_context(), workspace_scope(ws_a.id):
        workspace = db.session.get(Workspace, ws_a.id)
        classification.reclassify_all(workspace, classification.today_in(workspace))
        db.session.commit()
    assert (level(app, ws_a, ann), level(app, ws_a, vip)) == ("potential", "vip")
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.execute(sa.update(Deal).where(Deal.contact_id == ann).values(status="lost"))
        workspace = db.session.get(Workspace, ws_a.id)
        classification.reclassify_all(workspace, classification.today_in(workspace))
        db.session.commit()
    assert level(app, ws_a, ann) == "ordinary"
