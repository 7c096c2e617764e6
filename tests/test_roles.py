"""Custom roles: create, copy, rename, the permission matrix, record scope, delete."""

import re

import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.extensions import db
from crm.tenancy import workspace_scope
from crm.workspaces.models import Membership, Role
from tests.conftest import post
from tests.factories import assign_role, make_invitation, make_member, make_note, make_role, role_id


def roles_url(ws, tail=""):
    return f"/w/{ws.slug}/settings/roles/{tail}"


def role_row(app, ws, rid) -> Role | None:
    with app.app_context(), workspace_scope(ws.id):
        role = db.session.get(Role, rid)
        if role is not None:
            db.session.expunge(role)
        return role


def audit_actions(app, ws) -> list[str]:
    with app.app_context(), workspace_scope(ws.id):
        return list(db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.record_type == "role")))


def test_create_a_role_from_a_copy_and_see_it_listed(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    sales = role_id(app, ws_a, "sales")
    response = post(client, roles_url(ws_a), {"name": "Field sales", "copy_from": sales})
    assert response.status_code == 303
    new_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    assert role_row(app, ws_a, new_id).permissions == role_row(app, ws_a, sales).permissions
    assert "Field sales" in client.get(roles_url(ws_a)).get_data(as_text=True)
    assert "role.created" in audit_actions(app, ws_a)


def test_bad_role_names_are_refused(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    for name, message in (("", "Name the role."), ("sales", "Another role already has this name."), ("x" * 61, "")):
        response = post(client, roles_url(ws_a), {"name": name, "copy_from": 0})
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Role)) == 6


def test_matrix_saves_with_htmx_and_the_member_feels_it_at_once(app, client, auth, ws_a):
    rid = make_role(app, ws_a, "Note takers", permissions=["contacts.read"])
    member = make_member(app, ws_a, "writer@alpha.example.com")
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Membership, member.membership_id).role_id = rid
        db.session.commit()
    writer = app.test_client()
    post(writer, "/login", {"email": member.email, "password": member.password})
    assert post(writer, f"/w/{ws_a.slug}/notes/", {"body": "hello"}).status_code == 403

    auth.login(ws_a.email, ws_a.password)
    headers = {"HX-Request": "true", "HX-Target": "permission-matrix"}
    response = post(
        client, roles_url(ws_a, f"{rid}/permissions"), {"permission": ["contacts.read", "notes.write"]}, headers
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<form id="permission-matrix"')
    assert re.search(r'value="notes.write"\s+checked', body)
    assert role_row(app, ws_a, rid).permissions == ["contacts.read", "notes.write"]
    assert post(writer, f"/w/{ws_a.slug}/notes/", {"body": "hello"}).status_code == 303
    entry = _last_role_entry(app, ws_a)
    assert entry.changes == {"permissions": [["contacts.read"], ["contacts.read", "notes.write"]]}


def test_nobody_grants_what_they_do_not_hold_and_owner_role_is_fixed(app, client, auth, ws_a):
    admin = make_member(app, ws_a, "admin@alpha.example.com", role="admin")
    rid = make_role(app, ws_a, "Helpers")
    auth.login(admin.email, admin.password)
    response = post(client, roles_url(ws_a, f"{rid}/permissions"), {"permission": ["billing.manage"]})
    assert response.status_code == 422
    assert "permissions you have yourself" in response.get_data(as_text=True)
    assert role_row(app, ws_a, rid).permissions == ["contacts.read"]
    owner = role_id(app, ws_a, "owner")
    response = post(client, roles_url(ws_a, f"{owner}/permissions"), {"permission": ["contacts.read"]})
    assert response.status_code == 422
    assert "billing.manage" in role_row(app, ws_a, owner).permissions
    assert post(client, roles_url(ws_a, f"{owner}/delete"), {}).status_code == 303
    assert role_row(app, ws_a, owner) is not None
    unknown = post(client, roles_url(ws_a, f"{rid}/permissions"), {"permission": ["root.everything"]})
    assert unknown.status_code == 422


def test_disabled_checkboxes_keep_permissions_the_editor_lacks(app, client, auth, ws_a):
    """An Admin saving a role that has billing.manage does not silently strip it."""
    admin = make_member(app, ws_a, "admin2@alpha.example.com", role="admin")
    rid = make_role(app, ws_a, "Bookkeeper", permissions=["billing.manage"])
    auth.login(admin.email, admin.password)
    page = client.get(roles_url(ws_a, str(rid))).get_data(as_text=True)
    assert '<input type="hidden" name="permission" value="billing.manage">' in page
    response = post(client, roles_url(ws_a, f"{rid}/permissions"), {"permission": ["billing.manage", "reports.view"]})
    assert response.status_code == 303
    assert role_row(app, ws_a, rid).permissions == ["reports.view", "billing.manage"]


def test_rename_and_record_scope(app, client, auth, ws_a):
    rid = make_role(app, ws_a, "Temps")
    auth.login(ws_a.email, ws_a.password)
    response = post(client, roles_url(ws_a, str(rid)), {"name": "Seasonal staff", "record_scope": "own"})
    assert response.status_code == 303
    role = role_row(app, ws_a, rid)
    assert (role.name, role.record_scope) == ("Seasonal staff", "own")
    assert post(client, roles_url(ws_a, str(rid)), {"name": "x", "record_scope": "everything"}).status_code == 422
    # Saving a built-in role under its shown name does not rename it.
    sales = role_id(app, ws_a, "sales")
    post(client, "/language", {"locale": "zh_Hans"})
    shown = role_row(app, ws_a, sales)
    post(client, roles_url(ws_a, str(sales)), {"name": "销售", "record_scope": "all"})
    assert role_row(app, ws_a, sales).name == shown.name == "Sales"


def test_own_record_scope_limits_lists_and_detail_pages(app, client, auth, ws_a):
    rid = make_role(app, ws_a, "Own only", permissions=["notes.write"], record_scope="own")
    member = make_member(app, ws_a, "own@alpha.example.com")
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Membership, member.membership_id).role_id = rid
        db.session.commit()
    mine = make_note(app, ws_a, "my own note", author_id=member.membership_id)
    theirs = make_note(app, ws_a, "the owner's note")
    auth.login(member.email, member.password)
    home = client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)
    assert "my own note" in home and "the owner&#39;s note" not in home
    assert client.get(f"/w/{ws_a.slug}/notes/{theirs}", headers={"HX-Request": "true"}).status_code == 404
    assert client.get(f"/w/{ws_a.slug}/notes/{mine}", headers={"HX-Request": "true"}).status_code == 200
    assert post(client, f"/w/{ws_a.slug}/notes/{theirs}/delete", {}).status_code == 404


def test_a_role_in_use_cannot_be_deleted_until_members_move(app, client, auth, ws_a):
    rid = make_role(app, ws_a, "Busy")
    member = make_member(app, ws_a, "busy@alpha.example.com")
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Membership, member.membership_id).role_id = rid
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    post(client, roles_url(ws_a, f"{rid}/delete"), {})
    page = client.get(roles_url(ws_a, str(rid))).get_data(as_text=True)
    assert "1 member(s) have this role" in page
    post(
        client, f"/w/{ws_a.slug}/settings/members/{member.membership_id}/role", {"role_id": role_id(app, ws_a, "sales")}
    )
    invitation = make_invitation(app, ws_a, "pending@example.com")
    with app.app_context(), workspace_scope(ws_a.id):
        from crm.members.models import Invitation

        db.session.get(Invitation, invitation.id).role_id = rid
        db.session.commit()
    post(client, roles_url(ws_a, f"{rid}/delete"), {})
    assert "Revoke them first" in client.get(roles_url(ws_a, str(rid))).get_data(as_text=True)
    post(client, f"/w/{ws_a.slug}/settings/members/invitations/{invitation.id}/revoke", {})
    assert post(client, roles_url(ws_a, f"{rid}/delete"), {}).headers["Location"].endswith("/settings/roles/")
    assert role_row(app, ws_a, rid) is None
    assert "role.deleted" in audit_actions(app, ws_a)


def test_copy_makes_a_new_role_with_a_free_name(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    sales = role_id(app, ws_a, "sales")
    first = post(client, roles_url(ws_a, f"{sales}/copy"), {})
    second = post(client, roles_url(ws_a, f"{sales}/copy"), {})
    names = {role_row(app, ws_a, int(r.headers["Location"].rstrip("/").split("/")[-1])).name for r in (first, second)}
    assert names == {"Copy of Sales", "Copy of Sales 2"}


def _last_role_entry(app, ws) -> AuditEntry:
    with app.app_context(), workspace_scope(ws.id):
        entry = db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.record_type == "role").order_by(AuditEntry.id.desc())
        ).first()
        db.session.expunge(entry)
        return entry


def test_copying_the_owner_role_gives_only_what_the_copier_holds(app, client, auth, ws_a):
    admin = make_member(app, ws_a, "admin@alpha.example.com", role="admin")
    auth.login(admin.email, admin.password)
    owner = role_id(app, ws_a, "owner")
    post(client, roles_url(ws_a, f"{owner}/copy"), {})
    post(client, roles_url(ws_a), {"name": "Almost owner", "copy_from": owner})
    with app.app_context(), workspace_scope(ws_a.id):
        copies = list(db.session.scalars(sa.select(Role).where(Role.builtin.is_(None))))
    assert len(copies) == 2
    for copy in copies:
        assert "billing.manage" not in copy.permissions and "settings.manage" in copy.permissions


def test_a_member_who_sees_only_their_records_cannot_widen_a_role_to_all(app, client, auth, ws_a):
    narrow = make_role(app, ws_a, "Narrow admin", permissions=["settings.manage"], record_scope="own")
    member = make_member(app, ws_a, "narrow@alpha.example.com")
    assign_role(app, ws_a, member.membership_id, narrow)
    auth.login(member.email, member.password)
    response = post(client, roles_url(ws_a, str(narrow)), {"name": "Narrow admin", "record_scope": "all"})
    assert response.status_code == 422
    assert "Only someone who sees all records" in response.get_data(as_text=True)
    assert role_row(app, ws_a, narrow).record_scope == "own"
    post(client, roles_url(ws_a), {"name": "Fresh", "copy_from": 0})
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(Role.record_scope).where(Role.name == "Fresh")) == "own"


def test_the_admin_role_an_owner_steps_down_to_cannot_be_deleted(app, client, auth, ws_a):
    heir = make_member(app, ws_a, "heir@alpha.example.com", role="manager")
    admin = role_id(app, ws_a, "admin")
    auth.login(ws_a.email, ws_a.password)
    assert "Delete this role" not in client.get(roles_url(ws_a, str(admin))).get_data(as_text=True)
    assert "Delete this role" in client.get(roles_url(ws_a, str(role_id(app, ws_a, "sales")))).get_data(as_text=True)
    post(client, roles_url(ws_a, f"{admin}/delete"), {})
    assert "The Admin role cannot be deleted" in client.get(roles_url(ws_a, str(admin))).get_data(as_text=True)
    assert role_row(app, ws_a, admin) is not None
    # Where it was deleted already, handing over ownership says what to do instead of failing.
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.delete(db.session.get(Role, admin))
        db.session.commit()
    response = post(client, f"/w/{ws_a.slug}/settings/members/{heir.membership_id}/transfer-ownership", {})
    assert response.status_code == 303
    page = client.get(f"/w/{ws_a.slug}/settings/members/").get_data(as_text=True)
    assert "The Admin role you would step down to was deleted." in page
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Membership, ws_a.membership_id).is_owner
        assert not db.session.get(Membership, heir.membership_id).is_owner
