"""Plan limits (crm/billing/limits.py): members and contacts at the boundary, in the forms, the
trash, imports and the portal; the trial's and a canceled plan's limits; billing off (no
STRIPE_SECRET_KEY) limits nothing. Small limits keep the tests fast: Free allows 2 members and 3
contacts here, Team 4 and 5."""

import copy
from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.billing import limits
from crm.billing.plans import current_plan
from crm.contacts.models import Contact
from crm.db import utcnow
from crm.duplicates.models import ContactMerge
from crm.extensions import db
from crm.imports.models import Import
from crm.members.models import Invitation
from crm.tenancy import workspace_scope
from crm.tickets.models import TicketAttachment
from crm.workspaces.models import Membership, Workspace
from tests.conftest import post
from tests.factories import make_contact, make_invitation, make_member, make_merge, make_ticket, make_workspace
from tests.test_imports import check, import_id_of, upload
from tests.test_portal import submit

SMALL_PLANS = {"free": {"max_members": 2, "max_contacts": 3}, "team": {"max_members": 4, "max_contacts": 5}}


def use_small_plans(app, monkeypatch) -> None:
    plans = copy.deepcopy(app.config["BILLING_PLANS"])
    for key, values in SMALL_PLANS.items():
        plans[key].update(values)
    monkeypatch.setitem(app.config, "BILLING_PLANS", plans)


def turn_billing_on(app, monkeypatch) -> None:
    """Billing on (a Stripe key) with the small plans; workspaces made after it get the trial."""
    use_small_plans(app, monkeypatch)
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_x")


@pytest.fixture
def small_plans(app, monkeypatch):
    """Small limits, billing still off."""
    use_small_plans(app, monkeypatch)


@pytest.fixture
def billing(app, monkeypatch):
    turn_billing_on(app, monkeypatch)


def set_billing(app, ws, **columns) -> None:
    with app.app_context():
        workspace = db.session.get(Workspace, ws.id)
        for name, value in columns.items():
            setattr(workspace, name, value)
        db.session.commit()


def on_free(app, ws) -> None:
    set_billing(app, ws, plan="free", billing_status=None, trial_ends_at=None, past_due_since=None)


def live_contacts(app, ws) -> int:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.scalar(sa.select(sa.func.count()).select_from(Contact).where(Contact.deleted_at.is_(None)))


def all_contacts(app, ws) -> int:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.scalar(sa.select(sa.func.count()).select_from(Contact))


def add_contact(client, ws, name: str, headers=None):
    return post(client, f"/w/{ws.slug}/contacts/", {"name": name, "lifecycle": "lead"}, headers=headers)


def invite(client, ws, email: str, headers=None):
    with client.application.app_context(), workspace_scope(ws.id):
        from crm.workspaces.models import Role

        role = db.session.scalar(sa.select(Role.id).where(Role.builtin == "sales"))
    return post(
        client, f"/w/{ws.slug}/settings/members/invitations", {"email": email, "role_id": role}, headers=headers
    )


def billing_link(ws) -> str:
    return f"/w/{ws.slug}/settings/billing/"


# --- billing off ------------------------------------------------------------------------------------


def test_billing_off_limits_nothing_and_shows_no_banner(app, client, auth, ws_a, small_plans):
    """No STRIPE_SECRET_KEY: the 4th contact of a "free" workspace whose plan allows 3, and a 3rd
    member of one that allows 2, are fine."""
    for i in range(3):
        make_contact(app, ws_a, f"Existing {i}")
    auth.login(ws_a.email, ws_a.password)
    assert add_contact(client, ws_a, "Fourth").status_code == 303
    assert live_contacts(app, ws_a) == 4
    make_member(app, ws_a, "second@alpha.example.com")
    assert invite(client, ws_a, "third@example.com").status_code == 303
    page = client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)
    assert "billing-banner" not in page
    with app.app_context(), workspace_scope(ws_a.id):
        workspace = db.session.get(Workspace, ws_a.id)
        assert current_plan(workspace) is None
        limits.check_contacts(workspace, 10_000)  # no limit, no error
        limits.check_members(workspace, 10_000)


def test_billing_off_a_new_workspace_gets_no_trial(app):
    ws = make_workspace(app, "No Billing", "nobill@example.com")
    with app.app_context():
        assert db.session.get(Workspace, ws.id).trial_ends_at is None


# --- usage ------------------------------------------------------------------------------------------


def test_usage_counts_seats_live_contacts_and_stored_bytes(app, ws_a, ws_b):
    make_member(app, ws_a, "colleague@alpha.example.com")
    make_member(app, ws_a, "gone@alpha.example.com", status="removed")
    make_invitation(app, ws_a, "invited@example.com")
    make_invitation(app, ws_a, "expired@example.com", days=-1)
    contact = make_contact(app, ws_a, "Kept")
    trashed = make_contact(app, ws_a, "Trashed")
    make_contact(app, ws_b, "Not ours")
    ticket_id, _token = make_ticket(app, ws_a, contact)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Contact, trashed).deleted_at = utcnow()
        message_id = db.session.scalar(sa.text("SELECT id FROM ticket_messages WHERE ticket_id = :t"), {"t": ticket_id})
        db.session.add(TicketAttachment(ticket_id=ticket_id, message_id=message_id, filename="a.png",
                                        content_type="image/png", size=1500, stored_name="x"))  # fmt: skip
        db.session.get(Workspace, ws_a.id).logo = b"\x89PNG" + b"0" * 96
        db.session.commit()
    with app.app_context(), workspace_scope(ws_a.id):
        used = limits.usage(db.session.get(Workspace, ws_a.id))
    assert used == limits.Usage(members=3, contacts=1, storage_bytes=1600)


# --- contacts ---------------------------------------------------------------------------------------


def test_the_last_contact_that_fits_is_added_and_the_next_refused_with_the_upgrade_link(
    app, client, auth, ws_a, billing
):
    on_free(app, ws_a)
    make_contact(app, ws_a, "One")
    make_contact(app, ws_a, "Two")
    auth.login(ws_a.email, ws_a.password)
    assert add_contact(client, ws_a, "Three").status_code == 303  # the 3rd of 3
    response = add_contact(client, ws_a, "Four")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "The Free plan allows 3 contacts and all are used." in page
    assert f'href="{billing_link(ws_a)}"' in page
    assert 'value="Four"' in page  # the form keeps what was typed
    assert live_contacts(app, ws_a) == 3


def test_a_member_who_cannot_pay_is_told_to_ask_the_owner(app, client, auth, ws_a, billing):
    on_free(app, ws_a)
    for name in ("One", "Two", "Three"):
        make_contact(app, ws_a, name)
    sales = make_member(app, ws_a, "sales@alpha.example.com")
    auth.login(sales.email, sales.password)
    page = add_contact(client, ws_a, "Four").get_data(as_text=True)
    assert "Ask the workspace owner to upgrade the plan." in page
    assert billing_link(ws_a) not in page


def test_a_boosted_form_gets_the_refusal_as_a_422_page(app, client, auth, ws_a, billing):
    on_free(app, ws_a)
    for name in ("One", "Two", "Three"):
        make_contact(app, ws_a, name)
    auth.login(ws_a.email, ws_a.password)
    response = add_contact(client, ws_a, "Four", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert response.status_code == 422  # swapped by htmx's responseHandling
    assert 'id="limit-error"' in response.get_data(as_text=True)


def test_the_trash_does_not_count_but_restoring_must_fit(app, client, auth, ws_a, billing):
    on_free(app, ws_a)
    first = make_contact(app, ws_a, "One")
    make_contact(app, ws_a, "Two")
    make_contact(app, ws_a, "Three")
    auth.login(ws_a.email, ws_a.password)
    assert post(client, f"/w/{ws_a.slug}/contacts/{first}/delete", {}).status_code == 303
    assert add_contact(client, ws_a, "Four").status_code == 303
    restore = {"kind": "contacts", "ids": [str(first)]}
    response = post(client, f"/w/{ws_a.slug}/contacts/trash/restore", restore, follow_redirects=True)
    assert "The Free plan allows 3 contacts and all are used." in response.get_data(as_text=True)
    assert live_contacts(app, ws_a) == 3 and all_contacts(app, ws_a) == 4


def test_restoring_the_whole_trash_must_fit_or_restores_none(app, client, auth, ws_a, billing):
    on_free(app, ws_a)
    gone = [make_contact(app, ws_a, name) for name in ("One", "Two", "Three")]
    auth.login(ws_a.email, ws_a.password)
    for contact_id in gone:
        post(client, f"/w/{ws_a.slug}/contacts/{contact_id}/delete", {})
    assert add_contact(client, ws_a, "Four").status_code == 303
    headers = {"HX-Request": "true", "HX-Target": "trash-results"}
    response = post(
        client, f"/w/{ws_a.slug}/contacts/trash/restore", {"kind": "contacts", "scope": "all"}, headers=headers
    )
    assert response.status_code == 422
    assert "this workspace has 1: 2 more fit, not 3." in response.headers["HX-Trigger"]
    assert live_contacts(app, ws_a) == 1
    ticked = {"kind": "contacts", "ids": [str(gone[0]), str(gone[1])]}
    response = post(client, f"/w/{ws_a.slug}/contacts/trash/restore", ticked, headers=headers)
    assert "2 contacts restored." in response.headers["HX-Trigger"] and live_contacts(app, ws_a) == 3


def test_editing_contacts_over_the_limit_still_works(app, client, auth, ws_a, billing):
    set_billing(app, ws_a, plan="team", billing_status="active", trial_ends_at=None)
    ids = [make_contact(app, ws_a, f"Contact {i}") for i in range(5)]
    on_free(app, ws_a)  # now over Free's 3
    auth.login(ws_a.email, ws_a.password)
    response = post(client, f"/w/{ws_a.slug}/contacts/{ids[0]}", {"name": "Renamed", "lifecycle": "lead"})
    assert response.status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Contact, ids[0]).name == "Renamed"


def test_a_portal_complaint_creates_its_contact_even_at_the_limit(app, client, ws_a, billing):
    on_free(app, ws_a)
    for name in ("One", "Two", "Three"):
        make_contact(app, ws_a, name)
    response = submit(client, app, ws_a)
    assert response.status_code == 303
    assert live_contacts(app, ws_a) == 4


# --- members ----------------------------------------------------------------------------------------


def test_invitations_stop_at_the_plans_members(app, client, auth, ws_a, billing):
    on_free(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    assert invite(client, ws_a, "second@example.com").status_code == 303  # owner + 1 invitation = 2 of 2
    response = invite(client, ws_a, "third@example.com", headers={"HX-Request": "true", "HX-Target": "members-panel"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "The Free plan allows 2 members (counting open invitations) and all are taken." in page
    assert f'href="{billing_link(ws_a)}"' in page
    assert "2 of 2 seats in use" in page
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 1


def test_enabling_a_member_needs_a_free_seat(app, client, auth, ws_a, billing):
    on_free(app, ws_a)
    disabled = make_member(app, ws_a, "paused@alpha.example.com", status="disabled")
    make_member(app, ws_a, "active@alpha.example.com")
    auth.login(ws_a.email, ws_a.password)
    response = post(client, f"/w/{ws_a.slug}/settings/members/{disabled.membership_id}/enable", {},
                    follow_redirects=True)  # fmt: skip
    assert "all are taken" in response.get_data(as_text=True)
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Membership, disabled.membership_id).status == "disabled"


def test_accepting_when_the_plan_is_full_is_refused(app, client, ws_a, billing):
    on_free(app, ws_a)
    invitation = make_invitation(app, ws_a, "late@example.com")
    make_member(app, ws_a, "took-the-seat@alpha.example.com")
    data = {"name": "Late", "password": "a long enough password", "confirm": "a long enough password"}
    response = post(client, f"/join/{ws_a.slug}/{invitation.token}", data)
    assert response.status_code == 422
    assert "no free seat left" in response.get_data(as_text=True)


def test_seat_limit_still_overrides_the_plan(app, client, auth, ws_a, billing):
    """The workspace's own seat_limit (set by an operator) wins over the plan's members."""
    set_billing(app, ws_a, plan="team", billing_status="active", trial_ends_at=None, seat_limit=1)
    auth.login(ws_a.email, ws_a.password)
    response = invite(client, ws_a, "second@example.com")
    assert response.status_code == 422
    assert "This workspace has 1 seat and it is taken." in response.get_data(as_text=True)


# --- imports ----------------------------------------------------------------------------------------


def _checked_import(app, client, ws, names) -> int:
    text = "Name,Email\n" + "".join(f"{name},{name.lower()}@example.com\n" for name in names)
    import_id = import_id_of(upload(client, ws, text))
    check(client, app, ws, import_id)
    return import_id


def test_an_import_that_does_not_fit_is_refused_before_writing_anything(app, client, auth, ws_a, billing):
    on_free(app, ws_a)
    make_contact(app, ws_a, "Existing")
    auth.login(ws_a.email, ws_a.password)
    import_id = _checked_import(app, client, ws_a, ["Ann", "Bo", "Cy", "Di"])
    page = client.get(f"/w/{ws_a.slug}/imports/{import_id}").get_data(as_text=True)
    warning = "The Free plan allows 3 contacts and this workspace has 1: 2 more fit, not 4."
    assert warning in page  # the dry run warns
    assert f"/w/{ws_a.slug}/imports/{import_id}/run" not in page
    response = post(client, f"/w/{ws_a.slug}/imports/{import_id}/run", {})
    assert response.status_code == 422
    assert warning in response.get_data(as_text=True)
    assert live_contacts(app, ws_a) == 1
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Import, import_id).status == "checked"


def test_the_import_job_checks_again_before_writing(app, client, auth, ws_a, billing):
    """The room shrank between the dry run and the job: the job refuses, nothing written."""
    on_free(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    import_id = _checked_import(app, client, ws_a, ["Ann", "Bo", "Cy"])
    make_contact(app, ws_a, "Added meanwhile")
    from crm.imports import runner

    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Import, import_id).status = "importing"
        db.session.commit()
        runner.run(import_id)
    with app.app_context(), workspace_scope(ws_a.id):
        job = db.session.get(Import, import_id)
        assert job.status == "checked"
        assert "2 more fit, not 3" in job.failure and "Nothing was imported." in job.failure
    assert live_contacts(app, ws_a) == 1


def test_an_import_that_fits_exactly_is_imported(app, client, auth, ws_a, billing):
    on_free(app, ws_a)
    make_contact(app, ws_a, "Existing")
    auth.login(ws_a.email, ws_a.password)
    import_id = _checked_import(app, client, ws_a, ["Ann", "Bo"])
    assert post(client, f"/w/{ws_a.slug}/imports/{import_id}/run", {}).status_code == 303
    assert live_contacts(app, ws_a) == 3


# --- trial, canceled --------------------------------------------------------------------------------


def test_the_trial_gives_teams_limits_then_free(app, client, auth, billing):
    ws = make_workspace(app, "Trial Shop", "trial@example.com")
    with app.app_context():
        workspace = db.session.get(Workspace, ws.id)
        ends = workspace.trial_ends_at
        assert workspace.plan == "free" and workspace.billing_status is None
        assert abs(ends - (utcnow() + timedelta(days=14))) < timedelta(minutes=5)
        assert current_plan(workspace).key == "team"
    for i in range(4):
        make_contact(app, ws, f"Contact {i}")
    auth.login(ws.email, ws.password)
    assert add_contact(client, ws, "Fifth").status_code == 303  # Team: 5
    assert add_contact(client, ws, "Sixth").status_code == 422
    set_billing(app, ws, trial_ends_at=utcnow() - timedelta(minutes=1))
    response = add_contact(client, ws, "Sixth")
    assert response.status_code == 422
    assert "The Free plan allows 3 contacts" in response.get_data(as_text=True)
    assert live_contacts(app, ws) == 5  # nothing removed when the trial ended


def test_a_canceled_plan_falls_back_to_free_without_losing_data(app, client, auth, ws_a, billing):
    set_billing(app, ws_a, plan="team", billing_status="active", trial_ends_at=None)
    for i in range(5):
        make_contact(app, ws_a, f"Customer {i}")
    auth.login(ws_a.email, ws_a.password)
    make_member(app, ws_a, "two@alpha.example.com")
    make_member(app, ws_a, "three@alpha.example.com")
    set_billing(app, ws_a, billing_status="canceled")
    page = client.get(f"/w/{ws_a.slug}/contacts/").get_data(as_text=True)
    assert all(f"Customer {i}" in page for i in range(5))
    export = client.get(f"/w/{ws_a.slug}/contacts/export.csv").get_data(as_text=True)
    assert all(f"Customer {i}" in export for i in range(5))
    assert client.get(f"/w/{ws_a.slug}/settings/backup/download").status_code == 200
    assert add_contact(client, ws_a, "Sixth").status_code == 422
    assert invite(client, ws_a, "four@example.com").status_code == 422
    assert live_contacts(app, ws_a) == 5
    with app.app_context(), workspace_scope(ws_a.id):
        active = sa.select(sa.func.count()).select_from(Membership).where(Membership.status == "active")
        assert db.session.scalar(active) == 3  # nobody removed


def test_one_workspace_at_its_limit_does_not_limit_another(app, client, auth, ws_a, ws_b, billing):
    on_free(app, ws_a)
    on_free(app, ws_b)
    for name in ("One", "Two", "Three"):
        make_contact(app, ws_b, name)
    auth.login(ws_a.email, ws_a.password)
    assert add_contact(client, ws_a, "Mine").status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        assert limits.contacts_room(db.session.get(Workspace, ws_a.id)) == 2


def test_an_uncaught_limit_error_answers_422_with_the_reason_never_500(app, ws_a, billing):
    """Routes show the limit in their own forms; any other place gets the app's handler."""
    handler = app.error_handler_spec[None][None][limits.LimitError]
    with app.test_request_context("/", headers={"HX-Request": "true"}):
        from crm.billing.plans import plans

        error = limits.LimitError(limits.CONTACTS, plans()["free"], 3, 3, 1)
        response = handler(error)
    assert response.status_code == 422
    assert "The Free plan allows 3 contacts and all are used." in response.headers["HX-Trigger"]


def test_undoing_a_contact_merge_must_fit_the_plan(app, client, auth, ws_a, billing):
    """A merge frees a place; undoing it brings the merged contact back, so it is checked: merge,
    add and undo would otherwise grow a workspace past its limit."""
    on_free(app, ws_a)
    keep, other = make_contact(app, ws_a, "Ann Lee"), make_contact(app, ws_a, "Ann Lee-Wong")
    make_contact(app, ws_a, "Bo Chen")
    merge_id = make_merge(app, ws_a, keep, other)
    auth.login(ws_a.email, ws_a.password)
    assert add_contact(client, ws_a, "Cy Ng").status_code == 303  # the freed place, taken
    response = post(client, f"/w/{ws_a.slug}/duplicates/merges/{merge_id}/undo", {}, follow_redirects=True)
    assert "The Free plan allows 3 contacts and all are used." in response.get_data(as_text=True)
    assert live_contacts(app, ws_a) == 3
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(ContactMerge, merge_id).undone_at is None


def test_a_backup_with_more_contacts_than_the_plan_is_not_restored(app, client, auth, ws_a, billing):
    """A backup is a file its owner can edit: restoring one is no way around the contacts limit."""
    from tests.test_backup import counts, download, restore

    set_billing(app, ws_a, plan="team", billing_status="active")  # Team: 5
    for name in ("One", "Two", "Three", "Four"):
        make_contact(app, ws_a, name)  # over Free's 3
    auth.login(ws_a.email, ws_a.password)
    data = download(client, ws_a)
    fresh = make_workspace(app, "Alpha Copy", ws_a.email)
    on_free(app, fresh)
    before = counts(app, fresh)
    response = restore(client, fresh, data)
    assert response.status_code == 422
    assert "The Free plan allows 3 contacts" in response.get_data(as_text=True)
    assert counts(app, fresh) == before
    set_billing(app, fresh, plan="team", billing_status="active")  # Team: 5
    assert restore(client, fresh, data).status_code in (200, 303)
    assert live_contacts(app, fresh) == 4
