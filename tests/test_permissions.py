"""Every workspace route declares what it needs, and every built-in role gets exactly that.

The walker goes over app.url_map: a view under /w/<slug> without ``@require(...)`` or
``@every_member`` fails the first test; the second signs in as each built-in role and checks
that a route answers 403 exactly when the role lacks the route's permission."""

import itertools

import pytest

from crm.db import utcnow
from crm.permissions import BUILTIN_ROLES, PERMISSIONS
from tests.conftest import post
from tests.factories import (
    assign_role,
    make_activity,
    make_bulk_job,
    make_company_activity,
    make_contact,
    make_deal_activity,
    make_member,
    make_note,
    make_role,
    make_saved_view,
)
from tests.test_cross_workspace import build, methods_of, object_ids_of, workspace_rules

SERIAL = itertools.count()
# Routes that exist only while billing is on (404 without a Stripe key): walked with a key and an API
# base nothing listens on, so no request leaves the machine.
BILLING_ENDPOINTS = ("ws.billing.",)
BILLING_ON = {"STRIPE_SECRET_KEY": "sk_test_walker", "STRIPE_API_BASE": "http://127.0.0.1:9"}


def required_permission(app, rule):
    view = app.view_functions[rule.endpoint]
    if not hasattr(view, "required_permission"):
        pytest.fail(f"{rule.endpoint} ({rule.rule}) declares no permission: add @require(...) or @every_member")
    return view.required_permission


def test_every_workspace_route_declares_a_known_permission(app):
    for rule in workspace_rules(app):
        permission = required_permission(app, rule)
        assert permission is None or permission in PERMISSIONS, rule.endpoint


def sign_in_as(client, user_id: int) -> None:
    """A session cookie as Flask-Login writes it (the login form is tested elsewhere and is rate-limited)."""
    with client.session_transaction() as session:
        session["_user_id"] = f"{user_id}:1"
        session["_fresh"] = True


def objects_for(app, ws, rule, actor) -> dict:
    """Objects of the actor's own workspace; notes and activities are the actor's own."""
    values = object_ids_of(app, ws, rule)
    if "note_id" in values:
        values["note_id"] = make_note(app, ws, "walker note", author_id=actor.membership_id)
    if "activity_id" in values:  # authors delete their own entries
        mine = {"kind": "task", "due_at": utcnow(), "author_id": actor.membership_id}
        if "contact_id" in values:
            values["activity_id"] = make_activity(app, ws, values["contact_id"], "walker task", **mine)
        elif "company_id" in values:
            values["activity_id"] = make_company_activity(app, ws, values["company_id"], "walker task", **mine)
        else:  # an activity of a deal
            values["activity_id"] = make_deal_activity(app, ws, values["deal_id"], "walker task", **mine)
    if "task_id" in values:  # My tasks acts on the tasks assigned to the member
        values["task_id"] = make_activity(app, ws, make_contact(app, ws, "walker contact"), "walker task",
                                          kind="task", due_at=utcnow(), assignee_id=actor.membership_id)  # fmt: skip
    if "job_id" in values:  # a member follows only the jobs they asked for
        values["job_id"] = make_bulk_job(app, ws, asked_by=actor, total=10, done=5)
    if "view_id" in values:
        list_name = "companies" if rule.endpoint.startswith("ws.company_views.") else "contacts"
        values["view_id"] = make_saved_view(app, ws, "walker view", owner_id=actor.membership_id, list_name=list_name)
    return values


@pytest.mark.parametrize("role", list(BUILTIN_ROLES))
def test_each_builtin_role_gets_403_exactly_where_it_lacks_the_permission(app, client, ws_a, role, monkeypatch):
    def builtin_member():
        return make_member(app, ws_a, f"{role}-{next(SERIAL)}@alpha.example.com", role=role)

    checked = walk(app, client, ws_a, workspace_rules(app), set(BUILTIN_ROLES[role][1]), builtin_member, monkeypatch)
    assert checked >= len(workspace_rules(app))


# Every built-in role that may write notes reads customers too, so the walk above would not notice an
# activity route that forgot to ask for the record's read permission; these roles do.
ACTIVITY_ENDPOINTS = ("ws.activities.", "ws.company_activities.", "ws.deal_activities.", "ws.tasks.")
CUSTOM_ROLES = {
    "notes only": ("notes.write",),
    "deals only": ("deals.read", "deals.write", "notes.write"),
    "deals, no notes": ("deals.read",),
    "customers, no notes": ("contacts.read",),
    "customers and notes": ("contacts.read", "notes.write"),
}


@pytest.mark.parametrize("name", list(CUSTOM_ROLES))
def test_custom_roles_get_403_exactly_where_they_lack_the_permission_on_activities(app, client, ws_a, name,
                                                                                  monkeypatch):  # fmt: skip
    role_id = make_role(app, ws_a, name, CUSTOM_ROLES[name])

    def custom_member():
        member = make_member(app, ws_a, f"custom-{next(SERIAL)}@alpha.example.com")
        assign_role(app, ws_a, member.membership_id, role_id)
        return member

    rules = [rule for rule in workspace_rules(app) if rule.endpoint.startswith(ACTIVITY_ENDPOINTS)]
    assert walk(app, client, ws_a, rules, set(CUSTOM_ROLES[name]), custom_member, monkeypatch) >= len(rules)


def test_every_activity_route_asks_what_opening_its_record_asks(app):
    """Logging, finishing, correcting or deleting an entry on a contact's or company's page needs
    ``contacts.read``, on a deal's ``deals.read``, as opening that page does."""
    reads = {"ws.activities.": "contacts.read", "ws.company_activities.": "contacts.read",
             "ws.deal_activities.": "deals.read"}  # fmt: skip
    checked = 0
    for rule in workspace_rules(app):
        for prefix, read in reads.items():
            if rule.endpoint.startswith(prefix):
                view = app.view_functions[rule.endpoint]
                assert read in {view.required_permission, *getattr(view, "also_required", ())}, rule.endpoint
                checked += 1
    assert checked >= 14


def walk(app, client, ws, rules, granted: set, new_actor, monkeypatch) -> int:
    """Requests every method of ``rules`` as a member holding ``granted`` (a fresh one from
    ``new_actor()`` per request) and checks it answers 403 exactly where the route's declared
    permissions are not all granted; returns how many requests it checked."""
    checked = 0
    for rule in rules:
        permission = required_permission(app, rule)
        for method in methods_of(rule):
            # A fresh member per request: some actions (transfer ownership) change the actor's role.
            actor = new_actor()
            sign_in_as(client, actor.user_id)
            url = build(app, rule, {"workspace_slug": ws.slug, **objects_for(app, ws, rule, actor)})
            with monkeypatch.context() as patch:
                if rule.endpoint.startswith(BILLING_ENDPOINTS):
                    for key, value in BILLING_ON.items():
                        patch.setitem(app.config, key, value)
                response = client.get(url) if method == "GET" else post(client, url, {"body": "x", "name": "x"})
            # Read streamed bodies (the audit CSV) now, as a server would, so their request
            # context closes here and not in the middle of the next request.
            response.close()
            view = app.view_functions[rule.endpoint]
            also = getattr(view, "also_required", ())  # require(p, *also)
            allowed = permission is None or (permission in granted and set(also) <= granted)
            if hasattr(view, "any_of"):  # require_any(...)
                allowed = bool(set(view.any_of) & granted)
            who = sorted(granted)
            if allowed:
                assert response.status_code not in (403, 404), f"{who}: {method} {url} -> {response.status_code}"
            else:
                assert response.status_code == 403, f"{who}: {method} {url} -> {response.status_code}"
            checked += 1
    return checked


def test_navigation_shows_settings_only_to_roles_with_a_settings_page(app, client, ws_a):
    for role, expected in (("owner", True), ("admin", True), ("sales", False), ("viewer", False)):
        actor = make_member(app, ws_a, f"nav-{role}@alpha.example.com", role=role)
        sign_in_as(client, actor.user_id)
        page = client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)
        assert (">Settings</a>" in page) is expected, role


def test_viewer_sees_notes_but_no_composer_and_is_refused_writing(app, client, ws_a):
    make_note(app, ws_a, "read me")
    viewer = make_member(app, ws_a, "viewer@alpha.example.com", role="viewer")
    sign_in_as(client, viewer.user_id)
    page = client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)
    assert "read me" in page
    assert 'id="note-composer"' not in page
    assert ">Edit<" not in page
    assert post(client, f"/w/{ws_a.slug}/notes/", {"body": "sneaky"}).status_code == 403
