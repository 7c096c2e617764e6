"""`flask crm check-tickets`: managers hear once about each ticket that missed a due time (not a
ticket waiting on the customer), and resolved tickets close by themselves after the workspace's days.
A mail the (local, aiosmtpd) mail server refuses or cannot take is sent by the next run, and the
command exits 1."""

from datetime import UTC, datetime, timedelta

from crm.cli import crm_cli
from crm.db import utcnow
from crm.extensions import db
from crm.tenancy import workspace_scope
from crm.tickets import service
from crm.tickets.models import CLOSED, PENDING, RESOLVED, Ticket
from crm.workspaces.models import Workspace
from tests.factories import make_contact, make_member, make_ticket


def edit(app, ws, ticket_id: int, **fields) -> None:
    with app.app_context(), workspace_scope(ws.id):
        ticket = db.session.get(Ticket, ticket_id)
        for name, value in fields.items():
            setattr(ticket, name, value)
        db.session.commit()


def status_of(app, ws, ticket_id: int) -> str:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.get(Ticket, ticket_id).status


def test_managers_hear_once_about_a_late_ticket(app, mailbox, ws_a):
    make_member(app, ws_a, "manny@alpha.example.com", role="manager")
    make_member(app, ws_a, "sue@alpha.example.com", role="support")  # not a manager: not told
    late, _ = make_ticket(app, ws_a, make_contact(app, ws_a, "Otto"), subject="Cold soup")
    waiting, _ = make_ticket(app, ws_a, make_contact(app, ws_a, "Pat"), subject="Waiting")
    on_time, _ = make_ticket(app, ws_a, make_contact(app, ws_a, "Quinn"), subject="Fresh")
    an_hour_ago = utcnow() - timedelta(hours=1)
    edit(app, ws_a, late, first_response_due_at=an_hour_ago)
    edit(app, ws_a, waiting, status=PENDING, first_response_due_at=an_hour_ago, resolution_due_at=an_hour_ago)
    runner = app.test_cli_runner()
    first = runner.invoke(crm_cli, ["check-tickets"])
    assert first.exit_code == 0 and "1 late ticket(s) reported" in first.output
    assert sorted(message["To"] for message in mailbox.messages) == [ws_a.email, "manny@alpha.example.com"]
    message = mailbox.messages[0]
    with app.app_context(), workspace_scope(ws_a.id):
        number = db.session.get(Ticket, late).number
    assert f"#{number}" in message["Subject"]
    assert f"/w/{ws_a.slug}/tickets/{number}" in message.get_body(("plain",)).get_content()
    again = runner.invoke(crm_cli, ["check-tickets"])
    assert "0 late ticket(s) reported" in again.output and len(mailbox.messages) == 2
    assert status_of(app, ws_a, on_time) != CLOSED


def test_each_workspace_hears_in_its_time_zone_with_public_links(app, mailbox, ws_a, ws_b, monkeypatch):
    monkeypatch.setitem(app.config, "SERVER_NAME", "crm.example.com")
    monkeypatch.setitem(app.config, "PREFERRED_URL_SCHEME", "https")
    with app.app_context():
        db.session.get(Workspace, ws_a.id).timezone = "Asia/Shanghai"  # ws_b stays on UTC
        db.session.commit()
    for ws in (ws_a, ws_b):
        late, _ = make_ticket(app, ws, make_contact(app, ws, "Otto"), subject="Cold soup")
        edit(app, ws, late, first_response_due_at=datetime(2020, 1, 2, 1, 0, tzinfo=UTC))
    assert "2 late ticket(s) reported" in app.test_cli_runner().invoke(crm_cli, ["check-tickets"]).output
    bodies = {message["To"]: message.get_body(("plain",)).get_content() for message in mailbox.messages}
    assert "First response was due: 1/2/20, 9:00\N{NARROW NO-BREAK SPACE}AM" in bodies[ws_a.email]
    assert "First response was due: 1/2/20, 1:00\N{NARROW NO-BREAK SPACE}AM" in bodies[ws_b.email]
    assert sorted(mailbox.links()) == sorted(f"https://crm.example.com/w/{ws.slug}/tickets/1001" for ws in (ws_a, ws_b))


def test_resolved_tickets_close_after_the_workspace_days(app, ws_a):
    old, _ = make_ticket(app, ws_a, make_contact(app, ws_a, "Otto"))
    recent, _ = make_ticket(app, ws_a, make_contact(app, ws_a, "Pat"))
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Workspace, ws_a.id).sla_settings = {"close_after_days": 3}
        for ticket_id in (old, recent):
            service.set_status(db.session.get(Ticket, ticket_id), RESOLVED, ws_a.membership_id)
        db.session.commit()
    edit(app, ws_a, old, resolved_at=utcnow() - timedelta(days=4))
    edit(app, ws_a, recent, resolved_at=utcnow() - timedelta(days=2))
    result = app.test_cli_runner().invoke(crm_cli, ["check-tickets"])
    assert "1 resolved ticket(s) closed" in result.output
    assert status_of(app, ws_a, old) == CLOSED and status_of(app, ws_a, recent) == RESOLVED


def notified(app, ws, ticket_id: int):
    with app.app_context(), workspace_scope(ws.id):
        return db.session.get(Ticket, ticket_id).breach_notified_at


def late_ticket(app, ws, name: str) -> int:
    ticket_id, _ = make_ticket(app, ws, make_contact(app, ws, name), subject=f"{name}'s cold soup")
    edit(app, ws, ticket_id, first_response_due_at=utcnow() - timedelta(hours=1))
    return ticket_id


def subjects_to(mailbox, address: str) -> list[str]:
    return sorted(message["Subject"] for message in mailbox.messages if message["To"] == address)


def test_a_mail_the_server_refuses_is_sent_by_the_next_run_and_no_manager_hears_twice(app, mailbox, ws_a):
    manny = make_member(app, ws_a, "manny@alpha.example.com", role="manager")
    tickets = [late_ticket(app, ws_a, name) for name in ("Otto", "Pat")]
    mailbox.refused.add(manny.email)  # the real SMTP conversation: 550 to that recipient
    runner = app.test_cli_runner()
    refused = runner.invoke(crm_cli, ["check-tickets"])
    assert refused.exit_code == 1 and "0 late ticket(s) reported" in refused.output
    assert f"some late-ticket mails of workspace(s) {ws_a.id} were not sent" in refused.output
    both = ["Ticket #1001 missed its service level", "Ticket #1002 missed its service level"]
    assert subjects_to(mailbox, ws_a.email) == both and subjects_to(mailbox, manny.email) == []
    assert [notified(app, ws_a, ticket_id) for ticket_id in tickets] == [None, None]
    mailbox.refused.clear()  # the address works again: Manny hears, the owner is not mailed again
    retried = runner.invoke(crm_cli, ["check-tickets"])
    assert retried.exit_code == 0 and "2 late ticket(s) reported" in retried.output
    assert subjects_to(mailbox, manny.email) == both and subjects_to(mailbox, ws_a.email) == both
    assert all(notified(app, ws_a, ticket_id) is not None for ticket_id in tickets)
    again = runner.invoke(crm_cli, ["check-tickets"])
    assert again.exit_code == 0 and "0 late ticket(s) reported" in again.output and len(mailbox.messages) == 4


def test_a_workspace_whose_mail_is_refused_keeps_no_other_back(app, mailbox, ws_a, ws_b):
    refused, heard = late_ticket(app, ws_a, "Otto"), late_ticket(app, ws_b, "Otto")
    mailbox.refused.add(ws_a.email)
    result = app.test_cli_runner().invoke(crm_cli, ["check-tickets"])
    assert result.exit_code == 1 and "1 late ticket(s) reported" in result.output
    assert f"some late-ticket mails of workspace(s) {ws_a.id} were not sent" in result.output
    assert [message["To"] for message in mailbox.messages] == [ws_b.email]
    assert notified(app, ws_a, refused) is None and notified(app, ws_b, heard) is not None


def test_with_the_mail_server_down_late_tickets_wait_for_the_next_run_and_tickets_still_close(
    app, mailbox, ws_a, monkeypatch
):
    from tests.conftest import free_port

    late = late_ticket(app, ws_a, "Otto")
    resolved, _ = make_ticket(app, ws_a, make_contact(app, ws_a, "Pat"))
    with app.app_context(), workspace_scope(ws_a.id):
        service.set_status(db.session.get(Ticket, resolved), RESOLVED, ws_a.membership_id)
        db.session.commit()
    edit(app, ws_a, resolved, resolved_at=utcnow() - timedelta(days=8))
    real_server = app.config["MAIL_URL"]
    monkeypatch.setitem(app.config, "MAIL_URL", f"smtp+plain://127.0.0.1:{free_port()}")  # nothing listens there
    down = app.test_cli_runner().invoke(crm_cli, ["check-tickets"])
    assert down.exit_code == 1 and "0 late ticket(s) reported, 1 resolved ticket(s) closed." in down.output
    assert f"some late-ticket mails of workspace(s) {ws_a.id} were not sent" in down.output
    assert notified(app, ws_a, late) is None and status_of(app, ws_a, resolved) == CLOSED
    monkeypatch.setitem(app.config, "MAIL_URL", real_server)  # back up
    back = app.test_cli_runner().invoke(crm_cli, ["check-tickets"])
    assert back.exit_code == 0 and "1 late ticket(s) reported" in back.output
    assert [message["To"] for message in mailbox.messages] == [ws_a.email] and notified(app, ws_a, late) is not None
    assert "0 late ticket(s) reported" in app.test_cli_runner().invoke(crm_cli, ["check-tickets"]).output
    assert len(mailbox.messages) == 1
