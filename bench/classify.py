"""Classifying a workspace's customers again, as `flask crm recompute` does every night and saving
Settings -> Customer tiers does (crm/contacts/tier_runs.py): its speed in customers a second.

Makes a fresh database with one workspace of ``--contacts`` customers who bought (1-12 purchases
each over the last three years, counted from the real today; a tenth in another currency) and a
tenth as many who never did, 1% of the customers in the trash, half with a last activity, 3% with a
level pinned by hand, and tiers and VIP given as shares of customers (so the run works out the
percentile cut-offs first). Then, ``--runs`` times each, medians:

- "all change": every customer's stored classes and figures are made stale first (tier none,
  level ordinary unless pinned, lifecycle lead, lifetime and previous 12 months' values 0; the
  12-month value kept, which the cut-offs are worked out from), so the run writes every one of them
  and an audit entry each, as after a change of the rules;
- "none change": the run right after, which finds everything as it is, as most nights do.

Prints wall time, customers a second, the SQL statements sent, the CPU of this process and of the
PostgreSQL backend, and a checksum of every customer's stored classes and figures, so that two
versions of the code can be seen to classify alike:

    .venv/bin/python -m bench.classify --contacts 20000 --db postgresql [--database kehu_bench_classify]
"""

import argparse
import hashlib
import os
import platform
import statistics
import subprocess
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from crm import create_app
from crm.contacts.models import Contact
from crm.extensions import db
from crm.purchases.models import Purchase
from crm.tenancy import workspace_scope
from crm.workspaces.models import Workspace
from crm.workspaces.service import sign_up

from bench import values
from bench.data import rng_for
from bench.imports import backend_pid, cpu_times, database, peak_rss_mb

PG_DATABASE = "kehu_bench_classify"
SHARES = {"tier_by": "share", "vip_by": "share"}  # the rest as DEFAULT_RULES
CHUNK = 5_000


def load(workspace_id: int, buyers: int) -> None:
    """The customers and their purchases, in bulk (Core INSERTs in the bound workspace)."""
    rng = rng_for("classify", buyers)
    today = date.today()
    first, stale = today - timedelta(days=3 * 365), datetime(2000, 1, 1, tzinfo=UTC)
    people = [(True, number) for number in range(buyers)] + [(False, number) for number in range(buyers // 10)]
    rng.shuffle(people)  # buyers and the others interleaved in id order
    for start in range(0, len(people), CHUNK):
        contacts, bought = [], []
        for buyer, number in people[start : start + CHUNK]:
            name, _handle, _chinese = values.person(rng)
            purchases = []
            while buyer and not purchases:
                purchases = values.purchases(rng, first, today)
            touched = datetime.combine(today - timedelta(days=rng.randrange(700)), datetime.min.time(), UTC)
            contacts.append({
                "workspace_id": workspace_id, "name": f"{name} {number}", "emails": [], "phones": [],
                "search_text": name.lower(), "level": "ordinary", "level_pinned": buyer and rng.random() < 0.03,
                "lifecycle": "lead", "last_activity_at": touched if rng.random() < 0.5 else None,
                "last_purchase_at": stale if purchases else None,
                "deleted_at": stale if buyer and rng.random() < 0.01 else None,
            })  # fmt: skip
            bought.append(purchases)
        ids = db.session.scalars(sa.insert(Contact).returning(Contact.id, sort_by_parameter_order=True), contacts)
        rows = []
        for contact_id, purchases in zip(ids.all(), bought, strict=True):
            for day, product, quantity, unit_price, amount in purchases:
                foreign = rng.random() < 0.1
                rows.append({
                    "workspace_id": workspace_id, "contact_id": contact_id, "purchased_on": day, "product": product,
                    "quantity": Decimal(quantity), "unit_price": unit_price, "amount": amount,
                    "currency": "EUR" if foreign else "USD",
                    "base_amount": (amount * Decimal("1.08")).quantize(Decimal("0.01")) if foreign else amount,
                })  # fmt: skip
        db.session.execute(sa.insert(Purchase), rows)
        db.session.commit()


def make_stale() -> None:
    """Every customer's stored classes and figures as if never classified (pinned levels stay), but
    the 12-month values, so that the share cut-offs come out as they would."""
    db.session.execute(
        sa.update(Contact)
        .where(Contact.last_purchase_at.isnot(None))
        .values(tier=None, level=sa.case((Contact.level_pinned, Contact.level), else_="ordinary"), lifecycle="lead",
                value_prev_12m=0, lifetime_value=0, last_purchase_at=datetime(2000, 1, 1, tzinfo=UTC))
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    db.session.commit()


def checksum() -> tuple[str, dict]:
    """A digest of every contact's stored classes and figures, and how many are in each tier."""
    digest, tiers = hashlib.sha256(), {}
    columns = (Contact.id, Contact.tier, Contact.level, Contact.lifecycle, Contact.value_12m,
               Contact.value_prev_12m, Contact.lifetime_value, Contact.last_purchase_at)  # fmt: skip
    for row in db.session.execute(sa.select(*columns).order_by(Contact.id)):
        money = [Decimal(value).quantize(Decimal("0.01")) for value in row[4:7]]
        digest.update(repr((*row[:4], *money, row[7])).encode())
        tiers[row.tier] = tiers.get(row.tier, 0) + 1
    db.session.commit()
    return digest.hexdigest()[:16], dict(sorted(tiers.items(), key=lambda item: str(item[0])))


def timed_run(app, workspace_id: int, db_kind: str) -> tuple[float, int, list[float], int]:
    """One `flask crm recompute`: (seconds, statements sent, CPU seconds (this process, -, backend),
    customers changed)."""
    from crm.contacts.tier_runs import classify_every_workspace

    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(1)

    with app.app_context():
        with workspace_scope(workspace_id):
            backend = backend_pid(db_kind)
        sa.event.listen(db.engine, "before_cursor_execute", count)
        before = cpu_times(backend)
        started = time.perf_counter()
        ((_name, changed),) = classify_every_workspace()
        took = time.perf_counter() - started
        cpu = [after - earlier for earlier, after in zip(before, cpu_times(backend), strict=True)]
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return took, len(statements), cpu, changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=20_000, help="customers who bought")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--database", default=PG_DATABASE, help="the PostgreSQL database to (re)create")
    args = parser.parse_args()

    app_url, _owner_url = database(args.db, args.database)
    app = create_app({"KEHU_ENV": "development", "SQLALCHEMY_DATABASE_URI": app_url, "DEV_OUTBOX": False})
    with app.app_context():
        _user, workspace = sign_up("Bench Owner", "owner@bench-classify.example.com", "kehu-bench-password",
                                   "Classify Bench Co", "UTC")  # fmt: skip
        db.session.commit()
        workspace_id = workspace.id
    started = time.perf_counter()
    with app.app_context(), workspace_scope(workspace_id):
        db.session.get(Workspace, workspace_id).customer_rules = SHARES
        db.session.commit()
        load(workspace_id, args.contacts)
        if args.db == "postgresql":
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
        live = db.session.scalar(
            sa.select(sa.func.count()).where(Contact.deleted_at.is_(None), Contact.last_purchase_at.isnot(None))
        )
        purchases = db.session.scalar(sa.select(sa.func.count()).select_from(Purchase))
        db.session.commit()
    took = time.perf_counter() - started
    print(f"loaded {live:,} live customers who bought ({purchases:,} purchases) in {took:.0f} s")
    took = timed_run(app, workspace_id, args.db)[0]  # the 12-month values, which the cut-offs come from
    print(f"a first run worked out their figures in {took:.1f} s")

    for label, stale in (("all change", True), ("none change", False)):
        results = []
        for _run in range(args.runs):
            if stale:
                with app.app_context(), workspace_scope(workspace_id):
                    make_stale()
            results.append(timed_run(app, workspace_id, args.db))
        took = statistics.median(result[0] for result in results)
        cpu = [statistics.median(result[2][index] for result in results) for index in (0, 2)]
        backend = f"{cpu[1]:.1f} s" if args.db == "postgresql" else "n/a"
        print(f"{label}: {took:.2f} s ({', '.join(f'{r[0]:.2f}' for r in results)}), {live / took:,.0f} customers/s; "
              f"{results[0][1]:,} statements; {results[0][3]:,} changed class; CPU: this process {cpu[0]:.1f} s, "
              f"the PostgreSQL backend {backend}")  # fmt: skip
        with app.app_context(), workspace_scope(workspace_id):
            print(f"  checksum {checksum()}")
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"peak RSS {peak_rss_mb():.0f} MB; {args.db}; nproc {os.cpu_count()}; "
          f"Python {platform.python_version()}; git {git}")  # fmt: skip


if __name__ == "__main__":
    main()
