"""Service-level clocks count only business hours, in the workspace's time zone, skip holidays, and
stop while a ticket waits on the customer."""

from datetime import UTC, datetime, timedelta

import pytest

from crm.extensions import db
from crm.tenancy import workspace_scope
from crm.tickets import service
from crm.tickets.models import CUSTOMER, OPEN, PENDING, Ticket
from crm.tickets.sla import (
    ClosedCalendar,
    add_business_time,
    business_time_between,
    calendar_of,
    due_times,
    shift_after_pause,
    targets_of,
)
from crm.workspaces.models import Workspace
from tests.factories import make_ticket, make_workspace
from tests.test_tickets_service import customer

SHANGHAI = "Asia/Shanghai"  # UTC+8, no daylight saving
WEEKDAYS_9_TO_18 = calendar_of(None, SHANGHAI)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of December 2026 in Shanghai, as UTC (1 December 2026 is a Tuesday)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def test_time_inside_one_working_day():
    assert add_business_time(local(1, 10), timedelta(hours=4), WEEKDAYS_9_TO_18) == local(1, 14)


def test_time_left_at_closing_continues_next_morning():
    assert add_business_time(local(1, 16), timedelta(hours=4), WEEKDAYS_9_TO_18) == local(2, 11)


def test_a_complaint_filed_at_night_starts_counting_at_opening():
    assert add_business_time(local(1, 23, 30), timedelta(hours=1), WEEKDAYS_9_TO_18) == local(2, 10)


def test_friday_evening_is_due_on_monday():
    friday = local(4, 17)
    assert (friday + timedelta(hours=8)).weekday() == 4  # a Friday in Shanghai
    assert add_business_time(friday, timedelta(hours=4), WEEKDAYS_9_TO_18) == local(7, 12)


def test_holidays_are_skipped():
    calendar = calendar_of({"holidays": ["2026-12-02"]}, SHANGHAI)
    assert add_business_time(local(1, 16), timedelta(hours=4), calendar) == local(3, 11)


def test_own_hours_and_a_saturday_opening():
    calendar = calendar_of({"hours": {"5": ["10:00", "14:00"]}}, SHANGHAI)  # Saturdays only
    assert add_business_time(local(1, 12), timedelta(hours=5), calendar) == local(12, 11)


def test_a_calendar_never_open_is_refused():
    with pytest.raises(ClosedCalendar):
        add_business_time(local(1, 9), timedelta(hours=1), calendar_of({"hours": {"0": None}}, SHANGHAI))


def test_business_time_between_counts_open_hours_only():
    assert business_time_between(local(1, 17), local(2, 10), WEEKDAYS_9_TO_18) == timedelta(hours=2)
    assert business_time_between(local(4, 17), local(7, 9), WEEKDAYS_9_TO_18) == timedelta(hours=1)
    assert business_time_between(local(2, 10), local(1, 17), WEEKDAYS_9_TO_18) == timedelta()


def test_a_pause_moves_the_due_time_by_the_open_time_it_lasted():
    due = local(2, 12)
    # Waiting on the customer from Tuesday 17:00 to Wednesday 10:00: two open hours.
    assert shift_after_pause(due, local(1, 17), local(2, 10), WEEKDAYS_9_TO_18) == local(2, 14)
    # A pause over a closed night moves nothing.
    assert shift_after_pause(due, local(1, 19), local(2, 8), WEEKDAYS_9_TO_18) == due
    assert shift_after_pause(None, local(1, 17), local(2, 10), WEEKDAYS_9_TO_18) is None


def test_a_clock_across_a_change_to_summer_time_counts_real_hours():
    """Berlin moves its clocks from 02:00 to 03:00 on 29 March 2026: a desk open day and night gives
    four real hours to a complaint filed at 00:30, not three (the hour that never was is not open)."""
    always_open = calendar_of({"hours": {str(day): ["00:00", "23:59"] for day in range(7)}}, "Europe/Berlin")
    filed = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # 00:30 in Berlin, still winter time
    assert add_business_time(filed, timedelta(hours=4), always_open) == datetime(2026, 3, 29, 3, 30, tzinfo=UTC)
    day_start, day_end = datetime(2026, 3, 28, 23, 0, tzinfo=UTC), datetime(2026, 3, 29, 21, 59, tzinfo=UTC)
    assert business_time_between(day_start, day_end, always_open) == timedelta(hours=22, minutes=59)


def test_due_times_follow_level_and_priority():
    opened = local(1, 9)
    vip_first, vip_resolve = due_times(opened, "vip", "urgent", None, SHANGHAI)
    assert (vip_first, vip_resolve) == (local(1, 10), local(1, 13))
    first, resolve = due_times(opened, "ordinary", "normal", None, SHANGHAI)
    assert first == local(1, 17)
    assert resolve == local(7, 13)  # 40 open hours: Tue-Fri is 36, then 4 on Monday


def test_saved_targets_override_the_defaults_one_by_one():
    targets = targets_of({"targets": {"vip": {"low": [1, 2]}}})
    assert targets["vip"]["low"] == [1, 2]
    assert targets["vip"]["urgent"] == [1, 4]
    assert targets["ordinary"]["normal"] == [8, 40]


# The clocks on tickets (crm/tickets/service.py): set when a ticket opens, moved by a pause.

ALWAYS_OPEN = {"hours": {str(day): ["00:00", "23:59"] for day in range(7)}, "targets": {
    "vip": {"normal": [1, 4]}, "ordinary": {"normal": [3, 12]}}}  # fmt: skip


@pytest.fixture
def open_all_week(app):
    ws_a = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Workspace, ws_a.id).sla_settings = ALWAYS_OPEN
        db.session.commit()
    return ws_a


def due_of(app, ws, ticket_id: int) -> tuple[datetime, datetime, datetime]:
    with app.app_context(), workspace_scope(ws.id):
        ticket = db.session.get(Ticket, ticket_id)
        return ticket.created_at, ticket.first_response_due_at, ticket.resolution_due_at


def near(moment: datetime, expected: datetime) -> bool:
    """Within two minutes: the always-open calendar closes one minute a night."""
    return abs(moment - expected) <= timedelta(minutes=2)


def test_a_vip_ticket_is_due_sooner_than_an_ordinary_one(app, open_all_week):
    ws = open_all_week
    vip, _ = make_ticket(app, ws, customer(app, ws, "Vera", "vip"))
    ordinary, _ = make_ticket(app, ws, customer(app, ws, "Otto", "ordinary"))
    opened, first, resolve = due_of(app, ws, vip)
    assert near(first, opened + timedelta(hours=1)) and near(resolve, opened + timedelta(hours=4))
    opened, first, resolve = due_of(app, ws, ordinary)
    assert near(first, opened + timedelta(hours=3)) and near(resolve, opened + timedelta(hours=12))


def waited_two_hours(ws, ticket_id: int) -> None:
    """Sets the ticket waiting on the customer, as if two hours ago (in an app context)."""
    ticket = db.session.get(Ticket, ticket_id)
    service.set_status(ticket, PENDING, ws.membership_id)
    ticket.sla_paused_at -= timedelta(hours=2)
    db.session.commit()


def test_waiting_on_the_customer_stops_the_clocks(app, open_all_week):
    ws = open_all_week
    ticket_id, _ = make_ticket(app, ws, customer(app, ws, "Otto", "ordinary"))
    _opened, first_before, resolve_before = due_of(app, ws, ticket_id)
    with app.app_context(), workspace_scope(ws.id):
        waited_two_hours(ws, ticket_id)
        service.set_status(db.session.get(Ticket, ticket_id), OPEN, ws.membership_id)
        db.session.commit()
        assert db.session.get(Ticket, ticket_id).sla_paused_at is None
    _opened, first_after, resolve_after = due_of(app, ws, ticket_id)
    assert near(first_after, first_before + timedelta(hours=2))
    assert near(resolve_after, resolve_before + timedelta(hours=2))


def test_the_customer_answering_a_waiting_ticket_starts_the_clocks_again(app, open_all_week):
    """The customer's reply from the portal moves a pending ticket back to open: its clocks run again,
    later by the wait, and a second wait is counted from its own start, not from the first one's."""
    ws = open_all_week
    ticket_id, _ = make_ticket(app, ws, customer(app, ws, "Otto", "ordinary"))
    _opened, first_before, resolve_before = due_of(app, ws, ticket_id)
    with app.app_context(), workspace_scope(ws.id):
        waited_two_hours(ws, ticket_id)
        service.add_reply(db.session.get(Ticket, ticket_id), "Here is the photo.", kind=CUSTOMER, author_id=None)
        db.session.commit()
        ticket = db.session.get(Ticket, ticket_id)
        assert (ticket.status, ticket.sla_paused_at) == (OPEN, None)
    _opened, first_after, resolve_after = due_of(app, ws, ticket_id)
    assert near(first_after, first_before + timedelta(hours=2))
    assert near(resolve_after, resolve_before + timedelta(hours=2))
    with app.app_context(), workspace_scope(ws.id):  # waiting again, briefly: the due times barely move
        service.set_status(db.session.get(Ticket, ticket_id), PENDING, ws.membership_id)
        db.session.commit()
        service.set_status(db.session.get(Ticket, ticket_id), OPEN, ws.membership_id)
        db.session.commit()
    _opened, _first, resolve_again = due_of(app, ws, ticket_id)
    assert near(resolve_again, resolve_after)


def test_a_new_priority_keeps_the_time_the_ticket_waited_on_the_customer(app, open_all_week):
    """Raising the priority after a wait counts the new targets from the opening, later by the wait:
    the ticket is not at once late for the days the customer took to answer."""
    ws = open_all_week
    ticket_id, _ = make_ticket(app, ws, customer(app, ws, "Otto", "ordinary"))
    with app.app_context(), workspace_scope(ws.id):
        ticket = db.session.get(Ticket, ticket_id)
        service.set_status(ticket, PENDING, ws.membership_id)
        ticket.sla_paused_at -= timedelta(hours=20)  # as if it had waited twenty hours
        db.session.commit()
        service.set_status(db.session.get(Ticket, ticket_id), OPEN, ws.membership_id)
        db.session.commit()
        service.set_priority(db.session.get(Ticket, ticket_id), "urgent")
        db.session.commit()
    opened, first, resolve = due_of(app, ws, ticket_id)
    # The urgent targets (2 and 8 hours, the defaults), each later by the 20 hours of waiting.
    assert near(first, opened + timedelta(hours=22)) and near(resolve, opened + timedelta(hours=28))


def test_a_new_priority_takes_its_own_targets(app, open_all_week):
    ws = open_all_week
    ticket_id, _ = make_ticket(app, ws, customer(app, ws, "Otto", "ordinary"))
    with app.app_context(), workspace_scope(ws.id):
        service.set_priority(db.session.get(Ticket, ticket_id), "urgent")
        db.session.commit()
    opened, first, resolve = due_of(app, ws, ticket_id)
    assert near(first, opened + timedelta(hours=2)) and near(resolve, opened + timedelta(hours=8))  # defaults
