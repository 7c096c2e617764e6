"""What one contact's page costs: a fresh database (a temporary SQLite file, or the PostgreSQL database
of DATABASE_URL and MIGRATION_DATABASE_URL, emptied and migrated), one workspace with a contact whose
page is full (30 activities and tasks, 20 purchases, deals won, lost and open, tickets, tags, custom
fields with a sensitive one, two imports that changed it, edits of its fields), then its page requested
N times through the Flask test client, signed in as the workspace's owner. Prints the SQL statements of
one request, the Python function calls per request (cProfile; steadier than time), and the process's
CPU ms per request (database time not included on PostgreSQL; SQLite's is, being in-process).

    python -m bench.contact_page [--db sqlite|postgresql] [--n 200] [--sql] [--top 30]

Never point it at a database you care about: it drops the schema first. It seeds through the tests'
factories and forms (tests/factories.py), so the data is what the app itself writes.
"""

import argparse
import cProfile
import os
import pstats
import tempfile
import time
from datetime import timedelta

import sqlalchemy as sa


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--sql", action="store_true", help="print the statements of one request")
    parser.add_argument("--top", type=int, default=0, help="print the top functions of a profile")
    args = parser.parse_args()
    app = _app(args.db)
    client = app.test_client()
    url = _seed(app, client)
    for _ in range(5):
        assert client.get(url).status_code == 200
    statements = _statements(app, client, url)
    print(f"{len(statements)} SQL statements (RLS set_config excluded)")
    if args.sql:
        print("\n\n".join(statements))
    calls, profile = _calls(client, url)
    cpu = min(_cpu(client, url, args.n) for _ in range(5))
    print(f"{calls} Python calls per request, {cpu:.2f} ms CPU per request (best of 5 batches of {args.n})")
    if args.top:
        profile.sort_stats("cumulative").print_stats(args.top)
        profile.sort_stats("tottime").print_stats(args.top)


def _app(db: str):
    from crm import create_app
    from crm.extensions import db as database
    from flask_migrate import upgrade
    from tests.conftest import _recreate_schema, app_config

    if db == "postgresql":
        url = os.environ["DATABASE_URL"]
        assert url.startswith("postgresql"), "DATABASE_URL must name a PostgreSQL database of your own"
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/contact_page.sqlite3"
        os.environ.pop("MIGRATION_DATABASE_URL", None)
    config = {**app_config(url, 1), "UPLOAD_DIR": tempfile.mkdtemp()}
    app = create_app(config)
    with app.app_context():
        if db == "postgresql":
            import tests.conftest

            tests.conftest.IS_POSTGRES = True
            _recreate_schema(app)
        upgrade()
        database.engine.dispose()
    return app


def _seed(app, client) -> str:
    """One workspace and its busiest contact; returns the contact's page and leaves the client signed in."""
    from tests.conftest import Auth
    from tests.factories import (
        make_activity,
        make_company,
        make_contact,
        make_custom_field,
        make_deal,
        make_deal_activity,
        make_member,
        make_purchase,
        make_ticket,
        make_workspace,
        set_custom_value,
    )

    ws = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    bob = make_member(app, ws, "bob@alpha.example.com")
    company = make_company(app, ws, "Acme Ltd", owner_id=ws.membership_id)
    fields = [
        make_custom_field(app, ws, "Segment", kind="select", options=["Retail", "Wholesale"]),
        make_custom_field(app, ws, "Website", kind="url"),
        make_custom_field(app, ws, "First order", kind="date"),
        make_custom_field(app, ws, "Tax number", sensitive=True),
    ]
    contact = make_contact(app, ws, "Ann Lee", tags=["vip", "fair 2026", "tea", "wholesale", "newsletter"],
                           emails=["ann@example.com", "ann.lee@work.example.com"], phones=["+16502530000"],
                           company_id=company, owner_id=ws.membership_id, title="Buyer", city="Leeds",
                           source="Trade fair")  # fmt: skip
    for field, value in zip(fields, ["Retail", "https://ann.example.com", "2025-03-01", "GB123456789"], strict=True):
        set_custom_value(app, ws, contact, field, value)
    deals = [make_deal(app, ws, f"Order {n}", value=1000 + n, contact_id=contact) for n in range(4)]
    _close_deals(app, ws, deals[:2])
    from crm.db import utcnow

    for n in range(30):
        if n % 3 == 0:
            make_activity(app, ws, contact, f"Task {n}", kind="task", assignee_id=bob.membership_id,
                          due_at=utcnow() + timedelta(days=n))  # fmt: skip
        else:
            kind = ("call", "note", "email", "meeting")[n % 4]
            author = (ws.membership_id, bob.membership_id)[n % 2]
            if n % 5 == 0:
                make_deal_activity(app, ws, deals[2], f"{kind} {n}", kind=kind, author_id=author)
            else:
                make_activity(app, ws, contact, f"{kind} {n}", kind=kind, author_id=author)
    for n in range(20):
        make_purchase(app, ws, contact, f"Tea {n}", amount=10 + n, on=utcnow().date() - timedelta(days=9 * n))
    for n in range(3):
        make_ticket(app, ws, contact, f"Broken cup {n}")
    auth = Auth(client)
    auth.login(ws.email, ws.password)
    _imports(app, client, ws)
    _edits(client, ws, contact, company)
    return f"/w/{ws.slug}/contacts/{contact}"


def _close_deals(app, ws, deal_ids: list[int]) -> None:
    """The first deal won, the second lost, through the service (stage history written)."""
    from datetime import date

    from crm.deals.models import Deal, LostReason
    from crm.deals.service import lose_deal, win_deal
    from crm.extensions import db
    from crm.tenancy import workspace_scope
    from crm.workspaces.models import Workspace

    won, lost = deal_ids
    with app.app_context(), workspace_scope(ws.id):
        win_deal(db.session.get(Deal, won), db.session.get(Workspace, ws.id), date.today(), ws.membership_id)
        reason = db.session.scalar(sa.select(LostReason).order_by(LostReason.id))
        lose_deal(db.session.get(Deal, lost), reason, None, date.today(), ws.membership_id)
        db.session.commit()


def _imports(app, client, ws) -> None:
    from tests.test_import_history import run_import

    for n in range(2):
        run_import(client, app, ws, f"Name,Email,Title,Company\nAnn Lee,ann@example.com,Buyer {n},Acme Ltd\n")


def _edits(client, ws, contact: int, company: int) -> None:
    """Five saves of the Details form, each an audited change."""
    from tests.conftest import post

    for n in range(5):
        data = {"name": "Ann Lee", "emails": "ann@example.com\nann.lee@work.example.com", "phones": "+16502530000",
                "title": f"Head buyer {n}", "company_id": str(company), "lifecycle": "customer", "city": "Leeds",
                "source": "Trade fair", "tags": "vip, fair 2026, tea, wholesale, newsletter"}  # fmt: skip
        response = post(client, f"/w/{ws.slug}/contacts/{contact}", data)
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]


def _statements(app, client, url: str) -> list[str]:
    from tests.query_counter import count_queries

    with count_queries(app) as statements:
        assert client.get(url).status_code == 200
    return statements


def _calls(client, url: str, n: int = 20) -> tuple[int, pstats.Stats]:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        client.get(url)
    profiler.disable()
    stats = pstats.Stats(profiler)
    return stats.total_calls // n, stats


def _cpu(client, url: str, n: int) -> float:
    started = time.process_time()
    for _ in range(n):
        client.get(url)
    return (time.process_time() - started) * 1000 / n


if __name__ == "__main__":
    main()
