"""Name, A to Z as people read names (crm/sorting.py), not in byte order: lower-case and accented names
among the others, Chinese names after Latin ones (by pinyin on PostgreSQL), in the contacts and
companies lists, their pages, the company select and the deals list's text sorts; the pages come from
the name index (migration 0055), on PostgreSQL as the app role."""

import re
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from flask import g
from werkzeug.datastructures import MultiDict

from crm.contacts import company_list, list_rows
from crm.contacts.company_list import CompanyListState
from crm.contacts.list_view import ListState
from crm.contacts.models import Company, Contact
from crm.extensions import db
from crm.search import fold
from crm.tenancy import workspace_scope
from crm.workspaces.models import Membership, Workspace
from tests.conftest import IS_POSTGRES, owner_engine
from tests.factories import default_pipeline, make_company, make_contact, make_deal, make_product

LATIN = ["acme tea", "Ärzte Verlag", "Baker", "Zen Tea"]
# Pinyin on PostgreSQL (chén, lǐ, zhāng); by code point on SQLite (the characters' radical and strokes).
CHINESE = ["陈静", "李娜", "张伟"] if IS_POSTGRES else ["张伟", "李娜", "陈静"]
LISTS = {
    "contacts": ("contacts-more", r'<a href="[^"]+/contacts/\d+"[^>]*>([^<]+)</a>'),
    "companies": ("companies-more", r'<th scope="row"><a href="[^"]+"[^>]*>([^<]+)</a>'),
}


def walk(client, ws, listed: str, **args) -> list[str]:
    """The names of every page of a list, following "Load more"."""
    target, row = LISTS[listed]
    seen, url, headers = [], f"/w/{ws.slug}/{listed}/?{urlencode(args)}", {}
    while url:
        page = client.get(url, headers=headers).get_data(as_text=True)
        seen += [name.replace("&amp;", "&") for name in re.findall(row, page)]
        more = re.search(rf'id="{target}".*?data-hx-get="([^"]+)"', page, re.S)
        url, headers = (
            (more.group(1).replace("&amp;", "&"), {"HX-Request": "true", "HX-Target": target}) if more else (None, {})
        )
    return seen


def test_name_a_to_z_reads_lower_case_and_accented_names_among_the_others(app, client, auth, ws_a):
    for name in ("Zen Tea", "张伟", "acme tea", "李娜", "Ärzte Verlag", "陈静", "Baker"):
        make_company(app, ws_a, name)
        make_contact(app, ws_a, name)
    auth.login(ws_a.email, ws_a.password)
    assert walk(client, ws_a, "companies", sort="name") == LATIN + CHINESE
    assert walk(client, ws_a, "contacts", sort="name") == LATIN + CHINESE
    form = client.get(f"/w/{ws_a.slug}/contacts/new").get_data(as_text=True)  # the company select
    options = re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', form)
    assert [name for name in options if name in LATIN + CHINESE] == LATIN + CHINESE


def _names_with_ties() -> list[str]:
    """120 names: case and accent variants of the same letters, and the same name many times."""
    names = []
    for number in range(40):
        stem = f"name {number % 13:02d}"
        names += [stem, stem.title(), f"Nâme {number % 7:02d}"]
    return names


@pytest.mark.parametrize("listed", ["contacts", "companies"])
def test_pages_of_names_with_ties_neither_skip_nor_repeat(app, client, auth, ws_a, listed):
    make = make_contact if listed == "contacts" else make_company
    made = [make(app, ws_a, name) for name in _names_with_ties()]
    auth.login(ws_a.email, ws_a.password)
    seen = walk(client, ws_a, listed, sort="name")
    assert sorted(seen) == sorted(_names_with_ties())  # three pages of 50: every name once
    assert [fold(name) for name in seen] == sorted(fold(name) for name in seen)  # case and accents aside
    assert seen.index("name 00") < seen.index("Name 00") < seen.index("name 01")  # lower case first
    assert walk(client, ws_a, listed, sort="name", q="name") == seen  # searched (SQLite: FTS5) alike
    assert len(made) == 120


def test_the_deals_list_sorts_titles_and_customers_as_people_read_them(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    deals = {}
    for title, customer in (("Zen order", "Baker"), ("acme renewal", "Zen Tea"), ("Ärzte deal", "acme tea")):
        deals[title] = make_deal(app, ws_a, title, contact_id=make_contact(app, ws_a, customer))
    auth.login(ws_a.email, ws_a.password)
    url = f"/w/{ws_a.slug}/deals/pipelines/{sales.id}/list"

    def titles(sort: str) -> list[str]:
        page = client.get(url, query_string={"sort": sort}).get_data(as_text=True)
        order = [int(found) for found in re.findall(r'id="deal-row-(\d+)"', page)]
        return [title for deal_id in order for title, made in deals.items() if made == deal_id]

    assert titles("title") == ["acme renewal", "Ärzte deal", "Zen order"]
    assert titles("-title") == ["Zen order", "Ärzte deal", "acme renewal"]
    assert titles("customer") == ["Ärzte deal", "Zen order", "acme renewal"]  # acme tea, Baker, Zen Tea


def _plans(app, ws, rows_of) -> list[str]:
    """The plans of a first and a next page that ``rows_of(after)`` reads, as the app sends them."""
    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "ORDER BY" in statement:
            sent.append((statement, parameters))

    explain = "EXPLAIN " if IS_POSTGRES else "EXPLAIN QUERY PLAN "
    with app.test_request_context(), workspace_scope(ws.id):
        g.workspace = db.session.get(Workspace, ws.id)
        member = db.session.get(Membership, ws.membership_id)
        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            first = rows_of(None, member)
            following = rows_of(first.next_cursor, member)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
        assert len(following.items) == 50 and first.items[-1].id != following.items[0].id
        connection = db.session.connection()
        return ["\n".join(str(row) for row in connection.exec_driver_sql(explain + s, p)) for s, p in sent]


def _many(app, ws, table: str) -> None:
    """3,000 names in the workspace (one in three in the trash), copied from one row in the database."""
    model = make_contact(app, ws, "Model") if table == "contacts" else make_company(app, ws, "Model")
    columns = [c.name for c in (Contact if table == "contacts" else Company).__table__.columns]
    copied = ", ".join(c for c in columns if c not in ("id", "name", "deleted_at"))
    with app.app_context():
        engine = owner_engine(app)
        with engine.begin() as connection:
            if IS_POSTGRES:  # row-level security binds the owner too
                connection.execute(sa.text("SELECT set_config('app.current_workspace', :ws, true)"), {"ws": str(ws.id)})
            connection.execute(
                sa.text(
                    "WITH RECURSIVE numbers(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM numbers WHERE n < 3000)"
                    f" INSERT INTO {table} (name, deleted_at, {copied}) SELECT 'Name ' || (n % 700),"
                    f" CASE WHEN n % 3 = 0 THEN created_at ELSE NULL END, {copied}"
                    f" FROM {table}, numbers WHERE id = :model"
                ),
                {"model": model},
            )
            connection.execute(sa.text(f"ANALYZE {table}"))
        if engine is not db.engine:
            engine.dispose()


@pytest.mark.parametrize("table", ["contacts", "companies"])
def test_name_pages_start_in_the_name_index_after_their_cursor(app, ws_a, table):
    """A first and a next page by name are read from the name index, the next one from its cursor on
    (a deep page costs what the first does), as the app role under row-level security on PostgreSQL."""
    _many(app, ws_a, table)

    def rows_of(after, member):
        if table == "contacts":
            return list_rows.contact_rows(ListState.from_args(MultiDict({"sort": "name"})), after, member, [], {})
        state = CompanyListState.from_args(MultiDict({"sort": "name"}))
        return company_list.company_page(state, after, member, [], "UTC")

    plans = _plans(app, ws_a, rows_of)
    index = f"ix_{table}_name_order"
    assert len(plans) == 2 and all(index in plan for plan in plans), plans
    if IS_POSTGRES:
        assert all("Sort" not in plan for plan in plans), plans
        conditions = [line for line in plans[1].splitlines() if "ROW(" in line]
        assert conditions and all("Index Cond" in line for line in conditions), plans[1]
    else:
        assert all("TEMP B-TREE" not in plan for plan in plans), plans
        assert "name>?" in plans[1], plans[1]


def test_the_catalogue_lists_products_as_people_read_their_names(app, client, auth, ws_a):
    for name in ["Zen Tea", *CHINESE[::-1], "Baker", "acme tea", "Ärzte Verlag"]:
        make_product(app, ws_a, name)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/settings/products/").get_data(as_text=True)
    assert re.findall(r'<th scope="row"><a href="[^"]+/products/\d+">([^<]+)</a>', page) == LATIN + CHINESE
