"""Saved views of the companies list: saved from the list's live filters, opened as the list they
name, kept apart from the contacts' views, and private or shared as the contacts' are."""

import sqlalchemy as sa

from crm.contacts.models import SavedView
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import make_company, make_member, make_saved_view
from tests.test_pages import assert_valid_page

VIEWS = {"HX-Request": "true", "HX-Target": "saved-views-panel"}


def views_url(ws, rest: str = "") -> str:
    return f"/w/{ws.slug}/companies/views/{rest}"


def saved(app, ws) -> list[tuple[str, str, str]]:
    with app.app_context(), workspace_scope(ws.id):
        statement = sa.select(SavedView.name, SavedView.list_name, SavedView.query).order_by(SavedView.id)
        return [tuple(row) for row in db.session.execute(statement)]


def test_save_a_companies_view_and_open_it(app, client, auth, ws_a):
    make_company(app, ws_a, "Acme Tea", industry="Tea")
    make_company(app, ws_a, "Bolt Hardware", industry="Hardware")
    make_saved_view(app, ws_a, "Fair contacts", owner_id=ws_a.membership_id)
    auth.login(ws_a.email, ws_a.password)
    in_list = {**VIEWS, "HX-Current-URL": f"http://localhost/w/{ws_a.slug}/companies/?industry=tea"}
    state = {"industry": "tea", "sort": "name", "q": ""}
    response = post(client, views_url(ws_a), {**state, "name": "Tea firms", "shared": "y"}, headers=in_list)
    panel = response.get_data(as_text=True)
    assert response.status_code == 200 and "Tea firms" in panel and "Shared" in panel
    assert 'data-hx-include="#company-filters"' in panel and "Fair contacts" not in panel
    assert 'id="view-name" name="name" value=""' in panel  # saved: the box is empty for the next one
    assert 'data-hx-confirm="Delete the view Tea firms? The whole team loses it."' in panel
    assert saved(app, ws_a)[1] == ("Tea firms", "companies", "industry=tea&sort=name")
    link = panel.split(">Tea firms<")[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert link == f"/w/{ws_a.slug}/companies/?industry=tea&sort=name"
    opened = client.get(link).get_data(as_text=True)
    assert "Acme Tea" in opened and "Bolt Hardware" not in opened
    assert "Tea firms" not in client.get(f"/w/{ws_a.slug}/contacts/views/", headers=VIEWS).get_data(as_text=True)
    assert 'id="saved-views-panel"' in opened and f'data-hx-get="{views_url(ws_a)}"' in opened


def test_the_views_page_of_its_own_keeps_the_list_state_and_a_name_is_required(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    page = client.get(views_url(ws_a), query_string={"industry": "tea"}).get_data(as_text=True)
    assert '<input type="hidden" name="industry" value="tea">' in page
    assert f'<a href="/w/{ws_a.slug}/companies/?industry=tea">All companies</a>' in page  # back to the list as it was
    assert_valid_page(page, "company views")
    bad = post(client, views_url(ws_a), {"industry": "tea", "name": "  "}, headers=VIEWS)
    assert bad.status_code == 422 and "Name the view" in bad.get_data(as_text=True)
    assert saved(app, ws_a) == []
    response = post(client, views_url(ws_a), {"industry": "tea", "name": "Tea"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/companies/?industry=tea")


def test_views_keep_to_their_list_their_owner_and_their_workspace(app, client, auth, ws_a, ws_b):
    contacts_view = make_saved_view(app, ws_a, "Fair contacts", owner_id=ws_a.membership_id)
    private = make_saved_view(app, ws_a, "Alice's firms", "industry=tea", ws_a.membership_id, False, "companies")
    shared = make_saved_view(app, ws_a, "Team firms", "size=1-10", ws_a.membership_id, True, "companies")
    foreign = make_saved_view(app, ws_b, "Beta firms", "industry=x", ws_b.membership_id, True, "companies")
    colleague = make_member(app, ws_a, "colleague@alpha.example.com")  # sales: no settings.manage
    auth.login(colleague.email, colleague.password)
    panel = client.get(views_url(ws_a), headers=VIEWS).get_data(as_text=True)
    assert "Team firms" in panel and "Alice&#39;s firms" not in panel and "Beta firms" not in panel
    assert post(client, views_url(ws_a, f"{private}/delete"), {}).status_code == 404
    assert post(client, views_url(ws_a, f"{shared}/delete"), {}).status_code == 403
    assert post(client, views_url(ws_a, f"{contacts_view}/delete"), {}).status_code == 404  # the contacts' own
    assert post(client, views_url(ws_a, f"{foreign}/delete"), {}).status_code == 404
    auth.logout()
    auth.login(ws_a.email, ws_a.password)
    assert post(client, views_url(ws_a, f"{shared}/delete"), {}).status_code == 303
    assert [name for name, *_ in saved(app, ws_a)] == ["Fair contacts", "Alice's firms"]
    assert [name for name, *_ in saved(app, ws_b)] == ["Beta firms"]
