"""The trash page (crm/contacts/trash.py): a tab each for contacts and companies, keyset pages,
restoring the ticked rows or the whole trash, within the member's scope and the workspace."""

from datetime import timedelta

import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.contacts.models import Company, Contact
from crm.contacts.queries import PER_PAGE
from crm.db import utcnow
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import assign_role, make_company, make_contact, make_member, make_merge, make_purchase, make_role
from tests.query_counter import count_queries
from tests.test_pages import assert_valid_page

RESULTS = {"HX-Request": "true", "HX-Target": "trash-results"}


def trash_url(ws, rest: str = "") -> str:
    return f"/w/{ws.slug}/contacts/trash{rest}"


def trashed(app, ws, model, record_id: int, days_ago: float = 0) -> int:
    with app.app_context(), workspace_scope(ws.id):
        db.session.get(model, record_id).deleted_at = utcnow() - timedelta(days=days_ago)
        db.session.commit()
    return record_id


def deleted(app, ws, model, record_id: int) -> bool:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.get(model, record_id).deleted_at is not None


def test_trash_tabs_list_the_latest_deleted_first(app, client, auth, ws_a):
    older = trashed(app, ws_a, Contact, make_contact(app, ws_a, "Older Ann"), days_ago=2)
    newer = trashed(app, ws_a, Contact, make_contact(app, ws_a, "Newer Bo"), days_ago=1)
    trashed(app, ws_a, Contact, make_contact(app, ws_a, "Long Gone"), days_ago=31)
    trashed(app, ws_a, Company, make_company(app, ws_a, "Acme Ltd"))
    make_contact(app, ws_a, "Live Cy")
    auth.login(ws_a.email, ws_a.password)
    page = client.get(trash_url(ws_a)).get_data(as_text=True)
    assert page.index(f'id="trash-{newer}"') < page.index(f'id="trash-{older}"')
    assert "Long Gone" not in page and "Live Cy" not in page and "Acme Ltd" not in page
    assert_valid_page(page, "trash")
    companies = client.get(trash_url(ws_a, "?kind=companies")).get_data(as_text=True)
    assert "Acme Ltd" in companies and "Newer Bo" not in companies
    assert 'aria-current="page">Companies<' in companies


def test_trash_pages_with_load_more_at_a_flat_query_count(app, client, auth, ws_a):
    ids = [trashed(app, ws_a, Contact, make_contact(app, ws_a, f"Gone {n:03}"), days_ago=n / 100)
           for n in range(PER_PAGE + 5)]  # fmt: skip
    auth.login(ws_a.email, ws_a.password)
    client.get(trash_url(ws_a))
    with count_queries(app) as statements:
        page = client.get(trash_url(ws_a)).get_data(as_text=True)
    assert len(statements) <= 3, statements  # sign-in, the page with its owners
    assert f'id="trash-{ids[0]}"' in page and f'id="trash-{ids[-1]}"' not in page
    more = page.split('id="trash-more"')[1].split('href="')[1].split('"')[0].replace("&amp;", "&")
    rest = client.get(more, headers={"HX-Request": "true", "HX-Target": "trash-more"}).get_data(as_text=True)
    assert f'id="trash-{ids[-1]}"' in rest and f'id="trash-{ids[0]}"' not in rest and "<html" not in rest


def test_restore_the_ticked_rows_or_the_whole_trash(app, client, auth, ws_a):
    first, second, third = (trashed(app, ws_a, Contact, make_contact(app, ws_a, name)) for name in ("A", "B", "C"))
    acme, globex = (trashed(app, ws_a, Company, make_company(app, ws_a, name)) for name in ("Acme", "Globex"))
    auth.login(ws_a.email, ws_a.password)
    ticked = {"kind": "contacts", "scope": "selected", "ids": [str(first), str(second)]}
    response = post(client, trash_url(ws_a, "/restore"), ticked, headers=RESULTS)
    assert response.status_code == 200 and "2 contacts restored." in response.headers["HX-Trigger"]
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="trash-results"') and f'id="trash-{third}"' in body
    assert not deleted(app, ws_a, Contact, first) and not deleted(app, ws_a, Contact, second)
    assert deleted(app, ws_a, Contact, third) and deleted(app, ws_a, Company, acme)
    with app.app_context(), workspace_scope(ws_a.id):
        actions = db.session.scalars(sa.select(AuditEntry.record_id).where(AuditEntry.action == "contact.restored"))
        assert sorted(actions) == sorted([first, second])
    response = post(client, trash_url(ws_a, "/restore"), {"kind": "companies", "scope": "all"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/contacts/trash?kind=companies")
    assert not deleted(app, ws_a, Company, acme) and not deleted(app, ws_a, Company, globex)
    assert deleted(app, ws_a, Contact, third)


def test_restore_refuses_a_bad_request_and_changes_nothing(app, client, auth, ws_a):
    gone = trashed(app, ws_a, Contact, make_contact(app, ws_a, "Gone"))
    old = trashed(app, ws_a, Contact, make_contact(app, ws_a, "Too old"), days_ago=31)
    auth.login(ws_a.email, ws_a.password)
    for data, message in (
        ({"kind": "contacts", "scope": "selected"}, "Tick at least one row"),
        ({"kind": "contacts", "scope": "selected", "ids": ["x"]}, "Tick at least one row"),
        ({"kind": "contacts", "scope": "selected", "ids": [str(n) for n in range(1, 1003)]}, "Tick at most 1000 rows"),
    ):
        response = post(client, trash_url(ws_a, "/restore"), data, headers=RESULTS)
        assert response.status_code == 422 and message in response.headers["HX-Trigger"]
        assert response.headers["HX-Reswap"] == "none"  # the tab keeps what was ticked
    assert deleted(app, ws_a, Contact, gone)
    # Past the restore window, even ticked by hand, a contact stays in the trash.
    response = post(client, trash_url(ws_a, "/restore"), {"kind": "contacts", "ids": [str(old)]}, headers=RESULTS)
    assert "Nothing was restored" in response.headers["HX-Trigger"] and deleted(app, ws_a, Contact, old)
    # An unknown kind is the contacts' tab.
    assert 'aria-current="page">Contacts<' in client.get(trash_url(ws_a, "?kind=users")).get_data(as_text=True)


def test_trash_of_another_workspace_is_never_shown_nor_restored(app, client, auth, ws_a, ws_b):
    foreign = trashed(app, ws_b, Contact, make_contact(app, ws_b, "Beta Secret"))
    foreign_company = trashed(app, ws_b, Company, make_company(app, ws_b, "Beta Corp"))
    auth.login(ws_a.email, ws_a.password)
    assert "Beta Secret" not in client.get(trash_url(ws_a)).get_data(as_text=True)
    assert "Beta Corp" not in client.get(trash_url(ws_a, "?kind=companies")).get_data(as_text=True)
    post(client, trash_url(ws_a, "/restore"), {"kind": "contacts", "ids": [str(foreign)]})
    post(client, trash_url(ws_a, "/restore"), {"kind": "contacts", "scope": "all"})
    post(client, trash_url(ws_a, "/restore"), {"kind": "companies", "scope": "all"})
    assert deleted(app, ws_b, Contact, foreign) and deleted(app, ws_b, Company, foreign_company)
    assert client.get(f"/w/{ws_b.slug}/contacts/trash").status_code == 404


def test_the_trash_needs_delete_and_keeps_to_the_members_own_records(app, client, auth, ws_a):
    seller = make_member(app, ws_a, "seller@alpha.example.com")  # sales: no contacts.delete
    own = make_role(app, ws_a, "Own cleaner", permissions=["contacts.read", "contacts.delete"], record_scope="own")
    cleaner = make_member(app, ws_a, "cleaner@alpha.example.com")
    assign_role(app, ws_a, cleaner.membership_id, own)
    mine = trashed(app, ws_a, Contact, make_contact(app, ws_a, "Mine", owner_id=cleaner.membership_id))
    theirs = trashed(app, ws_a, Contact, make_contact(app, ws_a, "Theirs"))
    auth.login(seller.email, seller.password)
    assert client.get(trash_url(ws_a)).status_code == 403
    assert post(client, trash_url(ws_a, "/restore"), {"kind": "contacts", "scope": "all"}).status_code == 403
    auth.logout()
    auth.login(cleaner.email, cleaner.password)
    page = client.get(trash_url(ws_a)).get_data(as_text=True)
    assert "Mine" in page and "Theirs" not in page
    post(client, trash_url(ws_a, "/restore"), {"kind": "contacts", "ids": [str(mine), str(theirs)]})
    assert not deleted(app, ws_a, Contact, mine) and deleted(app, ws_a, Contact, theirs)


def test_a_contact_merged_away_is_not_in_the_trash_until_the_merge_is_undone(app, client, auth, ws_a):
    from crm.duplicates.models import ContactMerge

    survivor = make_contact(app, ws_a, "Ann Lee")
    merged = make_contact(app, ws_a, "Ann Lee-Wong")  # the merge trashes it
    deleted_too = trashed(app, ws_a, Contact, make_contact(app, ws_a, "Bo Deleted"))
    merge = make_merge(app, ws_a, survivor, merged)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(trash_url(ws_a)).get_data(as_text=True)
    assert "Bo Deleted" in page and "Ann Lee-Wong" not in page
    assert '<span id="trash-question" hidden data-question="Restore 1 contact from the trash?">' in page
    post(client, trash_url(ws_a, "/restore"), {"kind": "contacts", "scope": "all"})
    post(client, trash_url(ws_a, "/restore"), {"kind": "contacts", "ids": [str(merged)]})
    assert deleted(app, ws_a, Contact, merged) and not deleted(app, ws_a, Contact, deleted_too)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(ContactMerge, merge).undone_at = utcnow()
        db.session.commit()
    assert "Ann Lee-Wong" in client.get(trash_url(ws_a)).get_data(as_text=True)


def test_each_row_restores_in_place_and_companies_are_audited(app, client, auth, ws_a):
    companies = [trashed(app, ws_a, Company, make_company(app, ws_a, f"Firm {n:02}"), days_ago=n / 100)
                 for n in range(PER_PAGE + 2)]  # fmt: skip
    auth.login(ws_a.email, ws_a.password)
    page = client.get(trash_url(ws_a, "?kind=companies")).get_data(as_text=True)
    assert 'hidden data-question="Restore all 52 companies in the trash?"' in page
    assert f'name="ids" value="{companies[0]}">' in page  # the row's own Restore
    more = page.split('id="trash-more"')[1].split('href="')[1].split('"')[0].replace("&amp;", "&")
    assert "kind=companies" in more and "Firm 51" in client.get(more, headers={"HX-Request": "true",
                                                                              "HX-Target": "trash-more"}).get_data(
        as_text=True
    )  # fmt: skip
    # A row's own Restore: htmx takes the row away (rows loaded by "Load more" stay); the answer
    # brings the whole tab's question up to date, out of band.
    row = {"HX-Request": "true", "HX-Target": f"trash-{companies[0]}"}
    response = post(client, trash_url(ws_a, "/restore"), {"kind": "companies", "ids": [str(companies[0])]}, headers=row)
    body = response.get_data(as_text=True)
    assert "1 company restored." in response.headers["HX-Trigger"] and "<tr" not in body
    assert 'data-question="Restore all 51 companies in the trash?" data-hx-swap-oob="true"' in body
    with app.app_context(), workspace_scope(ws_a.id):
        entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "company.restored")).one()
        assert (entry.record_id, entry.changes) == (companies[0], {"name": [None, "Firm 00"]})


def test_the_last_rows_own_restore_shows_the_empty_tab(app, client, auth, ws_a):
    last = trashed(app, ws_a, Contact, make_contact(app, ws_a, "Last One"))
    auth.login(ws_a.email, ws_a.password)
    row = {"HX-Request": "true", "HX-Target": f"trash-{last}"}
    body = post(client, trash_url(ws_a, "/restore"), {"kind": "contacts", "ids": [str(last)]}, headers=row).get_data(
        as_text=True
    )
    assert '<div id="trash-results" data-hx-swap-oob="true">' in body and "No contact is in the trash." in body


def test_each_row_says_how_many_days_are_left_counted_where_the_workspace_is(app, client, auth, ws_a, monkeypatch):
    from datetime import UTC, datetime

    from crm.workspaces.models import Workspace

    now = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)  # March 11, 04:00 in Shanghai
    monkeypatch.setattr("crm.contacts.trash.utcnow", lambda: now)
    with app.app_context():
        db.session.get(Workspace, ws_a.id).timezone = "Asia/Shanghai"
        db.session.commit()
    when = {
        "Just Gone": now - timedelta(minutes=1),  # leaves April 10 in Shanghai
        "Gone Tomorrow": datetime(2026, 2, 10, 10, 0, tzinfo=UTC),  # leaves March 12, 18:00 in Shanghai
        "Gone Tonight": datetime(2026, 2, 9, 15, 0, tzinfo=UTC),  # leaves March 11, 23:00 in Shanghai
        "Gone Already": datetime(2026, 2, 8, 17, 0, tzinfo=UTC),  # left March 11, 01:00 in Shanghai
    }
    ids = {name: make_contact(app, ws_a, name) for name in when}
    with app.app_context(), workspace_scope(ws_a.id):
        for name, deleted_at in when.items():
            db.session.get(Contact, ids[name]).deleted_at = deleted_at
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    page = client.get(trash_url(ws_a)).get_data(as_text=True).replace("\u202f", " ")

    def left(name: str) -> str:
        row = page[page.index(f'id="trash-{ids[name]}"') :]
        return row[
            row.index('class="time-left">') + len('class="time-left">') : row.index("</td>", row.index("time-left"))
        ]

    assert '<th scope="col">Time left</th>' in page
    assert left("Just Gone") == "30 days left"
    # In UTC it would still be March 10, and these two would have 2 days and 1 day left.
    assert left("Gone Tomorrow") == "1 day left"
    assert left("Gone Tonight") == "Last day: restorable until 11:00 PM"
    assert "Gone Already" not in page
    assert_valid_page(page, "trash")


def test_a_restored_contact_is_classified_as_of_today_not_as_of_the_day_it_was_deleted(app, client, auth, ws_a):
    from datetime import date

    from crm.purchases.models import Purchase

    ann = make_contact(app, ws_a, "Ann Lee")
    bob = make_contact(app, ws_a, "Bob Stone")
    purchase = make_purchase(app, ws_a, ann, amount=600, on=date.today() - timedelta(days=300))
    make_purchase(app, ws_a, bob, amount=600, on=date.today() - timedelta(days=300))
    trashed(app, ws_a, Contact, ann, days_ago=20)
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Contact, ann).tier == "C"  # 600 in the last 12 months
        # While it was in the trash its purchase left the 12 months (the nightly run leaves the trash out).
        db.session.get(Purchase, purchase).purchased_on = date.today() - timedelta(days=380)
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    response = post(client, trash_url(ws_a, "/restore"), {"kind": "contacts", "scope": "selected", "ids": str(ann)})
    assert response.status_code == 303
    listed = client.get(f"/w/{ws_a.slug}/contacts/", query_string={"cols": "tier", "tier": "C"}).get_data(as_text=True)
    assert "Bob Stone" in listed and "Ann Lee" not in listed
    with app.app_context(), workspace_scope(ws_a.id):
        restored = db.session.get(Contact, ann)
        assert (restored.tier, restored.value_12m, restored.lifetime_value) == ("D", 0, 600)
        assert db.session.scalar(
            sa.select(sa.func.count()).where(AuditEntry.action == "contact.reclassified", AuditEntry.record_id == ann)
        )
