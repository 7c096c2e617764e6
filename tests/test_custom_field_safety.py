"""Custom fields kept honest: a multi-select's refusal in the app's words, no "required" yes/no
field, field keys that never take another field's range filter, filters on fields that cannot be
filtered on matching nobody, a delete that asks first, and options renamed on the records too."""

import sqlalchemy as sa

from crm.contacts.models import Contact
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
