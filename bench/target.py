"""What the benchmark asks for: the whale workspace, a deep keyset cursor, a contact to open, and
the endpoints of BENCH.md built from them. Read from the bench database as the table owner."""

from dataclasses import dataclass
from urllib.parse import quote

import sqlalchemy as sa
from crm.activities.models import Activity
from crm.contacts.models import Contact, ContactTag
from crm.pagination import encode_cursor

from bench.common import PG_OWNER_URL, SQLITE_URL, WHALE_EMAIL
from bench.values import RARE_LAST

DEEP_ROWS = 150_000
COMMON_TERM = "john"
# One or two Chinese characters (crm.search.with_cjk_grams): a character no generated name holds, and a
# given name of one Chinese contact in 20 (2% of the whale's contacts).
CJK_RARE, CJK_COMMON = quote("鑫"), quote("小明")
PARTIAL = {"HX-Request": "true", "HX-Target": "contact-results"}
TICKET_RESULTS = {"HX-Request": "true", "HX-Target": "ticket-results"}
HEADER_RESULTS = {"HX-Request": "true", "HX-Target": "global-search-results"}
MORE = {"HX-Request": "true", "HX-Target": "contacts-more"}


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    headers: dict
    baseline: bool = False  # served by bench/baseline.py instead of the app


@dataclass(frozen=True)
class Target:
    workspace_id: int
    slug: str
    contacts: int
    deep_cursor: str
    contact_id: int


def find_target(db: str) -> Target:
    engine = sa.create_engine(PG_OWNER_URL if db == "postgresql" else SQLITE_URL)
    try:
        with engine.connect() as connection:
            return _target(connection)
    finally:
        engine.dispose()


def _target(connection: sa.Connection) -> Target:
    workspace_id, slug = connection.execute(
        sa.text("SELECT w.id, w.slug FROM workspaces w JOIN users u ON u.last_workspace_id = w.id WHERE u.email = :e"),
        {"e": WHALE_EMAIL},
    ).one()
    if connection.dialect.name == "postgresql":  # RLS is forced for the owner too
        connection.execute(sa.text("SELECT set_config('app.current_workspace', :w, false)"), {"w": str(workspace_id)})
    contact, link = Contact.__table__.c, ContactTag.__table__.c  # tables: no mapper set-up needed
    live = sa.and_(contact.workspace_id == workspace_id, contact.deleted_at.is_(None))
    contacts = connection.scalar(sa.select(sa.func.count()).where(live))
    newest_first = (
        sa.select(contact.created_at, contact.id).where(live).order_by(contact.created_at.desc(), contact.id.desc())
    )
    deep = connection.execute(newest_first.offset(min(DEEP_ROWS, contacts * 3 // 4)).limit(1)).one()
    tagged = sa.select(link.contact_id).where(link.workspace_id == workspace_id)
    candidates = sa.select(contact.id).where(live, contact.company_id.isnot(None), contact.id.in_(tagged))
    activity = Activity.__table__.c
    busiest = (  # the detail page with the longest timeline
        sa.select(activity.contact_id)
        .where(activity.workspace_id == workspace_id, activity.contact_id.in_(candidates))
        .group_by(activity.contact_id)
        .order_by(sa.func.count().desc(), activity.contact_id.desc())
        .limit(1)
    )
    contact_id = connection.scalar(busiest) or connection.scalar(sa.select(sa.func.max(candidates.subquery().c.id)))
    return Target(workspace_id, slug, contacts, encode_cursor([deep.created_at, deep.id]), contact_id)


def endpoints(target: Target) -> list[Endpoint]:
    contacts = f"/w/{target.slug}/contacts/"
    return [
        Endpoint("healthz", "/healthz", {}),
        Endpoint("baseline", "/", {}, baseline=True),
        # The least a signed-in workspace request costs: sign-in, workspace wall, permission, one small
        # query (the bulk bar's owner choices, ~30 options) and a fragment. No page can beat it.
        Endpoint("signed-in floor", f"{contacts}owner-choices", {"HX-Request": "true"}),
        Endpoint("contacts list", contacts, {}),
        Endpoint("contacts htmx", contacts, PARTIAL),
        Endpoint("deep page", f"{contacts}?after={target.deep_cursor}", MORE),
        Endpoint("search rare", f"{contacts}?q={RARE_LAST.lower()}", PARTIAL),
        Endpoint("search common", f"{contacts}?q={COMMON_TERM}", PARTIAL),
        Endpoint("search cjk rare", f"{contacts}?q={CJK_RARE}", PARTIAL),
        Endpoint("search cjk common", f"{contacts}?q={CJK_COMMON}", PARTIAL),
        Endpoint("filter lifecycle", f"{contacts}?lifecycle=active", {}),
        Endpoint("filter tag", f"{contacts}?tag=vip", {}),
        Endpoint("contact detail", f"{contacts}{target.contact_id}", {}),
        Endpoint("companies list", f"/w/{target.slug}/companies/", {}),
        # What the bulk bar counts when "all matching" is chosen: up to 10,001 of a filter's contacts.
        Endpoint("bulk count", f"{contacts}bulk-count?scope=all&lifecycle=active", {"HX-Request": "true"}),
        Endpoint("trash", f"{contacts}trash", {}),
        Endpoint("deals board", f"/w/{target.slug}/deals/", {}),
        Endpoint("sales report", f"/w/{target.slug}/reports/sales", {}),
        Endpoint("ticket queue", f"/w/{target.slug}/tickets/", {}),
        # Search as you type over all 100,000 tickets (a word in a sixth of the subjects), the partial.
        Endpoint("ticket search", f"/w/{target.slug}/tickets/?status=all&q=refund", TICKET_RESULTS),
        # The header's search as you type: contacts, companies, deal titles and tickets, 8 of each.
        Endpoint("header search", f"/w/{target.slug}/search/?q={RARE_LAST.lower()}", HEADER_RESULTS),
    ]
