"""Settings -> Customer tiers: the labels say the rules as applied, saving classifies everyone again
(in the request, or in a background run that the page follows to its end, one run at a time), and
the money cut-offs of rules given as shares of customers show on the page."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from babel.dates import format_time

from crm.cli import crm_cli
from crm.contacts.models import ClassificationRun, Contact
from crm.db import utcnow
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import make_classification_run, make_contact, make_member, make_purchase
from tests.query_counter import page_queries
from tests.test_pages import assert_valid_page
from tests.test_timeline import RULES, TODAY, contact_row

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


POLL = {"HX-Request": "true", "HX-Target": "tier-run"}


def runs(app, ws) -> list[ClassificationRun]:
    with app.app_context(), workspace_scope(ws.id):
        found = list(db.session.scalars(sa.select(ClassificationRun).order_by(ClassificationRun.id)))
        db.session.expunge_all()
        return found


def buyers(app, ws, *amounts) -> list[int]:
    ids = []
    for number, amount in enumerate(amounts):
        ids.append(make_contact(app, ws, f"Buyer {number}"))
        make_purchase(app, ws, ids[-1], amount=amount, on=TODAY - timedelta(days=100))
    return ids


def test_a_background_run_says_when_it_finished_and_for_how_many(app, client, auth, ws_a, monkeypatch):
    from crm.contacts import tier_routes

    monkeypatch.setattr(tier_routes, "INLINE_LIMIT", 1)
    ann, _ = buyers(app, ws_a, 6000, 700)
    auth.login(ws_a.email, ws_a.password)
    response = post(client, URL.format(slug=ws_a.slug), RULES, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Rules saved; customers are being classified again in the background." in page
    (run,) = runs(app, ws_a)  # the job ran in the request (JOBS_INLINE), as a run
    assert (run.status, run.total, run.done, run.user_id) == ("done", 2, 2, ws_a.user_id)
    assert f"Classified again at {format_time(run.finished_at, 'short', locale='en')}: 2 customers." in page
    assert "data-hx-trigger" not in page.split('id="tier-run"')[1].split("</section>")[0]  # nothing to poll
    assert contact_row(app, ws_a, ann).tier == "A"


def test_the_page_follows_a_running_run_until_it_ends(app, client, auth, ws_a):
    run_id = make_classification_run(app, ws_a, total=12034, done=4000)
    auth.login(ws_a.email, ws_a.password)
    page = tiers_page(client, ws_a)
    assert_valid_page(page, "customer tiers, running")
    panel = page.split('<section id="tier-run"')[1].split("</section>")[0]
    assert f'data-hx-get="/w/{ws_a.slug}/settings/customer-tiers/run" data-hx-trigger="every 2s"' in panel
    assert '<progress id="tier-run-bar" max="100" value="33">' in panel
    assert "4,000 of 12,034 customers done" in panel and "Classified again" not in panel
    polled = client.get(URL.format(slug=ws_a.slug) + "run", headers=POLL).get_data(as_text=True)
    assert polled.lstrip().startswith('<section id="tier-run"') and "4,000 of 12,034 customers done" in polled
    assert "tier-run-said" not in polled  # not read out at every poll
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.execute(sa.update(ClassificationRun).values(status="done", done=12034, finished_at=utcnow()))
        db.session.commit()
    ended = client.get(URL.format(slug=ws_a.slug) + "run", headers=POLL).get_data(as_text=True)
    assert "Classified again at" in ended and ": 12,034 customers." in ended
    assert "data-hx-trigger" not in ended  # the polling stops
    assert '<p id="tier-run-said" data-hx-swap-oob="innerHTML">Classified again at' in ended
    assert run_id == runs(app, ws_a)[0].id
    # Without htmx the address leads to the page.
    assert client.get(URL.format(slug=ws_a.slug) + "run").status_code == 303


def test_a_run_that_died_says_where_it_stopped(app, client, auth, ws_a):
    make_classification_run(app, ws_a, total=3000, done=1000, updated_at=utcnow() - timedelta(minutes=5))
    auth.login(ws_a.email, ws_a.password)
    page = tiers_page(client, ws_a)
    assert "Classifying the customers again stopped after 1,000 of 3,000." in page
    assert "data-hx-trigger" not in page.split('id="tier-run"')[1].split("</section>")[0]


def test_saving_again_while_a_run_goes_on_starts_no_second_run(app, client, auth, ws_a):
    buyers(app, ws_a, 6000)
    running = make_classification_run(app, ws_a, total=5000, done=10)
    auth.login(ws_a.email, ws_a.password)
    response = post(client, URL.format(slug=ws_a.slug), RULES, follow_redirects=True)
    assert "Rules saved; the classification under way starts over with them." in response.get_data(as_text=True)
    (run,) = runs(app, ws_a)
    assert (run.id, run.status, run.again) == (running, "running", True)  # told to start over, nothing more
    with app.app_context(), workspace_scope(ws_a.id):  # two running at once: the database refuses it
        db.session.add(ClassificationRun(status="running", done=0, changed=0, again=False))
        with pytest.raises(sa.exc.IntegrityError):
            db.session.commit()


def test_a_run_told_to_start_over_classifies_by_the_rules_saved_last(app, ws_a, monkeypatch):
    from crm.contacts import classification, tier_runs
    from crm.workspaces.models import Workspace

    ids = buyers(app, ws_a, 6000, 700, 300)
    monkeypatch.setattr(classification, "BATCH", 1)
    seen = []
    reclassify_batch = classification._reclassify_batch

    def saved_again_meanwhile(workspace_id, rows, rules, today):
        if not seen:  # as another request saving new rules while the first batch is classified
            db.session.get(Workspace, ws_a.id).customer_rules = {"tier_a": 500, "tier_b": 400, "tier_c": 200}
            assert tier_runs.request_run(None) is None  # commits: the running run is told to start over
        seen.extend(row.id for row in rows)
        return reclassify_batch(workspace_id, rows, rules, today)

    monkeypatch.setattr(classification, "_reclassify_batch", saved_again_meanwhile)
    with app.app_context(), workspace_scope(ws_a.id):
        run = tier_runs.request_run(None)
        tier_runs.run(run.id)
    assert seen == [ids[0], *ids]  # stopped after the first batch, then every customer again
    (run,) = runs(app, ws_a)
    assert (run.status, run.again, run.total, run.done) == ("done", False, 3, 3)
    assert [contact_row(app, ws_a, i).tier for i in ids] == ["A", "A", "C"]


def test_a_run_that_stalled_gives_way_to_a_new_one(app, client, auth, ws_a):
    buyers(app, ws_a, 6000)
    dead = make_classification_run(app, ws_a, total=3000, done=1000, updated_at=utcnow() - timedelta(minutes=5))
    auth.login(ws_a.email, ws_a.password)
    response = post(client, URL.format(slug=ws_a.slug), RULES, follow_redirects=True)
    assert "Rules saved; every customer is classified by them now." in response.get_data(as_text=True)
    assert [(run.id == dead, run.status) for run in runs(app, ws_a)] == [(False, "done")]  # the dead one gone


def test_a_run_the_queue_refuses_says_so(app, client, auth, ws_a, monkeypatch):
    from crm.contacts import tier_routes

    def redis_down(*args):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(tier_routes, "INLINE_LIMIT", 0)
    monkeypatch.setattr(tier_routes, "enqueue", redis_down)
    buyers(app, ws_a, 6000)
    auth.login(ws_a.email, ws_a.password)
    response = post(client, URL.format(slug=ws_a.slug), RULES, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Rules saved, but classifying the customers again could not be started." in page
    assert [run.status for run in runs(app, ws_a)] == ["failed"]
    assert "stopped before it began" in page
    assert post(client, URL.format(slug=ws_a.slug), {**RULES, "tier_a": "6000"}).status_code == 303  # not stuck


def test_only_settings_managers_follow_the_run(app, client, auth, ws_a):
    make_classification_run(app, ws_a, total=100, done=50)
    manager = make_member(app, ws_a, "manager@alpha.example.com", role="manager")
    auth.login(manager.email, manager.password)
    assert client.get(URL.format(slug=ws_a.slug) + "run", headers=POLL).status_code == 403
    assert client.get(URL.format(slug=ws_a.slug)).status_code == 403


def test_another_workspaces_run_never_shows(app, client, auth, ws_a, ws_b):
    make_classification_run(app, ws_b, total=100, done=50)
    make_classification_run(app, ws_b, status="done", total=100, done=100, finished_at=utcnow() - timedelta(days=1),
                            cutoffs={"tier_a": {"top": 10, "from": 99999.0}})  # fmt: skip
    auth.login(ws_a.email, ws_a.password)
    page = tiers_page(client, ws_a)
    assert 'id="tier-run"' not in page and "99,999" not in page
    assert client.get(URL.format(slug=ws_a.slug) + "run", headers=POLL).get_data(as_text=True).strip() == ""
    assert client.get(URL.format(slug=ws_b.slug) + "run", headers=POLL).status_code == 404


def test_the_command_classifies_as_a_run_and_leaves_a_running_one_to_start_over(app, ws_a, ws_b):
    buyers(app, ws_a, 6000)
    make_classification_run(app, ws_b, total=100, done=50)
    result = app.test_cli_runner().invoke(crm_cli, ["recompute"])
    assert result.exit_code == 0, result.output
    assert "Alpha Trading: 0 customer(s) changed class." in result.output
    assert "Beta Foods: already being classified; that run starts over." in result.output
    assert [(run.status, run.total, run.user_id) for run in runs(app, ws_a)] == [("done", 1, None)]
    assert [(run.status, run.again) for run in runs(app, ws_b)] == [("running", True)]


def test_share_cut_offs_show_on_the_page_as_the_last_run_worked_them_out(app, client, auth, ws_a, monkeypatch):
    from crm.contacts import classification

    buyers(app, ws_a, *(thousands * 1000 for thousands in range(1, 11)))
    auth.login(ws_a.email, ws_a.password)
    shares = {**RULES, "tier_by": "share", "vip_by": "share", "vip_top": "20"}
    assert post(client, URL.format(slug=ws_a.slug), shares).status_code == 303

    def no_percentiles(workspace):
        raise AssertionError("the page worked the cut-offs out again")

    monkeypatch.setattr(classification, "compute_cutoffs", no_percentiles)
    page = tiers_page(client, ws_a)
    assert_valid_page(page, "customer tiers, by share")
    assert "<h4>Cut-offs of the shares</h4>" in page
    assert "Tier A: the top 10% of customers, from $10,000.00 in the last 12 months" in page
    assert "Tier B: down to the top 30% of customers, from $8,000.00 in the last 12 months" in page
    assert "Tier C: down to the top 60% of customers, from $5,000.00 in the last 12 months" in page
    assert "VIP: the top 20% of customers, from $9,000.00 in the last 12 months" in page
    # Saved by value: no cut-offs to show.
    monkeypatch.undo()
    assert post(client, URL.format(slug=ws_a.slug), RULES).status_code == 303
    assert "Cut-offs of the shares" not in tiers_page(client, ws_a)


def test_share_cut_offs_wait_for_the_run_that_works_them_out(app, client, auth, ws_a, monkeypatch):
    from crm.contacts import tier_routes

    monkeypatch.setattr(tier_routes, "enqueue", lambda *args: None)  # queued, not started yet
    monkeypatch.setattr(tier_routes, "INLINE_LIMIT", 0)
    buyers(app, ws_a, 1000, 2000)
    auth.login(ws_a.email, ws_a.password)
    post(client, URL.format(slug=ws_a.slug), {**RULES, "tier_by": "share"})
    page = tiers_page(client, ws_a)
    assert "Starting…" in page
    assert "The cut-offs of shares just chosen are worked out when the customers are classified again." in page
    assert "Tier A: the top 10% of customers" not in page


def test_the_tiers_page_queries_stay_few_whatever_the_customers(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    url = URL.format(slug=ws_a.slug)
    post(client, url, {**RULES, "tier_by": "share"})
    few, _ = page_queries(app, client, url)
    buyers(app, ws_a, *range(100, 2100, 100))
    post(client, url, {**RULES, "tier_by": "share", "tier_a_top": "20"})
    many, page = page_queries(app, client, url)
    assert "Tier A: the top 20% of customers, from $1,700.00" in page
    assert many == few
