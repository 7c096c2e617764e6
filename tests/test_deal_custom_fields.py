"""Custom fields on deals: defined in Settings → Custom fields, on the deal form (create and inline
edit, validated, required), on the deal page; sensitive ones encrypted, masked, revealed with an
audit entry only with contacts.sensitive, and kept by the edits of members who cannot see them;
deleting a field removes its values; another workspace's deal is a 404."""

import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.custom_fields.models import CustomField
from crm.custom_fields.service import FieldDef, to_storage
from crm.deals.models import Deal
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import assign_role, default_pipeline, make_custom_field, make_deal, make_member, make_role

SETTINGS = "/settings/custom-fields/"
DETAILS = {"HX-Request": "true", "HX-Target": "deal-details"}
SECRET = "AC-7781-SECRET"


def url(ws, rest: str) -> str:
    return f"/w/{ws.slug}{rest}"


def custom_of(app, ws, deal_id: int) -> dict:
    with app.app_context(), workspace_scope(ws.id):
        return dict(db.session.get(Deal, deal_id).custom)


def set_deal_value(app, ws, deal_id: int, field_id: int, value) -> None:
    """Stores a value as the deal form would (encrypted when the field is sensitive)."""
    with app.app_context(), workspace_scope(ws.id):
        f = db.session.get(CustomField, field_id)
        definition = FieldDef(f.id, f.entity, f.key, f.label, f.kind, tuple(f.options), f.required, f.sensitive)
        deal = db.session.get(Deal, deal_id)
        deal.custom = {**deal.custom, f.key: to_storage(definition, value)}
        db.session.commit()


def deal_form(ws, **fields) -> dict:
    stage = fields.pop("stage_id")
    return {"title": "Tea", "value": "100", "currency": "USD", "stage_id": stage, "contact_id": "", "company_id": "",
            "owner_id": "", **fields}  # fmt: skip


def test_an_admin_defines_deal_fields_and_they_are_on_the_form_validated(app, client, auth, ws_a):
    stage = default_pipeline(app, ws_a).stages["Lead in"]
    auth.login(ws_a.email, ws_a.password)
    source = {"deal-label": "Lead source", "deal-kind": "select", "deal-options": "Fair\nWeb", "deal-required": "y"}
    assert post(client, url(ws_a, SETTINGS), {"entity": "deal", **source}).status_code == 303
    post(client, url(ws_a, SETTINGS), {"entity": "deal", "deal-label": "Seats", "deal-kind": "number"})
    settings = client.get(url(ws_a, SETTINGS)).get_data(as_text=True)
    assert 'id="fields-deal">Deals</h2>' in settings and "Lead source" in settings
    with app.app_context(), workspace_scope(ws_a.id):
        entities = set(db.session.scalars(sa.select(CustomField.entity)))
    assert entities == {"deal"}
    form = client.get(url(ws_a, "/deals/new")).get_data(as_text=True)
    assert '<label for="cf_lead_source">Lead source</label>' in form and '<label for="cf_seats">Seats</label>' in form
    assert "cf_lead_source" not in client.get(url(ws_a, "/contacts/new")).get_data(as_text=True)
    for bad, message in (
        ({}, "Lead source is required."),
        ({"cf_lead_source": "Phone"}, "Not a valid choice."),
        ({"cf_lead_source": "Fair", "cf_seats": "many"}, "Enter a number."),
    ):
        response = post(client, url(ws_a, "/deals/"), deal_form(ws_a, stage_id=stage, **bad))
        assert response.status_code == 422 and message in response.get_data(as_text=True), bad
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count(Deal.id))) == 0
    created = post(client, url(ws_a, "/deals/"), deal_form(ws_a, stage_id=stage, cf_lead_source="Fair", cf_seats="12"))
    assert created.status_code == 303
    deal_id = int(created.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert custom_of(app, ws_a, deal_id) == {"lead_source": "Fair", "seats": 12.0}
    page = client.get(url(ws_a, f"/deals/{deal_id}")).get_data(as_text=True)
    assert "<dt>Lead source</dt>" in page and "Fair" in page and "<dt>Seats</dt>" in page
    with app.app_context(), workspace_scope(ws_a.id):
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "deal.created"))
        assert entry.changes["Lead source"] == [None, "Fair"]


def test_inline_edit_changes_custom_values_with_an_audit_entry(app, client, auth, ws_a):
    stage = default_pipeline(app, ws_a).stages["Lead in"]
    make_custom_field(app, ws_a, "Lead source", entity="deal", kind="select", options=["Fair", "Web"], required=True)
    deal_id = make_deal(app, ws_a, "Tea")
    auth.login(ws_a.email, ws_a.password)
    form = client.get(url(ws_a, f"/deals/{deal_id}/edit"), headers=DETAILS).get_data(as_text=True)
    assert 'name="cf_lead_source"' in form
    bad = post(client, url(ws_a, f"/deals/{deal_id}"), deal_form(ws_a, stage_id=stage), headers=DETAILS)
    assert bad.status_code == 422 and "Lead source is required." in bad.get_data(as_text=True)
    assert custom_of(app, ws_a, deal_id) == {}
    good = post(client, url(ws_a, f"/deals/{deal_id}"), deal_form(ws_a, stage_id=stage, cf_lead_source="Web"),
                headers=DETAILS)  # fmt: skip
    assert good.status_code == 200 and "Web" in good.get_data(as_text=True)
    assert custom_of(app, ws_a, deal_id) == {"lead_source": "Web"}
    with app.app_context(), workspace_scope(ws_a.id):
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "deal.updated"))
        assert entry.changes["Lead source"] == [None, "Web"]


def test_sensitive_deal_fields_are_masked_revealed_with_an_audit_and_kept(app, client, auth, ws_a):
    stage = default_pipeline(app, ws_a).stages["Lead in"]
    field_id = make_custom_field(app, ws_a, "Account code", entity="deal", sensitive=True)
    deal_id = make_deal(app, ws_a, "Tea")
    set_deal_value(app, ws_a, deal_id, field_id, SECRET)
    assert custom_of(app, ws_a, deal_id)["account_code"].startswith("gAAAA")  # encrypted at rest
    auth.login(ws_a.email, ws_a.password)
    page = client.get(url(ws_a, f"/deals/{deal_id}")).get_data(as_text=True)
    assert SECRET not in page and "••••••" in page and f"/reveal/deal/{deal_id}/{field_id}" in page
    edit = client.get(url(ws_a, f"/deals/{deal_id}/edit")).get_data(as_text=True)
    assert SECRET not in edit and "Leave empty to keep the value stored." in edit
    revealed = post(client, url(ws_a, f"/reveal/deal/{deal_id}/{field_id}"), {}, headers={"HX-Request": "true"})
    assert revealed.status_code == 200 and SECRET in revealed.get_data(as_text=True)
    with app.app_context(), workspace_scope(ws_a.id):
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "custom_field.revealed"))
        assert (entry.record_type, entry.record_id) == ("deal", deal_id) and SECRET not in str(entry.changes)
    # Sales may edit deals but not see sensitive details: masked, no reveal, and their edit keeps it.
    seller = make_member(app, ws_a, "sam@alpha.example.com", role="sales")
    auth.logout()
    auth.login(seller.email, seller.password)
    page = client.get(url(ws_a, f"/deals/{deal_id}")).get_data(as_text=True)
    assert "••••••" in page and "/reveal/deal/" not in page
    assert "cf_account_code" not in client.get(url(ws_a, f"/deals/{deal_id}/edit")).get_data(as_text=True)
    assert post(client, url(ws_a, f"/reveal/deal/{deal_id}/{field_id}"), {}).status_code == 403
    response = post(client, url(ws_a, f"/deals/{deal_id}"),
                    deal_form(ws_a, stage_id=stage, title="Tea, renamed", cf_account_code="overwritten"))  # fmt: skip
    assert response.status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        deal = db.session.get(Deal, deal_id)
        assert deal.title == "Tea, renamed" and deal.custom["account_code"].startswith("gAAAA")
    auth.logout()
    auth.login(ws_a.email, ws_a.password)
    revealed = post(client, url(ws_a, f"/reveal/deal/{deal_id}/{field_id}"), {}).get_data(as_text=True)
    assert SECRET in revealed


def test_reveal_needs_deals_read_and_refuses_other_workspaces(app, client, auth, ws_a, ws_b):
    field_id = make_custom_field(app, ws_a, "Account code", entity="deal", sensitive=True)
    deal_id = make_deal(app, ws_a, "Tea")
    set_deal_value(app, ws_a, deal_id, field_id, SECRET)
    their_field = make_custom_field(app, ws_b, "Account code", entity="deal", sensitive=True)
    theirs = make_deal(app, ws_b, "Their deal")
    set_deal_value(app, ws_b, theirs, their_field, "THEIR-SECRET")
    auth.login(ws_a.email, ws_a.password)
    for path in (f"/reveal/deal/{theirs}/{their_field}", f"/reveal/deal/{theirs}/{field_id}",
                 f"/reveal/deal/{deal_id}/{their_field}"):  # fmt: skip
        response = post(client, url(ws_a, path), {})
        assert response.status_code == 404 and "SECRET" not in response.get_data(as_text=True), path
    # A role with contacts.sensitive but without deals.read: the deal is not found for it.
    reader = make_member(app, ws_a, "rita@alpha.example.com", role="viewer")
    role_id = make_role(app, ws_a, "Sensitive readers", ("contacts.read", "contacts.sensitive"))
    assign_role(app, ws_a, reader.membership_id, role_id)
    auth.logout()
    auth.login(reader.email, reader.password)
    assert post(client, url(ws_a, f"/reveal/deal/{deal_id}/{field_id}"), {}).status_code == 404


def test_deleting_a_deal_field_deletes_its_values(app, client, auth, ws_a):
    field_id = make_custom_field(app, ws_a, "Lead source", entity="deal")
    kept = make_custom_field(app, ws_a, "Seats", entity="deal", kind="number")
    deal_id = make_deal(app, ws_a, "Tea")
    set_deal_value(app, ws_a, deal_id, field_id, "Fair")
    set_deal_value(app, ws_a, deal_id, kept, 3)
    auth.login(ws_a.email, ws_a.password)
    assert post(client, url(ws_a, f"{SETTINGS}{field_id}/delete"), {"confirmed": "yes"}).status_code == 303
    assert custom_of(app, ws_a, deal_id) == {"seats": 3}
    page = client.get(url(ws_a, f"/deals/{deal_id}")).get_data(as_text=True)  # the flash names it once
    assert "<dt>Lead source</dt>" not in page and "<dt>Seats</dt>" in page
