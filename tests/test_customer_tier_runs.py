"""Settings -> Customer tiers: the labels say the rules as applied, saving classifies everyone again
(in the request, or in a background run that the page follows to its end, one run at a time), and
the money cut-offs of rules given as shares of customers show on the page."""

URL = "/w/{slug}/settings/customer-tiers/"


def tiers_page(client, ws) -> str:
    return client.get(URL.format(slug=ws.slug)).get_data(as_text=True)


def test_lifecycle_labels_say_purchase_or_activity_as_the_rule_does(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    page = tiers_page(client, ws_a)
    assert '<label for="dormant_days">Dormant: no purchase or activity for (days)</label>' in page
    assert '<label for="churned_days">Churned: no purchase or activity for (days)</label>' in page
    assert "no purchase for" not in page
