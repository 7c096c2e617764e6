"""Settings → Service: the portal's intro text and address, and the complaint categories (add,
rename, retire and use again with the last one kept, move up and down), audited; settings.manage
only (a Support member gets 403), another workspace's category 404, bad input 422 saving nothing."""

import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.extensions import db
from crm.tenancy import workspace_scope
from crm.tickets.models import DEFAULT_CATEGORIES, TicketCategory
from crm.workspaces.models import Workspace
from tests.conftest import post
from tests.factories import make_member
from tests.test_pages import assert_valid_page
from tests.test_permissions import sign_in_as

PARTIAL = {"HX-Request": "true", "HX-Target": "category-list"}


def url(ws, rest: str = "") -> str:
    return f"/w/{ws.slug}/settings/service/{rest}"


def listed(app, ws) -> list[tuple[str, bool]]:
    with app.app_context(), workspace_scope(ws.id):
        rows = db.session.scalars(sa.select(TicketCategory).order_by(TicketCategory.position, TicketCategory.id))
        return [(c.name, c.active) for c in rows]


def category(app, ws, name: str) -> int:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.scalar(sa.select(TicketCategory.id).where(TicketCategory.name == name))


def audited(app, ws, action: str) -> list[dict]:
    with app.app_context(), workspace_scope(ws.id):
        return [
            e.changes
            for e in db.session.scalars(
                sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        ]


def intro_of(app, ws) -> str | None:
    with app.app_context():
        return db.session.get(Workspace, ws.id).portal_intro


def test_the_page_lists_the_categories_and_the_portal_address(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    response = client.get(url(ws_a))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for name in DEFAULT_CATEGORIES:
        assert f'<th scope="row">{name}</th>' in html
    assert f'value="http://localhost/portal/{ws_a.slug}/" readonly' in html
    assert 'aria-current="page">Service</a>' in html
    assert_valid_page(html, url(ws_a))
    edit = client.get(url(ws_a, f"categories/{category(app, ws_a, 'Billing')}"))
    assert edit.status_code == 200
    assert_valid_page(edit.get_data(as_text=True), "edit category")


def test_a_category_is_added_offered_on_the_portal_and_audited(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    response = post(client, url(ws_a, "categories"), {"name": "  Refunds "})
    assert response.status_code == 303
    assert listed(app, ws_a)[-1] == ("Refunds", True)
    assert audited(app, ws_a, "ticket_category.created") == [{"name": [None, "Refunds"]}]
    assert ">Refunds</option>" in client.get(f"/portal/{ws_a.slug}/new").get_data(as_text=True)


def test_bad_names_are_refused_and_save_nothing(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    before = listed(app, ws_a)
    for name in ("", "   ", "x" * 121, "delivery"):
        response = post(client, url(ws_a, "categories"), {"name": name})
        assert response.status_code == 422, name
        html = response.get_data(as_text=True)
        assert 'id="name-error"' in html
        assert_valid_page(html, "add category (422)")
    billing = category(app, ws_a, "Billing")
    response = post(client, url(ws_a, f"categories/{billing}"), {"name": "Service"})
    assert response.status_code == 422
    assert "The list has this category already." in response.get_data(as_text=True)
    assert listed(app, ws_a) == before
    assert audited(app, ws_a, "ticket_category.created") == audited(app, ws_a, "ticket_category.updated") == []


def test_a_category_is_renamed(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    billing = category(app, ws_a, "Billing")
    assert post(client, url(ws_a, f"categories/{billing}"), {"name": "Invoices"}).status_code == 303
    assert ("Invoices", True) in listed(app, ws_a)
    assert audited(app, ws_a, "ticket_category.updated") == [{"name": ["Billing", "Invoices"]}]
    # Saving the default's shown name unchanged keeps it a (translated) default.
    other = category(app, ws_a, "Delivery")
    assert post(client, url(ws_a, f"categories/{other}"), {"name": "Delivery"}).status_code == 303
    assert audited(app, ws_a, "ticket_category.updated") == [{"name": ["Billing", "Invoices"]}]


def test_categories_are_retired_and_used_again_and_the_last_one_is_kept(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    ids = [category(app, ws_a, name) for name in DEFAULT_CATEGORIES]
    response = post(client, url(ws_a, f"categories/{ids[1]}/active"), {"active": "0"}, headers=PARTIAL)
    assert response.status_code == 200
    assert response.get_data(as_text=True).lstrip().startswith('<div id="category-list"')
    assert ("Delivery", False) in listed(app, ws_a)
    assert f'value="{ids[1]}"' not in client.get(f"/portal/{ws_a.slug}/new").get_data(as_text=True)
    for category_id in ids[2:]:
        assert post(client, url(ws_a, f"categories/{category_id}/active"), {"active": "0"}).status_code == 303
    # Product quality is the last one in use.
    refused = post(client, url(ws_a, f"categories/{ids[0]}/active"), {"active": "0"}, headers=PARTIAL)
    assert refused.status_code == 200
    assert "Keep at least one category in use" in refused.headers["HX-Trigger"]
    plain = post(client, url(ws_a, f"categories/{ids[0]}/active"), {"active": "0"})
    assert plain.status_code == 409
    assert listed(app, ws_a)[0] == ("Product quality", True)
    assert post(client, url(ws_a, f"categories/{ids[1]}/active"), {"active": "1"}).status_code == 303
    assert ("Delivery", True) in listed(app, ws_a)
    assert post(client, url(ws_a, f"categories/{ids[1]}/active"), {"active": "maybe"}).status_code == 400
    changes = audited(app, ws_a, "ticket_category.updated")
    assert changes[0] == {"active": [True, False]} and changes[-1] == {"active": [False, True]}


def test_categories_move_up_and_down(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    delivery = category(app, ws_a, "Delivery")
    response = post(client, url(ws_a, f"categories/{delivery}/move"), {"direction": "up"}, headers=PARTIAL)
    assert response.status_code == 200
    assert [name for name, _ in listed(app, ws_a)][:2] == ["Delivery", "Product quality"]
    assert post(client, url(ws_a, f"categories/{delivery}/move"), {"direction": "up"}).status_code == 303  # at the top
    assert post(client, url(ws_a, f"categories/{delivery}/move"), {"direction": "down"}).status_code == 303
    assert [name for name, _ in listed(app, ws_a)] == list(DEFAULT_CATEGORIES)
    assert len(audited(app, ws_a, "ticket_category.reordered")) == 2
    assert post(client, url(ws_a, f"categories/{delivery}/move"), {"direction": "sideways"}).status_code == 400
    page = client.get(f"/portal/{ws_a.slug}/new").get_data(as_text=True)
    assert page.index(">Product quality<") < page.index(">Delivery<")


def test_the_intro_is_saved_shown_on_the_portal_and_audited(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    assert post(client, url(ws_a, "intro"), {"intro": "  We answer within a day.  "}).status_code == 303
    assert intro_of(app, ws_a) == "We answer within a day."
    assert "We answer within a day." in client.get(f"/portal/{ws_a.slug}/").get_data(as_text=True)
    assert audited(app, ws_a, "workspace.updated") == [{"portal_intro": [None, "We answer within a day."]}]
    too_long = post(client, url(ws_a, "intro"), {"intro": "x" * 2001})
    assert too_long.status_code == 422
    assert 'id="intro-error"' in too_long.get_data(as_text=True)
    assert intro_of(app, ws_a) == "We answer within a day."
    assert post(client, url(ws_a, "intro"), {"intro": ""}).status_code == 303
    assert intro_of(app, ws_a) is None
    assert "You do not need an account" in client.get(f"/portal/{ws_a.slug}/").get_data(as_text=True)


def test_a_support_member_gets_403(app, client, ws_a):
    support = make_member(app, ws_a, "sam@alpha.example.com", role="support")
    sign_in_as(client, support.user_id)
    billing = category(app, ws_a, "Billing")
    assert client.get(url(ws_a)).status_code == 403
    assert client.get(url(ws_a, f"categories/{billing}")).status_code == 403
    for rest, data in (("intro", {"intro": "hi"}), ("categories", {"name": "New"}),
                       (f"categories/{billing}", {"name": "X"}), (f"categories/{billing}/active", {"active": "0"}),
                       (f"categories/{billing}/move", {"direction": "up"})):  # fmt: skip
        assert post(client, url(ws_a, rest), data).status_code == 403, rest
    assert listed(app, ws_a) == [(name, True) for name in DEFAULT_CATEGORIES]
    assert intro_of(app, ws_a) is None
    assert f'href="/w/{ws_a.slug}/settings/service/"' not in client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)


def test_another_workspaces_category_is_404(app, client, auth, ws_a, ws_b):
    theirs = category(app, ws_b, "Billing")
    auth.login(ws_a.email, ws_a.password)
    assert client.get(url(ws_a, f"categories/{theirs}")).status_code == 404
    for rest, data in ((f"categories/{theirs}", {"name": "Mine now"}), (f"categories/{theirs}/active", {"active": "0"}),
                       (f"categories/{theirs}/move", {"direction": "up"})):  # fmt: skip
        assert post(client, url(ws_a, rest), data).status_code == 404, rest
    assert listed(app, ws_b) == [(name, True) for name in DEFAULT_CATEGORIES]
