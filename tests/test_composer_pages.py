"""The composers of a contact's, company's and deal's page (log an activity, add a purchase) sent as a
plain form (JavaScript off or not loaded): refused, they answer 422 with a page of their own holding
the form with what was typed and each field's error, and sent again from there they save and go
back to the record's page. htmx still gets the form alone; another workspace's record is a 404 and
a member who may not write a 403, with nothing saved."""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
import sqlalchemy as sa

from crm.activities.models import Activity
from crm.extensions import db
from crm.purchases.models import Purchase
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import make_company, make_contact, make_deal, make_member, make_purchase
from tests.test_pages import assert_valid_page

TODAY = date.today().isoformat()
TASK = {"kind": "task", "body": "Send the <b>spring</b> samples", "due_at": ""}  # a task needs a due date
TASK_TYPED = "Send the &lt;b&gt;spring&lt;/b&gt; samples</textarea>"
PURCHASE = {"purchased_on": TODAY, "product": "Tea chest", "quantity": "2", "unit_price": "-5"}


@dataclass
class Composer:
    name: str
    make_record: Callable  # (app, ws, name) -> id
    record_path: str  # under /w/<slug>/, with {id}
    action: str  # the composer's address under the record's
    form_id: str  # the composer's form (and htmx target, but for the company's Purchases section)
    htmx_target: str
    model: type
    heading: str
    not_saved: str
    bad: dict
    error: str
    typed: tuple[str, ...]  # what was typed, as the page shows it
    correction: dict
    saved: str  # the flash after saving


ACTIVITY = {
    "model": Activity,
    "heading": "Log an activity",
    "not_saved": "The activity was not saved: A task needs a due date.",
    "bad": TASK,
    "error": "A task needs a due date.",
    "typed": (TASK_TYPED, '<option selected value="task">'),
    "correction": {"due_at": "2030-01-02T09:30"},
    "saved": "Task added.",  # the toast names what was logged
}
ADD_PURCHASE = {
    "model": Purchase,
    "heading": "Add a purchase",
    "not_saved": "The purchase was not saved: Enter an amount from 0 to 999,999,999,999.99.",
    "bad": PURCHASE,
    "error": "Enter an amount from 0 to 999,999,999,999.99.",
    "typed": ('value="Tea chest"', 'value="2"', 'value="-5"'),
    "correction": {"unit_price": "60"},
    "saved": "Purchase added.",
}

# A contact's first purchase makes a lead a customer: the toast says what they are now (WCAG 4.1.3).
CLASSED = "Purchase added. Ann Lee is now Tier D · Ordinary · New customer."

COMPOSERS = [
    Composer("contact activity", make_contact, "contacts/{id}", "activities/", "activity-composer",
             "activity-composer", **ACTIVITY),
    Composer("company activity", make_company, "companies/{id}", "activities/", "activity-composer",
             "activity-composer", **ACTIVITY),
    Composer("deal activity", make_deal, "deals/{id}", "activities/", "activity-composer", "activity-composer",
             **ACTIVITY),
    Composer("contact purchase", make_contact, "contacts/{id}", "purchases/", "purchase-composer",
             "purchase-composer", **{**ADD_PURCHASE, "saved": CLASSED}),
    Composer("company purchase", make_company, "companies/{id}", "purchases/", "company-purchase-composer",
             "company-purchases", **{**ADD_PURCHASE, "bad": {**PURCHASE, "buyer": ""}}),
]  # fmt: skip
IDS = [composer.name for composer in COMPOSERS]


def record_url(ws, composer: Composer, record_id: int) -> str:
    return f"/w/{ws.slug}/{composer.record_path.format(id=record_id)}"


def stored(app, ws, model) -> int:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def form_action(page: str, form_id: str) -> str:
    form = re.search(rf'<form id="{form_id}"[^>]*>', page)
    assert form, f"no form {form_id}"
    return re.search(r'\saction="([^"]+)"', form.group(0)).group(1)


@pytest.mark.parametrize("composer", COMPOSERS, ids=IDS)
def test_a_refused_plain_post_keeps_what_was_typed_and_sent_again_saves(app, client, auth, ws_a, composer):
    record_id = composer.make_record(app, ws_a, "Ann Lee")
    auth.login(ws_a.email, ws_a.password)
    record = record_url(ws_a, composer, record_id)
    action = f"{record}/{composer.action}"
    assert form_action(client.get(record).get_data(as_text=True), composer.form_id) == action

    refused = post(client, action, composer.bad)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Location" not in refused.headers
    assert_valid_page(page, action)
    assert f"<h1>{composer.heading}</h1>" in page and f"<title>{composer.heading} · Kehu CRM</title>" in page
    assert f'<a href="{record}">Back to Ann Lee</a>' in page
    assert f'<div class="alert error" role="alert">{composer.not_saved}</div>' in page
    field = re.search(r'<p class="error" id="([^"]+)-error">' + re.escape(composer.error) + "</p>", page)
    assert field, "the error is next to its field"
    assert re.search(rf'<(input|select|textarea)[^>]*aria-describedby="[^"]*{field.group(1)}-error', page)
    for typed in composer.typed:
        assert typed in page, typed
    # A plain form here: its htmx target is on the record's page, not on this one.
    assert re.search(rf'<div data-hx-disable>\s*<form id="{composer.form_id}"', page)
    assert "timeline-list" not in page and 'name="csrf_token"' in page
    assert stored(app, ws_a, composer.model) == 0

    again = post(client, form_action(page, composer.form_id), {**composer.bad, **composer.correction})
    assert again.status_code == 303 and again.headers["Location"] == record
    assert stored(app, ws_a, composer.model) == 1
    shown = client.get(record).get_data(as_text=True)
    assert composer.saved in shown
    assert ("spring" if composer.model is Activity else "Tea chest") in shown


@pytest.mark.parametrize("composer", COMPOSERS, ids=IDS)
def test_htmx_still_gets_the_composer_alone(app, client, auth, ws_a, composer):
    record_id = composer.make_record(app, ws_a, "Ann Lee")
    auth.login(ws_a.email, ws_a.password)
    action = f"{record_url(ws_a, composer, record_id)}/{composer.action}"
    headers = {"HX-Request": "true", "HX-Target": composer.htmx_target}
    refused = post(client, action, composer.bad, headers=headers)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "<!doctype html>" not in body and "<h1>" not in body
    assert composer.error in body and composer.not_saved not in body
    assert body.lstrip().startswith(f'<form id="{composer.form_id}"' if composer.htmx_target == composer.form_id
                                    else f'<section id="{composer.htmx_target}"')  # fmt: skip
    assert 'data-hx-post="' in body and "data-hx-disable" not in body
    saved = post(client, action, {**composer.bad, **composer.correction}, headers=headers)
    assert saved.status_code == 200 and "Location" not in saved.headers
    assert stored(app, ws_a, composer.model) == 1
    # The form comes back empty: a toast (a live region) says it was saved (WCAG 4.1.3).
    assert json.loads(saved.headers["HX-Trigger"])["toast"] == [{"level": "success", "message": composer.saved}]


@pytest.mark.parametrize(("kind", "said"), [("note", "Note added."), ("call", "Call logged."),
                                            ("email", "Email logged."), ("meeting", "Meeting logged.")])  # fmt: skip
def test_logging_each_type_of_activity_says_so_in_a_toast(app, client, auth, ws_a, kind, said):
    ann = make_contact(app, ws_a, "Ann Lee")
    auth.login(ws_a.email, ws_a.password)
    headers = {"HX-Request": "true", "HX-Target": "activity-composer"}
    saved = post(client, f"/w/{ws_a.slug}/contacts/{ann}/activities/", {"kind": kind, "body": "Words"}, headers=headers)
    assert saved.status_code == 200
    assert json.loads(saved.headers["HX-Trigger"])["toast"] == [{"level": "success", "message": said}]


@pytest.mark.parametrize("composer", COMPOSERS, ids=IDS)
def test_another_workspaces_record_is_404(app, client, auth, ws_a, ws_b, composer):
    theirs = composer.make_record(app, ws_b, "Secret Sam")
    auth.login(ws_a.email, ws_a.password)
    for slug in (ws_a.slug, ws_b.slug):
        action = f"/w/{slug}/{composer.record_path.format(id=theirs)}/{composer.action}"
        for data in (composer.bad, {**composer.bad, **composer.correction}):
            response = post(client, action, data)
            assert response.status_code == 404 and "Secret Sam" not in response.get_data(as_text=True), action
    assert stored(app, ws_b, composer.model) == 0


@pytest.mark.parametrize("composer", COMPOSERS, ids=IDS)
def test_a_member_who_may_not_write_gets_403(app, client, auth, ws_a, composer):
    record_id = composer.make_record(app, ws_a, "Ann Lee")
    viewer = make_member(app, ws_a, "vic@alpha.example.com", role="viewer")  # reads, never writes
    auth.login(viewer.email, viewer.password)
    action = f"{record_url(ws_a, composer, record_id)}/{composer.action}"
    for data in (composer.bad, {**composer.bad, **composer.correction}):
        assert post(client, action, data).status_code == 403
    assert stored(app, ws_a, composer.model) == 0


def test_the_edit_pages_without_javascript_keep_what_was_typed(app, client, auth, ws_a):
    """The entries' edit forms had pages of their own already: a refused plain post shows them again
    with what was typed, and sent again they save and go back to the record."""
    ann = make_contact(app, ws_a, "Ann Lee")
    acme = make_company(app, ws_a, "Acme Ltd")
    tea = make_purchase(app, ws_a, ann, "Tea", amount=5)
    auth.login(ws_a.email, ws_a.password)
    contact = f"/w/{ws_a.slug}/contacts/{ann}"
    logged = post(client, f"{contact}/activities/", {"kind": "note", "body": "First words"})
    assert logged.status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        note = db.session.scalar(sa.select(Activity.id))
    edit = f"{contact}/activities/{note}/edit"
    refused = post(client, edit, {f"entry{note}-body": " ", f"entry{note}-occurred_at": "2999-01-01T10:00"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Write something first." in page and 'value="2999-01-01T10:00"' in page
    assert_valid_page(page, edit)
    assert post(client, edit, {f"entry{note}-body": "Better words"}).status_code == 303

    prefix = f"purchase-{tea}-"
    update = f"{contact}/purchases/{tea}"
    typed = {f"{prefix}purchased_on": TODAY, f"{prefix}product": "Tea chest", f"{prefix}quantity": "3",
             f"{prefix}unit_price": "-1"}  # fmt: skip
    refused = post(client, update, typed)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Enter an amount from 0" in page and 'value="Tea chest"' in page
    assert f'<a href="{contact}">Ann Lee</a>' in page
    assert_valid_page(page, update)
    assert post(client, update, {**typed, f"{prefix}unit_price": "2"}).status_code == 303

    company = f"/w/{ws_a.slug}/companies/{acme}"
    added = post(client, f"{company}/purchases/", {"buyer": "", **PURCHASE, "unit_price": "7"})
    assert added.status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        own = db.session.scalar(
            sa.select(Purchase.id).where(Purchase.company_id == acme, Purchase.contact_id.is_(None))
        )
    update = f"{company}/purchases/{own}"
    refused = post(client, update, {**PURCHASE, "product": "Fleet service"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Enter an amount from 0" in page and 'value="Fleet service"' in page
    assert f'<a href="{company}">Acme Ltd</a>' in page
    assert_valid_page(page, update)
    assert post(client, update, {**PURCHASE, "product": "Fleet service", "unit_price": "9"}).status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Activity, note).body == "Better words"
        assert {row.product for row in db.session.scalars(sa.select(Purchase))} == {"Tea chest", "Fleet service"}
