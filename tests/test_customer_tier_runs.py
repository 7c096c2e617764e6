"""Settings -> Customer tiers: the labels say the rules as applied, saving classifies everyone again
(in the request, or in a background run that the page follows to its end, one run at a time), and
the money cut-offs of rules given as shares of customers show on the page."""

from crm.contacts.models import Contact
from crm.db import utcnow
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import make_contact, make_purchase
from tests.test_timeline import RULES

URL = "/w/{slug}/settings/customer-tiers/"


def tiers_page(client, ws) -> str:
    return client.get(URL.format(slug=ws.slug)).get_data(as_text=True)


def test_lifecycle_labels_say_purchase_or_activity_as_the_rule_does(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    page = tiers_page(client, ws_a)
    assert '<label for="dormant_days">Dormant: no purchase or activity for (days)</label>' in page
    assert '<label for="churned_days">Churned: no purchase or activity for (days)</label>' in page
    assert "no purchase for" not in page


def in_trash(app, ws, contact_id: int) -> None:
    with app.app_context(), workspace_scope(ws.id):
        db.session.get(Contact, contact_id).deleted_at = utcnow()
        db.session.commit()


def test_customers_in_the_trash_do_not_send_the_classification_to_the_background(app, client, auth, ws_a,
                                                                                 monkeypatch):  # fmt: skip
    from crm.contacts import tier_routes

    monkeypatch.setattr(tier_routes, "INLINE_LIMIT", 1)
    make_purchase(app, ws_a, make_contact(app, ws_a, "Ann Lee"), amount=600)
    trashed = make_contact(app, ws_a, "Bob Trashed")
    make_purchase(app, ws_a, trashed, amount=600)
    in_trash(app, ws_a, trashed)
    auth.login(ws_a.email, ws_a.password)
    response = post(client, URL.format(slug=ws_a.slug), RULES, follow_redirects=True)
    assert "Rules saved; every customer is classified by them now." in response.get_data(as_text=True)
