"""The Sales report: figures checked against deal histories built by hand (every expected number
is worked out in the comments), record scope, owner filter, isolation, permissions, bad filters,
the CSV downloads and a fixed number of queries."""

import csv
import html
import io
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from crm.db import utcnow
from crm.deals.models import Deal, DealStageChange, LostReason
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import assign_role, default_pipeline, make_member, make_role
from tests.query_counter import count_queries

PERIOD = {"from": "2026-01-01", "until": "2026-03-31"}
REPORT = {"HX-Request": "true", "HX-Target": "sales-report"}


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def add_deal(app, ws, title: str, value, path, *, status="open", closed_on=None, owner_id=None, reason=None,
             expected=None, currency="USD", deleted=False) -> int:  # fmt: skip
    """A deal with a hand-made stage history: ``path`` is [(stage id, entered on "YYYY-MM-DD"), ...],
    the first entry being its creation."""
    with app.app_context(), workspace_scope(ws.id):
        (first_stage, created), last_stage = path[0], path[-1][0]
        deal = Deal(title=title, value=Decimal(str(value)), currency=currency, owner_id=owner_id,
                    pipeline_id=_pipeline_of(first_stage), stage_id=last_stage, status=status,
                    closed_on=date.fromisoformat(closed_on) if closed_on else None,
                    expected_close_on=date.fromisoformat(expected) if expected else None,
                    lost_reason_id=_reason(reason) if reason else None, created_at=at(created),
                    stage_entered_at=at(path[-1][1]), deleted_at=utcnow() if deleted else None)  # fmt: skip
        db.session.add(deal)
        db.session.flush()
        previous = None
        for stage_id, day in path:
            db.session.add(DealStageChange(deal_id=deal.id, from_stage_id=previous, to_stage_id=stage_id, at=at(day)))
            previous = stage_id
        db.session.commit()
        return deal.id


def _pipeline_of(stage_id: int) -> int:
    from crm.deals.models import Stage

    return db.session.get(Stage, stage_id).pipeline_id


def _reason(name: str) -> int:
    reason = db.session.scalar(sa.select(LostReason).where(LostReason.name == name))
    if reason is None:
        reason = LostReason(name=name, position=99)
        db.session.add(reason)
        db.session.flush()
    return reason.id


@pytest.fixture
def history(app, ws_a):
    """Eleven deals of the Sales pipeline (Lead in 10%, Qualified 30%, Proposal 60%, Negotiation 80%)
    seen against the period 2026-01-01..2026-03-31. Alice is the Owner, Bob a member."""
    sales = default_pipeline(app, ws_a)
    lead, qualified, proposal, negotiation, won, lost = (
        sales.stages[name] for name in ("Lead in", "Qualified", "Proposal", "Negotiation", "Won", "Lost")
    )
    alice, bob = ws_a.membership_id, make_member(app, ws_a, "bob@alpha.example.com").membership_id
    deal = lambda *args, **kw: add_deal(app, ws_a, *args, **kw)  # noqa: E731
    # d1: Lead 2 days, Qualified 10, Proposal 3, won after 15 days.
    deal("d1", 1000, [(lead, "2026-01-05"), (qualified, "2026-01-07"), (proposal, "2026-01-17"), (won, "2026-01-20")],
         status="won", closed_on="2026-01-20", owner_id=alice)  # fmt: skip
    # d2: Lead 4 days, Qualified 20, lost (too expensive).
    deal("d2", 500, [(lead, "2026-01-10"), (qualified, "2026-01-14"), (lost, "2026-02-03")], status="lost",
         closed_on="2026-02-03", owner_id=bob, reason="Too expensive")  # fmt: skip
    # d3: Lead 1 day, skips Qualified, still in Proposal; closes in April.
    deal("d3", 2000, [(lead, "2026-02-01"), (proposal, "2026-02-02")], owner_id=alice, expected="2026-04-15")
    # d4: still in Lead in; closes in April.
    deal("d4", 300, [(lead, "2026-02-10")], owner_id=bob, expected="2026-04-30")
    # d5: Lead 3 days, won after 3 days.
    deal("d5", 3000, [(lead, "2026-03-01"), (won, "2026-03-04")], status="won", closed_on="2026-03-04", owner_id=bob)
    # d6: created before the period (not in the cohort), lost in it without an owner.
    deal("d6", 700, [(lead, "2025-12-01"), (lost, "2026-01-10")], status="lost", closed_on="2026-01-10",
         reason="Too expensive")  # fmt: skip
    # d7: created in Negotiation, open, no close date.
    deal("d7", 1000, [(negotiation, "2026-02-20")], owner_id=alice)
    # d8: euros, d9: deleted: never in a dollar report.
    deal("d8", 9999, [(lead, "2026-01-02"), (won, "2026-01-03")], status="won", closed_on="2026-01-03",
         owner_id=alice, currency="EUR")  # fmt: skip
    deal("d9", 5555, [(lead, "2026-01-03"), (won, "2026-01-04")], status="won", closed_on="2026-01-04", owner_id=bob,
         deleted=True)  # fmt: skip
    # d10: in the cohort (Lead 16 days, reached Won) but won after the period.
    deal("d10", 400, [(lead, "2026-03-20"), (won, "2026-04-05")], status="won", closed_on="2026-04-05", owner_id=alice)
    # d11: Lead 54 days, lost (no budget).
    deal("d11", 250, [(lead, "2026-01-15"), (lost, "2026-03-10")], status="lost", closed_on="2026-03-10",
         owner_id=alice, reason="No budget")  # fmt: skip
    return SimpleNamespace(pipeline=sales.id, alice=alice, bob=bob)


def report_url(ws, path: str = "sales") -> str:
    return f"/w/{ws.slug}/reports/{path}"


def table_rows(page: str, key: str) -> list[list[str]]:
    """The cells of a report table, row by row, as shown."""
    body = re.search(rf'<table class="data" id="{key}-table">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in rows]  # fmt: skip


def download(client, ws, table: str, **args) -> list[list[str]]:
    response = client.get(report_url(ws, "sales.csv"), query_string={**PERIOD, **args, "table": table})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_the_report_shows_hand_computed_figures(app, client, auth, ws_a, history):
    auth.login(ws_a.email, ws_a.password)
    response = client.get(report_url(ws_a), query_string=PERIOD)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    # Cohort (created in the period, dollars, live): d1 d2 d3 d4 d5 d7 d10 d11.
    # Lead in: entered by d1 d2 d3 d4 d5 d10 d11 = 7; moved on: all but d4 and d11 = 5 (71.4%).
    # Qualified: d1 d2, only d1 went further. Proposal: d1 d3, only d1 went further (d3 is still there).
    # Negotiation: d7, still there. Won: d1 d5 d10.
    assert table_rows(page, "conversion") == [
        ["Lead in", "7", "5", "71.4%"], ["Qualified", "2", "1", "50.0%"], ["Proposal", "2", "1", "50.0%"],
        ["Negotiation", "1", "0", "0.0%"], ["Won", "3", "—", "—"],
    ]  # fmt: skip
    # Lead in stays that ended: 2, 4, 1, 3, 16, 54 days = 80 / 6 = 13.3; Qualified 10 and 20; Proposal 3.
    assert table_rows(page, "stage-time") == [
        ["Lead in", "6", "13.3"], ["Qualified", "2", "15.0"], ["Proposal", "1", "3.0"], ["Negotiation", "0", "—"],
    ]  # fmt: skip
    # Closed in the period: won d1 (1000, 15 days) and d5 (3000, 3 days); lost d2, d6, d11.
    figures = dict(zip(re.findall(r"<dt>(.*?)</dt>", page), re.findall(r"<dd>(.*?)</dd>", page), strict=True))
    assert figures == {"Deals won": "2", "Deals lost": "3", "Win rate": "40.0%", "Value won": "$4,000.00",
                       "Average deal size": "$2,000.00", "Average sales cycle (days)": "9.0"}  # fmt: skip
    assert table_rows(page, "lost") == [["Too expensive", "2", "$1,200.00"], ["No budget", "1", "$250.00"]]
    # Open now: d3 (2000 at 60%) and d4 (300 at 10%) close in April; d7 (1000 at 80%) has no date.
    assert table_rows(page, "forecast") == [
        ["Apr 2026", "2", "$2,300.00", "$1,230.00"], ["No close date", "1", "$1,000.00", "$800.00"],
    ]  # fmt: skip
    # Bob: d5 won, d2 lost, d4 open. Alice: d1 won, d11 lost, d3 and d7 open (d10 was won after the
    # period). Nobody: d6 lost.
    assert table_rows(page, "owners") == [
        ["Test User", "1", "$3,000.00", "50.0%", "1", "$300.00"],
        ["Alice", "1", "$1,000.00", "50.0%", "2", "$3,000.00"],
        ["Nobody", "0", "$0.00", "0.0%", "0", "$0.00"],
    ]  # fmt: skip
    assert "9,999" not in page and "5,555" not in page  # euros and deleted deals
    # Each chart has its table and its CSV link; Chart.js is named for this page only.
    assert page.count('role="img"') == 5 and page.count("data-chart=") == 5
    assert "chart-4.6.1-bar.min.js" in page and "reports.js" in page
    assert page.count("sales.csv?") == 5


def test_chart_data_matches_the_table(app, client, auth, ws_a, history):
    auth.login(ws_a.email, ws_a.password)
    page = client.get(report_url(ws_a), query_string=PERIOD).get_data(as_text=True)
    spec = json.loads(html.unescape(re.search(r"data-key=\"forecast\".*?data-chart='([^']*)'", page, re.S).group(1)))
    assert spec["labels"] == ["Apr 2026", "No close date"]
    assert spec["datasets"] == [{"label": "Weighted value", "data": [1230.0, 800.0]}]
    assert spec["kind"] == "money" and spec["currency"] == "USD"


def test_the_period_and_the_owner_filter_narrow_the_report(app, client, auth, ws_a, history):
    auth.login(ws_a.email, ws_a.password)
    # January only: d1 won, d6 lost; cohort d1 d2 d11 (d8 is in euros).
    page = client.get(report_url(ws_a), query_string={"from": "2026-01-01", "until": "2026-01-31"}).get_data(True)
    assert table_rows(page, "conversion")[0] == ["Lead in", "3", "2", "66.7%"]
    assert "<dt>Win rate</dt><dd>50.0%</dd>" in page
    assert "<dt>Average sales cycle (days)</dt><dd>15.0</dd>" in page
    # Alice's deals only: d1 won, d11 lost.
    page = client.get(report_url(ws_a), query_string={**PERIOD, "owner": str(history.alice)}).get_data(True)
    assert "<dt>Value won</dt><dd>$1,000.00</dd>" in page
    assert [row[0] for row in table_rows(page, "owners")] == ["Alice"]
    assert table_rows(page, "lost") == [["No budget", "1", "$250.00"]]
    # In euros: d8 alone.
    page = client.get(report_url(ws_a), query_string={**PERIOD, "currency": "EUR"}).get_data(True)
    assert "<dt>Value won</dt><dd>€9,999.00</dd>" in page


def test_the_htmx_partial_is_the_report_alone(app, client, auth, ws_a, history):
    auth.login(ws_a.email, ws_a.password)
    response = client.get(report_url(ws_a), query_string=PERIOD, headers=REPORT)
    partial = response.get_data(as_text=True)
    assert response.status_code == 200
    assert partial.startswith('<div id="sales-report"') and "<html" not in partial
    assert "Lead in" in partial


def test_csv_downloads_hold_the_tables_figures(app, client, auth, ws_a, history):
    auth.login(ws_a.email, ws_a.password)
    assert download(client, ws_a, "conversion")[:2] == [
        ["Stage", "Entered", "Moved on", "Conversion"], ["Lead in", "7", "5", "71.4"],
    ]  # fmt: skip
    assert download(client, ws_a, "stage-time")[1:4] == [["Lead in", "6", "13.3"], ["Qualified", "2", "15.0"],
                                                         ["Proposal", "1", "3.0"]]  # fmt: skip
    assert download(client, ws_a, "lost") == [["Reason", "Deals", "Value"], ["Too expensive", "2", "1200.00"],
                                              ["No budget", "1", "250.00"]]  # fmt: skip
    assert download(client, ws_a, "forecast") == [
        ["Expected close", "Open deals", "Value", "Weighted value"],
        ["Apr 2026", "2", "2300.00", "1230.00"], ["No close date", "1", "1000.00", "800.00"],
    ]  # fmt: skip
    assert download(client, ws_a, "owners", owner="me") == [
        ["Owner", "Deals won", "Value won", "Win rate", "Open deals", "Open pipeline"],
        ["Alice", "1", "1000.00", "50.0", "2", "3000.00"],
    ]  # fmt: skip
    response = client.get(report_url(ws_a, "sales.csv"), query_string={**PERIOD, "table": "contacts"})
    assert response.status_code == 400


def test_a_member_who_sees_own_deals_gets_a_report_of_them(app, client, auth, ws_a, history):
    own = make_role(app, ws_a, "Own reports", permissions=("deals.read", "reports.view"), record_scope="own")
    assign_role(app, ws_a, history.bob, own)
    auth.login("bob@alpha.example.com", "correct horse battery staple")
    page = client.get(report_url(ws_a), query_string=PERIOD).get_data(as_text=True)
    # Bob's deals: d2 (lost), d4 (open), d5 (won); d9 is deleted.
    assert table_rows(page, "conversion")[0] == ["Lead in", "3", "2", "66.7%"]
    assert "<dt>Value won</dt><dd>$3,000.00</dd>" in page and "<dt>Win rate</dt><dd>50.0%</dd>" in page
    assert table_rows(page, "lost") == [["Too expensive", "1", "$500.00"]]
    assert [row[0] for row in table_rows(page, "owners")] == ["Test User"]
    assert table_rows(page, "forecast") == [["Apr 2026", "1", "$300.00", "$30.00"]]
    # Asking for Alice's deals by the owner filter shows nothing of them.
    page = client.get(report_url(ws_a), query_string={**PERIOD, "owner": str(history.alice)}).get_data(True)
    assert "<dt>Deals won</dt><dd>0</dd>" in page and "$1,000.00" not in page
    assert download(client, ws_a, "owners")[1:] == [["Test User", "1", "3000.00", "50.0", "1", "300.00"]]


def test_another_workspaces_pipeline_is_404_and_its_deals_never_count(app, client, auth, ws_a, ws_b, history):
    theirs = default_pipeline(app, ws_b)
    add_deal(app, ws_b, "their deal", 77777, [(theirs.stages["Lead in"], "2026-01-05"),
                                             (theirs.stages["Won"], "2026-01-06")],
             status="won", closed_on="2026-01-06")  # fmt: skip
    auth.login(ws_a.email, ws_a.password)
    assert client.get(report_url(ws_a), query_string={**PERIOD, "pipeline": theirs.id}).status_code == 404
    csv_url = report_url(ws_a, "sales.csv")
    assert client.get(csv_url, query_string={**PERIOD, "pipeline": theirs.id, "table": "owners"}).status_code == 404
    page = client.get(report_url(ws_a), query_string=PERIOD).get_data(as_text=True)
    assert "77,777" not in page and "<dt>Deals won</dt><dd>2</dd>" in page
    assert client.get(f"/w/{ws_b.slug}/reports/sales").status_code == 404  # not a member of B


def test_reports_need_the_reports_permission(app, client, auth, ws_a, history):
    make_member(app, ws_a, "sam@alpha.example.com", role="sales")
    auth.login("sam@alpha.example.com", "correct horse battery staple")
    assert client.get(report_url(ws_a)).status_code == 403
    assert client.get(report_url(ws_a, "sales.csv"), query_string={"table": "owners"}).status_code == 403
    assert "/reports/sales" not in client.get(f"/w/{ws_a.slug}/deals/").get_data(as_text=True)
    auth.logout()
    make_member(app, ws_a, "vic@alpha.example.com", role="viewer")
    auth.login("vic@alpha.example.com", "correct horse battery staple")
    page = client.get(report_url(ws_a)).get_data(as_text=True)
    assert f'href="/w/{ws_a.slug}/reports/sales">Reports</a>' in page


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"from": "2026-02-30"}, "Not a valid date value."),
        ({"from": "2026-03-01", "until": "2026-02-01"}, "The end of the period is before its start."),
        ({"until": "9999-12-31"}, "Choose a date from 2000 to 2100."),
        ({"pipeline": "sales"}, "Choose one of the pipelines."),
        ({"pipeline": "9" * 30}, "Choose one of the pipelines."),
        ({"owner": "9" * 30}, "Not a valid choice."),
        ({"currency": "dollars"}, "Choose a currency."),
    ],
)
def test_bad_filters_answer_422_with_a_message(app, client, auth, ws_a, history, args, message):
    auth.login(ws_a.email, ws_a.password)
    response = client.get(report_url(ws_a), query_string=args)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    partial = client.get(report_url(ws_a), query_string=args, headers=REPORT)
    assert partial.status_code == 422 and 'role="alert"' in partial.get_data(as_text=True)
    csv_response = client.get(report_url(ws_a, "sales.csv"), query_string={**args, "table": "lost"})
    assert csv_response.status_code == 422 and csv_response.mimetype == "text/html"


def test_defaults_are_the_first_pipeline_and_the_last_90_days(app, client, auth, ws_a, history):
    today = datetime.now(UTC).date()  # the workspace is in UTC
    auth.login(ws_a.email, ws_a.password)
    page = client.get(report_url(ws_a)).get_data(as_text=True)
    assert f'name="until" type="date" value="{today.isoformat()}"' in page
    assert f'<option selected value="{history.pipeline}">Sales</option>' in page


def test_the_report_takes_a_fixed_number_of_queries(app, client, auth, ws_a, history):
    auth.login(ws_a.email, ws_a.password)
    client.get(f"/w/{ws_a.slug}/")  # the workspace's slug is remembered from now on
    with count_queries(app) as few:
        client.get(report_url(ws_a), query_string=PERIOD)
    sales = default_pipeline(app, ws_a)
    owners = [make_member(app, ws_a, f"seller{number}@alpha.example.com").membership_id for number in range(3)]
    path = [(sales.stages["Lead in"], "2026-01-02"), (sales.stages["Won"], "2026-02-02")]
    for number in range(30):
        add_deal(app, ws_a, f"more {number}", 10 + number, path, status="won", closed_on="2026-02-02",
                 owner_id=owners[number % 3])  # fmt: skip
    with count_queries(app) as many:
        client.get(report_url(ws_a), query_string=PERIOD)
    # member, pipelines, owners, currencies, stages, the summary, the stage history (conversion and time
    # in stage), lost reasons, forecast, owners
    assert len(many) == len(few) == 10, many


def test_report_pages_are_valid_html(app, client, auth, ws_a, history):
    from tests.test_pages import assert_valid_page

    auth.login(ws_a.email, ws_a.password)
    for args in (PERIOD, {**PERIOD, "currency": "EUR"}, {"from": "2026-03-01", "until": "2026-02-01"}):
        response = client.get(report_url(ws_a), query_string=args)
        assert_valid_page(response.get_data(as_text=True), f"sales report {args}")


def test_months_and_figures_follow_the_readers_language(app, client, auth, ws_a, history):
    auth.login(ws_a.email, ws_a.password)
    post(client, "/language", {"locale": "zh_Hans", "next": "/"})
    page = client.get(report_url(ws_a), query_string=PERIOD).get_data(as_text=True)
    assert "2026年4月" in page and "US$1,230.00" in page
    assert download(client, ws_a, "forecast")[1] == ["2026年4月", "2", "2300.00", "1230.00"]
