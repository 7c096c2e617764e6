"""Custom fields kept honest: a multi-select's refusal in the app's words, no "required" yes/no
field, field keys that never take another field's range filter, filters on fields that cannot be
filtered on matching nobody, a delete that asks first, and options renamed on the records too."""

import sqlalchemy as sa

from crm.contacts.models import Contact
from crm.custom_fields.models import CustomField
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import make_custom_field

SETTINGS = "/settings/custom-fields/"
NEW_CONTACT = {"name": "Zed", "lifecycle": "lead", "level": ""}


def url(ws, rest: str) -> str:
    return f"/w/{ws.slug}{rest}"


def custom_of(app, ws, model, record_id: int) -> dict:
    with app.app_context(), workspace_scope(ws.id):
        return dict(db.session.get(model, record_id).custom)


def test_a_choice_not_offered_by_a_multi_select_is_refused_in_the_apps_words(app, client, auth, ws_a):
    make_custom_field(app, ws_a, "Likes", kind="multi_select", options=["Tea", "Coffee"])
    auth.login(ws_a.email, ws_a.password)
    response = post(client, url(ws_a, "/contacts/"), {**NEW_CONTACT, "cf_likes": ["Tea", "Beer", "Wine"]})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Beer, Wine are not among this field&#39;s choices." in page
    assert "not a valid choice" not in page
    one = post(client, url(ws_a, "/contacts/"), {**NEW_CONTACT, "cf_likes": ["Beer"]}).get_data(as_text=True)
    assert "Beer is not one of this field&#39;s choices." in one
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Contact)) == 0


def test_a_yes_no_field_cannot_be_required(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    agreed = {"entity": "contact", "contact-label": "Agreed", "contact-kind": "checkbox", "contact-required": "y"}
    refused = post(client, url(ws_a, SETTINGS), agreed)
    assert refused.status_code == 422
    assert "A yes/no field cannot be required: unticked is an answer." in refused.get_data(as_text=True)
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CustomField)) == 0
    assert post(client, url(ws_a, SETTINGS), {**agreed, "contact-required": ""}).status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        field_id = db.session.scalar(sa.select(CustomField.id))
    edit = client.get(url(ws_a, f"{SETTINGS}{field_id}")).get_data(as_text=True)
    assert 'name="required"' not in edit  # nothing to tick on its page either
    # Text fields may still be required.
    code = {"entity": "contact", "contact-label": "Code", "contact-kind": "text", "contact-required": "y"}
    assert post(client, url(ws_a, SETTINGS), code).status_code == 303


def test_yes_no_fields_made_required_before_lose_the_badge_with_0050(app, client, auth, ws_a, ws_b):
    from flask_migrate import downgrade, upgrade

    make_custom_field(app, ws_a, "Agreed", kind="checkbox", required=True)
    make_custom_field(app, ws_a, "Code", required=True)
    make_custom_field(app, ws_b, "Theirs", kind="checkbox", required=True)
    auth.login(ws_a.email, ws_a.password)
    assert client.get(url(ws_a, SETTINGS)).get_data(as_text=True).count(">Required</span>") == 2  # as it was
    with app.app_context():
        downgrade(revision="0049")
        upgrade()
    page = client.get(url(ws_a, SETTINGS)).get_data(as_text=True)
    assert page.count(">Required</span>") == 1  # Code's
    with app.app_context(), workspace_scope(ws_b.id):
        assert db.session.scalar(sa.select(CustomField.required)) is False
