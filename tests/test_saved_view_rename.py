"""Renaming a saved view in place: its owner, or for a shared view a member who manages the
workspace's settings (as for deleting one); a clear 422 on an empty, too long or taken name with
nothing changed; audited; another workspace's, another list's or a colleague's private view is 404."""

import re

import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.contacts.models import SavedView
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import make_member, make_saved_view
from tests.test_pages import assert_valid_page

PANEL = {"HX-Request": "true", "HX-Target": "saved-views-panel"}


def views_url(ws, rest: str = "", list_name: str = "contacts") -> str:
    return f"/w/{ws.slug}/{list_name}/views/{rest}"


def view_names(app, ws) -> dict[int, str]:
    with app.app_context(), workspace_scope(ws.id):
        return dict(db.session.execute(sa.select(SavedView.id, SavedView.name).order_by(SavedView.id)).all())


def renames(app, ws) -> list[tuple[int, dict]]:
    with app.app_context(), workspace_scope(ws.id):
        entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "saved_view.renamed"))
        return [(entry.record_id, entry.changes) for entry in entries if entry.record_type == "saved_view"]


def test_the_owner_renames_a_view_in_place_and_it_is_audited(app, client, auth, ws_a):
    view = make_saved_view(app, ws_a, "Fair leads", query="tag=fair&tag=expo&tag_match=all", shared=False)
    auth.login(ws_a.email, ws_a.password)
    panel = client.get(views_url(ws_a), headers=PANEL).get_data(as_text=True)
    rename_url = views_url(ws_a, f"{view}/rename")
    assert f'href="{rename_url}"' in panel and f'data-hx-get="{rename_url}"' in panel
    assert 'Rename<span class="visually-hidden"> Fair leads</span>' in panel
    form = client.get(rename_url, headers=PANEL).get_data(as_text=True)
    assert f'<label for="rename-view-{view}">New name for the view Fair leads</label>' in form
    assert f'data-hx-post="{rename_url}" data-hx-target="#saved-views-panel"' in form
    assert 'name="name" value="Fair leads"' in form and "autofocus" in form and "data-cancel" in form

    response = post(client, rename_url, {"name": "  Both fairs  "}, headers=PANEL)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and ">Both fairs</a>" in body and "Fair leads</a>" not in body
    assert '"View Fair leads renamed to Both fairs."' in response.headers["HX-Trigger"]
    assert '?tag=fair&amp;tag=expo&amp;tag_match=all" autofocus>Both fairs</a>' in body  # same list, focused
    assert view_names(app, ws_a) == {view: "Both fairs"}
    assert renames(app, ws_a) == [(view, {"name": ["Fair leads", "Both fairs"]})]
    # Another case of its own name is a rename too; without JavaScript the answer is the views page.
    plain = post(client, rename_url, {"name": "BOTH fairs"})
    assert plain.status_code == 303 and plain.headers["Location"].endswith(views_url(ws_a))
    assert view_names(app, ws_a) == {view: "BOTH fairs"}
    page = client.get(rename_url).get_data(as_text=True)  # the form on the views page of its own
    assert_valid_page(page, "rename a saved view")
    assert 'name="name" value="BOTH fairs"' in page


def test_an_empty_too_long_or_taken_name_is_refused_and_nothing_changes(app, client, auth, ws_a):
    view = make_saved_view(app, ws_a, "Fair leads", shared=False)
    other = make_saved_view(app, ws_a, "VIPs", query="level=vip", shared=False)
    companies_view = make_saved_view(app, ws_a, "Tea firms", query="industry=tea", list_name="companies")
    auth.login(ws_a.email, ws_a.password)
    rename_url = views_url(ws_a, f"{view}/rename")
    for name, message in (("   ", "Name the view (at most 80 characters)."), ("x" * 81, "Name the view"),
                          ("vips", "You already have a view named VIPs: choose another name.")):  # fmt: skip
        refused = post(client, rename_url, {"name": name}, headers=PANEL)
        body = refused.get_data(as_text=True)
        assert refused.status_code == 422 and message in body, name
        assert 'aria-invalid="true"' in body and f'aria-describedby="rename-view-{view}-error"' in body
        assert f'id="rename-view-{view}"' in body  # the form stays open with what was typed
    assert view_names(app, ws_a) == {view: "Fair leads", other: "VIPs", companies_view: "Tea firms"}
    assert renames(app, ws_a) == []
    # The companies' views are another list: their names do not clash with the contacts'.
    assert post(client, rename_url, {"name": "Tea firms"}, headers=PANEL).status_code == 200
    assert view_names(app, ws_a)[view] == "Tea firms"


def test_a_colleague_cannot_rename_your_view_but_an_admin_may_rename_a_shared_one(app, client, auth, ws_a):
    private = make_saved_view(app, ws_a, "Alice only", owner_id=ws_a.membership_id, shared=False)
    shared = make_saved_view(app, ws_a, "Team view", owner_id=ws_a.membership_id, shared=True)
    colleague = make_member(app, ws_a, "colleague@alpha.example.com")  # sales: no settings.manage
    theirs = make_saved_view(app, ws_a, "Bo's shared", owner_id=colleague.membership_id, shared=True)
    make_saved_view(app, ws_a, "Bo's other", owner_id=colleague.membership_id, shared=False)
    auth.login(colleague.email, colleague.password)
    panel = client.get(views_url(ws_a), headers=PANEL).get_data(as_text=True)
    assert views_url(ws_a, f"{shared}/rename") not in panel  # no Rename on a colleague's view
    assert views_url(ws_a, f"{theirs}/rename") in panel
    for view_id, status in ((private, 404), (shared, 403)):
        assert client.get(views_url(ws_a, f"{view_id}/rename"), headers=PANEL).status_code == status
        assert post(client, views_url(ws_a, f"{view_id}/rename"), {"name": "Mine now"}).status_code == status
    auth.logout()
    auth.login(ws_a.email, ws_a.password)  # the owner manages the workspace's settings
    taken = post(client, views_url(ws_a, f"{theirs}/rename"), {"name": "bo's other"}, headers=PANEL)
    assert taken.status_code == 422 and "Its owner already has a view named Bo&#39;s other" in taken.get_data(
        as_text=True
    )
    assert post(client, views_url(ws_a, f"{theirs}/rename"), {"name": "Team leads"}, headers=PANEL).status_code == 200
    assert view_names(app, ws_a)[theirs] == "Team leads" and view_names(app, ws_a)[shared] == "Team view"
    assert view_names(app, ws_a)[private] == "Alice only"
    assert renames(app, ws_a) == [(theirs, {"name": ["Bo's shared", "Team leads"]})]


def test_another_workspaces_or_another_lists_view_is_404(app, client, auth, ws_a, ws_b):
    foreign = make_saved_view(app, ws_b, "Beta view", owner_id=ws_b.membership_id, shared=True)
    contacts_view = make_saved_view(app, ws_a, "Fair leads", owner_id=ws_a.membership_id)
    auth.login(ws_a.email, ws_a.password)
    for url in (views_url(ws_a, f"{foreign}/rename"), views_url(ws_a, f"{foreign}/rename", "companies"),
                views_url(ws_a, f"{contacts_view}/rename", "companies")):  # fmt: skip
        assert client.get(url, headers=PANEL).status_code == 404, url
        assert post(client, url, {"name": "Taken over"}, headers=PANEL).status_code == 404, url
    assert view_names(app, ws_b) == {foreign: "Beta view"}
    assert view_names(app, ws_a) == {contacts_view: "Fair leads"}
    # The companies' views rename the same way.
    firms = make_saved_view(app, ws_a, "Tea firms", query="industry=tea", list_name="companies")
    renamed = post(client, views_url(ws_a, f"{firms}/rename", "companies"), {"name": "Tea houses"}, headers=PANEL)
    assert renamed.status_code == 200 and ">Tea houses</a>" in renamed.get_data(as_text=True)


def test_saving_sharing_and_deleting_a_view_are_audited_too(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    post(client, views_url(ws_a), {"name": "Leads", "lifecycle": "lead"}, headers=PANEL)
    (view,) = view_names(app, ws_a)
    post(client, views_url(ws_a), {"name": "Leads", "lifecycle": "new", "shared": "y"}, headers=PANEL)
    post(client, views_url(ws_a), {"name": "Leads", "lifecycle": "new", "shared": "y"}, headers=PANEL)  # no change
    post(client, views_url(ws_a, f"{view}/share"), {}, headers=PANEL)
    post(client, views_url(ws_a, f"{view}/delete"), {}, headers=PANEL)
    with app.app_context(), workspace_scope(ws_a.id):
        entries = db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.record_type == "saved_view").order_by(AuditEntry.id)
        )
        logged = [(entry.action, entry.record_id, entry.changes) for entry in entries]
    assert logged == [
        ("saved_view.created", view, {"name": [None, "Leads"], "filters": [None, "lifecycle=lead"],
                                      "shared": [None, False]}),
        ("saved_view.updated", view, {"name": ["Leads", "Leads"], "filters": ["lifecycle=lead", "lifecycle=new"],
                                      "shared": [False, True]}),
        ("saved_view.updated", view, {"name": ["Leads", "Leads"], "shared": [True, False]}),
        ("saved_view.deleted", view, {"name": ["Leads", None]}),
    ]  # fmt: skip
    log = client.get(f"/w/{ws_a.slug}/settings/audit/").get_data(as_text=True)
    assert "Saved a view" in log and "Deleted a saved view" in log and "Shared with the team" in log


def test_cancelling_a_rename_and_deleting_a_view_say_where_the_focus_goes(app, client, auth, ws_a):
    alpha, beta, gamma = (make_saved_view(app, ws_a, name, shared=False) for name in ("Alpha", "Beta", "Gamma"))
    auth.login(ws_a.email, ws_a.password)
    form = client.get(views_url(ws_a, f"{beta}/rename"), headers=PANEL).get_data(as_text=True)
    # Escape or Cancel: the list again, with the focus on that view's Rename link (app.js).
    assert f"""data-focus-after='#saved-views-panel a[href$="/{beta}/rename"]'>Cancel</a>""" in form

    def focused_after_deleting(view_id: int) -> str:
        body = post(client, views_url(ws_a, f"{view_id}/delete"), {}, headers=PANEL).get_data(as_text=True)
        assert body.count("autofocus") == 1, body
        return re.search(r"<(a|p)[^>]*autofocus[^>]*>([^<]+)<", body).group(2)

    assert focused_after_deleting(beta) == "Gamma"  # the next view's link
    assert focused_after_deleting(gamma) == "Alpha"  # it was the last: the one before
    assert focused_after_deleting(alpha) == "No saved views yet."
    assert view_names(app, ws_a) == {}
