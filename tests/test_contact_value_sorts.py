"""The contacts list sorted by value: "Highest value in the last 12 months (tier A first)" and "Highest
lifetime value", keyset-paged across equal values and contacts who never bought, in the filter panel's
sort select, the URL, "Load more", saved views and exports, another workspace's customers never among
them, and no more queries than the default sort; on PostgreSQL, pages read from the sort's index."""

import re
from datetime import date, timedelta
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from flask import g
from werkzeug.datastructures import MultiDict

from crm.contacts import list_rows
from crm.contacts.list_view import ListState
from crm.contacts.models import Contact
from crm.extensions import db
from crm.pagination import encode_cursor
from crm.tenancy import workspace_scope
from crm.workspaces.models import Membership, Workspace
from tests.conftest import owner_engine, post
from tests.factories import make_contact, make_purchase
from tests.query_counter import count_queries
from tests.test_contacts import export_rows

LONG_AGO = date.today() - timedelta(days=800)  # before the last 24 months: lifetime value only
MORE = {"HX-Request": "true", "HX-Target": "contacts-more"}
# By 12-month value; equal ones by lifetime value, then the newest first.
BY_12_MONTHS = ["Big Spender", "Mid Loyal", "Mid Two", "Mid One", "Lapsed Big", "Lapsed Small",
                "Never 2", "Never 1", "Never 0"]  # fmt: skip
BY_LIFETIME = ["Big Spender", "Lapsed Big", "Mid Loyal", "Mid Two", "Mid One", "Lapsed Small",
               "Never 2", "Never 1", "Never 0"]  # fmt: skip


def contacts_url(ws, rest: str = "") -> str:
    return f"/w/{ws.slug}/contacts/{rest}"


def customers(app, ws) -> None:
    """Tier A, three of tier B with the same 12-month value (one with an older purchase too), two
    of tier D who bought only long ago, and three who never bought (no tier; both values 0)."""
    make_purchase(app, ws, make_contact(app, ws, "Big Spender"), amount=12000)
    for name in ("Mid One", "Mid Two"):
        make_purchase(app, ws, make_contact(app, ws, name), amount=3000)
    loyal = make_contact(app, ws, "Mid Loyal")
    make_purchase(app, ws, loyal, amount=3000)
    make_purchase(app, ws, loyal, amount=5000, on=LONG_AGO)
    make_purchase(app, ws, make_contact(app, ws, "Lapsed Small"), amount=100, on=LONG_AGO)
    make_purchase(app, ws, make_contact(app, ws, "Lapsed Big"), amount=9000, on=LONG_AGO)
    for number in range(3):
        make_contact(app, ws, f"Never {number}")


def names_in(page: str) -> list[str]:
    return re.findall(r'<a href="[^"]+/contacts/\d+"[^>]*>([^<]+)</a>', page)


def more_link(page: str) -> str | None:
    more = re.search(r'id="contacts-more".*?data-hx-get="([^"]+)"', page, re.S)
    return more.group(1).replace("&amp;", "&") if more else None


def every_page(client, ws, **args) -> tuple[list[str], list[str]]:
    """The names of every page, following "Load more", and the URL of each page."""
    seen, urls, url, headers = [], [], contacts_url(ws) + "?" + urlencode(args, doseq=True), {}
    while url:
        urls.append(url)
        page = client.get(url, headers=headers).get_data(as_text=True)
        seen += names_in(page)
        url, headers = more_link(page), MORE
    return seen, urls


def test_biggest_customers_first_in_pages_across_equal_values_and_those_who_never_bought(
    app, client, auth, ws_a, ws_b, monkeypatch
):
    customers(app, ws_a)
    make_purchase(app, ws_b, make_contact(app, ws_b, "Beta Whale"), amount=99000)  # another workspace's
    monkeypatch.setattr("crm.contacts.queries.PER_PAGE", 2)  # pages that split the ties and cross to zero
    auth.login(ws_a.email, ws_a.password)
    seen, urls = every_page(client, ws_a, sort="value_12m")
    assert seen == BY_12_MONTHS
    assert len(urls) == 5 and all("sort=value_12m" in url for url in urls)
    assert every_page(client, ws_a, sort="value")[0] == BY_LIFETIME
    # Tier order is the same: A, the B's, the D's, then those with no tier.
    tiers, _urls = every_page(client, ws_a, sort="value_12m", cols="tier")
    with app.app_context(), workspace_scope(ws_a.id):
        tier_of = dict(db.session.execute(sa.select(Contact.name, Contact.tier)).all())
    assert [tier_of[name] for name in tiers] == ["A", "B", "B", "B", "D", "D", None, None, None]
    # Searched (on SQLite the search's own ORDER BY) and filtered, the order holds.
    assert every_page(client, ws_a, sort="value_12m", q="mid")[0] == ["Mid Loyal", "Mid Two", "Mid One"]
    assert every_page(client, ws_a, sort="value_12m", tier="D")[0] == ["Lapsed Big", "Lapsed Small"]


def test_the_12_month_value_is_a_column_and_the_sort_is_in_the_panel_and_the_url(app, client, auth, ws_a):
    customers(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(contacts_url(ws_a), query_string={"sort": "value_12m", "cols": ["value_12m", "value"]})
    text = page.get_data(as_text=True)
    assert '<option value="value_12m" selected>Highest value in the last 12 months (tier A first)</option>' in text
    assert '<th scope="col">Value, last 12 months</th>' in text
    loyal = text.split(">Mid Loyal<")[1].split("</tr>")[0]
    assert '<td class="number">$8,000.00</td><td class="number">$3,000.00</td>' in loyal
    assert names_in(text) == BY_12_MONTHS
    plain = client.get(contacts_url(ws_a)).get_data(as_text=True)
    assert '<option value="value_12m">Highest value in the last 12 months (tier A first)</option>' in plain
    assert names_in(plain)[0] == "Never 2"  # the default stays newest first


def test_a_saved_view_keeps_the_sort(app, client, auth, ws_a):
    customers(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    panel = post(client, contacts_url(ws_a, "views/"), {"sort": "value_12m", "name": "Best customers"},
                 headers={"HX-Request": "true", "HX-Target": "saved-views-panel"})  # fmt: skip
    link = panel.get_data(as_text=True).split(">Best customers<")[0].rsplit('href="', 1)[1].split('"')[0]
    assert "sort=value_12m" in link
    assert names_in(client.get(link.replace("&amp;", "&")).get_data(as_text=True)) == BY_12_MONTHS


def test_the_export_follows_the_sort(app, client, auth, ws_a, monkeypatch):
    """The export has the list's rows in the list's order, read in batches by the same keyset."""
    customers(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    monkeypatch.setattr("crm.contacts.export.BATCH", 2)
    rows = export_rows(client.get(contacts_url(ws_a, "export.csv"), query_string={"sort": "value_12m"}))
    assert [row[0] for row in rows[1:]] == BY_12_MONTHS
    assert "Value, last 12 months" in rows[0] and "Lifetime value" in rows[0]
    chosen = export_rows(
        client.get(contacts_url(ws_a, "export.csv"), query_string={"sort": "value", "cols": "value_12m"})
    )
    assert chosen[0] == ["Name", "Value, last 12 months"]
    assert [row[0] for row in chosen[1:]] == BY_LIFETIME
    assert [row[1] for row in chosen[1:4]] == ["12000.00", "0.00", "3000.00"]


def test_a_sorted_page_sends_no_more_queries_than_the_default_one(app, client, auth, ws_a):
    customers(app, ws_a)
    for number in range(50):
        make_contact(app, ws_a, f"Lead {number:02d}")
    auth.login(ws_a.email, ws_a.password)
    counts = {}
    for sort in ("newest", "value_12m", "value"):
        url = contacts_url(ws_a) + f"?sort={sort}&cols=value_12m&cols=owner&cols=company"
        client.get(url)
        with count_queries(app) as first:
            page = client.get(url).get_data(as_text=True)
        with count_queries(app) as rest:
            client.get(more_link(page), headers=MORE)
        counts[sort] = (len(first), len(rest))
    assert counts["value_12m"] == counts["value"] == counts["newest"] == (3, 2), counts


def test_a_cursor_of_another_sort_is_refused(app, client, auth, ws_a, monkeypatch):
    customers(app, ws_a)
    monkeypatch.setattr("crm.contacts.queries.PER_PAGE", 2)
    auth.login(ws_a.email, ws_a.password)
    by_lifetime = more_link(client.get(contacts_url(ws_a), query_string={"sort": "value"}).get_data(as_text=True))
    cursor = re.search(r"after=([^&]+)", by_lifetime).group(1)
    assert client.get(contacts_url(ws_a), query_string={"sort": "value_12m", "after": cursor}).status_code == 400


def test_a_forged_cursor_is_refused_rather_than_failing(app, client, auth, ws_a):
    """A time without its zone ("naive datetime given to a UTC column"), year 1 at +14:00 (no instant in
    UTC), an id beyond a BIGINT (OverflowError on SQLite), a NUL in a name or an endless amount: each was
    a 500."""
    make_contact(app, ws_a, "Ann Lee")
    auth.login(ws_a.email, ws_a.password)
    forged = [
        ("newest", ["2026-01-01T00:00:00", "1"]),
        ("newest", ["0001-01-01T00:00:00+14:00", "1"]),
        ("newest", ["9999-12-31T23:00:00-14:00", "1"]),
        ("newest", ["2026-01-01T00:00:00+00:00", str(2**63)]),
        ("name", ["Ann\x00", "1"]),
        ("name", ["Ann", "-99999999999999999999"]),
        ("value", ["1e999999", "1"]),
        ("value", ["NaN", "1"]),
    ]
    for sort, values in forged:
        response = client.get(contacts_url(ws_a), query_string={"sort": sort, "after": encode_cursor(values)})
        assert response.status_code == 400, (sort, values)
    genuine = encode_cursor(["2999-12-31T23:59:59+14:00", str(2**63 - 1)])
    assert "Ann Lee" in client.get(contacts_url(ws_a), query_string={"after": genuine}).get_data(as_text=True)
    never_in_touch = encode_cursor(["0001-01-01T00:00:00+00:00", str(2**63 - 1)])  # the quiet end's key
    after_never = client.get(contacts_url(ws_a), query_string={"sort": "active", "after": never_in_touch})
    assert after_never.status_code == 200 and "Ann Lee" in after_never.get_data(as_text=True)


FIGURES = ("value_12m", "lifetime_value", "deleted_at")


@pytest.mark.postgres
@pytest.mark.parametrize("sort", ["value_12m", "value"])
def test_the_app_role_pages_by_value_from_the_sorts_index(app, ws_a, sort):
    """A first and a next page of 20,000 contacts (two in the trash in three) are read from the
    index, as the app role under row-level security, planned for their parameters as the app does.
    Needs the leakproof comparisons of `flask crm pg-setup` (crm/pg.py), as the search's indexes do."""
    model = make_contact(app, ws_a, "Model")
    columns = ", ".join(c.name for c in Contact.__table__.columns if c.name not in ("id", *FIGURES))
    engine = owner_engine(app)
    with engine.begin() as connection:
        connection.execute(sa.text("SELECT set_config('app.current_workspace', :ws, true)"), {"ws": str(ws_a.id)})
        connection.execute(sa.text(
            f"INSERT INTO contacts ({', '.join(FIGURES)}, {columns}) SELECT n % 997, n % 1009,"
            f" CASE WHEN n % 3 = 0 THEN NULL ELSE now() END, {columns}"
            " FROM contacts, generate_series(1, 20000) AS n WHERE id = :model"), {"model": model})  # fmt: skip
        connection.execute(sa.text("ANALYZE contacts"))
    engine.dispose()
    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "FROM contacts" in statement:
            sent.append((statement, parameters))

    plans = []
    index = "ix_contacts_workspace_id_value_12m" if sort == "value_12m" else "ix_contacts_workspace_id_lifetime_value"
    with app.test_request_context(), workspace_scope(ws_a.id):
        g.workspace = db.session.get(Workspace, ws_a.id)
        member = db.session.get(Membership, ws_a.membership_id)
        state = ListState.from_args(MultiDict({"sort": sort}))
        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            first = list_rows.contact_rows(state, None, member, ["company"], {})
            following = list_rows.contact_rows(state, first.next_cursor, member, ["company"], {})
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
        assert len(following.items) == 50 and first.items[-1].id != following.items[0].id
        for statement, parameters in sent:
            plans.append(
                "\n".join(db.session.connection().exec_driver_sql("EXPLAIN " + statement, parameters).scalars())
            )
    assert len(plans) == 2 and all(index in plan and "Sort" not in plan for plan in plans), plans
    # The next page starts in the index after the cursor (NUMERIC compared leakproof: crm/pg.py), rather
    # than reading it from the first entry and filtering: a deep page costs what the first one does.
    conditions = [line for line in plans[1].splitlines() if "ROW(" in line]
    assert conditions and all("Index Cond" in line for line in conditions), plans[1]
