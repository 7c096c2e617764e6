"""Deterministic, seeded bench data (BENCH.md "Data"), written into a fresh bench database.

    python -m bench.data --db postgresql|sqlite --size S|M

1. Recreate the database (``flask crm pg-setup --drop`` for ``kehu_bench``, or a new
   instance/bench.sqlite3) and run the app's migrations.
2. Users, workspaces, built-in roles and memberships through the app's own functions
   (``sign_up``, ``create_workspace``): a few thousand rows. The first workspace is the whale,
   owned by ``common.WHALE_EMAIL``.
3. Tags, companies, contacts, contact tags, contact identities, the other workspaces' deals and everyone's
   activities in bulk: COPY on PostgreSQL (as the table owner,
   with FORCE ROW LEVEL SECURITY lifted inside the loading transaction only, since COPY FROM
   refuses RLS tables), Core executemany on SQLite. Search indexes (pg_trgm GIN, FTS5 trigram
   tables and their triggers) are dropped for the load and rebuilt after it; ``search_text`` is
   computed by the app's own ``contact_search_text`` / ``company_search_text``.

Rows of all workspaces are interleaved in time order, as years of use would leave them. Activities
(notes, calls, e-mails, meetings, a tenth of them tasks) fall on a workspace's older customers more
often than on its newer ones, between each customer's creation and the end of the span.
4. The whale's board: ``BOARD_DEALS`` open deals spread over the open stages of its default
   pipeline, plus won and lost ones (off the board) up to the size's ``whale_deals``, each on a
   contact, with their stage history.
5. The whale's ticket queue: ``QUEUE_TICKETS`` tickets over three years, most of them resolved or
   closed, a tenth escalated, each with its first message.
"""

import argparse
import heapq
import itertools
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from crm import create_app
from crm.auth.models import User
from crm.contacts import identities
from crm.contacts.classification import DEFAULT_RULES, Figures, level_for, lifecycle_for, tier_for
from crm.contacts.models import Contact, month_day
from crm.contacts.service import company_search_text, contact_search_text
from crm.deals.models import OPEN
from crm.extensions import db
from crm.search import drop_search_index_ddl, fts_table, search_index_ddl, searchable, sqlite_fts_ddl
from crm.security import hash_password
from crm.workspaces.models import Membership, Role
from crm.workspaces.service import create_workspace, sign_up

from bench import values
from bench.common import (
    PG_DATABASE,
    PG_OWNER_URL,
    PG_SUPERUSER_URL,
    SIZES,
    SQLITE_PATH,
    WHALE_EMAIL,
    WHALE_NAME,
    WHALE_PASSWORD,
    Size,
    database_env,
)

SEED = 20260101
START = datetime(2022, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=3 * 365)
END = START + SPAN  # the data's "today": purchases and activities stop here
BULK_TABLES = (
    "tags",
    "companies",
    "contacts",
    "contact_tags",
    "contact_identities",
    "purchases",
    "deals",
    "activities",
)
JSON_COLUMNS = ("emails", "phones", "custom")
SEARCHABLE = ("companies", "contacts")
# Migration 0047's index of deal titles' search text: dropped while deals are copied in and made again
# after, as the search indexes are (one GIN build, or FTS5 rebuild, instead of an insert per row).
DEAL_TITLE_INDEX = "ix_deals_trigram", "CREATE INDEX ix_deals_trigram ON deals USING gin (search_text gin_trgm_ops)"
FLASK = str(Path(sys.executable).parent / "flask")


@dataclass
class Tenant:
    index: int
    id: int
    members: list[int]  # membership ids, the possible owners of records
    contacts: int
    companies: int
    deals: int  # made in bulk (the whale's are made apart, see add_deals)
    activities: int
    stages: list[tuple[int, int, str]]  # (id, pipeline id, kind) of its default pipeline, in order
    timezone: ZoneInfo  # the workspace's: the app counts a customer's days in it
    tag_ids: dict[str, int] = field(default_factory=dict)
    company_rows: list[tuple[int, str, str]] = field(default_factory=list)  # (id, name, domain), filled in loading
    contacts_made: list[tuple[int, datetime]] = field(default_factory=list)  # live ones: (id, created at)


BOARD_DEALS = 2_000
DEAL_TITLES = ("Tea for the office", "Spring order", "Printing", "Support plan", "Fair stand", "Uniforms")
# (kind, share) of activities, and what they say.
ACTIVITY_KINDS = (("note", 40), ("call", 25), ("email", 20), ("meeting", 5), ("task", 10))
ACTIVITY_BODIES = {
    "note": ("Prefers delivery before noon.", "Asked about the autumn range.", "价格敏感，注意折扣。"),
    "call": ("Called about the last invoice.", "Follow-up call: happy with the order.", "电话回访，客户满意。"),
    "email": ("Sent the new price list.", "Replied to their question about sizes.", "已发送报价单。"),
    "meeting": ("Met at their office; wants a sample.", "Showroom visit with the buyer.", "展会面谈。"),
    "task": ("Send a quote", "Call back about the sample", "Check the payment", "回访客户"),
}
QUEUE_TICKETS = 100_000  # DESIGN §6: the ticket queue with 100,000 tickets
TICKET_SUBJECTS = ("Broken cup", "Late delivery", "Wrong invoice", "Missing item", "Rude courier", "Refund please")
# (status, share): most tickets of a three-year-old queue are done with.
TICKET_STATUSES = (("new", 3), ("open", 4), ("pending", 3), ("resolved", 20), ("closed", 70))


def rng_for(*key) -> random.Random:
    return random.Random(":".join(map(str, (SEED, *key))))


def run_flask(*args: str, env: dict[str, str]) -> None:
    subprocess.run([FLASK, "--app", "wsgi", *args], check=True, env={**os.environ, "KEHU_ENV": "development", **env})


def recreate_database(db: str) -> None:
    if db == "postgresql":
        run_flask("crm", "pg-setup", "--superuser-url", PG_SUPERUSER_URL, "--database", PG_DATABASE, "--drop", env={})
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
    run_flask("db", "upgrade", env=database_env(db))


def make_app(db: str):
    """The app connected as the table owner (RLS is forced for it too, so the tenancy wall still applies)."""
    url = PG_OWNER_URL if db == "postgresql" else database_env(db)["DATABASE_URL"]
    return create_app({"KEHU_ENV": "development", "SQLALCHEMY_DATABASE_URI": url, "CHECK_DATABASE_ROLE": False})


# --- accounts, through the app -----------------------------------------------------------


def shares(total: int, whale: int, count: int) -> list[int]:
    """``whale`` for the first workspace, the rest of ``total`` spread evenly over the others."""
    rest, extra = divmod(total - whale, count - 1) if count > 1 else (0, 0)
    return [whale] + [rest + (i < extra) for i in range(count - 1)]


def create_tenants(size: Size) -> list[Tenant]:
    password_hash = hash_password(WHALE_PASSWORD)  # hashed once: argon2 for each user would take minutes
    contacts = shares(size.contacts, size.whale, size.workspaces)
    companies = shares(size.companies, size.companies * size.whale // size.contacts, size.workspaces)
    deals = shares(size.deals - size.whale_deals, 0, size.workspaces)  # the whale's are made by add_deals
    activities = shares(size.activities, size.activities * size.whale // size.contacts, size.workspaces)
    tenants = []
    for index in range(size.workspaces):
        workspace_id, members, stages, timezone = make_workspace(index, password_hash)
        tenants.append(Tenant(index, workspace_id, members, contacts[index], companies[index], deals[index],
                              activities[index], stages, ZoneInfo(timezone)))  # fmt: skip
    return tenants


def make_workspace(index: int, password_hash: str) -> tuple[int, list[int], list[tuple[int, int, str]], str]:
    """A workspace with its Owner (through ``sign_up`` for the whale) and a sales team (25 people in
    the whale, 1 to 5 elsewhere); returns its id, its membership ids, its default pipeline's stages
    and its time zone."""
    from crm.deals.models import Stage

    rng = rng_for("workspace", index)
    timezone = rng.choice(("Asia/Shanghai", "Europe/London", "America/New_York"))
    if index == 0:
        _owner, workspace = sign_up("Whale Owner", WHALE_EMAIL, WHALE_PASSWORD, WHALE_NAME, timezone)
    else:
        owner = User(name=values.person(rng)[0], email=f"owner{index}@bench.example.com", password_hash=password_hash)
        db.session.add(owner)
        workspace = create_workspace(owner, values.company(rng)[0], timezone)
    workspace.currency = "USD"  # the generated purchases and deals are in USD, whatever the zone's country
    team = [
        User(name=values.person(rng)[0], email=f"member{index}-{k}@bench.example.com", password_hash=password_hash)
        for k in range(25 if index == 0 else rng.randint(1, 5))
    ]
    db.session.add_all(team)
    db.session.flush()
    sales = db.session.scalar(sa.select(Role.id).where(Role.builtin == "sales"))
    db.session.add_all(Membership(user_id=user.id, role_id=sales) for user in team)
    db.session.flush()
    members = list(db.session.scalars(sa.select(Membership.id).order_by(Membership.id)))
    stages = db.session.execute(sa.select(Stage.id, Stage.pipeline_id, Stage.kind).order_by(Stage.position)).all()
    db.session.commit()
    return workspace.id, members, [tuple(stage) for stage in stages], timezone


# --- rows ------------------------------------------------------------------------------------


def stamps(rng: random.Random, count: int) -> Iterator[datetime]:
    """``count`` creation times spread over the whole span, ascending."""
    for i in range(count):
        yield START + SPAN * ((i + rng.random()) / count)


def tag_rows(tenants: list[Tenant]) -> Iterator[dict]:
    ids = itertools.count(1)
    for tenant in tenants:
        for name in values.TAGS:
            tenant.tag_ids[name] = next(ids)
            yield {"id": tenant.tag_ids[name], "workspace_id": tenant.id, "name": name}


def address(rng: random.Random) -> dict:
    city, region, country = rng.choice(values.CITIES)
    if rng.random() < 0.3:
        return dict.fromkeys(("street", "city", "region", "postal_code", "country"))
    street = f"{rng.randint(1, 999)} {rng.choice(values.COMPANY_WORDS)} Road"
    return {"street": street, "city": city, "region": region, "postal_code": f"{rng.randrange(10**5):05d}",
            "country": country}  # fmt: skip


def company_row(tenant: Tenant, rng: random.Random, created_at: datetime) -> dict:
    name, domain = values.company(rng)
    row = {
        "workspace_id": tenant.id, "name": name, "industry": rng.choice(values.INDUSTRIES),
        "size": rng.choice(values.COMPANY_SIZES), "website": f"https://{domain}" if rng.random() < 0.7 else None,
        "phone": values.phone(rng, domain.endswith(".cn")) if rng.random() < 0.6 else None,
        "owner_id": rng.choice(tenant.members), "customer_since": (created_at + timedelta(days=30)).date(),
        "notes": None, "deleted_at": None, "created_at": created_at, "updated_at": created_at, "_domain": domain,
        **address(rng),
    }  # fmt: skip
    row["search_text"] = company_search_text(SimpleNamespace(**row))
    return row


def contact_row(tenant: Tenant, rng: random.Random, created_at: datetime) -> dict:
    name, handle, chinese = values.person(rng)
    company_id, company_name, domain = rng.choice(tenant.company_rows) if rng.random() < 0.6 else (None, None, None)
    row = {
        "workspace_id": tenant.id, "name": name, "emails": values.emails(rng, handle, domain),
        "phones": [values.phone(rng, chinese) for _ in range(rng.choices((0, 1, 2), weights=(20, 65, 15))[0])],
        "company_id": company_id, "title": rng.choice(values.TITLES), "gender": rng.choice(values.GENDERS),
        "birthday": START.date() - timedelta(days=rng.randint(20 * 365, 70 * 365)) if rng.random() < 0.3 else None,
        "source": rng.choice(values.SOURCES), "about": None,
        "owner_id": rng.choice(tenant.members) if rng.random() < 0.9 else None,
        "level_pinned": False,
        "last_activity_at": min(created_at + timedelta(days=rng.randint(0, 400)), END) if rng.random() < 0.8 else None,
        "deleted_at": created_at + timedelta(days=30) if rng.random() < 0.01 else None,
        "created_at": created_at, "updated_at": created_at, "_tags": values.tags(rng), **address(rng),
    }  # fmt: skip
    row["_purchases"] = values.purchases(rng, created_at.date(), END.date())
    row.update(classified(row["_purchases"], row["last_activity_at"], tenant.timezone))
    row["search_text"] = contact_search_text(SimpleNamespace(**row), company_name)
    row["birthday_md"] = month_day(row["birthday"])
    return row


def classified(bought: list[tuple], last_activity_at: datetime | None, timezone: ZoneInfo) -> dict:
    """The figures and classes the app stores for a contact with these purchases, by the default
    rules, as they stood at the end of the data's span: days counted in the workspace's time zone,
    as the app counts them."""
    today, year = END.astimezone(timezone).date(), timedelta(days=365)
    figures = Figures(
        value_12m=sum((amount for day, *_, amount in bought if day > today - year), Decimal(0)),
        value_prev_12m=sum(
            (amount for day, *_, amount in bought if today - 2 * year < day <= today - year), Decimal(0)
        ),
        lifetime_value=sum((amount for *_, amount in bought), Decimal(0)),
        first_purchase=bought[0][0] if bought else None,
        last_purchase=bought[-1][0] if bought else None,
    )
    last_activity = last_activity_at.astimezone(timezone).date() if last_activity_at else None
    return {
        "value_12m": figures.value_12m, "value_prev_12m": figures.value_prev_12m,
        "lifetime_value": figures.lifetime_value,
        "tier": tier_for(figures.value_12m, DEFAULT_RULES) if bought else None,
        "level": level_for(figures, DEFAULT_RULES),
        "lifecycle": lifecycle_for(figures, DEFAULT_RULES, today, "lead", last_activity),
        "last_purchase_at": datetime.combine(figures.last_purchase, datetime.min.time(), UTC) if bought else None,
    }  # fmt: skip


def interleaved(tenants: list[Tenant], kind: str, make_row, count) -> Iterator[dict]:
    """Every tenant's rows merged in creation order, with ids given in that order."""

    def rows_of(tenant):
        rng = rng_for(kind, tenant.index)
        return (make_row(tenant, rng, stamp) for stamp in stamps(rng, count(tenant)))

    merged = heapq.merge(*map(rows_of, tenants), key=itemgetter("created_at"))
    for row_id, row in enumerate(merged, start=1):
        row["id"] = row_id
        yield row


def company_rows(tenants: list[Tenant]) -> Iterator[dict]:
    """Companies; each tenant's (id, name, domain) list is filled as they go, for its contacts to pick from."""
    by_id = {tenant.id: tenant for tenant in tenants}
    for row in interleaved(tenants, "companies", company_row, lambda tenant: tenant.companies):
        by_id[row["workspace_id"]].company_rows.append((row["id"], row["name"], row.pop("_domain")))
        yield row


def contact_rows(tenants: list[Tenant], links: list[dict], found: list[dict], bought: list[tuple]) -> Iterator[dict]:
    """Contacts; their tags are appended to ``links`` (contact_tags rows), their emails and phones
    to ``found`` (contact_identities rows), their purchases to ``bought`` (see purchase_rows)."""
    by_id = {tenant.id: tenant for tenant in tenants}
    for row in interleaved(tenants, "contacts", contact_row, lambda tenant: tenant.contacts):
        tenant = by_id[row["workspace_id"]]
        if row["deleted_at"] is None:
            tenant.contacts_made.append((row["id"], row["created_at"]))
        tag_ids = tenant.tag_ids
        for name in row.pop("_tags"):
            links.append({"id": len(links) + 1, "workspace_id": row["workspace_id"], "contact_id": row["id"],
                          "tag_id": tag_ids[name]})  # fmt: skip
        bought.extend((row["workspace_id"], row["id"], row["company_id"], *p) for p in row.pop("_purchases"))
        for identity in identities.rows_for(row["id"], row["emails"], row["phones"]):
            found.append({"id": len(found) + 1, "workspace_id": row["workspace_id"], **identity})
        yield row


def purchase_rows(bought: list[tuple]) -> Iterator[dict]:
    """Purchases as made by contact_rows: (workspace, contact, company, day, product, quantity, unit
    price, amount), entered on their day."""
    for row_id, (workspace_id, contact_id, company_id, day, product, quantity, unit_price, amount) in enumerate(
        bought, start=1
    ):
        entered = datetime.combine(day, datetime.min.time(), UTC)
        yield {
            "id": row_id, "workspace_id": workspace_id, "contact_id": contact_id, "company_id": company_id,
            "purchased_on": day, "product": product, "quantity": quantity, "unit_price": unit_price,
            "amount": amount, "base_amount": amount, "currency": "USD", "import_id": None, "created_at": entered,
            "updated_at": entered,
        }  # fmt: skip


def deal_row(tenant: Tenant, rng: random.Random, created_at: datetime) -> dict:
    """A deal of another workspace than the whale: most of a three-year history is won or lost."""
    open_now = rng.random() < 0.3
    stage_id, pipeline_id, kind = rng.choice([stage for stage in tenant.stages if (stage[2] == OPEN) == open_now])
    contact_id = rng.choice(tenant.contacts_made)[0] if tenant.contacts_made and rng.random() < 0.9 else None
    entered = created_at + timedelta(days=rng.randint(0, 60))
    closed = kind != OPEN
    return {
        "workspace_id": tenant.id, "title": (title := rng.choice(DEAL_TITLES)), "search_text": searchable(title),
        "value": rng.randint(100, 50_000),
        "currency": "USD", "contact_id": contact_id, "owner_id": rng.choice(tenant.members),
        "pipeline_id": pipeline_id, "stage_id": stage_id,
        "expected_close_on": (created_at + timedelta(days=rng.randint(10, 120))).date(), "status": kind,
        "closed_on": entered.date() if closed else None, "stage_entered_at": entered, "custom": {},
        "created_at": created_at, "updated_at": entered,
    }  # fmt: skip


def deal_rows(tenants: list[Tenant]) -> Iterator[dict]:
    """Deals of the other workspaces, each placed after the earlier ones of its workspace."""
    positions = {tenant.id: itertools.count() for tenant in tenants}
    for row in interleaved(tenants, "deals", deal_row, lambda tenant: tenant.deals):
        row["position"] = next(positions[row["workspace_id"]])
        yield row


def activity_rows(tenants: list[Tenant]) -> Iterator[dict]:
    """Every workspace's activities on its contacts, all merged in time order, ids in that order."""
    merged = heapq.merge(*map(_activities_of, tenants), key=itemgetter(0))
    for row_id, (occurred_at, tenant, contact_id, kind, rng_value) in enumerate(merged, start=1):
        rng = random.Random(rng_value)
        row = {
            "id": row_id, "workspace_id": tenant.id, "contact_id": contact_id, "deal_id": None, "kind": kind,
            "body": rng.choice(ACTIVITY_BODIES[kind]), "occurred_at": occurred_at,
            "author_id": rng.choice(tenant.members), "assignee_id": None, "due_at": None, "remind_at": None,
            "reminded_at": None, "done_at": None, "created_at": occurred_at, "updated_at": occurred_at,
        }  # fmt: skip
        if kind == "task":
            due = occurred_at + timedelta(days=rng.randint(1, 14))
            done = due < END and rng.random() < 0.8
            row.update(assignee_id=row["author_id"], due_at=due, done_at=due if done else None)
        yield row


def _activities_of(tenant: Tenant) -> Iterator[tuple]:
    """One workspace's activities as (time, tenant, contact, kind, seed), in time order. Older
    customers get more of them: the contact is drawn with a bias toward the start of the list."""
    rng, made = rng_for("activities", tenant.index), tenant.contacts_made
    if not made:
        return iter(())
    kinds = [kind for kind, share in ACTIVITY_KINDS for _ in range(share)]
    found = []
    for _ in range(tenant.activities):
        contact_id, created_at = made[int(len(made) * rng.random() ** 1.5)]
        occurred_at = created_at + (END - created_at) * rng.random()
        found.append((occurred_at, tenant, contact_id, rng.choice(kinds), rng.getrandbits(32)))
    found.sort(key=itemgetter(0))
    return iter(found)


# --- bulk writers ------------------------------------------------------------------------------


def chunks(rows: Iterable, size: int = 5_000) -> Iterator[list]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def load(app, tenants: list[Tenant]) -> None:
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            raw = db.engine.raw_connection()
            try:
                load_postgresql(raw.driver_connection, db.metadata, tenants)
            finally:
                raw.close()
        else:
            with db.engine.begin() as connection:
                load_sqlite(connection, db.metadata, tenants)


def write_all(write, tenants: list[Tenant]) -> None:
    links: list[dict] = []
    found: list[dict] = []
    bought: list[tuple] = []
    for table, rows in (("tags", tag_rows(tenants)), ("companies", company_rows(tenants)),
                        ("contacts", contact_rows(tenants, links, found, bought)), ("contact_tags", links),
                        ("contact_identities", found), ("purchases", purchase_rows(bought)),
                        ("deals", deal_rows(tenants[1:])),
                        ("activities", activity_rows(tenants))):  # fmt: skip
        started = time.monotonic()
        count = write(table, rows)
        print(f"  {table}: {count:,} rows in {time.monotonic() - started:.1f} s", flush=True)


def load_postgresql(connection, metadata, tenants: list[Tenant]) -> None:
    cursor = connection.cursor()

    def write(table: str, rows: Iterable[dict]) -> int:
        rows = iter(rows)
        first = next(rows)
        columns = [column.name for column in metadata.tables[table].columns if column.name in first]
        count = 0
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for count, row in enumerate(itertools.chain([first], rows), start=1):  # noqa: B007  (returned)
                copy.write_row([json.dumps(row[c]) if c in JSON_COLUMNS else row[c] for c in columns])
        return count

    cursor.execute("SET maintenance_work_mem = '512MB'")
    # The app's connections plan every statement for its parameters (crm/config.py); foreign-key checks
    # would then be planned again for each row copied.
    cursor.execute("SET plan_cache_mode = auto")
    for table in BULK_TABLES:
        cursor.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    for table in SEARCHABLE:
        for statement in drop_search_index_ddl(table, "postgresql"):
            cursor.execute(statement)
    cursor.execute(f"DROP INDEX IF EXISTS {DEAL_TITLE_INDEX[0]}")
    write_all(write, tenants)
    for table in SEARCHABLE:
        for statement in search_index_ddl(table, "postgresql"):
            cursor.execute(statement)
    cursor.execute(DEAL_TITLE_INDEX[1])
    for table in BULK_TABLES:
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        cursor.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    cursor.execute("ANALYZE")
    connection.commit()


def load_sqlite(connection, metadata, tenants: list[Tenant]) -> None:
    """Core executemany: the app's own column types, so stored datetimes compare as the app's do."""

    def write(table: str, rows: Iterable[dict]) -> int:
        count = 0
        columns = metadata.tables[table].columns
        for chunk in chunks(rows):
            connection.execute(
                metadata.tables[table].insert(), [{k: v for k, v in row.items() if k in columns} for row in chunk]
            )
            count += len(chunk)
        return count

    for table in (*SEARCHABLE, "deals"):
        fts = fts_table(table)
        for suffix in ("ai", "ad", "au"):
            connection.exec_driver_sql(f"DROP TRIGGER {fts}_{suffix}")
        connection.exec_driver_sql(f"DROP TABLE {fts}")
    write_all(write, tenants)
    for table in (*SEARCHABLE, "deals"):
        for statement in sqlite_fts_ddl(table):
            connection.exec_driver_sql(statement)


def add_deals(app, tenant: Tenant, total: int) -> None:
    """The whale's ``total`` deals: its pipeline board (DESIGN §6: a board of 2,000 open deals), and
    the won and lost ones of three years."""
    from crm.deals.models import OPEN, Deal, Stage
    from crm.tenancy import workspace_scope

    rng, now = rng_for("deals"), datetime.now(UTC)
    with app.app_context(), workspace_scope(tenant.id):
        stages = list(db.session.scalars(sa.select(Stage).order_by(Stage.pipeline_id, Stage.position)))
        open_stages = [stage for stage in stages if stage.kind == OPEN]
        closed = [stage for stage in stages if stage.kind != OPEN]
        contact_ids = list(db.session.scalars(sa.select(Contact.id).order_by(Contact.id).limit(total)))
        rows, positions = [], dict.fromkeys([stage.id for stage in stages], 0)
        for number in range(max(total, BOARD_DEALS)):
            stage = open_stages[number % len(open_stages)] if number < BOARD_DEALS else rng.choice(closed)
            entered = now - timedelta(days=rng.randint(0, 60 if stage.kind == OPEN else 3 * 365))
            rows.append({
                "workspace_id": tenant.id, "title": (title := f"{DEAL_TITLES[number % len(DEAL_TITLES)]} #{number}"),
                "search_text": searchable(title),
                "value": rng.randint(100, 50_000), "currency": "USD",
                "contact_id": contact_ids[number % len(contact_ids)], "owner_id": rng.choice(tenant.members),
                "pipeline_id": stage.pipeline_id, "stage_id": stage.id, "position": positions[stage.id],
                "expected_close_on": (now + timedelta(days=rng.randint(-10, 90))).date(),
                "status": stage.kind, "stage_entered_at": entered, "custom": {}, "created_at": entered,
                "updated_at": entered,
            })  # fmt: skip
            positions[stage.id] += 1
        db.session.execute(sa.insert(Deal.__table__), rows)
        db.session.commit()
    print(f"  deals: {len(rows):,} rows ({BOARD_DEALS:,} open on the whale's board)", flush=True)


def add_deal_history(app, tenant: Tenant) -> None:
    """The stage history of the whale's deals, which the Sales report follows: each deal entered the
    open stages up to its own (or, closed, some of them and then Won or Lost) 1-20 days apart, from
    its creation; closed deals get their close date, lost ones a reason from the workspace's list."""
    from crm.deals.models import LOST, OPEN, Deal, DealStageChange, LostReason, Stage
    from crm.tenancy import workspace_scope

    rng = rng_for("deal-history")
    with app.app_context(), workspace_scope(tenant.id):
        stages = list(db.session.scalars(sa.select(Stage).order_by(Stage.pipeline_id, Stage.position)))
        open_stages = [stage for stage in stages if stage.kind == OPEN]
        reasons = list(db.session.scalars(sa.select(LostReason.id)))
        deals = db.session.execute(sa.select(Deal.id, Deal.stage_id, Deal.status, Deal.stage_entered_at)).all()
        changes, updates = [], []
        for deal in deals:
            path = _deal_path(deal.stage_id, [stage.id for stage in open_stages], rng)
            at = deal.stage_entered_at
            entered = [at]
            for _stage in path[1:]:
                at -= timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 23))
                entered.append(at)
            entered.reverse()
            for previous, stage_id, when in zip([None, *path], path, entered, strict=False):
                changes.append({"workspace_id": tenant.id, "deal_id": deal.id, "from_stage_id": previous,
                                "to_stage_id": stage_id, "at": when})  # fmt: skip
            updates.append({"deal_id": deal.id, "created": entered[0],
                            "closed": deal.stage_entered_at.date() if deal.status != OPEN else None,
                            "reason": rng.choice(reasons) if deal.status == LOST and reasons else None})  # fmt: skip
        db.session.execute(sa.insert(DealStageChange.__table__), changes)
        table = Deal.__table__
        db.session.execute(
            table.update()
            .where(table.c.id == sa.bindparam("deal_id"))
            .values(created_at=sa.bindparam("created"), closed_on=sa.bindparam("closed"),
                    lost_reason_id=sa.bindparam("reason")),
            updates,
        )  # fmt: skip
        db.session.commit()
    print(f"  deal stage changes: {len(changes):,} rows", flush=True)


def add_tickets(app, tenant: Tenant) -> None:
    """The whale's tickets (DESIGN §6: a ticket queue of 100,000), numbered from 1001 in creation
    order, with the counter set after them. One tracking token is sealed for all of them (the queue
    never opens it); each keeps a hash of its own, as the unique key wants."""
    import hashlib

    from crm import secrets as secrets_store
    from crm.tenancy import workspace_scope
    from crm.tickets.models import FIRST_NUMBER, PRIORITIES, Ticket, TicketCategory, TicketCounter, TicketMessage
    from crm.tickets.service import ticket_search_text

    rng = rng_for("tickets")
    statuses = [status for status, share in TICKET_STATUSES for _ in range(share)]
    with app.app_context(), workspace_scope(tenant.id):
        categories = list(db.session.scalars(sa.select(TicketCategory.id)))
        contacts = db.session.execute(sa.select(Contact.id, Contact.name).order_by(Contact.id)).all()
        sealed = secrets_store.encrypt("bench-token")
        times = sorted(START + SPAN * rng.random() for _ in range(QUEUE_TICKETS))
        rows = []
        for n, created in enumerate(times):
            contact = contacts[rng.randrange(len(contacts))]
            subject, email = rng.choice(TICKET_SUBJECTS), f"customer{contact.id}@example.com"
            rows.append({
                "workspace_id": tenant.id, "number": FIRST_NUMBER + n, "subject": subject,
                "contact_id": contact.id, "channel": rng.choice(("portal", "portal", "email", "phone")),
                "category_id": rng.choice(categories), "priority": rng.choice(PRIORITIES),
                "status": rng.choice(statuses), "queue": "escalated" if rng.random() < 0.1 else "general",
                "assignee_id": rng.choice(tenant.members) if rng.random() < 0.8 else None,
                "tracking_token_hash": hashlib.sha256(f"bench-{n}".encode()).hexdigest(),
                "tracking_token_sealed": sealed, "requester_name": contact.name,
                "requester_email": email, "search_text": ticket_search_text(subject, contact.name, email),
                "created_at": created, "updated_at": created,
            })  # fmt: skip
        for batch in chunks(rows):
            db.session.execute(sa.insert(Ticket.__table__), batch)
        db.session.add(TicketCounter(last_number=FIRST_NUMBER + QUEUE_TICKETS - 1))
        db.session.flush()
        ids = db.session.execute(sa.select(Ticket.id, Ticket.created_at)).all()
        messages = ({"workspace_id": tenant.id, "ticket_id": ticket_id, "kind": "customer",
                     "body": "It arrived broken.", "created_at": created} for ticket_id, created in ids)  # fmt: skip
        for batch in chunks(messages):
            db.session.execute(sa.insert(TicketMessage.__table__), batch)
        db.session.commit()
        for table in ("tickets", "ticket_messages"):  # fresh statistics, as autovacuum would give them later
            db.session.execute(sa.text(f"ANALYZE {table}"))
        db.session.commit()
    print(f"  tickets: {len(rows):,} rows, each with its first message", flush=True)


def _deal_path(stage_id: int, open_ids: list[int], rng: random.Random) -> list[int]:
    """The stages a deal went through to reach ``stage_id``: the open ones before it, or (a closed
    deal) the first few open ones and then its outcome."""
    if stage_id in open_ids:
        return open_ids[: open_ids.index(stage_id) + 1]
    return [*open_ids[: rng.randint(1, len(open_ids))], stage_id]


def settle(app) -> None:
    """Leaves PostgreSQL as autovacuum keeps a live database: fresh statistics, and visibility maps
    that let index-only scans (the board's column totals) skip the table. VACUUM runs outside a
    transaction."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM (ANALYZE)"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--size", choices=tuple(SIZES), default="S")
    args = parser.parse_args()
    size, started = SIZES[args.size], time.monotonic()
    recreate_database(args.db)
    app = make_app(args.db)
    with app.app_context():
        tenants = create_tenants(size)
    print(f"{len(tenants)} workspaces in {time.monotonic() - started:.0f} s; bulk load:", flush=True)
    load(app, tenants)
    add_deals(app, tenants[0], size.whale_deals)
    add_deal_history(app, tenants[0])
    add_tickets(app, tenants[0])
    settle(app)
    print(f"bench data {args.size} on {args.db} ready in {time.monotonic() - started:.0f} s; "
          f"sign in as {WHALE_EMAIL} / {WHALE_PASSWORD}")  # fmt: skip


if __name__ == "__main__":
    main()
