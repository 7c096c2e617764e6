"""Settings → Lost reasons: the default list, add, rename, reorder (drag and buttons), retire and
delete, with bad input, refusals (the last reason in use, a reason deals were lost for), permissions
and isolation."""

import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.deals.models import LostReason
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import lost_reason_id, make_deal, make_member

LIST = {"HX-Request": "true", "HX-Target": "lost-reason-list"}
DEFAULTS = ["Too expensive", "Went with a competitor", "No budget", "No response", "Bad timing", "Other"]


def url(ws, rest: str = "") -> str:
    return f"/w/{ws.slug}/settings/lost-reasons/{rest}"


def listed(app, ws) -> list[tuple[str, bool]]:
    with app.app_context(), workspace_scope(ws.id):
        rows = db.session.execute(
            sa.select(LostReason.name, LostReason.active).order_by(LostReason.position, LostReason.id)
        )
        return [tuple(row) for row in rows]


def names(app, ws) -> list[str]:
    return [name for name, _active in listed(app, ws)]


def actions(app, ws) -> list[str]:
    with app.app_context(), workspace_scope(ws.id):
        return list(
            db.session.scalars(
                sa.select(AuditEntry.action).where(AuditEntry.record_type == "lost_reason").order_by(AuditEntry.id)
            )
        )


def lose(client, app, ws, deal_id: int, reason: str = "Too expensive"):
    return post(client, f"/w/{ws.slug}/deals/{deal_id}/lost", {"reason_id": lost_reason_id(app, ws, reason)})


def test_every_workspace_starts_with_the_default_list_shown_in_settings(app, client, auth, ws_a):
    assert listed(app, ws_a) == [(name, True) for name in DEFAULTS]
    auth.login(ws_a.email, ws_a.password)
    page = client.get(url(ws_a)).get_data(as_text=True)
    assert 'aria-current="page">Lost reasons' in page
    assert [page.index(f">{name}</th>") for name in DEFAULTS] == sorted(page.index(f">{n}</th>") for n in DEFAULTS)


def test_default_names_follow_the_readers_language(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    page = client.get(url(ws_a), headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "Too expensive" not in page


def test_add_and_rename_with_bad_input_refused(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    assert post(client, url(ws_a), {"name": "  Chose to build it themselves "}).status_code == 303
    assert names(app, ws_a)[-1] == "Chose to build it themselves"
    for bad, message in (("   ", "Enter a name."), ("too EXPENSIVE", "The list has this reason already."),
                         ("x" * 121, "Field cannot be longer than 120 characters.")):  # fmt: skip
        response = post(client, url(ws_a), {"name": bad})
        assert response.status_code == 422 and message in response.get_data(as_text=True), bad
    assert len(names(app, ws_a)) == 7
    other = lost_reason_id(app, ws_a, "Other")
    response = post(client, url(ws_a, str(other)), {"name": "No budget"})
    assert response.status_code == 422 and "The list has this reason already." in response.get_data(as_text=True)
    assert post(client, url(ws_a, str(other)), {"name": "Something else"}).status_code == 303
    assert "Something else" in names(app, ws_a) and "Other" not in names(app, ws_a)
    # Saving the default's shown name keeps the default (which follows each reader's language).
    budget = lost_reason_id(app, ws_a, "No budget")
    assert post(client, url(ws_a, str(budget)), {"name": "No budget"}).status_code == 303
    assert actions(app, ws_a) == ["lost_reason.created", "lost_reason.updated"]


def test_drag_and_buttons_reorder_the_list(app, client, auth, ws_a, ws_b):
    ids = [lost_reason_id(app, ws_a, name) for name in DEFAULTS]
    auth.login(ws_a.email, ws_a.password)
    foreign = lost_reason_id(app, ws_b, "Other")
    response = post(client, url(ws_a, "order"), {"order": [ids[5], foreign, ids[0]]}, headers=LIST)
    assert response.status_code == 200
    assert response.get_data(as_text=True).lstrip().startswith('<div id="lost-reason-list"')
    assert names(app, ws_a) == ["Other", "Too expensive", *DEFAULTS[1:5]]
    assert names(app, ws_b) == DEFAULTS  # another workspace's id in the post changed nothing there
    assert post(client, url(ws_a, f"{ids[0]}/move"), {"direction": "up"}, headers=LIST).status_code == 200
    assert names(app, ws_a)[:2] == ["Too expensive", "Other"]
    assert post(client, url(ws_a, f"{ids[0]}/move"), {"direction": "up"}).status_code == 303  # first already
    assert names(app, ws_a)[:2] == ["Too expensive", "Other"]
    assert post(client, url(ws_a, f"{ids[0]}/move"), {"direction": "sideways"}).status_code == 400


def test_retire_keeps_the_reason_on_its_deals_but_no_longer_offers_it(app, client, auth, ws_a):
    deal_id = make_deal(app, ws_a, "Cups")
    auth.login(ws_a.email, ws_a.password)
    assert lose(client, app, ws_a, deal_id).status_code == 303
    expensive = lost_reason_id(app, ws_a, "Too expensive")
    response = post(client, url(ws_a, f"{expensive}/delete"), {}, headers=LIST)
    assert response.status_code == 200 and "retire it instead" in response.headers["HX-Trigger"]
    assert response.status_code == 200 and "Too expensive" in names(app, ws_a)
    assert post(client, url(ws_a, f"{expensive}/delete"), {}).status_code == 409
    assert post(client, url(ws_a, f"{expensive}/active"), {"active": "0"}).status_code == 303
    assert ("Too expensive", False) in listed(app, ws_a)
    other_deal = make_deal(app, ws_a, "Mugs")
    form = client.get(f"/w/{ws_a.slug}/deals/{other_deal}").get_data(as_text=True)
    assert "Too expensive" not in form
    assert "Too expensive" in client.get(f"/w/{ws_a.slug}/deals/{deal_id}").get_data(as_text=True)
    assert post(client, url(ws_a, f"{expensive}/active"), {"active": "1"}).status_code == 303
    assert ("Too expensive", True) in listed(app, ws_a)
    assert post(client, url(ws_a, f"{expensive}/active"), {"active": "maybe"}).status_code == 400


def test_an_unused_reason_is_deleted_but_the_last_one_in_use_stays(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    for name in DEFAULTS[1:]:
        assert post(client, url(ws_a, f"{lost_reason_id(app, ws_a, name)}/delete"), {}).status_code == 303
    assert names(app, ws_a) == ["Too expensive"]
    last = lost_reason_id(app, ws_a, "Too expensive")
    for action, data in (("delete", {}), ("active", {"active": "0"})):
        response = post(client, url(ws_a, f"{last}/{action}"), data)
        assert response.status_code == 409 and "Keep at least one reason in use" in response.get_data(as_text=True)
    assert listed(app, ws_a) == [("Too expensive", True)]
    assert actions(app, ws_a).count("lost_reason.deleted") == 5


def test_needs_settings_manage(app, client, auth, ws_a):
    seller = make_member(app, ws_a, "sam@alpha.example.com", role="sales")
    reason = lost_reason_id(app, ws_a, "Other")
    auth.login(seller.email, seller.password)
    assert client.get(url(ws_a)).status_code == 403
    assert post(client, url(ws_a), {"name": "Mine"}).status_code == 403
    assert post(client, url(ws_a, f"{reason}/delete"), {}).status_code == 403
    assert post(client, url(ws_a, "order"), {"order": [reason]}).status_code == 403
    assert names(app, ws_a) == DEFAULTS


def test_another_workspaces_reason_is_404(app, client, auth, ws_a, ws_b):
    theirs = lost_reason_id(app, ws_b, "Other")
    auth.login(ws_a.email, ws_a.password)
    assert client.get(url(ws_a, str(theirs))).status_code == 404
    for rest, data in ((str(theirs), {"name": "Mine"}), (f"{theirs}/delete", {}), (f"{theirs}/active", {"active": "0"}),
                       (f"{theirs}/move", {"direction": "up"})):  # fmt: skip
        assert post(client, url(ws_a, rest), data).status_code == 404, rest
    assert listed(app, ws_b) == [(name, True) for name in DEFAULTS]
