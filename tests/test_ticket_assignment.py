"""Settings → Ticket assignment: new tickets go round the members chosen for their queue, skipping
those who left or may no longer work it; only members who may work a queue can be chosen for it."""

import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.extensions import db
from crm.tenancy import workspace_scope
from crm.tickets.models import Ticket
from crm.workspaces.models import Membership
from tests.conftest import post
from tests.factories import make_member, make_ticket
from tests.test_tickets_service import customer


def url(ws) -> str:
    return f"/w/{ws.slug}/settings/ticket-assignment/"


def assignee_of(app, ws, ticket_id: int) -> int | None:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.get(Ticket, ticket_id).assignee_id


def new_tickets(app, ws, count: int, level: str = "ordinary") -> list[int | None]:
    tickets = [make_ticket(app, ws, customer(app, ws, f"Customer {n}", level))[0] for n in range(count)]
    return [assignee_of(app, ws, ticket_id) for ticket_id in tickets]


def test_new_tickets_take_turns_among_the_chosen(app, client, auth, ws_a):
    ann = make_member(app, ws_a, "ann@alpha.example.com", role="support")
    bob = make_member(app, ws_a, "bob@alpha.example.com", role="support")
    make_member(app, ws_a, "cy@alpha.example.com", role="support")  # not chosen
    auth.login(ws_a.email, ws_a.password)
    response = post(client, url(ws_a), {"members-general": [ann.membership_id, bob.membership_id]})
    assert response.status_code == 303
    assert new_tickets(app, ws_a, 3) == [ann.membership_id, bob.membership_id, ann.membership_id]
    page = client.get(url(ws_a)).get_data(as_text=True)
    assert f'value="{ann.membership_id}" checked' in page
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.action == "ticket.rotation_changed"))


def test_a_member_who_left_is_skipped_and_nobody_chosen_leaves_tickets_unassigned(app, client, auth, ws_a):
    ann = make_member(app, ws_a, "ann@alpha.example.com", role="support")
    bob = make_member(app, ws_a, "bob@alpha.example.com", role="support")
    assert new_tickets(app, ws_a, 1) == [None]
    auth.login(ws_a.email, ws_a.password)
    post(client, url(ws_a), {"members-general": [ann.membership_id, bob.membership_id]})
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Membership, ann.membership_id).status = "removed"
        db.session.commit()
    assert new_tickets(app, ws_a, 2) == [bob.membership_id, bob.membership_id]


def test_the_escalated_queue_takes_only_members_who_may_work_it(app, client, auth, ws_a):
    agent = make_member(app, ws_a, "sue@alpha.example.com", role="support")  # no tickets.escalated
    manager = make_member(app, ws_a, "max@alpha.example.com", role="manager")
    auth.login(ws_a.email, ws_a.password)
    page = client.get(url(ws_a)).get_data(as_text=True)
    assert f'id="member-escalated-{agent.membership_id}"' not in page
    assert f'id="member-escalated-{manager.membership_id}"' in page
    response = post(client, url(ws_a), {"members-escalated": [agent.membership_id]})
    assert response.status_code == 422 and "Choose members who may work that queue." in response.get_data(as_text=True)
    assert new_tickets(app, ws_a, 1, "vip") == [None]
    post(client, url(ws_a), {"members-escalated": [manager.membership_id]})
    assert new_tickets(app, ws_a, 1, "vip") == [manager.membership_id]
    assert new_tickets(app, ws_a, 1, "ordinary") == [None]  # the general queue has nobody


def test_needs_settings_manage_and_members_of_this_workspace(app, client, auth, ws_a, ws_b):
    agent = make_member(app, ws_a, "sue@alpha.example.com", role="support")
    outsider = make_member(app, ws_b, "oz@beta.example.com", role="support")
    auth.login(agent.email, agent.password)
    assert client.get(url(ws_a)).status_code == 403
    assert post(client, url(ws_a), {"members-general": [agent.membership_id]}).status_code == 403
    auth.logout()
    auth.login(ws_a.email, ws_a.password)
    assert post(client, url(ws_a), {"members-general": [outsider.membership_id]}).status_code == 422
    assert new_tickets(app, ws_a, 1) == [None]
