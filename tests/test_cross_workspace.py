"""Wall 1, routing: walks every rule of app.url_map under /w/<workspace_slug>.

A member of workspace B asking for A's slug, or for A's object ids under B's own slug, gets 404
for every method, never A's data. A new route is covered automatically; a new kind of id in a
URL must be taught to OBJECT_IDS below, or this test fails and says so; a route that serves
something a workspace may not have yet (its logo) is taught to SERVED."""

import itertools

import pytest
import sqlalchemy as sa

from crm.db import utcnow
from crm.deals.models import LostReason, Stage
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import (
    make_activity,
    make_bulk_job,
    make_company,
    make_company_activity,
    make_company_purchase,
    make_contact,
    make_custom_field,
    make_deal,
    make_deal_activity,
    make_deal_item,
    make_duplicate_pair,
    make_import,
    make_invitation,
    make_member,
    make_merge,
    make_note,
    make_pipeline,
    make_product,
    make_purchase,
    make_quote,
    make_role,
    make_saved_mapping,
    make_saved_view,
    make_ticket,
    set_custom_value,
)

WORKSPACE_PREFIX = "/w/<workspace_slug>"

SERIAL = itertools.count()

# How to make an object of workspace ``ws`` for each id argument found in a workspace URL.
OBJECT_IDS = {
    "note_id": lambda app, ws: make_note(app, ws, f"private note of {ws.name}"),
    "member_id": lambda app, ws: make_member(app, ws, f"private-member-{next(SERIAL)}@example.com").membership_id,
    "invitation_id": lambda app, ws: make_invitation(app, ws, f"private-invitee-{next(SERIAL)}@example.com").id,
    "role_id": lambda app, ws: make_role(app, ws, f"private role {next(SERIAL)}"),
    "contact_id": lambda app, ws: make_contact(app, ws, f"private contact {next(SERIAL)}"),
    "company_id": lambda app, ws: make_company(app, ws, f"private company {next(SERIAL)}"),
    "view_id": lambda app, ws: make_saved_view(app, ws, f"private view {next(SERIAL)}"),
    "job_id": lambda app, ws: make_bulk_job(app, ws, total=10, done=5),
    "field_id": lambda app, ws: make_custom_field(app, ws, f"Private field {next(SERIAL)}", sensitive=True),
    "entity": lambda app, ws: "contact",
    "import_id": lambda app, ws: make_import(app, ws, "Name,Email\nPrivate Person,private@example.com\n"),
    "other_id": lambda app, ws: make_contact(app, ws, f"private contact {next(SERIAL)}"),
    "pair_id": lambda app, ws: _duplicate_pair(app, ws),
    "merge_id": lambda app, ws: make_merge(app, ws, *_two_alike(app, ws)),
    "mapping_id": lambda app, ws: make_saved_mapping(app, ws, f"private mapping {next(SERIAL)}"),
    "deal_id": lambda app, ws: make_deal(app, ws, f"private deal {next(SERIAL)}"),
    "pipeline_id": lambda app, ws: make_pipeline(app, ws, f"private pipeline {next(SERIAL)}").id,
    "product_id": lambda app, ws: make_product(app, ws, f"private product {next(SERIAL)}"),
    "quote_id": lambda app, ws: make_quote(app, ws),
    "reason_id": lambda app, ws: _private_lost_reason(app, ws),
    "category_id": lambda app, ws: _private_ticket_category(app, ws),
    "ticket_number": lambda app, ws: _private_ticket_number(app, ws),
    "reply_id": lambda app, ws: _private_saved_reply(app, ws),
    "task_id": lambda app, ws: make_activity(app, ws, make_contact(app, ws, f"private contact {next(SERIAL)}"),
                                             "private task", kind="task", due_at=utcnow(),
                                             assignee_id=ws.membership_id),  # My tasks serves one's own
}  # fmt: skip

# Objects that live under another object of the URL: made on that one.
CHILD_IDS = {
    "activity_id": lambda app, ws, parent: (
        make_activity(app, ws, parent["contact_id"], "private task", kind="task", due_at=utcnow())
        if "contact_id" in parent
        else make_company_activity(app, ws, parent["company_id"], "private task", kind="task", due_at=utcnow())
        if "company_id" in parent
        else make_deal_activity(app, ws, parent["deal_id"], "private task", kind="task", due_at=utcnow())
    ),
    "purchase_id": lambda app, ws, parent: (
        make_purchase(app, ws, parent["contact_id"], "private purchase") if "contact_id" in parent
        else make_company_purchase(app, ws, parent["company_id"], "private purchase")
    ),
    "record_id": lambda app, ws, parent: _contact_with_value(app, ws, parent["field_id"]),
    "item_id": lambda app, ws, parent: make_deal_item(app, ws, parent["deal_id"], name="private line", unit_price=1),
    "stage_id": lambda app, ws, parent: _open_stage(app, ws, parent.get("pipeline_id")),
    "attachment_id": lambda app, ws, parent: _private_attachment(app, ws, parent["ticket_number"]),
}  # fmt: skip


def _open_stage(app, ws, pipeline_id: int | None) -> int:
    """An open stage of the URL's pipeline (settings nest stages under it), else of a new pipeline."""
    if pipeline_id is None:
        return make_pipeline(app, ws, f"private pipeline {next(SERIAL)}").open[0]
    with app.app_context(), workspace_scope(ws.id):
        return db.session.scalar(
            sa.select(Stage.id).where(Stage.pipeline_id == pipeline_id, Stage.kind == "open").order_by(Stage.position)
        )


def _two_alike(app, ws) -> tuple[int, int]:
    email = f"private-{next(SERIAL)}@example.com"
    return tuple(make_contact(app, ws, f"private contact {next(SERIAL)}", emails=[email]) for _ in range(2))


def _duplicate_pair(app, ws) -> int:
    return make_duplicate_pair(app, ws, *_two_alike(app, ws))


def _contact_with_value(app, ws, field_id: int) -> int:
    contact_id = make_contact(app, ws, f"private contact {next(SERIAL)}")
    set_custom_value(app, ws, contact_id, field_id, "private value")
    return contact_id


def _with_logo(app, ws) -> None:
    from tests.test_workspace_settings import set_logo

    set_logo(app, ws)


# Endpoints answering 404 while the workspace has nothing to serve: the walkers give the workspace
# that thing first, so a 404 means the wall held (and a member's 404 is a real failure).
SERVED = {
    "ws.logo": _with_logo,
}


def workspace_rules(app):
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith(WORKSPACE_PREFIX)]
    assert rules, "no workspace routes found"
    return rules


def object_ids_of(app, ws, rule) -> dict:
    if rule.endpoint in SERVED:
        SERVED[rule.endpoint](app, ws)
    values = {}
    for name in rule.arguments - {"workspace_slug"} - set(CHILD_IDS):
        if name not in OBJECT_IDS:
            pytest.fail(f"{rule.rule}: teach OBJECT_IDS in {__name__} how to make a {name!r} of a workspace")
        values[name] = OBJECT_IDS[name](app, ws)
    if rule.endpoint.startswith("ws.company_views."):  # a view of the companies list, not the contacts'
        values["view_id"] = make_saved_view(app, ws, f"private view {next(SERIAL)}", list_name="companies")
    if rule.endpoint.endswith(".rename_option"):  # a field with choices to rename (others have none: 404)
        values["field_id"] = make_custom_field(app, ws, f"Private choice {next(SERIAL)}", kind="select",
                                               options=("Gold", "Silver"), sensitive=True)  # fmt: skip
    for name in rule.arguments & set(CHILD_IDS):
        values[name] = CHILD_IDS[name](app, ws, values)
    return values


def build(app, rule, values) -> str:
    with app.test_request_context():
        adapter = app.url_map.bind("localhost")
        return adapter.build(rule.endpoint, values, method=sorted(rule.methods - {"HEAD", "OPTIONS"})[0])


def request(client, method: str, url: str, headers=None):
    if method == "GET":
        return client.get(url, headers=headers or {})
    return post(client, url, {"body": "overwrite", "name": "x", "slug": "x", "timezone": "UTC"}, headers=headers)


def methods_of(rule):
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def test_member_of_b_gets_404_for_every_route_of_a(app, client, auth, ws_a, ws_b):
    auth.login(ws_b.email, ws_b.password)
    checked = 0
    for rule in workspace_rules(app):
        url = build(app, rule, {"workspace_slug": ws_a.slug, **object_ids_of(app, ws_a, rule)})
        for method in methods_of(rule):
            for headers in (None, {"HX-Request": "true"}):
                response = request(client, method, url, headers)
                assert response.status_code == 404, f"{method} {url} answered {response.status_code}"
                assert "private note" not in response.get_data(as_text=True)
                checked += 1
    assert checked >= len(workspace_rules(app))


def test_member_of_b_gets_404_for_ids_of_a_under_own_slug(app, client, auth, ws_a, ws_b):
    auth.login(ws_b.email, ws_b.password)
    rules = [rule for rule in workspace_rules(app) if rule.arguments - {"workspace_slug"}]
    assert rules, "no workspace route takes an object id"
    for rule in rules:
        url = build(app, rule, {"workspace_slug": ws_b.slug, **object_ids_of(app, ws_a, rule)})
        for method in methods_of(rule):
            response = request(client, method, url)
            assert response.status_code == 404, f"{method} {url} answered {response.status_code}"
            assert "private note of Alpha" not in response.get_data(as_text=True)


def test_a_data_is_untouched_after_the_walk(app, client, auth, ws_a, ws_b):
    note_id = make_note(app, ws_a, "still mine")
    auth.login(ws_b.email, ws_b.password)
    for rule in workspace_rules(app):
        url = build(
            app, rule, {"workspace_slug": ws_b.slug, **dict.fromkeys(rule.arguments - {"workspace_slug"}, note_id)}
        )
        for method in methods_of(rule):
            request(client, method, url)
    auth.logout()
    auth.login(ws_a.email, ws_a.password)
    assert "still mine" in client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)


def test_anonymous_visitor_is_sent_to_login_for_every_workspace_route(app, client, ws_a):
    for rule in workspace_rules(app):
        url = build(app, rule, {"workspace_slug": ws_a.slug, **object_ids_of(app, ws_a, rule)})
        response = client.get(url) if "GET" in rule.methods else post(client, url, {})
        assert response.status_code == 302, f"{url} answered {response.status_code}"
        assert response.headers["Location"].startswith("/login")


def test_unknown_workspace_slug_is_404(client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    assert client.get("/w/no-such-workspace/").status_code == 404


def _private_lost_reason(app, ws) -> int:
    with app.app_context(), workspace_scope(ws.id):
        reason = LostReason(name=f"private reason {next(SERIAL)}", position=99, active=True)
        db.session.add(reason)
        db.session.commit()
        return reason.id


def _private_ticket_number(app, ws) -> int:
    """A ticket's number (#1001...: per workspace, the address of its staff page) of a new contact."""
    from crm.tickets.models import Ticket

    ticket_id, _token = make_ticket(app, ws, make_contact(app, ws, f"private contact {next(SERIAL)}"),
                                    f"private ticket {next(SERIAL)}")  # fmt: skip
    with app.app_context(), workspace_scope(ws.id):
        return db.session.get(Ticket, ticket_id).number


def _private_attachment(app, ws, ticket_number: int) -> int:
    """A photo on the first message of the ticket with that number."""
    import io

    from werkzeug.datastructures import FileStorage

    from crm.tickets import attachments
    from crm.tickets.models import Ticket, TicketMessage
    from tests.test_workspace_settings import TINY_PNG

    with app.app_context(), workspace_scope(ws.id):
        ticket_id = db.session.scalar(sa.select(Ticket.id).where(Ticket.number == ticket_number))
        first = db.session.scalar(sa.select(TicketMessage).where(TicketMessage.ticket_id == ticket_id))
        photo = FileStorage(io.BytesIO(TINY_PNG), filename="private.png")
        (saved,) = attachments.save(first, attachments.check([photo]))
        db.session.commit()
        return saved.id


def _private_saved_reply(app, ws) -> int:
    from crm.saved_replies.models import SavedReply

    with app.app_context(), workspace_scope(ws.id):
        reply = SavedReply(title=f"private reply {next(SERIAL)}", body="private words")
        db.session.add(reply)
        db.session.commit()
        return reply.id


def _private_ticket_category(app, ws) -> int:
    from crm.tickets.models import TicketCategory

    with app.app_context(), workspace_scope(ws.id):
        category = TicketCategory(name=f"private category {next(SERIAL)}", position=99, active=True)
        db.session.add(category)
        db.session.commit()
        return category.id
