"""Ids in query strings and forms that no BIGINT column holds (25 nines), or digits ``int`` refuses
("²", which ``str.isdigit`` takes): a filter by one matches nothing, a form or a lookup finds
nothing, and no page is a 500 (SQLite raised OverflowError on such a number, PostgreSQL refused it
as out of range). Path ids are matched by the URL converters (crm/security.py) and answer 404."""

import csv
import io

import openpyxl
import pytest

from crm.extensions import db
from crm.tenancy import workspace_scope
from crm.tickets.models import Ticket
from tests.conftest import post
from tests.factories import make_company, make_contact, make_deal, make_import, make_pipeline, make_ticket
from tests.test_cross_workspace import _private_saved_reply

BIG = "9" * 25
NOT_IDS = [BIG, "²", "9" * 5000]  # int() refuses more than 4,300 digits
PANEL = {"HX-Request": "true", "HX-Target": "saved-views-panel"}


def ticket_number(app, ws, ticket_id: int) -> int:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.get(Ticket, ticket_id).number


def url(ws, rest: str) -> str:
    return f"/w/{ws.slug}/{rest}"


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def ann(app, ws_a):
    return make_contact(app, ws_a, "Ann Lee", company_id=make_company(app, ws_a, "Acme Ltd"))


def test_the_contacts_list_and_its_exports_by_a_company_no_id_names_list_nobody(app, client, auth, ws_a, ann):
    auth.login(ws_a.email, ws_a.password)
    for asked in ({"company": BIG}, {"company": BIG, "q": "ann"}):
        listed = client.get(url(ws_a, "contacts/"), query_string=asked)
        assert listed.status_code == 200
        assert "Ann Lee" not in text(listed) and "No contact matches." in text(listed)
    exported = client.get(url(ws_a, "contacts/export.csv"), query_string={"company": BIG})
    rows = list(csv.reader(io.StringIO(text(exported).removeprefix("\ufeff"))))  # the body streams: read it all
    assert exported.status_code == 200 and rows[0][0] == "Name" and len(rows) == 1
    sheet = client.get(url(ws_a, "contacts/export.xlsx"), query_string={"company": BIG})
    workbook = openpyxl.load_workbook(io.BytesIO(sheet.get_data()), read_only=True)
    assert sheet.status_code == 200 and len(list(workbook.active.iter_rows(values_only=True))) == 1
    counted = client.get(url(ws_a, "contacts/bulk-count"), query_string={"scope": "all", "company": BIG})
    assert counted.status_code == 200 and "0 contacts match this list." in text(counted)


def test_a_company_filter_that_is_no_number_is_left_out_as_any_other_word(app, client, auth, ws_a, ann):
    auth.login(ws_a.email, ws_a.password)
    listed = client.get(url(ws_a, "contacts/"), query_string={"company": "²"})
    assert listed.status_code == 200 and "Ann Lee" in text(listed)
    counted = client.get(url(ws_a, "contacts/bulk-count"), query_string={"scope": "all", "company": "²"})
    assert counted.status_code == 200 and "1 contact matches this list." in text(counted)


@pytest.mark.parametrize("owner", NOT_IDS)
def test_an_owner_filter_no_id_names_is_no_500_on_any_list(app, client, auth, ws_a, ann, owner):
    auth.login(ws_a.email, ws_a.password)
    for rest in ("contacts/", "companies/", "deals/"):
        response = client.get(url(ws_a, rest), query_string={"owner": owner})
        assert response.status_code == 200, rest
        assert ("Ann Lee" in text(response)) is (rest == "contacts/" and owner == "²")  # "²" is no filter


def test_a_view_saved_with_a_company_no_id_names_opens_as_an_empty_list(app, client, auth, ws_a, ann):
    auth.login(ws_a.email, ws_a.password)
    in_list = {**PANEL, "HX-Current-URL": f"http://localhost{url(ws_a, 'contacts/')}?company={BIG}"}
    saved = post(client, url(ws_a, "contacts/views/"), {"name": "Nobody's", "company": BIG}, headers=in_list)
    assert saved.status_code == 200
    link = text(saved).split(">Nobody&#39;s<")[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert link == url(ws_a, f"contacts/?company={BIG}")
    opened = client.get(link)
    assert opened.status_code == 200 and "Ann Lee" not in text(opened)
    assert "No contact matches." in text(opened)


@pytest.mark.parametrize("value", NOT_IDS)
def test_the_duplicates_warning_with_ids_no_row_has_warns_of_the_look_alikes_only(app, client, auth, ws_a, value):
    make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"])
    auth.login(ws_a.email, ws_a.password)
    asked = {"contact": value, "company_id": value, "name": "Ann Lee", "emails": "ann@example.com"}
    response = client.get(url(ws_a, "duplicates/check"), query_string=asked)
    assert response.status_code == 200 and "Ann Lee" in text(response)  # the same email, whatever the ids say


@pytest.mark.parametrize("ids", NOT_IDS)
def test_restoring_or_changing_ticked_rows_no_id_names_changes_nothing(app, client, auth, ws_a, ann, ids):
    auth.login(ws_a.email, ws_a.password)
    post(client, url(ws_a, f"contacts/{ann}/delete"), {})
    restored = post(client, url(ws_a, "contacts/trash/restore"), {"kind": "contacts", "ids": ids},
                    follow_redirects=True)  # fmt: skip
    assert restored.status_code == 200
    assert "Tick at least one row, or choose the whole trash." in text(restored)
    assert "Ann Lee" not in text(client.get(url(ws_a, "contacts/")))
    tagged = post(client, url(ws_a, "contacts/bulk"), {"action": "tag", "tag_value": "x", "ids": ids},
                  follow_redirects=True)  # fmt: skip
    assert tagged.status_code == 200


@pytest.mark.parametrize("value", NOT_IDS)
def test_forms_and_lookups_with_ids_no_row_has_find_nothing(app, client, auth, ws_a, ann, value):
    make_deal(app, ws_a, "Cups for Acme")
    ticket = ticket_number(app, ws_a, make_ticket(app, ws_a, ann)[0])
    import_id = make_import(app, ws_a)
    _private_saved_reply(app, ws_a)  # "private words"
    auth.login(ws_a.email, ws_a.password)
    new_contact = client.get(url(ws_a, "contacts/new"), query_string={"company": value})
    assert new_contact.status_code == 200 and '<option selected value="">None</option>' in text(new_contact)
    for asked in ({"contact": value}, {"company": value}, {"stage": value, "pipeline": value}):
        new_deal = client.get(url(ws_a, "deals/new"), query_string=asked)
        assert new_deal.status_code == 200, asked
    board = client.get(url(ws_a, "deals/"), query_string={"all": value})
    assert board.status_code == 200 and "Cups for Acme" in text(board)
    reply = client.get(url(ws_a, f"tickets/{ticket}/saved-reply"), query_string={"saved_reply": value})
    assert reply.status_code == 200 and "private words" not in text(reply)
    mapping = post(client, url(ws_a, f"imports/{import_id}/mapping"), {"saved": value}, follow_redirects=True)
    assert mapping.status_code == 200 and "Choose one of the saved mappings." in text(mapping)


@pytest.mark.parametrize("target", NOT_IDS)
def test_removing_a_stage_towards_a_stage_no_id_names_is_refused_next_to_the_select(app, client, auth, ws_a, target):
    partners = make_pipeline(app, ws_a, "Partners", stages=(("Talk", 20), ("Sign", 70)))
    make_deal(app, ws_a, "Tea chests", partners.stages["Talk"])
    auth.login(ws_a.email, ws_a.password)
    remove = url(ws_a, f"settings/pipelines/{partners.id}/stages/{partners.stages['Talk']}/delete")
    response = post(client, remove, {"target": target})
    assert response.status_code == 422 and 'id="target-error"' in text(response)
    page = text(client.get(url(ws_a, f"settings/pipelines/{partners.id}")))
    assert ">Talk<" in page  # the stage is still there


@pytest.mark.parametrize("value", NOT_IDS)
def test_reports_orders_and_bulk_changes_sent_what_no_id_is_refuse_it(app, client, auth, ws_a, ann, value):
    partners = make_pipeline(app, ws_a, "Partners")
    number = ticket_number(app, ws_a, make_ticket(app, ws_a, ann)[0])
    auth.login(ws_a.email, ws_a.password)
    for rest, words in (
        ("reports/sales", "Choose one of the pipelines."),
        ("reports/service", "Choose one of the categories."),
    ):
        response = client.get(url(ws_a, rest), query_string={"pipeline": value, "category": value})
        assert response.status_code == 422 and words in text(response), rest
    for rest in ("settings/lost-reasons/order", f"settings/pipelines/{partners.id}/stages/order"):
        assert post(client, url(ws_a, rest), {"order": value}).status_code < 500, rest
    tickets = post(client, url(ws_a, "tickets/bulk"), {"ticket": value, "bulk_status": "open"})
    assert tickets.status_code == 303
    assert "Choose tickets, and a status or an assignee for them." in text(client.get(tickets.headers["Location"]))
    assignee = post(client, url(ws_a, "tickets/bulk"), {"ticket": str(number), "bulk_assignee": value})
    assert "Choose a member who answers tickets." in text(client.get(assignee.headers["Location"]))
    owner = post(client, url(ws_a, "contacts/bulk"), {"action": "owner", "bulk_owner": value, "ids": str(ann)},
                 headers={"HX-Request": "true", "HX-Target": "contact-results"})  # fmt: skip
    assert owner.status_code == 422 and "Choose one of the members listed." in owner.headers["HX-Trigger"]
