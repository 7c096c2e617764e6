"""Classifying a whole workspace a batch at a time (classification.reclassify_all) gives every
contact what classifying it alone (classification.reclassify, kept for a purchase or an activity
that changes) gives it, with the same audit entries (the timeline's class changes), writing only the
rows that change; in a few statements a batch, whatever the batch's size."""

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.contacts import classification
from crm.contacts.models import Company, Contact
from crm.db import utcnow
from crm.deals.models import Deal, Stage
from crm.extensions import db
from crm.purchases.models import Purchase
from crm.tenancy import workspace_scope
from crm.workspaces.models import Workspace
from tests.factories import make_contact, make_purchase
from tests.query_counter import count_queries

TODAY = date.today()
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
# Days before today of purchases: inside "new", the 12 months, the 12 months before, and older.
DAYS_AGO = (0, 10, 45, 100, 200, 364, 365, 366, 400, 600, 729, 730, 731, 900, 1200)
RULES = {
    "by value": None,
    "by share": {"tier_by": "share", "vip_by": "share", "tier_a_top": 20, "tier_b_top": 40, "tier_c_top": 70,
                 "vip_top": 10},
    "tight windows": {"tier_a": 3000, "tier_b": 800, "tier_c": 100, "vip_value": 2500,
                      "potential_growth_percent": 10, "new_days": 30, "dormant_days": 60, "churned_days": 200},
}  # fmt: skip


def _at(days_ago: int) -> datetime:
    return datetime.combine(TODAY - timedelta(days=days_ago), time(9, 30), tzinfo=UTC)


def build(app, ws, seed: int, customers: int = 60) -> None:
    """Customers of every kind, their stored classes stale or right at random, straight into the
    tables (no classification on the way): purchases in each window, in the workspace's currency
    and in another one (worth a different amount in the workspace's), activities recent and old,
    levels pinned by hand, lifecycles set by hand, customers in the trash, customers whose purchases
    were all deleted, customers who never bought, a company's own purchases, and open deals."""
    rng = random.Random(seed)
    with app.app_context(), workspace_scope(ws.id):
        stage = db.session.scalars(sa.select(Stage).order_by(Stage.position)).first()
        company = Company(name="Tea House Ltd")
        db.session.add(company)
        db.session.flush()
        for number in range(customers):
            kind = rng.random()
            contact = Contact(
                name=f"Customer {number}",
                company_id=company.id if number % 4 == 0 else None,
                tier=rng.choice([None, "A", "B", "C", "D"]),
                level=rng.choice(["ordinary", "potential", "vip"]),
                level_pinned=rng.random() < 0.15,
                lifecycle=rng.choice(["lead", "new", "active", "dormant", "churned"]),
                last_activity_at=_at(rng.choice([1, 20, 90, 150, 250, 500])) if rng.random() < 0.5 else None,
                value_12m=Decimal(rng.choice([0, 100, 2500])),
                value_prev_12m=Decimal(rng.choice([0, 50])),
                lifetime_value=Decimal(rng.choice([0, 100, 9999])),
                last_purchase_at=None if kind < 0.1 else LONG_AGO,  # never bought, or did (stale)
                deleted_at=utcnow() if 0.1 <= kind < 0.2 else None,
            )
            db.session.add(contact)
            db.session.flush()
            if number % 3 == 1:  # open deals (or a lost one), in the workspace's currency or not
                db.session.add(Deal(title="Deal", value=Decimal(rng.choice([1000, 6000])), contact_id=contact.id,
                                    currency=rng.choice(["USD", "USD", "EUR"]), status=rng.choice(["open", "lost"]),
                                    pipeline_id=stage.pipeline_id, stage_id=stage.id, position=number))  # fmt: skip
            if kind < 0.1 or 0.2 <= kind < 0.27:  # never bought, or every purchase deleted since
                continue
            for _purchase in range(rng.randint(1, 6)):
                amount = Decimal(rng.choice([19.99, 120, 480.5, 999.99, 2400, 7600.25, 15000]))
                foreign = rng.random() < 0.25
                db.session.add(Purchase(
                    contact_id=contact.id, company_id=contact.company_id, purchased_on=TODAY - timedelta(
                        days=rng.choice(DAYS_AGO)), product="Tea", quantity=Decimal(1), unit_price=amount,
                    amount=amount, currency="EUR" if foreign else "USD",
                    base_amount=(amount * Decimal("1.0837")).quantize(Decimal("0.01")) if foreign else amount,
                ))  # fmt: skip
        db.session.add(Purchase(contact_id=None, company_id=company.id, purchased_on=TODAY, product="Urn",
                                quantity=Decimal(1), unit_price=Decimal(50000), amount=Decimal(50000), currency="USD",
                                base_amount=Decimal(50000)))  # fmt: skip
        db.session.commit()


def snapshot() -> dict:
    """Every contact's stored classes and figures (money to the cent), and when it was written."""
    columns = [getattr(Contact, name) for name in ("id", *classification.STORED, "level_pinned", "deleted_at")]
    rows = db.session.execute(sa.select(*columns, Contact.updated_at).order_by(Contact.id)).all()
    return {row.id: (*(round(value, 2) if isinstance(value, Decimal) else value for value in row[1:-1]),
                     row.updated_at) for row in rows}  # fmt: skip


def class_entries() -> list[tuple]:
    entries = sa.select(AuditEntry).where(AuditEntry.action == "contact.reclassified")
    return sorted((e.record_type, e.record_id, e.changes, e.actor_id, e.ip) for e in db.session.scalars(entries))


def one_by_one(workspace, today: date) -> int:
    """The classification as it went before batches: the cut-offs, then each contact on its own."""
    classification.compute_cutoffs(workspace)
    rules, changed = classification.rules_of(workspace), 0
    customers = sa.select(Contact).where(Contact.deleted_at.is_(None), classification.to_classify())
    for contact in db.session.scalars(customers.order_by(Contact.id)).all():
        changed += bool(classification.reclassify(contact, rules, today, workspace.timezone))
    db.session.flush()
    return changed


def outcome(app, ws, classify, today: date) -> tuple:
    """What ``classify`` leaves (contacts, which were written, class entries, the cut-offs, how many
    changed class), rolled back afterwards so the next way starts from the same state."""
    with app.app_context(), workspace_scope(ws.id):
        before = snapshot()
        workspace = db.session.get(Workspace, ws.id)
        changed = classify(workspace, today)
        after = snapshot()
        written = sorted(key for key, row in after.items() if row[-1] != before[key][-1])
        result = ({key: row[:-1] for key, row in after.items()}, written, class_entries(), workspace.class_cutoffs,
                  changed)  # fmt: skip
        db.session.rollback()
        return result


@pytest.mark.parametrize("rules", RULES)
@pytest.mark.parametrize("today", [TODAY, TODAY + timedelta(days=200)], ids=["today", "200 days on"])
def test_batches_classify_every_contact_as_one_by_one_does(app, ws_a, ws_b, monkeypatch, rules, today):
    monkeypatch.setattr(classification, "BATCH", 7)  # several batches, with trashed contacts between
    build(app, ws_a, seed=1)
    build(app, ws_b, seed=2, customers=15)
    with app.app_context():
        db.session.get(Workspace, ws_a.id).customer_rules = RULES[rules]
        db.session.commit()
    with app.app_context(), workspace_scope(ws_b.id):
        other_workspace = snapshot()

    old = outcome(app, ws_a, one_by_one, today)
    new = outcome(app, ws_a, classification.reclassify_all, today)

    contacts, written, entries, cutoffs, changed = new
    assert contacts == old[0]
    assert written == old[1]  # the same rows written, the others left alone
    assert entries == old[2]
    assert (cutoffs, changed) == (old[3], old[4])
    # The build makes all sorts of cases, which the comparison only means something with.
    values = list(contacts.values())  # the columns of STORED, then level_pinned and deleted_at
    assert len(written) > 10 and changed > 10 and any(row[-1] is not None for row in values)
    assert {row[4] for row in values} >= {"A", "D", None} and {row[5] for row in values} >= {"vip", "ordinary"}
    assert len({row[6] for row in values}) >= 3 and any(row[7] for row in values)
    if rules == "by share":
        assert set(cutoffs) == {"tier_a", "tier_b", "tier_c", "vip_value"}
    # Another workspace's customers are never touched.
    with app.app_context(), workspace_scope(ws_b.id):
        assert snapshot() == other_workspace


def test_a_second_run_writes_nothing_and_the_trash_stays_as_it_was(app, ws_a):
    build(app, ws_a, seed=3)
    with app.app_context(), workspace_scope(ws_a.id):
        trashed = {key: row for key, row in snapshot().items() if row[-2] is not None}
        assert classification.reclassify_all(db.session.get(Workspace, ws_a.id), TODAY) > 0
        db.session.commit()
        classified = snapshot()
        assert {key: classified[key] for key in trashed} == trashed
        entries = class_entries()
    _contacts, written, entries_after, _cutoffs, changed = outcome(app, ws_a, classification.reclassify_all, TODAY)
    assert (written, entries_after, changed) == ([], entries, 0)


def test_a_contact_loaded_in_the_session_reads_what_the_batch_wrote(app, ws_a):
    build(app, ws_a, seed=4, customers=10)
    with app.app_context(), workspace_scope(ws_a.id):
        customers = sa.select(Contact).where(Contact.deleted_at.is_(None), classification.to_classify())
        loaded = db.session.scalars(customers).all()
        classification.reclassify_all(db.session.get(Workspace, ws_a.id), TODAY)
        seen = {contact.id: (contact.tier, contact.level, contact.lifecycle) for contact in loaded}
        db.session.expire_all()
        assert seen == {contact.id: (contact.tier, contact.level, contact.lifecycle) for contact in loaded}


def statements_of_a_run(app, ws, batch: int, monkeypatch) -> int:
    """The statements classifying every customer of ``ws`` sends (all of them stale), rolled back."""
    monkeypatch.setattr(classification, "BATCH", batch)
    with app.app_context(), workspace_scope(ws.id):
        workspace = db.session.get(Workspace, ws.id)
        db.session.execute(sa.select(sa.literal(1)))  # the transaction and its RLS settings begun
        with count_queries(app) as statements:
            assert classification.reclassify_all(workspace, TODAY) > 0
        db.session.rollback()
    # Not counted: the SET LOCALs of plans_kept around the UPDATE on PostgreSQL.
    return len([statement for statement in statements if "plan_cache_mode" not in statement])


def test_a_batch_sends_the_same_few_statements_whatever_its_size(app, ws_a, ws_b, monkeypatch):
    build(app, ws_a, seed=5, customers=8)
    build(app, ws_b, seed=5, customers=80)
    few, many = statements_of_a_run(app, ws_a, 1000, monkeypatch), statements_of_a_run(app, ws_b, 1000, monkeypatch)
    assert few == many  # one batch of a few customers or of many
    # The count of customers, then for each batch its contacts, their purchase figures, their open
    # deals, one UPDATE of those that changed and one INSERT of the class changes, and the read that
    # finds no more.
    assert many == 7
    customers = customers_of(app, ws_b)
    assert customers > 50
    sent = {size: statements_of_a_run(app, ws_b, size, monkeypatch) for size in (10, 20)}
    more_batches = -(-customers // 10) - -(-customers // 20)
    assert 3 * more_batches <= sent[10] - sent[20] <= 5 * more_batches


def customers_of(app, ws) -> int:
    with app.app_context(), workspace_scope(ws.id):
        live = (Contact.deleted_at.is_(None), classification.to_classify())
        return db.session.scalar(sa.select(sa.func.count()).select_from(Contact).where(*live))


def test_progress_is_told_after_each_batch_and_counts_customers_who_bought_meanwhile(app, ws_a, monkeypatch):
    monkeypatch.setattr(classification, "BATCH", 7)
    build(app, ws_a, seed=6, customers=30)
    customers = customers_of(app, ws_a)
    told = []

    def progress(done: int, total: int, changed: int) -> None:
        told.append((done, total))
        if done == 7:  # a new customer buys while the run goes on: the run reaches them too
            newcomer = Contact(name="Newcomer", last_purchase_at=LONG_AGO)
            db.session.add(newcomer)
            db.session.flush()
            five = Decimal(5)
            db.session.add(Purchase(contact_id=newcomer.id, purchased_on=TODAY, product="Tea", quantity=Decimal(1),
                                    unit_price=five, amount=five, currency="USD", base_amount=five))  # fmt: skip
            db.session.flush()

    with app.app_context(), workspace_scope(ws_a.id):
        classification.reclassify_all(db.session.get(Workspace, ws_a.id), TODAY, progress)
        newcomer = db.session.scalar(sa.select(Contact).where(Contact.name == "Newcomer"))
        assert (newcomer.tier, newcomer.lifecycle) == ("D", "new")
        db.session.rollback()
    steps = list(range(0, customers + 1, 7))
    assert told == [(0, customers), *((done, customers) for done in steps[1:]), (customers + 1, customers + 1)]


ZONED_CALLS = {
    # A call at 07:00 on 1 June in Shanghai (23:00 UTC on 31 May), 180 days on there: still active.
    "east of UTC": ("Asia/Shanghai", time(7), 180, "active"),
    # A call at 20:00 on 1 June in Los Angeles (03:00 UTC on 2 June), 181 days on there: dormant.
    "west of UTC": ("America/Los_Angeles", time(20), 181, "dormant"),
}


@pytest.mark.parametrize("case", ZONED_CALLS)
def test_the_last_activity_counts_by_its_day_in_the_workspaces_time_zone_one_by_one_and_in_batches(app, ws_a, case):
    from zoneinfo import ZoneInfo

    from crm.activities.service import log_activity

    zone, local_time, days_on, lifecycle = ZONED_CALLS[case]
    with app.app_context():
        db.session.get(Workspace, ws_a.id).timezone = zone
        db.session.commit()
    ann = make_contact(app, ws_a, "Ann Lee")
    make_purchase(app, ws_a, ann, amount=100, on=date(2025, 1, 1))
    today = date(2026, 6, 1) + timedelta(days=days_on)  # in the workspace's time zone, as today_in gives it
    with app.app_context(), workspace_scope(ws_a.id):
        workspace, contact = db.session.get(Workspace, ws_a.id), db.session.get(Contact, ann)
        at = datetime.combine(date(2026, 6, 1), local_time, tzinfo=ZoneInfo(zone)).astimezone(UTC)
        log_activity(contact, ws_a.membership_id, {"kind": "call", "body": "Called", "occurred_at": at})
        classification.reclassify(contact, classification.rules_of(workspace), today, zone)
        db.session.commit()
        assert contact.lifecycle == lifecycle  # dormant after 180 days: on the 180th it is still active
        contact.lifecycle = "churned"  # stale, for the nightly run to put right
        db.session.commit()
        assert classification.reclassify_all(workspace, today) == 1
        db.session.commit()
        assert db.session.get(Contact, ann).lifecycle == lifecycle
