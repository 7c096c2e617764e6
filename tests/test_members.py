"""Members and invitations: invite, accept (new or existing account), resend, revoke, change
role, disable, remove, transfer ownership; the rules that keep an Owner; seat limits."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.extensions import db
from crm.members.models import Invitation
from crm.tenancy import workspace_scope
from crm.workspaces.models import Membership, Role, Workspace
from tests.conftest import post
from tests.factories import PASSWORD, assign_role, make_invitation, make_member, make_role, role_id

PANEL = {"HX-Request": "true", "HX-Target": "members-panel"}


def members_url(ws, tail=""):
    return f"/w/{ws.slug}/settings/members/{tail}"


def invite(client, ws, email, role="sales", app=None, headers=None):
    return post(client, members_url(ws, "invitations"), {"email": email, "role_id": role_id(app, ws, role)}, headers)


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def count(app, ws, model, *where) -> int:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def actions(app, ws) -> list[str]:
    with app.app_context(), workspace_scope(ws.id):
        return list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


def test_owner_invites_and_a_new_person_joins_with_the_role(app, client, auth, mailbox, ws_a):
    auth.login(ws_a.email, ws_a.password)
    response = invite(client, ws_a, "New.Person@Example.com", "support", app)
    assert response.status_code == 303
    assert "new.person@example.com" in client.get(members_url(ws_a)).get_data(as_text=True)
    message = mailbox.messages[-1]
    assert message["To"] == "new.person@example.com"
    assert "Alpha" in message["Subject"]
    link = path_of(mailbox.links()[-1])
    assert link.startswith(f"/join/{ws_a.slug}/")

    auth.logout()
    page = client.get(link).get_data(as_text=True)
    assert "new.person@example.com" in page and "Support" in page
    response = post(client, link, {"name": "New Person", "password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/w/{ws_a.slug}/"
    home = client.get(f"/w/{ws_a.slug}/")
    assert home.status_code == 200
    # Support may not manage members.
    assert client.get(members_url(ws_a)).status_code == 403
    # The link was single-use.
    auth.logout()
    assert client.get(link).status_code == 404
    assert {"invitation.sent", "invitation.accepted"} <= set(actions(app, ws_a))


def test_existing_account_logs_in_then_accepts(app, client, auth, mailbox, ws_a, ws_b):
    auth.login(ws_a.email, ws_a.password)
    invite(client, ws_a, ws_b.email, "viewer", app)
    link = path_of(mailbox.links()[-1])
    auth.logout()
    page = client.get(link).get_data(as_text=True)
    assert "Log in to accept" in page
    assert post(client, link, {}).headers["Location"].startswith("/login")
    auth.login(ws_b.email, ws_b.password)
    assert post(client, link, {}).status_code == 303
    assert client.get(f"/w/{ws_a.slug}/").status_code == 200
    switcher = client.get("/workspaces/").get_data(as_text=True)
    assert "Alpha" in switcher and "Beta" in switcher


def test_someone_signed_in_with_another_email_cannot_take_the_invitation(app, client, auth, ws_a, ws_b):
    invitation = make_invitation(app, ws_a, "intended@example.com")
    auth.login(ws_b.email, ws_b.password)
    link = f"/join/{ws_a.slug}/{invitation.token}"
    assert "but this invitation is for intended@example.com" in client.get(link).get_data(as_text=True)
    assert post(client, link, {}).status_code == 422
    assert client.get(f"/w/{ws_a.slug}/").status_code == 404


def test_expired_revoked_and_foreign_links_do_not_work(app, client, auth, ws_a, ws_b):
    expired = make_invitation(app, ws_a, "late@example.com", days=-1)
    assert client.get(f"/join/{ws_a.slug}/{expired.token}").status_code == 404
    live = make_invitation(app, ws_a, "someone@example.com")
    # A token of workspace A under B's slug finds nothing: B's invitations only.
    response = client.get(f"/join/{ws_b.slug}/{live.token}")
    assert response.status_code == 404
    assert "someone@example.com" not in response.get_data(as_text=True)
    taken = post(client, f"/join/{ws_b.slug}/{live.token}", {"name": "x", "password": PASSWORD, "confirm": PASSWORD})
    assert taken.status_code == 404
    assert count(app, ws_b, Membership) == 1
    auth.login(ws_a.email, ws_a.password)
    post(client, members_url(ws_a, f"invitations/{live.id}/revoke"), {})
    auth.logout()
    assert client.get(f"/join/{ws_a.slug}/{live.token}").status_code == 404


def test_join_form_errors_keep_nothing(app, client, ws_a):
    invitation = make_invitation(app, ws_a, "typo@example.com")
    link = f"/join/{ws_a.slug}/{invitation.token}"
    response = post(client, link, {"name": "", "password": "short", "confirm": "other"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Tell us your name." in body
    assert count(app, ws_a, Membership) == 1
    assert count(app, ws_a, Invitation, Invitation.accepted_at.is_(None)) == 1


def test_bad_invitations_are_refused_with_a_clear_message(app, client, auth, ws_a):
    make_member(app, ws_a, "already@example.com")
    auth.login(ws_a.email, ws_a.password)
    cases = {
        "not-an-email": "Enter a valid email address.",
        "already@example.com": "already a member",
        "": "Enter the email address to invite.",
    }
    for email, message in cases.items():
        response = invite(client, ws_a, email, "sales", app)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    invite(client, ws_a, "twice@example.com", "sales", app)
    response = invite(client, ws_a, "twice@example.com", "sales", app)
    assert "already invited" in response.get_data(as_text=True)
    bogus_role = post(client, members_url(ws_a, "invitations"), {"email": "x@example.com", "role_id": 999999})
    assert bogus_role.status_code == 422
    assert count(app, ws_a, Invitation) == 1


def test_htmx_invite_swaps_the_panel(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    headers = {"HX-Request": "true", "HX-Target": "members-panel"}
    response = invite(client, ws_a, "panel@example.com", "sales", app, headers)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.startswith('<div id="members-panel"') or '<div id="members-panel"' in body[:200]
    assert "<html" not in body and "panel@example.com" in body
    assert "Invitation sent" in response.headers["HX-Trigger"]
    bad = invite(client, ws_a, "nope", "sales", app, headers)
    assert bad.status_code == 422 and "Enter a valid email address." in bad.get_data(as_text=True)


def test_admin_cannot_make_or_touch_owners(app, client, auth, ws_a):
    admin = make_member(app, ws_a, "admin@alpha.example.com", role="admin")
    auth.login(admin.email, admin.password)
    assert invite(client, ws_a, "boss@example.com", "owner", app).status_code == 422
    owner_id = ws_a.membership_id
    post(client, members_url(ws_a, f"{owner_id}/role"), {"role_id": role_id(app, ws_a, "viewer")})
    post(client, members_url(ws_a, f"{owner_id}/disable"), {})
    with app.app_context(), workspace_scope(ws_a.id):
        owner = db.session.get(Membership, owner_id)
        assert owner.is_owner and owner.status == "active"


def test_the_last_owner_cannot_leave_the_workspace_ownerless(app, client, auth, ws_a):
    second = make_member(app, ws_a, "co-owner@alpha.example.com", role="owner")
    auth.login(ws_a.email, ws_a.password)
    # Demoting yourself while another owner exists is fine...
    viewer = role_id(app, ws_a, "admin")
    assert post(client, members_url(ws_a, f"{ws_a.membership_id}/role"), {"role_id": viewer}).status_code == 303
    auth.logout()
    auth.login(second.email, second.password)
    # ...but now the second is the only owner.
    response = post(client, members_url(ws_a, f"{second.membership_id}/role"), {"role_id": viewer})
    assert response.status_code == 303
    assert "needs an active Owner" in client.get(members_url(ws_a)).get_data(as_text=True)
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Membership, second.membership_id).is_owner


def test_disabled_member_is_refused_at_once_and_can_be_enabled(app, client, auth, ws_a):
    clerk = make_member(app, ws_a, "clerk@alpha.example.com")
    other = app.test_client()
    post(other, "/login", {"email": clerk.email, "password": clerk.password})
    assert other.get(f"/w/{ws_a.slug}/").status_code == 200

    auth.login(ws_a.email, ws_a.password)
    assert post(client, members_url(ws_a, f"{clerk.membership_id}/disable"), {}).status_code == 303
    refused = other.get(f"/w/{ws_a.slug}/")
    assert refused.status_code == 403
    assert "disabled your access" in refused.get_data(as_text=True)
    post(client, members_url(ws_a, f"{clerk.membership_id}/enable"), {})
    assert other.get(f"/w/{ws_a.slug}/").status_code == 200
    assert {"member.disabled", "member.enabled"} <= set(actions(app, ws_a))


def test_removed_member_gets_404_and_their_notes_stay(app, client, auth, ws_a):
    from tests.factories import make_note

    clerk = make_member(app, ws_a, "leaver@alpha.example.com")
    make_note(app, ws_a, "written by the leaver", author_id=clerk.membership_id)
    other = app.test_client()
    post(other, "/login", {"email": clerk.email, "password": clerk.password})
    auth.login(ws_a.email, ws_a.password)
    post(client, members_url(ws_a, f"{clerk.membership_id}/remove"), {})
    assert other.get(f"/w/{ws_a.slug}/").status_code == 404
    assert "leaver@alpha.example.com" not in client.get(members_url(ws_a)).get_data(as_text=True)
    assert "written by the leaver" in client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)
    # Invited again, they come back with the new role.
    invitation = make_invitation(app, ws_a, clerk.email, role="viewer")
    post(other, f"/join/{ws_a.slug}/{invitation.token}", {})
    assert other.get(f"/w/{ws_a.slug}/").status_code == 200


def test_nobody_disables_or_removes_themselves(app, client, auth, ws_a):
    make_member(app, ws_a, "co@alpha.example.com", role="owner")
    auth.login(ws_a.email, ws_a.password)
    post(client, members_url(ws_a, f"{ws_a.membership_id}/remove"), {})
    assert "cannot do this to yourself" in client.get(members_url(ws_a)).get_data(as_text=True)
    assert client.get(f"/w/{ws_a.slug}/").status_code == 200


def test_owner_transfers_ownership_and_becomes_admin(app, client, auth, ws_a):
    heir = make_member(app, ws_a, "heir@alpha.example.com", role="manager")
    auth.login(ws_a.email, ws_a.password)
    response = post(client, members_url(ws_a, f"{heir.membership_id}/transfer-ownership"), {})
    assert response.status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Membership, heir.membership_id).is_owner
        me = db.session.get(Membership, ws_a.membership_id)
        assert me.role.builtin == "admin"
    assert "member.ownership_transferred" in actions(app, ws_a)
    # An admin may not transfer what they no longer own.
    other = make_member(app, ws_a, "other@alpha.example.com")
    post(client, members_url(ws_a, f"{other.membership_id}/transfer-ownership"), {})
    with app.app_context(), workspace_scope(ws_a.id):
        assert not db.session.get(Membership, other.membership_id).is_owner


def test_seat_limit_refuses_invitations_and_enabling(app, client, auth, ws_a):
    with app.app_context():
        db.session.get(Workspace, ws_a.id).seat_limit = 2
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    assert invite(client, ws_a, "first@example.com", "sales", app).status_code == 303
    response = invite(client, ws_a, "second@example.com", "sales", app)
    assert response.status_code == 422
    assert "seats and all are taken" in response.get_data(as_text=True)
    assert "2 of 2 seats in use" in response.get_data(as_text=True)
    assert count(app, ws_a, Invitation) == 1


def test_resend_gives_a_new_link_and_kills_the_old_one(app, client, auth, mailbox, ws_a):
    auth.login(ws_a.email, ws_a.password)
    invite(client, ws_a, "slow@example.com", "sales", app)
    first = path_of(mailbox.links()[-1])
    with app.app_context(), workspace_scope(ws_a.id):
        invitation_id = db.session.scalar(sa.select(Invitation.id))
    post(client, members_url(ws_a, f"invitations/{invitation_id}/resend"), {})
    second = path_of(mailbox.links()[-1])
    assert first != second
    auth.logout()
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200


def test_builtin_roles_exist_in_every_new_workspace_and_show_translated(app, client, auth, ws_a):
    with app.app_context(), workspace_scope(ws_a.id):
        keys = set(db.session.scalars(sa.select(Role.builtin)))
    assert keys == {"owner", "admin", "manager", "sales", "support", "viewer"}
    auth.login(ws_a.email, ws_a.password)
    post(client, "/language", {"locale": "zh_Hans"})
    page = client.get(members_url(ws_a)).get_data(as_text=True)
    assert "所有者" in page


def test_member_list_runs_a_fixed_number_of_queries(app, client, auth, ws_a):
    from tests.query_counter import count_queries

    for i in range(3):
        make_member(app, ws_a, f"q{i}@alpha.example.com")
        make_invitation(app, ws_a, f"inv{i}@example.com")
    auth.login(ws_a.email, ws_a.password)
    client.get(members_url(ws_a))
    with count_queries(app) as few:
        client.get(members_url(ws_a))
    for i in range(3, 13):
        make_member(app, ws_a, f"q{i}@alpha.example.com")
        make_invitation(app, ws_a, f"inv{i}@example.com")
    with count_queries(app) as many:
        assert client.get(members_url(ws_a)).status_code == 200
    assert len(many) == len(few), "\n".join(many)


def test_invited_user_without_account_gets_one_created(app, client, ws_a):
    invitation = make_invitation(app, ws_a, "fresh@example.com")
    post(client, f"/join/{ws_a.slug}/{invitation.token}", {"name": "Fresh", "password": PASSWORD, "confirm": PASSWORD})
    from crm.auth.models import User

    with app.app_context():
        assert db.session.scalar(sa.select(User.name).where(User.email == "fresh@example.com")) == "Fresh"


def _role_of(app, ws, membership_id: int) -> str:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.get(Membership, membership_id).role.name


def test_nobody_gives_a_role_with_more_than_they_hold_themselves_included(app, client, auth, ws_a):
    recruiter_role = make_role(app, ws_a, "Recruiter", permissions=["members.manage"])
    recruiter = make_member(app, ws_a, "recruiter@alpha.example.com")
    assign_role(app, ws_a, recruiter.membership_id, recruiter_role)
    colleague = make_member(app, ws_a, "colleague@alpha.example.com", role="viewer")
    auth.login(recruiter.email, recruiter.password)
    admin = role_id(app, ws_a, "admin")
    post(client, members_url(ws_a, f"{recruiter.membership_id}/role"), {"role_id": admin})
    post(client, members_url(ws_a, f"{colleague.membership_id}/role"), {"role_id": admin})
    assert invite(client, ws_a, "my-other-self@example.com", "admin", app).status_code == 422
    page = client.get(members_url(ws_a)).get_data(as_text=True)
    assert f'<option value="{admin}"' not in page  # not even offered
    assert _role_of(app, ws_a, recruiter.membership_id) == "Recruiter"
    assert _role_of(app, ws_a, colleague.membership_id) == "Viewer"
    assert count(app, ws_a, Invitation) == 0


def test_a_member_with_more_permissions_cannot_be_disabled_by_one_with_fewer(app, client, auth, ws_a):
    recruiter_role = make_role(app, ws_a, "Recruiter", permissions=["members.manage"])
    recruiter = make_member(app, ws_a, "recruiter@alpha.example.com")
    assign_role(app, ws_a, recruiter.membership_id, recruiter_role)
    admin = make_member(app, ws_a, "admin@alpha.example.com", role="admin")
    auth.login(recruiter.email, recruiter.password)
    response = post(client, members_url(ws_a, f"{admin.membership_id}/disable"), {}, follow_redirects=True)
    assert "This member has permissions you do not have" in response.get_data(as_text=True)
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Membership, admin.membership_id).status == "active"


def test_resending_an_expired_invitation_respects_the_seat_limit(app, client, auth, ws_a):
    expired = make_invitation(app, ws_a, "late@example.com", days=-1)
    make_invitation(app, ws_a, "prompt@example.com")
    with app.app_context():
        db.session.get(Workspace, ws_a.id).seat_limit = 2  # the owner and the open invitation
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    response = post(client, members_url(ws_a, f"invitations/{expired.id}/resend"), {}, follow_redirects=True)
    assert "seats and all are taken" in response.get_data(as_text=True)
    assert "3 of 2" not in client.get(members_url(ws_a)).get_data(as_text=True)


def test_accepting_after_the_plan_shrank_is_refused(app, client, ws_a):
    invitation = make_invitation(app, ws_a, "newcomer@example.com")
    with app.app_context():
        db.session.get(Workspace, ws_a.id).seat_limit = 1
        db.session.commit()
    data = {"name": "New Comer", "password": "a long enough password", "confirm": "a long enough password"}
    response = post(client, f"/join/{ws_a.slug}/{invitation.token}", data)
    assert response.status_code == 422
    assert "no free seat left" in response.get_data(as_text=True)
    assert count(app, ws_a, Membership) == 1


def test_removing_a_member_hands_their_open_tasks_to_the_admin_who_removed_them(app, client, auth, ws_a, mailbox):
    from crm.activities.models import Activity
    from crm.cli import crm_cli
    from crm.db import utcnow
    from tests.factories import make_activity, make_contact

    sam = make_member(app, ws_a, "sam@alpha.example.com")
    ann = make_contact(app, ws_a, "Ann Lee")
    yesterday = utcnow() - timedelta(days=1)
    samples = make_activity(app, ws_a, ann, "Deliver the samples", kind="task", due_at=yesterday,
                            assignee_id=sam.membership_id, remind_at=yesterday)  # fmt: skip
    invoice = make_activity(app, ws_a, ann, "Send the invoice", kind="task", due_at=yesterday + timedelta(days=3),
                            assignee_id=sam.membership_id)  # fmt: skip
    done = make_activity(app, ws_a, ann, "Call Ann", kind="task", due_at=yesterday, assignee_id=sam.membership_id)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Activity, done).done_at = utcnow()
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    response = post(client, members_url(ws_a, f"{sam.membership_id}/remove"), {}, headers=PANEL)
    assert "Their 2 open tasks are yours now, in My tasks." in response.headers["HX-Trigger"]
    with app.app_context(), workspace_scope(ws_a.id):
        assignees = dict(db.session.execute(sa.select(Activity.id, Activity.assignee_id)).all())
        entries = db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "activity.handed_over").order_by(AuditEntry.id)
        ).all()
        assert [(entry.record_type, entry.record_id, entry.changes) for entry in entries] == [
            ("contact", ann, {"task": [None, text], "assignee_id": [sam.membership_id, ws_a.membership_id]})
            for text in ("Deliver the samples", "Send the invoice")
        ]
    assert assignees == {samples: ws_a.membership_id, invoice: ws_a.membership_id, done: sam.membership_id}
    my_tasks = client.get(f"/w/{ws_a.slug}/tasks/").get_data(as_text=True)
    assert "Deliver the samples" in my_tasks and "Send the invoice" in my_tasks
    # The reminder whose time had come goes to the admin now.
    assert "1 reminder(s) sent." in app.test_cli_runner().invoke(crm_cli, ["send-reminders"]).output
    assert mailbox.messages[0]["To"] == ws_a.email and "Deliver the samples" in mailbox.messages[0]["Subject"]
    # The contact's history says which task, who had it and who has it now.
    history = client.get(f"/w/{ws_a.slug}/contacts/{ann}").get_data(as_text=True)
    assert history.count("Handed over the open task of a member who was removed") == 2
    assert "Task</span>: <ins>Deliver the samples</ins>" in history
    assert history.count("Assigned to</span>: <del>Test User</del> → <ins>Alice</ins>") == 2


def test_removing_a_member_without_open_tasks_says_nothing_of_tasks(app, client, auth, ws_a):
    sam = make_member(app, ws_a, "sam@alpha.example.com")
    auth.login(ws_a.email, ws_a.password)
    response = post(client, members_url(ws_a, f"{sam.membership_id}/remove"), {}, headers=PANEL)
    assert "is removed from this workspace." in response.headers["HX-Trigger"]
    assert "open task" not in response.headers["HX-Trigger"]


def test_open_invitations_of_a_removed_or_disabled_member_stop_working(app, client, auth, mailbox, ws_a):
    """Someone leaving with members.manage must not get back in through an invitation they sent
    to an address of their own before they went."""
    for status_action, email in (("remove", "leaver@alpha.example.com"), ("disable", "suspended@alpha.example.com")):
        leaver = make_member(app, ws_a, email, role="admin")
        auth.login(leaver.email, leaver.password)
        invite(client, ws_a, f"private.{status_action}@example.net", "admin", app)
        link = path_of(mailbox.links()[-1])
        auth.logout()
        auth.login(ws_a.email, ws_a.password)
        assert post(client, members_url(ws_a, f"{leaver.membership_id}/{status_action}"), {}).status_code == 303
        page = client.get(members_url(ws_a)).get_data(as_text=True)
        assert f"private.{status_action}@example.net" not in page
        auth.logout()
        assert client.get(link).status_code == 404
        response = post(client, link, {"name": "Back Door", "password": PASSWORD, "confirm": PASSWORD})
        assert response.status_code == 404
        assert client.get(f"/w/{ws_a.slug}/").status_code != 200
    assert actions(app, ws_a).count("invitation.revoked") == 2


def test_resending_an_invitation_needs_the_right_to_give_its_role(app, client, auth, mailbox, ws_a):
    hr = make_role(app, ws_a, "HR", permissions=["members.manage", "contacts.read"])
    clerk = make_member(app, ws_a, "clerk@alpha.example.com")
    assign_role(app, ws_a, clerk.membership_id, hr)
    invitation = make_invitation(app, ws_a, "future.owner@example.com", role="owner", days=1)
    with app.app_context(), workspace_scope(ws_a.id):
        expires = db.session.get(Invitation, invitation.id).expires_at
    auth.login(clerk.email, clerk.password)
    sent = len(mailbox.messages)
    response = post(client, members_url(ws_a, f"invitations/{invitation.id}/resend"), {})
    assert response.status_code == 303
    assert len(mailbox.messages) == sent
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Invitation, invitation.id).expires_at == expires
    assert "Only an Owner can make someone an Owner." in client.get(members_url(ws_a)).get_data(as_text=True)
    # The old link still works: nothing was renewed.
    auth.logout()
    assert client.get(f"/join/{ws_a.slug}/{invitation.token}").status_code == 200


@pytest.mark.postgres
def test_two_owners_demoting_each_other_at_once_leave_one_owner(app, auth, ws_a, monkeypatch):
    """Each request counts two Owners before the other has saved; the second to count waits for the
    first to finish and counts again, so one of them is refused."""
    import threading
    import time

    from crm.members import service
    from tests.conftest import Auth

    second = make_member(app, ws_a, "second.owner@alpha.example.com", role="owner")
    clients = {"first": app.test_client(), "second": app.test_client()}
    Auth(clients["first"]).login(ws_a.email, ws_a.password)
    Auth(clients["second"]).login(second.email, second.password)
    first_checked = threading.Event()
    check = service._check_not_last_owner

    def check_in_turn(member):
        if threading.current_thread().name == "first":
            check(member)
            first_checked.set()
            time.sleep(1)  # saved later, after the second request has counted
        else:
            first_checked.wait(10)
            check(member)

    monkeypatch.setattr(service, "_check_not_last_owner", check_in_turn)
    admin = role_id(app, ws_a, "admin")
    targets = {"first": second.membership_id, "second": ws_a.membership_id}
    answers = {}

    def demote(name):
        url = members_url(ws_a, f"{targets[name]}/role")
        answers[name] = post(clients[name], url, {"role_id": admin})

    threads = [threading.Thread(target=demote, args=(name,), name=name) for name in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    with app.app_context(), workspace_scope(ws_a.id):
        owners = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Membership)
            .join(Role, Role.id == Membership.role_id)
            .where(Role.builtin == "owner", Membership.status == "active")
        )
    assert owners == 1
    assert "A workspace needs an active Owner." in clients["second"].get(members_url(ws_a)).get_data(as_text=True)


def test_an_invitation_link_still_works_after_the_workspace_changes_its_address(app, client, auth, mailbox, ws_a):
    auth.login(ws_a.email, ws_a.password)
    invite(client, ws_a, "newcomer@example.com", "sales", app)
    link = path_of(mailbox.links()[-1])
    settings = {"name": ws_a.name, "slug": "alpha-new", "timezone": "UTC", "currency": "USD", "phone_region": "US"}
    assert post(client, f"/w/{ws_a.slug}/settings", settings).status_code == 303
    auth.logout()
    page = client.get(link)
    assert page.status_code == 200
    assert "newcomer@example.com" in page.get_data(as_text=True)
    response = post(client, link, {"name": "New Comer", "password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == "/w/alpha-new/"
    assert client.get("/w/alpha-new/").status_code == 200


def test_a_member_given_a_lesser_role_loses_the_invitations_they_may_no_longer_give(app, client, auth, mailbox, ws_a):
    demoted = make_member(app, ws_a, "demoted@alpha.example.com", role="admin")
    auth.login(demoted.email, demoted.password)
    invite(client, ws_a, "friend.admin@example.net", "admin", app)
    admin_link = path_of(mailbox.links()[-1])
    invite(client, ws_a, "new.viewer@example.net", "viewer", app)
    viewer_link = path_of(mailbox.links()[-1])
    auth.logout()
    auth.login(ws_a.email, ws_a.password)
    manager = role_id(app, ws_a, "manager")
    assert post(client, members_url(ws_a, f"{demoted.membership_id}/role"), {"role_id": manager}).status_code == 303
    page = client.get(members_url(ws_a)).get_data(as_text=True)
    assert "friend.admin@example.net" not in page and "new.viewer@example.net" in page
    auth.logout()
    assert client.get(admin_link).status_code == 404  # a Manager may not give Admin
    assert client.get(viewer_link).status_code == 200  # but may give Viewer: that one stays
    assert actions(app, ws_a).count("invitation.revoked") == 1
