"""Settings → Saved replies: agents add, change and delete canned answers (audited), bad input is
refused with nothing saved, other workspaces' replies are 404, and placeholders fill per ticket."""

import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.extensions import db
from crm.saved_replies.models import SavedReply
from crm.saved_replies.service import fill, values_for
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import make_member

URL = "/w/{slug}/settings/saved-replies/"


def replies(app, ws) -> list[tuple[str, str]]:
    with app.app_context(), workspace_scope(ws.id):
        return [(r.title, r.body) for r in db.session.scalars(sa.select(SavedReply).order_by(SavedReply.id))]


def reply_id(app, ws, title: str) -> int:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.scalar(sa.select(SavedReply.id).where(SavedReply.title == title))


def test_an_agent_adds_edits_and_deletes_a_saved_reply(app, client, auth, ws_a):
    agent = make_member(app, ws_a, "sue@alpha.example.com", role="support")
    auth.login(agent.email, agent.password)
    url = URL.format(slug=ws_a.slug)
    assert post(client, url, {"title": " Refund ", "body": "Hello {customer_first_name}, refunded."}).status_code == 303
    assert replies(app, ws_a) == [("Refund", "Hello {customer_first_name}, refunded.")]
    assert "Refund" in client.get(url).get_data(as_text=True)
    refund = reply_id(app, ws_a, "Refund")
    assert post(client, f"{url}{refund}", {"title": "Refund sent", "body": "Done, {customer_name}."}).status_code == 303
    assert replies(app, ws_a) == [("Refund sent", "Done, {customer_name}.")]
    assert post(client, f"{url}{refund}/delete", {}).status_code == 303
    assert replies(app, ws_a) == []
    with app.app_context(), workspace_scope(ws_a.id):
        actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.record_type == "saved_reply"))
        assert list(actions) == ["saved_reply.created", "saved_reply.updated", "saved_reply.deleted"]


def test_bad_input_is_refused_and_nothing_saved(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    url = URL.format(slug=ws_a.slug)
    for data, message in [
        ({"title": "", "body": "Hi"}, "Give the reply a title."),
        ({"title": "Hi", "body": "  "}, "Write the reply."),
        ({"title": "x" * 121, "body": "Hi"}, "Keep it under 120 characters."),
    ]:
        response = post(client, url, data)
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert replies(app, ws_a) == []


def test_needs_tickets_write_and_stays_in_its_workspace(app, client, auth, ws_a, ws_b):
    seller = make_member(app, ws_a, "sam@alpha.example.com", role="sales")
    auth.login(ws_b.email, ws_b.password)
    post(client, URL.format(slug=ws_b.slug), {"title": "Theirs", "body": "B's words"})
    theirs = reply_id(app, ws_b, "Theirs")
    auth.logout()
    auth.login(ws_a.email, ws_a.password)
    url = URL.format(slug=ws_a.slug)
    assert client.get(f"{url}{theirs}").status_code == 404
    assert post(client, f"{url}{theirs}", {"title": "Mine", "body": "x"}).status_code == 404
    assert post(client, f"{url}{theirs}/delete", {}).status_code == 404
    assert "B&#39;s words" not in client.get(url).get_data(as_text=True)
    assert replies(app, ws_b) == [("Theirs", "B's words")]
    auth.logout()
    auth.login(seller.email, seller.password)
    assert client.get(url).status_code == 403
    assert post(client, url, {"title": "Hi", "body": "Hi"}).status_code == 403


def test_placeholders_fill_and_unknown_braces_stay():
    values = values_for("Wang Xiaoming", 1001, "Sue Agent", "Alpha Trading")
    text = "Dear {customer_first_name} ({customer_name}), ticket {ticket_number}: "
    text += "{agent_name} of {workspace_name}. {other}"
    assert fill(text, values) == "Dear Wang (Wang Xiaoming), ticket #1001: Sue Agent of Alpha Trading. {other}"
