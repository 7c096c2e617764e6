"""The audit log: what gets recorded, who may read it, filters, paging, the CSV export."""

import csv
import io

import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import make_member, make_note
from tests.query_counter import count_queries


def entries(app, ws) -> list[AuditEntry]:
    with app.app_context(), workspace_scope(ws.id):
        rows = list(db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)))
        db.session.expunge_all()
        return rows


def audit_url(ws, query=""):
    return f"/w/{ws.slug}/settings/audit/{query}"


def test_sign_in_failure_and_sign_out_are_recorded_in_each_workspace_of_the_user(app, client, auth, ws_a, ws_b):
    make_member(app, ws_b, ws_a.email, role="viewer")
    post(client, "/login", {"email": ws_a.email, "password": "wrong password"}, headers={"User-Agent": "TestBrowser/1"})
    auth.login(ws_a.email, ws_a.password)
    auth.logout()
    for ws in (ws_a, ws_b):
        account = [e for e in entries(app, ws) if e.record_type == "user"]
        assert [e.action for e in account] == ["auth.login_failed", "auth.login", "auth.logout"]
        assert all(e.actor_label == ws_a.email and e.ip == "127.0.0.1" for e in account)
        assert account[0].user_agent == "TestBrowser/1"
    # Bob of Beta signing in leaves nothing in Alpha.
    auth.login(ws_b.email, ws_b.password)
    assert ws_b.email not in {e.actor_label for e in entries(app, ws_a)}


def test_password_change_and_ending_sessions_are_recorded(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    new = "a brand new passphrase"
    post(client, "/account/password", {"current_password": ws_a.password, "new_password": new})
    post(client, "/account/sessions/end", {})
    assert {"auth.password_changed", "auth.sessions_ended"} <= {e.action for e in entries(app, ws_a)}


def test_record_changes_keep_before_and_after(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    post(client, f"/w/{ws_a.slug}/settings", {"name": "Alpha Renamed", "slug": ws_a.slug, "timezone": "Asia/Shanghai"})
    note_id = make_note(app, ws_a, "first words", author_id=ws_a.membership_id)
    post(client, f"/w/{ws_a.slug}/notes/{note_id}", {f"note-{note_id}-body": "second words"})
    settings = next(e for e in entries(app, ws_a) if e.action == "workspace.updated")
    assert settings.changes == {"name": ["Alpha Trading", "Alpha Renamed"], "timezone": ["UTC", "Asia/Shanghai"]}
    edited = next(e for e in entries(app, ws_a) if e.action == "note.updated")
    assert edited.changes == {"body": ["first words", "second words"]}
    assert edited.record_id == note_id and edited.actor_label == ws_a.email


def test_only_roles_with_audit_view_read_the_log(app, client, auth, ws_a):
    manager = make_member(app, ws_a, "manager@alpha.example.com", role="manager")
    auth.login(manager.email, manager.password)
    assert client.get(audit_url(ws_a)).status_code == 403
    assert client.get(audit_url(ws_a, "export.csv")).status_code == 403


def test_filters_narrow_the_log_and_bad_dates_are_explained(app, client, auth, ws_a):
    clerk = make_member(app, ws_a, "clerk@alpha.example.com")
    post(app.test_client(), "/login", {"email": clerk.email, "password": clerk.password})
    auth.login(ws_a.email, ws_a.password)
    clerk_user = str(clerk.user_id)
    page = client.get(audit_url(ws_a, f"?actor={clerk_user}&action=auth.login")).get_data(as_text=True)
    assert "clerk@alpha.example.com" in page
    assert "alice@alpha.example.com</td>" not in page
    by_type = client.get(audit_url(ws_a, "?record_type=workspace")).get_data(as_text=True)
    assert "<td>Created the workspace</td>" in by_type and "<td>Signed in</td>" not in by_type
    empty = client.get(audit_url(ws_a, "?since=2000-01-01&until=2000-01-02")).get_data(as_text=True)
    assert "No entries match these filters." in empty
    backwards = client.get(audit_url(ws_a, "?since=2030-01-02&until=2030-01-01"))
    assert backwards.status_code == 422
    assert "The end date is before the start date." in backwards.get_data(as_text=True)
    assert client.get(audit_url(ws_a, "?action=no.such.action")).status_code == 422


def test_a_day_at_the_end_of_the_calendar_is_explained_not_a_server_error(app, client, auth, ws_a):
    with app.app_context():
        from crm.workspaces.models import Workspace

        db.session.get(Workspace, ws_a.id).timezone = "Asia/Shanghai"
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    for query in ("?until=9999-12-31", "?since=0001-01-01", "?since=9999-12-31"):
        page = client.get(audit_url(ws_a, query))
        assert page.status_code == 422
        assert "Choose a date from 2000 to 2100." in page.get_data(as_text=True)
        assert client.get(audit_url(ws_a, "export.csv" + query)).status_code == 422


def test_the_log_pages_newest_first_without_growing_queries(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    for i in range(60):
        make_note(app, ws_a, f"n{i}")  # made outside a request: no audit entry
    with app.app_context(), workspace_scope(ws_a.id):
        for i in range(60):
            db.session.add(AuditEntry(actor_label=ws_a.email, action="note.created", record_type="note", record_id=i))
        db.session.commit()
    with count_queries(app) as statements:
        first = client.get(audit_url(ws_a)).get_data(as_text=True)
    assert len(statements) <= 7, "\n".join(statements)
    assert "#59" in first and "#9<" not in first
    more_url = first.split('id="audit-more"')[1].split('data-hx-get="')[1].split('"')[0].replace("&amp;", "&")
    more = client.get(more_url, headers={"HX-Request": "true", "HX-Target": "audit-more"}).get_data(as_text=True)
    assert "<html" not in more and "#9<" in more
    # The links keep the filters, and nothing else of the address: url_for would take _external as its own.
    filtered = client.get(audit_url(ws_a, "?action=note.created&_external=1&_anchor=x")).get_data(as_text=True)
    more_url = filtered.split('id="audit-more"')[1].split('data-hx-get="')[1].split('"')[0].replace("&amp;", "&")
    assert more_url.startswith(f"/w/{ws_a.slug}/settings/audit/?") and "action=note.created" in more_url
    assert "_external" not in more_url and "#" not in more_url


def test_csv_export_follows_the_filters_and_defuses_formulas(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    post(client, f"/w/{ws_a.slug}/notes/", {"body": '=HYPERLINK("http://evil.example")'})
    response = client.get(audit_url(ws_a, "export.csv?action=note.created"))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Time (UTC)", "Person", "Action"]
    assert len(rows) == 2
    assert rows[1][2] == "Added a note"
    assert rows[1][5].startswith("body:")
    assert "=HYPERLINK" in rows[1][5]
    exported = [e for e in entries(app, ws_a) if e.action == "audit.exported"]
    assert exported[0].changes == {"filters": [None, {"action": "note.created"}]}


def test_csv_cells_that_a_spreadsheet_would_run_are_defused(app, client, auth, ws_a):
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.add(AuditEntry(actor_label="=cmd|'/C calc'!A0", action="note.deleted", user_agent="@SUM(1)"))
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    export = client.get(audit_url(ws_a, "export.csv?action=note.deleted")).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(export)))
    assert rows[1][1] == "'=cmd|'/C calc'!A0"
    assert rows[1][7] == "'@SUM(1)"


def test_an_entry_about_no_single_record_names_only_its_type(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    assert client.get(f"/w/{ws_a.slug}/contacts/export.csv").status_code == 200  # logged, about no one contact
    log = client.get(audit_url(ws_a)).get_data(as_text=True)
    assert "<td>Contact</td>" in log and "#None" not in log


def test_entries_that_log_counts_read_in_the_log_and_its_csv(app, client, auth, ws_a):
    with app.app_context(), workspace_scope(ws_a.id):  # as an import logs its outcome
        db.session.add(AuditEntry(actor_label=ws_a.email, action="import.completed", record_type="import",
                                  record_id=7, changes={"created": 6, "updated": 0, "skipped": 2}))  # fmt: skip
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    page = client.get(audit_url(ws_a))
    assert page.status_code == 200 and "<ins>6</ins>" in page.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(client.get(audit_url(ws_a, "export.csv")).get_data(as_text=True))))
    [imported] = [row for row in rows if row[4] == "7"]
    assert imported[5] == "created: 6; updated: 0; skipped: 2"


def test_logged_keys_read_as_the_pages_name_them(app, client, auth, ws_a):
    seller = make_member(app, ws_a, "sam@alpha.example.com")
    with app.app_context(), workspace_scope(ws_a.id):
        for action, changes in (
            ("contact.updated", {"owner_id": [None, seller.membership_id]}),
            ("contact.exported", {"filters": [None, {"q": "trade", "level": "potential"}], "format": [None, "csv"]}),
            ("workspace.rules_changed", {"tier_a": ["10000.00", "500.00"], "vip_by": ["value", "share"]}),
            ("activity.done", {"task": [None, "Send samples"]}),
        ):
            db.session.add(AuditEntry(actor_label=ws_a.email, action=action, record_type="contact", record_id=1,
                                      changes=changes))  # fmt: skip
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    page = client.get(audit_url(ws_a)).get_data(as_text=True)
    assert '<span class="field-name">Owner</span>: <ins>Test User</ins>' in page  # a name, not "Owner changed"
    assert '<span class="field-name">Filters</span>: <ins>Search: trade; Customer level: Potential</ins>' in page
    assert '<span class="field-name">File format</span>: <ins>CSV</ins>' in page
    assert '<span class="field-name">Tier A from</span>: <del>$10,000.00</del> → <ins>$500.00</ins>' in page
    assert '<span class="field-name">VIP</span>: <del>By value</del> → <ins>By share of customers</ins>' in page
    assert '<span class="field-name">Task</span>: <ins>Send samples</ins>' in page


def test_a_companys_phone_reads_as_the_workspace_writes_it(app, client, auth, ws_a):
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.add(AuditEntry(actor_label=ws_a.email, action="company.updated", record_type="company",
                                  record_id=1, changes={"phone": [None, "+16502530000"]}))  # fmt: skip
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    page = client.get(audit_url(ws_a)).get_data(as_text=True)
    assert '<span class="field-name">Phone</span>: <ins>(650) 253-0000</ins>' in page
