"""The Service report: figures checked against tickets whose times are set by hand (every expected
number is worked out in the comments), filters, record scope and the escalated queue, isolation,
permissions, bad filters, the CSV downloads and a fixed number of queries."""

import csv
import html
import io
import json
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from crm.contacts.models import Contact
from crm.db import utcnow
from crm.extensions import db
from crm.reports.sql import interpolated_percentile
from crm.tenancy import workspace_scope
from crm.tickets.models import Ticket, TicketCategory
from tests.factories import assign_role, make_contact, make_member, make_role, make_ticket
from tests.query_counter import count_queries
from tests.test_reports import table_rows

PERIOD = {"from": "2026-01-01", "until": "2026-03-31"}
REPORT = {"HX-Request": "true", "HX-Target": "service-report"}
TABLES = ("categories", "channels", "levels", "period", "first-response", "resolution", "satisfaction", "repeat",
          "backlog")  # fmt: skip


def at(day: str, hour: float = 9) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(hours=hour)


def category_id(app, ws, name: str) -> int:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.scalar(sa.select(TicketCategory.id).where(TicketCategory.name == name))


def leveled_contact(app, ws, name: str, level: str) -> int:
    """A contact whose level is pinned (before its tickets: the queue follows the level)."""
    contact_id = make_contact(app, ws, name)
    with app.app_context(), workspace_scope(ws.id):
        contact = db.session.get(Contact, contact_id)
        contact.level, contact.level_pinned = level, True
        db.session.commit()
    return contact_id


def add_ticket(app, ws, contact_id: int, *, channel="portal", category=None, priority="normal", **fields) -> int:
    """A ticket opened through the service, then given the times (and anything else) of ``fields``."""
    category = category_id(app, ws, category) if category else None
    ticket_id, _token = make_ticket(app, ws, contact_id, channel=channel, category_id=category, priority=priority)
    with app.app_context(), workspace_scope(ws.id):
        ticket = db.session.get(Ticket, ticket_id)
        for name, value in fields.items():
            setattr(ticket, name, value)
        db.session.commit()
    return ticket_id


@pytest.fixture
def tickets(app, ws_a):
    """Five tickets opened in 2026-01-01..2026-03-31, one before it, one deleted, two opened lately.
    Bea (VIP) and Cal (potential) have their tickets in the escalated queue."""
    ann = make_contact(app, ws_a, "Ann Lee")
    bea = leveled_contact(app, ws_a, "Bea Vip", "vip")
    cal = leveled_contact(app, ws_a, "Cal Maybe", "potential")
    dan = make_contact(app, ws_a, "Dan Low")
    ticket = lambda *args, **kw: add_ticket(app, ws_a, *args, **kw)  # noqa: E731
    now = utcnow()
    # t1: answered in 2 h (due 8 h), resolved in 24 h (due 48 h), rated 5.
    t1 = ticket(ann, category="Delivery", created_at=at("2026-01-05"), first_response_due_at=at("2026-01-05", 17),
                first_responded_at=at("2026-01-05", 11), resolution_due_at=at("2026-01-07"),
                status="resolved", resolved_at=at("2026-01-06"), rating=5)  # fmt: skip
    # t2: answered in 10 h (due 4 h: missed), resolved in 96 h (due 48 h: missed), closed, rated 2.
    ticket(ann, channel="email", category="Delivery", priority="high", created_at=at("2026-01-12"),
           first_response_due_at=at("2026-01-12", 13), first_responded_at=at("2026-01-12", 19),
           resolution_due_at=at("2026-01-14"), status="closed", resolved_at=at("2026-01-16"),
           closed_at=at("2026-01-17"), rating=2)  # fmt: skip
    # t3: VIP, answered in half an hour (met), still open past its resolution due time (missed).
    ticket(bea, channel="phone", category="Billing", priority="urgent", created_at=at("2026-02-02"),
           first_response_due_at=at("2026-02-02", 10), first_responded_at=at("2026-02-02", 9.5),
           resolution_due_at=at("2026-02-03"), status="open")  # fmt: skip
    # t4: potential, never answered nor resolved, both due times passed (two misses).
    ticket(cal, created_at=at("2026-03-10"), first_response_due_at=at("2026-03-10", 17),
           resolution_due_at=at("2026-03-12"))  # fmt: skip
    # t5: answered in 6 h and resolved in 48 h, both on time; rated 4.
    t5 = ticket(dan, category="Billing", priority="low", created_at=at("2026-03-20"),
                first_response_due_at=at("2026-03-21"), first_responded_at=at("2026-03-20", 15),
                resolution_due_at=at("2026-03-25"), status="resolved", resolved_at=at("2026-03-22"),
                rating=4)  # fmt: skip
    # Before the period: only in the backlog (30 days or more, past due).
    ticket(ann, category="Delivery", created_at=at("2025-12-20"), first_response_due_at=at("2025-12-21"),
           resolution_due_at=at("2025-12-24"))  # fmt: skip
    # Deleted: never counted.
    ticket(dan, priority="urgent", created_at=at("2026-02-10"), rating=1, deleted_at=now)
    # Lately: one opened 2 hours ago (due later), one 5 days ago waiting on the customer (its clocks
    # stopped: not past due even with its due time gone by).
    ticket(dan, created_at=now - timedelta(hours=2), first_response_due_at=now + timedelta(hours=1),
           resolution_due_at=now + timedelta(days=1))  # fmt: skip
    ticket(dan, created_at=now - timedelta(days=5), first_responded_at=now - timedelta(days=4), status="pending",
           sla_paused_at=now - timedelta(days=4), resolution_due_at=now - timedelta(days=1))  # fmt: skip
    return SimpleNamespace(ann=ann, bea=bea, t1=t1, t5=t5)


def report_url(ws, path: str = "service") -> str:
    return f"/w/{ws.slug}/reports/{path}"


def figures(page: str) -> dict[str, str]:
    return dict(zip(re.findall(r"<dt>(.*?)</dt>", page), re.findall(r"<dd>(.*?)</dd>", page), strict=True))


def download(client, ws, table: str, **args) -> list[list[str]]:
    response = client.get(report_url(ws, "service.csv"), query_string={**PERIOD, **args, "table": table})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_percentiles_interpolate_like_postgresql():
    assert interpolated_percentile([10, 0.5, 6, 2], 0.5) == 4.0
    assert interpolated_percentile([10, 0.5, 6, 2], 0.9) == pytest.approx(8.8)
    assert interpolated_percentile([3], 0.9) == 3 and interpolated_percentile([], 0.5) is None


def test_the_report_shows_hand_computed_figures(app, client, auth, ws_a, tickets):
    auth.login(ws_a.email, ws_a.password)
    response = client.get(report_url(ws_a), query_string=PERIOD)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    # Opened in the period: t1..t5; t1 t2 t5 resolved. Answers 0.5, 2, 6, 10 h: median 4.0.
    # First responses on time: t1 t3 t5 of the five decided (t2 late, t4 unanswered) = 60%;
    # resolutions: t1 t5 of five (t2 late, t3 and t4 unresolved past due) = 40%.
    # Ratings 5, 2, 4: 3.7. Open now: t3, t4, the one before the period and the two recent ones.
    assert figures(page) == {
        "Tickets opened": "5", "Resolved": "3", "Median first response (hours)": "4.0",
        "Median first response (in business hours)": "4.0", "First responses on time": "60.0%",
        "Resolutions on time": "40.0%", "Average rating (of 5)": "3.7", "Ratings given": "3", "Open now": "5",
    }  # fmt: skip
    assert table_rows(page, "categories") == [
        ["Billing", "2", "40.0%"], ["Delivery", "2", "40.0%"], ["No category", "1", "20.0%"],
    ]  # fmt: skip
    assert table_rows(page, "channels") == [
        ["Portal", "3", "60.0%"], ["Email", "1", "20.0%"], ["Phone", "1", "20.0%"], ["In person", "0", "0.0%"],
        ["Staff", "0", "0.0%"],
    ]  # fmt: skip
    assert table_rows(page, "levels") == [["VIP", "1", "20.0%"], ["Potential", "1", "20.0%"],
                                          ["Ordinary", "3", "60.0%"]]  # fmt: skip
    # 90 days: by week, Monday to Sunday, from the week holding 1 January (cut to the period).
    weeks = table_rows(page, "period")
    assert len(weeks) == 14 and weeks[0] == ["Week of Jan 1", "0"]
    assert [week for week in weeks if week[1] != "0"] == [
        ["Week of Jan 5", "1"], ["Week of Jan 12", "1"], ["Week of Feb 2", "1"], ["Week of Mar 9", "1"],
        ["Week of Mar 16", "1"],
    ]  # fmt: skip
    # All: answered 4, p90 = 6 + 0.7 x (10 - 6) = 8.8, missed t2 and t4. Per priority, urgent first.
    # In business hours (the default 9-18 on weekdays, UTC): t2's answer at 19:00 counts 9 hours, so
    # 0.5, 2, 6, 9: median 4.0, p90 = 6 + 0.7 x 3 = 8.1.
    assert table_rows(page, "first-response") == [
        ["All priorities", "4", "4.0", "8.8", "4.0", "8.1", "2", "60.0%"],
        ["Urgent", "1", "0.5", "0.5", "0.5", "0.5", "0", "100.0%"],
        ["High", "1", "10.0", "10.0", "9.0", "9.0", "1", "0.0%"],
        ["Normal", "1", "2.0", "2.0", "2.0", "2.0", "1", "50.0%"],
        ["Low", "1", "6.0", "6.0", "6.0", "6.0", "0", "100.0%"],
    ]  # fmt: skip
    # Resolved in 24, 48, 96 h: median 48, p90 = 48 + 0.8 x 48 = 86.4; missed t2, t3, t4. In business
    # hours: t1 Monday 9:00 to Tuesday 9:00 is 9; t2 Monday to Friday 9:00 is 4 x 9 = 36; t5 Friday
    # 9:00 to Sunday is 9: median 9, p90 = 9 + 0.8 x 27 = 30.6.
    assert table_rows(page, "resolution") == [
        ["All priorities", "3", "48.0", "86.4", "9.0", "30.6", "3", "40.0%"],
        ["Urgent", "0", "—", "—", "—", "—", "1", "0.0%"],
        ["High", "1", "96.0", "96.0", "36.0", "36.0", "1", "0.0%"],
        ["Normal", "1", "24.0", "24.0", "9.0", "9.0", "1", "50.0%"],
        ["Low", "1", "48.0", "48.0", "9.0", "9.0", "0", "100.0%"],
    ]  # fmt: skip
    assert table_rows(page, "satisfaction") == [
        ["5", "1", "33.3%"], ["4", "1", "33.3%"], ["3", "0", "0.0%"], ["2", "1", "33.3%"], ["1", "0", "0.0%"],
    ]  # fmt: skip
    # Ann: t1 and t2 in the period (the earlier ticket is not), both done with.
    assert table_rows(page, "repeat") == [["Ann Lee", "Ordinary", "2", "0"]]
    assert f'<a href="/w/{ws_a.slug}/contacts/{tickets.ann}">Ann Lee</a>' in page
    # Open now: 2 hours, 5 days (waiting on the customer: not past due), and t3, t4 and the old one.
    assert table_rows(page, "backlog") == [
        ["0 to 1 days", "1", "0"], ["1 to 3 days", "0", "0"], ["3 to 7 days", "1", "0"], ["7 to 30 days", "0", "0"],
        ["30 days or more", "3", "3"],
    ]  # fmt: skip
    # Each table has its chart and its CSV link; Chart.js is named for this page.
    assert page.count('role="img"') == len(TABLES) and page.count("service.csv?") == len(TABLES)
    assert "chart-4.6.1-bar.min.js" in page and "reports.js" in page


def test_business_hours_follow_the_workspace_calendar_and_zone(app, client, auth, ws_a):
    """Service hours 9-17 on weekdays in Shanghai (UTC+8), Monday 5 January a holiday: a complaint
    filed on Friday at 16:00 and answered on Tuesday at 10:00 took 90 calendar hours but 2 business
    hours (Friday 16-17, Tuesday 9-10); resolved on Wednesday at 12:00, 116 and 12 (1 + 8 + 3)."""
    from crm.workspaces.models import Workspace

    with app.app_context():
        workspace = db.session.get(Workspace, ws_a.id)
        workspace.timezone = "Asia/Shanghai"
        workspace.sla_settings = {"hours": {str(day): ["09:00", "17:00"] for day in range(5)},
                                  "holidays": ["2026-01-05"]}  # fmt: skip
        db.session.commit()
    shanghai = lambda day, hour: at(day, hour - 8)  # noqa: E731  (local time to UTC)
    add_ticket(app, ws_a, make_contact(app, ws_a, "Mei Wong"), created_at=shanghai("2026-01-02", 16),
               first_responded_at=shanghai("2026-01-06", 10), resolved_at=shanghai("2026-01-07", 12),
               status="resolved")  # fmt: skip
    auth.login(ws_a.email, ws_a.password)
    page = client.get(report_url(ws_a), query_string={"from": "2026-01-01", "until": "2026-01-31"}).get_data(True)
    assert [row[:6] for row in table_rows(page, "first-response")][:1] == [
        ["All priorities", "1", "90.0", "90.0", "2.0", "2.0"]
    ]
    assert [row[:6] for row in table_rows(page, "resolution")][:1] == [
        ["All priorities", "1", "116.0", "116.0", "12.0", "12.0"]
    ]
    assert figures(page)["Median first response (in business hours)"] == "2.0"
    assert 'id="report-business-hours"' in page


def test_chart_data_matches_the_table(app, client, auth, ws_a, tickets):
    auth.login(ws_a.email, ws_a.password)
    page = client.get(report_url(ws_a), query_string=PERIOD).get_data(as_text=True)
    found = re.search(r"data-key=\"first-response\".*?data-chart='([^']*)'", page, re.S)
    spec = json.loads(html.unescape(found.group(1)))
    assert spec["labels"] == ["All priorities", "Urgent", "High", "Normal", "Low"]
    assert spec["datasets"] == [{"label": "Median hours", "data": [4.0, 0.5, 10.0, 2.0, 6.0]},
                                {"label": "90th percentile hours", "data": [8.8, 0.5, 10.0, 2.0, 6.0]}]  # fmt: skip
    assert spec["kind"] == "hours"


def test_filters_narrow_the_report(app, client, auth, ws_a, tickets):
    auth.login(ws_a.email, ws_a.password)
    delivery = category_id(app, ws_a, "Delivery")
    page = client.get(report_url(ws_a), query_string={**PERIOD, "category": delivery}).get_data(True)
    assert figures(page)["Tickets opened"] == "2"
    assert table_rows(page, "categories") == [["Delivery", "2", "100.0%"]]
    # The backlog keeps the category but not the period: the December ticket.
    assert table_rows(page, "backlog")[4] == ["30 days or more", "1", "1"]
    page = client.get(report_url(ws_a), query_string={**PERIOD, "channel": "portal"}).get_data(True)
    assert figures(page)["Tickets opened"] == "3" and table_rows(page, "channels")[0] == ["Portal", "3", "100.0%"]
    page = client.get(report_url(ws_a), query_string={**PERIOD, "level": "vip"}).get_data(True)
    assert table_rows(page, "levels") == [["VIP", "1", "100.0%"], ["Potential", "0", "0.0%"],
                                          ["Ordinary", "0", "0.0%"]]  # fmt: skip
    assert table_rows(page, "backlog")[4] == ["30 days or more", "1", "1"]
    assert 'id="satisfaction-table"' not in page and "No ratings for these filters." in page
    # February only: t3.
    page = client.get(report_url(ws_a), query_string={"from": "2026-02-01", "until": "2026-02-28"}).get_data(True)
    assert figures(page)["Tickets opened"] == "1" and "No customer complained more than once." in page


def test_a_long_period_goes_by_month(app, client, auth, ws_a, tickets):
    auth.login(ws_a.email, ws_a.password)
    page = client.get(report_url(ws_a), query_string={"from": "2025-12-01", "until": "2026-03-31"}).get_data(True)
    assert table_rows(page, "period") == [["Dec 2025", "1"], ["Jan 2026", "2"], ["Feb 2026", "1"],
                                          ["Mar 2026", "2"]]  # fmt: skip
    # Ann now has three tickets, one still open.
    assert table_rows(page, "repeat") == [["Ann Lee", "Ordinary", "3", "1"]]


def test_the_htmx_partial_is_the_report_alone(app, client, auth, ws_a, tickets):
    auth.login(ws_a.email, ws_a.password)
    response = client.get(report_url(ws_a), query_string=PERIOD, headers=REPORT)
    partial = response.get_data(as_text=True)
    assert response.status_code == 200
    assert partial.startswith('<div id="service-report"') and "<html" not in partial
    assert "Repeat complainers" in partial


def test_csv_downloads_hold_the_tables_figures(app, client, auth, ws_a, tickets):
    auth.login(ws_a.email, ws_a.password)
    assert download(client, ws_a, "categories") == [
        ["Category", "Tickets", "Share"], ["Billing", "2", "40.0"], ["Delivery", "2", "40.0"],
        ["No category", "1", "20.0"],
    ]  # fmt: skip
    assert download(client, ws_a, "channels")[:2] == [["Channel", "Tickets", "Share"], ["Portal", "3", "60.0"]]
    assert download(client, ws_a, "levels")[1] == ["VIP", "1", "20.0"]
    assert download(client, ws_a, "period")[:2] == [["Week", "Tickets"], ["Week of Jan 1", "0"]]
    assert download(client, ws_a, "first-response")[:2] == [
        ["Priority", "Answered", "Median hours", "90th percentile hours", "Median in business hours",
         "90th percentile in business hours", "Due time missed", "Due time met"],
        ["All priorities", "4", "4.0", "8.8", "4.0", "8.1", "2", "60.0"],
    ]  # fmt: skip
    assert download(client, ws_a, "resolution")[2] == ["Urgent", "0", "", "", "", "", "1", "0.0"]
    assert download(client, ws_a, "satisfaction")[1] == ["5", "1", "33.3"]
    assert download(client, ws_a, "repeat") == [["Customer", "Level", "Tickets", "Still open"],
                                                ["Ann Lee", "Ordinary", "2", "0"]]  # fmt: skip
    assert download(client, ws_a, "backlog")[-1] == ["30 days or more", "3", "3"]
    response = client.get(report_url(ws_a, "service.csv"), query_string={**PERIOD, "table": "contacts"})
    assert response.status_code == 400


def test_escalated_tickets_count_only_for_those_who_work_them(app, client, auth, ws_a, tickets):
    make_member(app, ws_a, "vic@alpha.example.com", role="viewer")  # reports, but not tickets.escalated
    auth.login("vic@alpha.example.com", "correct horse battery staple")
    page = client.get(report_url(ws_a), query_string=PERIOD).get_data(as_text=True)
    # t1 t2 t5 only: Bea's and Cal's tickets are in the escalated queue.
    assert figures(page)["Tickets opened"] == "3"
    assert table_rows(page, "levels") == [["VIP", "0", "0.0%"], ["Potential", "0", "0.0%"],
                                          ["Ordinary", "3", "100.0%"]]  # fmt: skip
    assert table_rows(page, "backlog")[4] == ["30 days or more", "1", "1"]
    assert "Bea Vip" not in page
    # Answers in 2, 6 and 10 hours, or 2, 6 and 9 business hours.
    assert download(client, ws_a, "first-response")[1] == ["All priorities", "3", "6.0", "9.2", "6.0", "8.4", "1",
                                                           "66.7"]  # fmt: skip


def test_a_member_who_sees_own_records_gets_their_tickets(app, client, auth, ws_a, tickets):
    own = make_role(app, ws_a, "Own reports", permissions=("tickets.read", "reports.view"), record_scope="own")
    sam = make_member(app, ws_a, "sam@alpha.example.com").membership_id
    assign_role(app, ws_a, sam, own)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Ticket, tickets.t5).assignee_id = sam
        db.session.commit()
    auth.login("sam@alpha.example.com", "correct horse battery staple")
    page = client.get(report_url(ws_a), query_string=PERIOD).get_data(as_text=True)
    assert figures(page)["Tickets opened"] == "1" and figures(page)["Average rating (of 5)"] == "4.0"
    assert table_rows(page, "categories") == [["Billing", "1", "100.0%"]]
    assert 'id="repeat-table"' not in page and "No open tickets." in page
    # Without contacts.read, names are not links.
    assert "/contacts/" not in page


def test_another_workspaces_tickets_never_count(app, client, auth, ws_a, ws_b, tickets):
    theirs = make_contact(app, ws_b, "Ann Lee")
    for _number in range(3):
        add_ticket(app, ws_b, theirs, category="Delivery", created_at=at("2026-01-05"), rating=1)
    their_category = category_id(app, ws_b, "Delivery")
    auth.login(ws_a.email, ws_a.password)
    page = client.get(report_url(ws_a), query_string=PERIOD).get_data(as_text=True)
    assert figures(page)["Tickets opened"] == "5" and figures(page)["Ratings given"] == "3"
    assert table_rows(page, "repeat") == [["Ann Lee", "Ordinary", "2", "0"]]
    assert client.get(report_url(ws_a), query_string={**PERIOD, "category": their_category}).status_code == 404
    csv_args = {**PERIOD, "category": their_category, "table": "categories"}
    assert client.get(report_url(ws_a, "service.csv"), query_string=csv_args).status_code == 404
    assert client.get(report_url(ws_b)).status_code == 404  # not a member of B


def test_the_report_needs_the_reports_permission(app, client, auth, ws_a, tickets):
    make_member(app, ws_a, "sue@alpha.example.com", role="support")
    auth.login("sue@alpha.example.com", "correct horse battery staple")
    assert client.get(report_url(ws_a)).status_code == 403
    assert client.get(report_url(ws_a, "service.csv"), query_string={"table": "backlog"}).status_code == 403


def test_the_reports_link_to_each_other(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    sales = client.get(report_url(ws_a, "sales")).get_data(as_text=True)
    service = client.get(report_url(ws_a)).get_data(as_text=True)
    assert f'href="/w/{ws_a.slug}/reports/service">Service report</a>' in sales
    assert f'href="/w/{ws_a.slug}/reports/sales">Sales report</a>' in service
    assert 'aria-current="page">Service report' in service


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"from": "2026-02-30"}, "Not a valid date value."),
        ({"from": "2026-03-01", "until": "2026-02-01"}, "The end of the period is before its start."),
        ({"until": "9999-12-31"}, "Choose a date from 2000 to 2100."),
        ({"category": "delivery"}, "Choose one of the categories."),
        ({"category": "9" * 30}, "Choose one of the categories."),
        ({"channel": "fax"}, "Not a valid choice."),
        ({"level": "gold"}, "Not a valid choice."),
    ],
)
def test_bad_filters_answer_422_with_a_message(app, client, auth, ws_a, tickets, args, message):
    auth.login(ws_a.email, ws_a.password)
    response = client.get(report_url(ws_a), query_string=args)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    partial = client.get(report_url(ws_a), query_string=args, headers=REPORT)
    assert partial.status_code == 422 and 'role="alert"' in partial.get_data(as_text=True)
    csv_response = client.get(report_url(ws_a, "service.csv"), query_string={**args, "table": "backlog"})
    assert csv_response.status_code == 422 and csv_response.mimetype == "text/html"


def test_the_default_period_is_the_last_90_days(app, client, auth, ws_a, tickets):
    today = datetime.now(UTC).date()  # the workspace is in UTC
    auth.login(ws_a.email, ws_a.password)
    page = client.get(report_url(ws_a)).get_data(as_text=True)
    assert f'name="until" type="date" value="{today.isoformat()}"' in page
    assert f'name="from" type="date" value="{(today - timedelta(days=89)).isoformat()}"' in page
    # The two recent tickets only.
    assert figures(page)["Tickets opened"] == "2"


def test_the_report_takes_a_fixed_number_of_queries(app, client, auth, ws_a, tickets):
    auth.login(ws_a.email, ws_a.password)
    client.get(f"/w/{ws_a.slug}/")  # the workspace's slug is remembered from now on
    with count_queries(app) as few:
        client.get(report_url(ws_a), query_string=PERIOD)
    for number in range(12):
        contact = leveled_contact(app, ws_a, f"Customer {number}", ("vip", "ordinary")[number % 2])
        for day in ("2026-01-20", "2026-02-20"):
            add_ticket(app, ws_a, contact, category=("Billing", "Service")[number % 2], created_at=at(day),
                       first_responded_at=at(day, 12), resolved_at=at(day, 30), status="resolved",
                       rating=3)  # fmt: skip
    with count_queries(app) as many:
        client.get(report_url(ws_a), query_string=PERIOD)
    # member, categories, volume, by day, times, business times, ratings, repeat complainers, backlog
    assert len(many) == len(few) == 9, many


def test_report_pages_are_valid_html(app, client, auth, ws_a, tickets):
    from tests.test_pages import assert_valid_page

    auth.login(ws_a.email, ws_a.password)
    for args in (PERIOD, {"from": "2025-01-01", "until": "2026-03-31"}, {"level": "gold"}):
        response = client.get(report_url(ws_a), query_string=args)
        assert_valid_page(response.get_data(as_text=True), f"service report {args}")
