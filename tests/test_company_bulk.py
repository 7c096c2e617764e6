"""Bulk actions on the companies list: assign an owner, move to the trash and export, on the ticked
rows or on every company the list's filters select, each company audited on its own; bad requests
change nothing; the actions' permissions, the member's record scope and the workspace hold."""

import csv
import io

import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.contacts.models import Company
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import assign_role, make_company, make_member, make_role

RESULTS = {"HX-Request": "true", "HX-Target": "company-results"}


def bulk_url(ws) -> str:
    return f"/w/{ws.slug}/companies/bulk"


def company(app, ws, company_id: int) -> Company:
    with app.app_context(), workspace_scope(ws.id):
        record = db.session.get(Company, company_id)
        db.session.expunge(record)
        return record


def audited(app, ws, action: str) -> list[int]:
    with app.app_context(), workspace_scope(ws.id):
        return sorted(db.session.scalars(sa.select(AuditEntry.record_id).where(AuditEntry.action == action)))


def test_assign_an_owner_and_trash_the_ticked_companies(app, client, auth, ws_a):
    acme, bolt, zen = (make_company(app, ws_a, name) for name in ("Acme", "Bolt", "Zen"))
    seller = make_member(app, ws_a, "seller@alpha.example.com")
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/companies/").get_data(as_text=True)
    assert 'id="bulk-form"' in page and f'id="select-{acme}"' in page and 'data-select-all="ids"' in page
    ticked = {"scope": "selected", "ids": [str(acme), str(bolt)]}
    response = post(client, bulk_url(ws_a), {**ticked, "action": "owner", "bulk_owner": str(seller.membership_id)},
                    headers=RESULTS)  # fmt: skip
    assert response.status_code == 200 and "2 companies changed." in response.headers["HX-Trigger"]
    assert response.get_data(as_text=True).lstrip().startswith('<div id="company-results"')
    assert company(app, ws_a, acme).owner_id == seller.membership_id == company(app, ws_a, bolt).owner_id
    assert company(app, ws_a, zen).owner_id is None
    with app.app_context(), workspace_scope(ws_a.id):
        change = db.session.scalar(sa.select(AuditEntry.changes).where(AuditEntry.action == "company.updated",
                                                                      AuditEntry.record_id == acme))  # fmt: skip
    assert change == {"owner_id": [None, seller.membership_id]}
    response = post(client, bulk_url(ws_a), {**ticked, "action": "delete"}, headers=RESULTS)
    assert "2 companies moved to the trash." in response.headers["HX-Trigger"]
    assert audited(app, ws_a, "company.deleted") == sorted([acme, bolt])
    assert company(app, ws_a, zen).deleted_at is None


def test_all_companies_matching_a_filter_and_never_another_workspaces(app, client, auth, ws_a, ws_b):
    tea = [make_company(app, ws_a, f"Tea {n}", industry="Tea") for n in range(3)]
    bolt = make_company(app, ws_a, "Bolt", industry="Hardware")
    foreign = make_company(app, ws_b, "Beta Tea", industry="Tea")
    auth.login(ws_a.email, ws_a.password)
    response = post(client, bulk_url(ws_a), {"scope": "all", "industry": "tea", "action": "delete"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/companies/?industry=tea")
    assert all(company(app, ws_a, c).deleted_at for c in tea) and company(app, ws_a, bolt).deleted_at is None
    post(client, bulk_url(ws_a), {"scope": "selected", "ids": [str(foreign)], "action": "delete"})
    post(client, bulk_url(ws_a), {"scope": "all", "action": "owner", "bulk_owner": str(ws_a.membership_id)})
    assert company(app, ws_b, foreign).deleted_at is None and company(app, ws_b, foreign).owner_id is None
    assert company(app, ws_a, bolt).owner_id == ws_a.membership_id


def test_bad_bulk_requests_say_why_and_change_nothing(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme")
    auth.login(ws_a.email, ws_a.password)
    for data, message in (
        ({"scope": "selected", "action": "delete"}, "Select at least one company"),
        ({"scope": "selected", "action": "export"}, "Select at least one company"),
        ({"scope": "selected", "ids": [str(acme)], "action": "add_tag"}, "Choose an action."),
        ({"scope": "selected", "ids": [str(acme)], "action": "owner", "bulk_owner": "999999"}, "Choose one of the"),
        ({"scope": "selected", "ids": [str(acme)], "action": "owner", "bulk_owner": ""}, "Choose the new owner, or"),
        ({"scope": "selected", "ids": [str(n) for n in range(1, 1002)], "action": "delete"}, "at most 1000 companies"),
        ({"scope": "selected", "ids": [str(n) for n in range(1, 1002)], "action": "export"}, "at most 1000 companies"),
    ):
        response = post(client, bulk_url(ws_a), data, headers=RESULTS)
        assert response.status_code == 422, data
        assert message in response.headers["HX-Trigger"], data
        # Nothing is swapped: the ticked rows and the chosen action stay for the member to mend.
        assert response.headers["HX-Reswap"] == "none" and response.get_data(as_text=True) == ""
    stored = company(app, ws_a, acme)
    assert stored.deleted_at is None and stored.owner_id is None


def test_assign_owner_without_javascript_asks_for_the_owner_on_its_own_page(app, client, auth, ws_a):
    acme, bolt = make_company(app, ws_a, "Acme"), make_company(app, ws_a, "Bolt")
    auth.login(ws_a.email, ws_a.password)
    bar = {"scope": "selected", "ids": [str(acme)], "action": "owner", "bulk_owner": ""}
    page = post(client, bulk_url(ws_a), bar).get_data(as_text=True)
    assert "For the 1 ticked company." in page and f'name="ids" value="{acme}"' in page
    assert company(app, ws_a, acme).owner_id is None
    assert post(client, bulk_url(ws_a), {**bar, "bulk_owner": str(ws_a.membership_id)}).status_code == 303
    assert company(app, ws_a, acme).owner_id == ws_a.membership_id and company(app, ws_a, bolt).owner_id is None


def test_export_the_ticked_companies(app, client, auth, ws_a):
    acme, _bolt, zen = (make_company(app, ws_a, name) for name in ("Acme", "Bolt", "Zen"))
    auth.login(ws_a.email, ws_a.password)
    ticked = {"scope": "selected", "ids": [str(acme), str(zen)]}
    response = post(client, bulk_url(ws_a), {**ticked, "action": "export", "industry": ""})  # a plain form: the file
    assert response.headers["Content-Disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert sorted(row[0] for row in rows[1:]) == ["Acme", "Zen"]
    with app.app_context(), workspace_scope(ws_a.id):
        entry = db.session.scalar(sa.select(AuditEntry.changes).where(AuditEntry.action == "company.exported"))
    assert entry["filters"][1]["ids"] == [acme, zen]
    workbook = post(client, bulk_url(ws_a), {**ticked, "action": "export_xlsx"})
    assert workbook.status_code == 200 and workbook.headers["Content-Disposition"].endswith('.xlsx"')
    assert "Ticked rows: " in client.get(f"/w/{ws_a.slug}/settings/audit/").get_data(as_text=True)


def test_each_bulk_action_needs_its_permission_and_keeps_to_own_records(app, client, auth, ws_a):
    mine = make_company(app, ws_a, "Mine")
    theirs = make_company(app, ws_a, "Theirs", owner_id=ws_a.membership_id)
    support = make_member(app, ws_a, "support@alpha.example.com", role="support")  # read only
    auth.login(support.email, support.password)
    assert 'id="bulk-form"' not in client.get(f"/w/{ws_a.slug}/companies/").get_data(as_text=True)
    for action in ("owner", "delete", "export"):
        refused = post(client, bulk_url(ws_a), {"scope": "all", "action": action, "bulk_owner": ""})
        assert refused.status_code == 403, action
    auth.logout()
    own = make_role(app, ws_a, "Own", permissions=["contacts.read", "contacts.write"], record_scope="own")
    member = make_member(app, ws_a, "own@alpha.example.com")
    assign_role(app, ws_a, member.membership_id, own)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Company, mine).owner_id = member.membership_id
        db.session.commit()
    auth.login(member.email, member.password)
    post(client, bulk_url(ws_a), {"scope": "all", "action": "owner", "bulk_owner": "none"})
    post(client, bulk_url(ws_a), {"scope": "selected", "ids": [str(theirs)], "action": "owner",
                                  "bulk_owner": str(member.membership_id)})  # fmt: skip
    assert company(app, ws_a, mine).owner_id is None  # their own: changed
    assert company(app, ws_a, theirs).owner_id == ws_a.membership_id  # another's: out of reach either way


def test_the_bar_counts_all_matching_before_it_asks(app, client, auth, ws_a, ws_b, monkeypatch):
    for number in range(3):
        make_company(app, ws_a, f"Tea {number}", industry="Tea")
    make_company(app, ws_a, "Bolt", industry="Hardware")
    make_company(app, ws_b, "Beta Tea", industry="Tea")
    auth.login(ws_a.email, ws_a.password)
    url = f"/w/{ws_a.slug}/companies/bulk-count"
    counted = client.get(url, query_string={"scope": "all", "industry": "tea"}).get_data(as_text=True)
    assert (
        "3 companies match this list." in counted
        and 'data-question="Apply &#34;{action}&#34; to all 3 companies?"' in counted
    )
    assert client.get(url, query_string={"scope": "selected", "industry": "tea"}).get_data(as_text=True).strip() == ""
    monkeypatch.setattr("crm.contacts.bulk.COUNT_CAP", 2)
    capped = client.get(url, query_string={"scope": "all"}).get_data(as_text=True)
    assert "More than 2 companies match this list." in capped
    page = client.get(f"/w/{ws_a.slug}/companies/").get_data(as_text=True)
    assert (
        f'data-hx-get="{url}"' in page
        and 'data-confirm-other="Apply &#34;{action}&#34; to the {count} ticked companies?"' in page
    )


def test_a_change_too_large_for_one_request_runs_in_the_background(app, client, auth, ws_a, ws_b, monkeypatch):
    tea = [make_company(app, ws_a, f"Tea {n}", industry="Tea") for n in range(3)]
    bolt = make_company(app, ws_a, "Bolt", industry="Hardware")
    foreign = make_company(app, ws_b, "Beta Tea", industry="Tea")
    monkeypatch.setattr("crm.contacts.bulk.MAX_AT_ONCE", 2)
    auth.login(ws_a.email, ws_a.password)
    response = post(client, bulk_url(ws_a), {"scope": "all", "industry": "tea", "action": "delete"}, headers=RESULTS)
    assert "More than 2 companies: the change goes on in the background" in response.headers["HX-Trigger"]
    assert "<p>3 companies moved to the trash.</p>" in response.get_data(as_text=True)  # its panel, run inline
    assert all(company(app, ws_a, c).deleted_at for c in tea) and company(app, ws_a, bolt).deleted_at is None
    assert company(app, ws_b, foreign).deleted_at is None
    assert audited(app, ws_a, "company.deleted") == sorted(tea)
    post(client, f"/w/{ws_a.slug}/contacts/trash/restore", {"kind": "companies", "scope": "all"})
    assert not any(company(app, ws_a, c).deleted_at for c in tea)
