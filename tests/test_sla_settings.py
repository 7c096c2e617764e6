"""Settings → Service hours: the opening hours, holidays and SLA targets, saved and audited, bad
input refused with nothing saved, only for settings.manage, and used by tickets opened afterwards."""

import re
from datetime import timedelta

import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.extensions import db
from crm.tenancy import workspace_scope
from crm.tickets.models import Ticket
from crm.tickets.sla import DEFAULT_TARGETS, LEVEL_KEYS, PRIORITY_KEYS
from crm.workspaces.models import Workspace
from tests.conftest import post
from tests.factories import make_contact, make_member, make_ticket


def url(ws) -> str:
    return f"/w/{ws.slug}/settings/service-hours/"


def form(**changes) -> dict:
    """The form as the defaults fill it (weekdays 9-18), with ``changes``."""
    data = {"holidays": "", "close_after_days": "7"}
    for day in range(5):
        data |= {f"open_{day}": "y", f"opens_{day}": "09:00", f"closes_{day}": "18:00"}
    for level in LEVEL_KEYS:
        for priority in PRIORITY_KEYS:
            first, resolve = DEFAULT_TARGETS[level][priority]
            data |= {f"first_{level}_{priority}": str(first), f"resolve_{level}_{priority}": str(resolve)}
    return data | changes


def saved(app, ws):
    with app.app_context(), workspace_scope(ws.id):
        return db.session.get(Workspace, ws.id).sla_settings


def test_the_page_shows_the_defaults(client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    page = client.get(url(ws_a)).get_data(as_text=True)
    assert re.search(r'id="opens_0"[^>]*value="09:00"', page)
    assert re.search(r'id="open_5"(?![^>]*checked)', page)  # closed on Saturdays
    assert re.search(r'id="first_vip_urgent"[^>]*value="1"', page)


def test_saving_hours_holidays_and_targets(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    response = post(client, url(ws_a), form(open_5="y", opens_5="10:00", closes_5="14:00",
                                            holidays="2026-12-25\n2026-10-01", first_vip_urgent="0.5"))  # fmt: skip
    assert response.status_code == 303
    settings = saved(app, ws_a)
    assert settings["hours"]["5"] == ["10:00", "14:00"] and settings["hours"]["6"] is None
    assert settings["holidays"] == ["2026-10-01", "2026-12-25"]
    assert settings["targets"]["vip"]["urgent"] == [0.5, 4.0]
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.action == "workspace.sla_changed"))


def test_bad_input_is_refused_and_nothing_saved(client, auth, ws_a, app):
    auth.login(ws_a.email, ws_a.password)
    for changes, message in [
        ({"opens_0": "18:00", "closes_0": "09:00"}, "Closing comes after opening."),
        (
            {"first_ordinary_low": "90", "resolve_ordinary_low": "80"},
            "Resolving cannot be due before the first response.",
        ),
        ({"holidays": "Christmas"}, "Christmas is not a date like 2026-12-25."),
        ({"first_vip_high": ""}, "Enter a number of hours."),
        ({"first_vip_high": "0"}, "From 0.25 to 2,000 hours."),
        ({"close_after_days": "0"}, "From 1 to 90 days."),
        ({f"open_{day}": "" for day in range(7)}, "Open at least one day a week"),
    ]:
        response = post(client, url(ws_a), form(**changes))
        assert response.status_code == 422, changes
        assert message in response.get_data(as_text=True), message
    assert saved(app, ws_a) is None


def test_targets_the_hours_can_never_reach_are_refused(client, auth, ws_a, app):
    """Open an hour a week, 2,000 hours is forty years away: every complaint would fail to open (its
    due time cannot be counted), so the settings are refused instead."""
    auth.login(ws_a.email, ws_a.password)
    hour_a_week = {"opens_0": "09:00", "closes_0": "10:00"} | {f"open_{day}": "" for day in range(1, 7)}
    response = post(client, url(ws_a), form(**hour_a_week, resolve_ordinary_low="2000"))
    assert response.status_code == 422
    assert "2,000 open hours would take more than three years" in response.get_data(as_text=True)
    assert saved(app, ws_a) is None
    assert post(client, url(ws_a), form(**hour_a_week)).status_code == 303  # 80 hours: within two years


def test_needs_settings_manage(app, client, auth, ws_a):
    agent = make_member(app, ws_a, "sue@alpha.example.com", role="support")
    auth.login(agent.email, agent.password)
    assert client.get(url(ws_a)).status_code == 403
    assert post(client, url(ws_a), form()).status_code == 403
    assert saved(app, ws_a) is None


def test_each_workspace_keeps_its_own_hours(app, client, auth, ws_a, ws_b):
    auth.login(ws_a.email, ws_a.password)
    assert post(client, url(ws_b), form()).status_code == 404
    assert saved(app, ws_b) is None


def test_tickets_opened_afterwards_follow_the_saved_targets(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    every_day = {}
    for day in range(7):
        every_day |= {f"open_{day}": "y", f"opens_{day}": "00:00", f"closes_{day}": "23:59"}
    post(client, url(ws_a), form(**every_day, first_ordinary_normal="2", resolve_ordinary_normal="5"))
    ticket_id, _token = make_ticket(app, ws_a, make_contact(app, ws_a, "Otto"))
    with app.app_context(), workspace_scope(ws_a.id):
        ticket = db.session.get(Ticket, ticket_id)
        assert abs(ticket.first_response_due_at - ticket.created_at - timedelta(hours=2)) <= timedelta(minutes=2)
        assert abs(ticket.resolution_due_at - ticket.created_at - timedelta(hours=5)) <= timedelta(minutes=2)
