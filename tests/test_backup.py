"""Workspace backup and restore: a ZIP of every record, streamed; restored into a new, empty
workspace with new ids, compared record by record with the original; refusals that leave nothing
half-restored; who may do it."""

import base64
import csv
import io
import json
import re
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from crm.activities.models import Activity
from crm.audit.models import AuditEntry
from crm.backup import schema
from crm.backup.schema import RECORD_TYPE, USERS, WORKSPACES, plan, record_tables, references_of
from crm.backup.service import schema_version
from crm.contacts.models import Contact, ContactIdentity, SavedView
from crm.data_quality.models import DataQualityFinding, DataQualityRun
from crm.duplicates.models import ContactMerge, DuplicatePair
from crm.extensions import db
from crm.imports.models import ImportChange, SavedMapping
from crm.members.models import Invitation
from crm.purchases.models import Purchase
from crm.secrets import decrypt
from crm.tenancy import scoped_tables, workspace_scope
from crm.workspaces.models import Membership, Role, Workspace
from tests.conftest import post
from tests.factories import (
    assign_role,
    make_activity,
    make_company,
    make_company_purchase,
    make_contact,
    make_custom_field,
    make_deal,
    make_deal_item,
    make_import,
    make_invitation,
    make_member,
    make_note,
    make_product,
    make_purchase,
    make_quote,
    make_role,
    make_saved_view,
    make_ticket,
    make_workspace,
    set_custom_value,
)
from tests.test_pages import assert_valid_page
from tests.test_workspace_settings import TINY_PNG

# --- helpers -------------------------------------------------------------------------------------


def backup_url(ws, rest: str = "") -> str:
    return f"/w/{ws.slug}/settings/backup/{rest}"


def download(client, ws) -> bytes:
    response = client.get(backup_url(ws, "download"))
    assert response.status_code == 200, response.status_code
    return response.get_data()


def restore(client, ws, data: bytes, filename: str = "backup.zip"):
    return post(client, backup_url(ws, "restore"), {"file": (io.BytesIO(data), filename)},
                content_type="multipart/form-data")  # fmt: skip


def rezip(data: bytes, changes: dict[str, bytes | None]) -> bytes:
    """The same ZIP with some entries replaced (or, with None, left out)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename in changes:
                if changes[info.filename] is not None:
                    target.writestr(info.filename, changes[info.filename])
            else:
                target.writestr(info.filename, source.read(info.filename))
    return out.getvalue()


def counts(app, ws) -> dict[str, int]:
    with app.app_context(), workspace_scope(ws.id):
        statement = sa.select(sa.func.count()).select_from
        return {p.name: db.session.scalar(statement(p.table).where(p.table.c.workspace_id == ws.id)) for p in plan()}


def rows_of(app, ws) -> dict[str, list[dict]]:
    """Every row of every backed-up table of ``ws``, by id."""
    with app.app_context(), workspace_scope(ws.id):
        return {
            p.name: [dict(row) for row in db.session.execute(
                sa.select(p.table).where(p.table.c.workspace_id == ws.id).order_by(p.table.c.id)
            ).mappings()]
            for p in plan()
        }  # fmt: skip


def upload_files(app) -> set[str]:
    folder = Path(app.config["UPLOAD_DIR"]) / "imports"
    return {path.name for path in folder.iterdir()} if folder.exists() else set()


def fill(app, client, auth, ws):
    """A workspace with something in every table: members, a custom role, custom fields (one
    sensitive), companies, contacts with tags, phones and custom values, activities, purchases,
    notes, a saved view naming a member and a company, imports (one run in update mode, one with
    its file still kept), a saved mapping, a duplicate pair and a merge, a data quality run, an
    invitation, and the audit log of it all. A new table needs a row here: the round trip says which."""
    sam = make_member(app, ws, "sam@alpha.example.com", role="sales")
    vic = make_member(app, ws, "vic@alpha.example.com", role="viewer")
    custom_role = make_role(app, ws, "Field team", permissions=("contacts.read", "notes.write"), record_scope="own")
    assign_role(app, ws, vic.membership_id, custom_role)
    segment = make_custom_field(app, ws, "Segment", kind="select", options=["Retail", "Wholesale"])
    id_number = make_custom_field(app, ws, "ID number", sensitive=True)
    make_custom_field(app, ws, "Region code", entity="company")
    shanghai = make_company(app, ws, "上海贸易", phone="+862150000000", owner_id=sam.membership_id)
    acme = make_company(app, ws, "=cmd|' /C calc'!A0", website="acme.example.com")
    wang = make_contact(app, ws, "王小明", tags=["vip", "展会"], emails=["wang@example.com"],
                        phones=["+8613800138000"], company_id=shanghai, owner_id=sam.membership_id,
                        birthday=date(1990, 5, 1), city="上海")  # fmt: skip
    ann = make_contact(app, ws, "Ann Lee", emails=["ann@example.com"], title="Clerk", owner_id=sam.membership_id)
    evil = make_contact(app, ws, "=cmd|' /C calc'!A0", company_id=acme, tags=["vip"])
    set_custom_value(app, ws, wang, segment, "Retail")
    set_custom_value(app, ws, wang, id_number, "310101199005010000")
    make_activity(app, ws, wang, "Met at the fair", kind="meeting")
    make_activity(app, ws, ann, "Call back", kind="task", assignee_id=sam.membership_id,
                  due_at=datetime(2030, 1, 2, 9, 30, tzinfo=UTC))  # fmt: skip
    make_purchase(app, ws, wang, "Green tea", amount=Decimal("1234.50"), quantity="2.5")
    make_company_purchase(app, ws, acme, "Office tea", amount=99)
    make_note(app, ws, "Stock-take on Friday, 周五盘点", author_id=sam.membership_id)
    tea_deal = make_deal(app, ws, "Tea for Shanghai", value=5000, contact_id=wang, company_id=shanghai,
                         owner_id=sam.membership_id)  # fmt: skip
    make_deal_item(app, ws, tea_deal, make_product(app, ws, "Green tea", sku="GT-1", unit_price="2500"), quantity=2)
    make_quote(app, ws, make_deal(app, ws, "Quoted cups", value=300, owner_id=sam.membership_id))
    _ticket_with_conversation(app, ws, wang, sam.membership_id)
    make_saved_view(app, ws, "Sam's Shanghai", f"owner={sam.membership_id}&company={shanghai}&cols=email",
                    owner_id=sam.membership_id, shared=False)  # fmt: skip
    make_invitation(app, ws, "invitee@example.com")
    make_import(app, ws, "Name,Email\nKept File,kept@example.com\n", status="checked")
    auth.login(ws.email, ws.password)
    # An import run in update mode: its contact changes (with the owner they had) are kept for undo.
    sheet = f"Name,Email,Title,Owner\nAnn Lee,ann@example.com,CEO,{ws.email}\nBo Chen,bo@example.com,,\n"
    sheet += "Bad Mail,not-an-email,,\n"
    response = post(client, f"/w/{ws.slug}/imports/", {"file": (io.BytesIO(sheet.encode()), "people.csv")},
                    content_type="multipart/form-data")  # fmt: skip
    import_id = int(re.search(r"/imports/(\d+)", response.headers["Location"]).group(1))
    mapping = {"column_0": "name", "column_1": "email", "column_2": "title", "column_3": "owner", "mode": "update",
               "match_by": "email"}  # fmt: skip
    assert post(client, f"/w/{ws.slug}/imports/{import_id}/check", mapping).status_code == 303
    assert post(client, f"/w/{ws.slug}/imports/{import_id}/run", {}).status_code == 303
    with app.app_context(), workspace_scope(ws.id):
        contact_ids = list(db.session.scalars(sa.select(Contact.id).order_by(Contact.id)))
        db.session.add(DuplicatePair(contact_id=contact_ids[0], other_id=contact_ids[1], group_id=contact_ids[0],
                                     score=80, reason="name", detail="上海贸易"))  # fmt: skip
        activity = db.session.scalar(sa.select(Activity.id).where(Activity.contact_id == wang))
        purchase = db.session.scalar(sa.select(Purchase.id).where(Purchase.contact_id == wang))
        db.session.add(ContactMerge(survivor_id=wang, merged_id=evil, merged_by=sam.membership_id,
                                    before={"owner_id": sam.membership_id, "company_id": shanghai, "title": None},
                                    moved={"activities": [activity], "purchases": [purchase]}))  # fmt: skip
        db.session.add(
            SavedMapping(entity="contact", name="Trade fair list", columns={"姓名": "name", "邮箱": "email"})
        )
        run = DataQualityRun(status="done", user_id=ws.user_id, contacts_total=4, contacts_checked=4,
                             counts={"invalid_email": 1}, finished_at=datetime(2030, 1, 1, tzinfo=UTC))  # fmt: skip
        db.session.add(run)
        db.session.flush()
        db.session.add(DataQualityFinding(run_id=run.id, contact_id=ann, kind="invalid_email", detail="ann@"))
        workspace = db.session.get(Workspace, ws.id)
        workspace.timezone, workspace.currency, workspace.phone_region = "Asia/Shanghai", "CNY", "CN"
        workspace.customer_rules = {"tier_a": 10000}
        workspace.logo, workspace.logo_type = TINY_PNG, "image/png"
        db.session.commit()
    return {"sam": sam, "vic": vic, "wang": wang, "ann": ann, "shanghai": shanghai, "id_number": id_number}


def _ticket_with_conversation(app, ws, contact_id: int, member_id: int) -> int:
    """A complaint in a category, assigned, answered, noted on and replied to by the customer."""
    from crm.saved_replies.models import SavedReply
    from crm.tickets import attachments
    from crm.tickets import service as tickets
    from crm.tickets.models import Ticket, TicketCategory

    with app.app_context(), workspace_scope(ws.id):
        delivery = db.session.scalar(sa.select(TicketCategory.id).where(TicketCategory.name == "Delivery"))
    ticket_id, _token = make_ticket(app, ws, contact_id, "快递延误", category_id=delivery, reference="SO-1")
    with app.app_context(), workspace_scope(ws.id):
        ticket = db.session.get(Ticket, ticket_id)
        tickets.assign(ticket, member_id)
        tickets.add_reply(ticket, "Sorry, a new parcel is on its way.", kind="public", author_id=member_id)
        tickets.add_reply(ticket, "Courier lost it", kind="internal", author_id=member_id)
        reply = tickets.add_reply(ticket, '=HYPERLINK("x") still waiting', kind="customer", author_id=None)
        photo = FileStorage(io.BytesIO(TINY_PNG), filename="parcel.png")
        attachments.save(reply, attachments.check([photo]))
        db.session.add(SavedReply(title="Parcel late", body="Sorry {customer_first_name}, it is on its way."))
        db.session.commit()
    # A newer ticket that the first was merged into: a reference to a row restored after it.
    newer_id, _token = make_ticket(app, ws, contact_id, "Still no parcel")
    with app.app_context(), workspace_scope(ws.id):
        db.session.get(Ticket, ticket_id).merged_into_id = newer_id
        db.session.commit()
    return ticket_id


# --- the round trip ------------------------------------------------------------------------------


class Maps:
    """Old id -> new id per table, found by the test itself: rows of a table pair up in id order
    (a restore inserts them in that order), memberships by user, roles by key or name."""

    def __init__(self, old_ws, new_ws, before: dict, after: dict, kept_audit: int):
        self.tables = {WORKSPACES: {old_ws.id: new_ws.id}}  # accounts: the same server, the same ids
        for p in plan():
            old, new = before[p.name], after[p.name]
            if p.name == "memberships":  # only the restorer's comes back; the others' records are theirs
                assert len(new) == 1, new
                self.tables[p.name] = {row["id"]: new[0]["id"] for row in old}
            elif p.name == "roles":
                by_key = {row["builtin"] or row["name"]: row["id"] for row in new}
                self.tables[p.name] = {row["id"]: by_key[row["builtin"] or row["name"]] for row in old}
            else:
                if p.name == "audit_log":  # the new workspace's own entries, then the restored ones
                    new = new[kept_audit:]
                assert len(new) >= len(old), p.name
                self.tables[p.name] = {o["id"]: n["id"] for o, n in zip(old, new, strict=False)}

    def of(self, table: str, old):
        if old is None or table == USERS:
            return old
        return self.tables[table][old]


def _record_id(maps: Maps, row: dict):
    table = record_tables().get(row["record_type"])
    if table in maps.tables:
        return maps.of(table, row["record_id"])
    return row["record_id"] if table == USERS else None


def _ids_in(value, table, maps):
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return maps.of(table, value)
    return [_ids_in(item, table, maps) for item in value] if isinstance(value, list) else value


def expected_value(table: str, column: str, row: dict, maps: Maps, sensitive: set):
    """What ``column`` of the restored copy of ``row`` must hold."""
    value = row[column]
    references = {r.column: r.table for r in references_of(db.Model.metadata.tables[table])}
    if column in references:
        if references[column] == RECORD_TYPE:
            return _record_id(maps, row)
        return maps.of(references[column], value)
    if (table, column) in schema.KEYED_IDS and isinstance(value, dict):
        keys = schema.id_keys()
        value = {k: _ids_in(v, keys[k], maps) if keys.get(k) in maps.tables or keys.get(k) == USERS else v
                 for k, v in value.items()}  # fmt: skip
    if (table, column) in schema.IDS_BY_TABLE:
        value = {k: _ids_in(v, k, maps) for k, v in value.items()}
    if (table, column) in schema.QUERY_IDS:
        for argument, target in schema.QUERY_IDS[(table, column)].items():
            value = re.sub(rf"(^|&)({argument})=(\d+)", lambda m, t=target: f"{m[1]}{m[2]}={maps.of(t, int(m[3]))}",
                           value)  # fmt: skip
    if (table, column) in schema.CUSTOM_VALUES:
        value = clear_custom(table, column, value, sensitive)
    return value


def clear_custom(table, column, value, sensitive):
    _entity, inner = schema.CUSTOM_VALUES[(table, column)]
    custom = value.get(inner) if inner and isinstance(value, dict) else value
    if not isinstance(custom, dict):
        return value
    clear = {k: decrypt(v) if k in sensitive and v is not None else v for k, v in custom.items()}
    return {**value, inner: clear} if inner else clear


def test_export_then_restore_into_a_new_workspace_gives_every_record_back(app, client, auth, ws_a):
    made = fill(app, client, auth, ws_a)
    uploads_before = upload_files(app)
    backup = download(client, ws_a)
    before = rows_of(app, ws_a)
    assert all(before[name] for name in before), [name for name in before if not before[name]]  # nothing untested

    copy = make_workspace(app, "Alpha Copy", ws_a.email)  # the same owner, a new workspace
    kept_audit = counts(app, copy)["audit_log"]
    response = restore(client, copy, backup)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The backup of Alpha Trading is restored" in page
    assert "The records of the other members are now yours: sam@alpha.example.com, vic@alpha.example.com" in page
    after = rows_of(app, copy)

    maps = Maps(ws_a, copy, before, after, kept_audit)
    with app.app_context():
        sensitive = {"id_number"}
        for p in plan():
            old_rows = before[p.name]
            new_rows = after[p.name][kept_audit:] if p.name == "audit_log" else after[p.name]
            if p.name == "audit_log":
                assert [row["action"] for row in new_rows[len(old_rows) :]] == ["workspace.restored"]
            elif p.name not in ("memberships", "roles"):
                assert len(new_rows) == len(old_rows), p.name
            for old in old_rows:
                if p.name == "memberships" and old["user_id"] != ws_a.user_id:
                    continue  # not restored (test_other_members_are_not_put_into_the_copy)
                new = next(row for row in new_rows if row["id"] == maps.of(p.name, old["id"]))
                assert new["workspace_id"] == copy.id
                for column in p.columns:
                    if column == "id":
                        continue
                    if p.name == "memberships" and old["user_id"] == ws_a.user_id and column == "joined_at":
                        continue  # the restorer's own membership is the new workspace's
                    if (p.name, column) in schema.FILES:
                        assert new[column] != old[column]  # a new name of its own
                        continue
                    expected = expected_value(p.name, column, old, maps, sensitive)
                    got = new[column]
                    if (p.name, column) in schema.CUSTOM_VALUES:
                        got = clear_custom(p.name, column, got, sensitive)
                    assert got == expected, f"{p.name}.{column} of row {old['id']}: {got!r} != {expected!r}"

    # Only the restorer is a member (still Owner); the custom roles and the settings came along.
    assert len(after["memberships"]) == 1
    with app.app_context(), workspace_scope(copy.id):
        field_team = db.session.scalar(sa.select(Role).where(Role.name == "Field team"))
        assert field_team.record_scope == "own"
        mine = db.session.scalar(sa.select(Membership).where(Membership.user_id == ws_a.user_id))
        assert mine.is_owner
        wang = db.session.scalar(sa.select(Contact).where(Contact.name == "王小明"))
        assert sorted(tag.name for tag in wang.tags) == ["vip", "展会"]
        assert wang.owner.user.email == ws_a.email and wang.company.name == "上海贸易"  # Sam's, now Alice's
        identities = db.session.scalars(sa.select(ContactIdentity.value).where(ContactIdentity.contact_id == wang.id))
        assert sorted(identities) == ["+8613800138000", "wang@example.com"]
        assert json.loads(decrypt(wang.custom["id_number"])) == "310101199005010000"
        change = db.session.scalar(sa.select(ImportChange))  # what undoing the import puts back
        assert change.before == {"title": "Clerk", "owner_id": maps.of("memberships", made["sam"].membership_id)}
        view = db.session.scalar(sa.select(SavedView))
        assert (
            view.query == f"owner={maps.of('memberships', made['sam'].membership_id)}"
            f"&company={maps.of('companies', made['shanghai'])}&cols=email"
        )
        assert db.session.scalar(sa.select(sa.func.count(Invitation.id))) == 0
        restored = db.session.get(Workspace, copy.id)
        assert (restored.name, restored.slug) == ("Alpha Copy", copy.slug)  # keeps its own name and address
        assert (restored.timezone, restored.currency, restored.phone_region) == ("Asia/Shanghai", "CNY", "CN")
        assert restored.customer_rules == {"tier_a": 10000}
        assert (restored.logo, restored.logo_type) == (TINY_PNG, "image/png")
    # The import's kept file is copied, under a new name.
    assert len(upload_files(app) - uploads_before) == 1
    # Found by search, which its indexes (FTS triggers on SQLite) serve.
    assert "王小明" in client.get(f"/w/{copy.slug}/contacts/?q=13800138000").get_data(as_text=True)
    # The original is untouched.
    assert rows_of(app, ws_a)["contacts"] == before["contacts"]


def test_other_members_are_not_put_into_the_copy(app, client, auth, ws_a, ws_b):
    """A file cannot put anyone into a workspace, nor tell whether an address has an account here:
    Sam (an account of this server) and Bob (Owner of another workspace, named by a crafted file)
    are both reported alike, to be invited again, and their records are the restorer's."""
    sam = make_member(app, ws_a, "sam@alpha.example.com", role="sales")
    make_contact(app, ws_a, "Ann Lee", owner_id=sam.membership_id)
    make_note(app, ws_a, "Sam's note", author_id=sam.membership_id)
    auth.login(ws_a.email, ws_a.password)
    backup = download(client, ws_a)
    crafted = zipfile.ZipFile(io.BytesIO(backup)).read("data/users.jsonl").replace(b"sam@alpha", b"bob@beta")
    copy = make_workspace(app, "Alpha Copy", ws_a.email)
    response = restore(client, copy, backup)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The records of the other members are now yours: sam@alpha.example.com." in page
    page = client.get(backup_url(copy)).get_data(as_text=True)
    assert "Members to invite again" in page and "sam@alpha.example.com" in page  # the report stays
    with app.app_context(), workspace_scope(copy.id):
        mine = db.session.scalar(sa.select(Membership.id).where(Membership.user_id == ws_a.user_id))
        assert db.session.scalar(sa.select(sa.func.count(Membership.id))) == 1
        assert db.session.scalar(sa.select(Contact.owner_id)) == mine
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "workspace.restored"))
        assert entry.changes["members_not_restored"] == [None, "sam@alpha.example.com"]
        assert entry.actor_id == ws_a.user_id
    other = make_workspace(app, "Alpha Other", ws_a.email)
    response = restore(client, other, rezip(backup, {"data/users.jsonl": crafted}))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The records of the other members are now yours: bob@beta.example.com." in page
    with app.app_context(), workspace_scope(other.id):
        assert db.session.scalar(sa.select(sa.func.count(Membership.id))) == 1
    auth.logout()
    auth.login(ws_b.email, ws_b.password)
    assert client.get(f"/w/{other.slug}/").status_code == 404  # Bob was not let in


def test_a_backup_moves_to_a_server_with_other_encryption_keys(app, client, auth, ws_a):
    from cryptography.fernet import Fernet

    field = make_custom_field(app, ws_a, "ID number", sensitive=True)
    contact = make_contact(app, ws_a, "王小明")
    set_custom_value(app, ws_a, contact, field, "310101199005010000")
    auth.login(ws_a.email, ws_a.password)
    backup = download(client, ws_a)
    line = zipfile.ZipFile(io.BytesIO(backup)).read("data/contacts.jsonl").decode()
    assert json.loads(line)["custom"] == {"id_number": "310101199005010000"}  # in clear in the file
    keys = app.config["ENCRYPTION_KEYS"]
    app.config["ENCRYPTION_KEYS"] = Fernet.generate_key().decode()  # the other server's only key
    try:
        copy = make_workspace(app, "Alpha Copy", ws_a.email)
        assert restore(client, copy, backup).status_code == 303
        with app.app_context(), workspace_scope(copy.id):
            stored = db.session.scalar(sa.select(Contact.custom))["id_number"]
            assert stored != "310101199005010000" and json.loads(decrypt(stored)) == "310101199005010000"
    finally:
        app.config["ENCRYPTION_KEYS"] = keys


# --- the file ------------------------------------------------------------------------------------


def test_the_download_is_streamed_and_audited(app, client, auth, ws_a):
    make_contact(app, ws_a, "Ann Lee")
    auth.login(ws_a.email, ws_a.password)
    response = client.get(backup_url(ws_a, "download"))
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "application/zip"
    assert re.fullmatch(r'attachment; filename="kehu-backup-alpha-trading-\d{8}-\d{6}\.zip"',
                        response.headers["Content-Disposition"])  # fmt: skip
    assert response.headers["Cache-Control"] == "no-store"
    chunks = list(response.response)
    assert len(chunks) > 5  # a batch at a time, not one block
    assert zipfile.ZipFile(io.BytesIO(b"".join(chunks))).testzip() is None
    with app.app_context(), workspace_scope(ws_a.id):
        actions = db.session.scalars(sa.select(AuditEntry.action))
        assert "workspace.backup_downloaded" in list(actions)


def test_manifest_lists_version_workspace_and_counts(app, client, auth, ws_a):
    make_contact(app, ws_a, "Ann Lee")
    make_contact(app, ws_a, "Bo Chen")
    make_invitation(app, ws_a, "invitee@example.com")
    auth.login(ws_a.email, ws_a.password)
    archive = zipfile.ZipFile(io.BytesIO(download(client, ws_a)))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["format"] == "kehu-workspace-backup" and manifest["format_version"] == 1
    assert manifest["app"] == "Kehu CRM"
    newest = sorted(path.name for path in (Path(app.root_path).parent / "migrations" / "versions").glob("0*.py"))[-1]
    assert manifest["schema_version"] == schema_version() == newest.split("_")[0]  # the Alembic head
    assert manifest["workspace"] == {"id": ws_a.id, "name": "Alpha Trading", "slug": "alpha-trading"}
    assert manifest["exported_by"] == ws_a.email
    assert datetime.fromisoformat(manifest["exported_at"]) > datetime.now(UTC) - timedelta(minutes=1)
    tables = counts(app, ws_a)
    assert {name: entry["rows"] for name, entry in manifest["tables"].items()} == tables  # audit log included
    assert manifest["tables"]["contacts"] == {"file": "data/contacts.jsonl", "rows": 2}
    assert set(manifest["excluded"]) == {
        "invitations",
        "workspace_slugs",
        "assignment_rotations",
        "portal_sign_ins",
        "invoices",
        "bulk_jobs",
        "classification_runs",
        "ticket_breach_notices",
    }
    for name, entry in manifest["tables"].items():
        assert len(archive.read(entry["file"]).splitlines()) == entry["rows"], name
    users = [json.loads(line) for line in archive.read("data/users.jsonl").splitlines()]
    assert users == [{"id": ws_a.user_id, "email": ws_a.email, "name": "Alice"}]  # no password, no second factor
    settings = json.loads(archive.read("workspace.json"))
    assert settings["name"] == "Alpha Trading" and settings["timezone"] == "UTC"
    assert "invitee@example.com" not in b"".join(archive.read(name) for name in archive.namelist()).decode()


def test_spreadsheets_for_people_read_in_excel_and_neutralise_formulas(app, client, auth, ws_a):
    company = make_company(app, ws_a, "上海贸易")
    make_contact(app, ws_a, "王小明", emails=["wang@example.com"], company_id=company, tags=["展会"],
                 phones=["+8613800138000"])  # fmt: skip
    make_contact(app, ws_a, "=cmd|' /C calc'!A0", title="+SUM(A1)")
    make_company(app, ws_a, "@evil")
    auth.login(ws_a.email, ws_a.password)
    archive = zipfile.ZipFile(io.BytesIO(download(client, ws_a)))
    text = archive.read("people/contacts.csv").decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:4] == ["Name", "Email addresses", "Phone numbers", "Company"]
    assert rows[1][:4] == ["王小明", "wang@example.com", "'+8613800138000", "上海贸易"]  # + starts a formula too
    assert "展会" in rows[1]
    assert rows[2][0] == "'=cmd|' /C calc'!A0" and "'+SUM(A1)" in rows[2]
    companies = list(csv.reader(io.StringIO(archive.read("people/companies.csv").decode("utf-8-sig"))))
    assert [row[0] for row in companies[1:]] == ["上海贸易", "'@evil"]
    # The JSON Lines keep the value as it is: a restore must give it back unchanged.
    names = [json.loads(line)["name"] for line in archive.read("data/contacts.jsonl").splitlines()]
    assert names == ["王小明", "=cmd|' /C calc'!A0"]


# --- refusals ------------------------------------------------------------------------------------


@pytest.fixture
def backup_of_a(app, client, auth, ws_a):
    make_contact(app, ws_a, "Ann Lee", tags=["vip"])
    make_import(app, ws_a, "Name\nKept\n", status="uploaded")
    auth.login(ws_a.email, ws_a.password)
    data = download(client, ws_a)
    return data


@pytest.fixture
def fresh(app, ws_a):
    return make_workspace(app, "Alpha Copy", ws_a.email)


def test_a_workspace_with_records_is_refused(app, client, backup_of_a, ws_a, fresh):
    response = restore(client, ws_a, backup_of_a)
    assert response.status_code == 409
    assert "A backup is restored into a new, empty workspace, and this one already has records (" in \
        response.get_data(as_text=True)  # fmt: skip
    make_custom_field(app, fresh, "Segment")
    before = counts(app, fresh)
    response = restore(client, fresh, backup_of_a)
    assert response.status_code == 409 and "(custom_fields)" in response.get_data(as_text=True)
    assert counts(app, fresh) == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda data: b"PK\x03\x04 not really a zip", "This is not a ZIP file."),
        (lambda data: rezip(data, {"manifest.json": None}), "This ZIP file has no manifest.json"),
        (lambda data: rezip(data, {"manifest.json": b"{not json"}), "The manifest.json of this backup cannot be read."),
        (lambda data: rezip(data, {"manifest.json": b'{"format": "something else"}'}), "is not a workspace backup"),
        (lambda data: _with_manifest(data, schema_version="0001"),
         "This backup was made by another version of Kehu (database schema 0001; this server has"),
        (lambda data: _with_manifest(data, format_version=99), "in a format this version of Kehu does not read"),
        (lambda data: rezip(data, {"data/contacts.jsonl": None}),
         "The backup is incomplete: data/contacts.jsonl is missing."),
        (lambda data: rezip(data, {"data/contacts.jsonl": b"{broken\n"}), "line 1 of data/contacts.jsonl is not JSON."),
        (lambda data: rezip(data, {"data/contact_tags.jsonl": b'{"id": 1, "contact_id": 999, "tag_id": 1}\n'}),
         "line 1 of data/contact_tags.jsonl points at a record that is not in it."),
        (lambda data: rezip(data, {"data/tags.jsonl": b'{"id": 1, "name": "vip", "colour": "red"}\n'}),
         "line 1 of data/tags.jsonl has other columns."),
        (lambda data: rezip(data, {"data/tags.jsonl": b'{"id": 1, "name": 42}\n'}),
         "line 1 of data/tags.jsonl holds a value that cannot be read."),
        # A zip bomb: a few kilobytes that unpack to one line, or one manifest, of many megabytes.
        (lambda data: rezip(data, {"data/notes.jsonl": b'{"body": "' + b"x" * 5_000_000 + b'"}\n'}),
         "line 1 of data/notes.jsonl is too long."),
        (lambda data: rezip(data, {"manifest.json": b" " * 9_000_000 + b"{}"}),
         "manifest.json of this backup cannot be"),
        (lambda data: _with_settings(data, logo=base64.b64encode(b"<script>alert(1)</script>").decode(),
                                     logo_type="text/html"), "workspace.json holds a logo that is not an image."),
    ],
)  # fmt: skip
def test_a_file_that_is_not_a_good_backup_is_refused_with_nothing_written(
    app, client, backup_of_a, fresh, change, message
):
    before, files = counts(app, fresh), upload_files(app)
    response = restore(client, fresh, change(backup_of_a))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert counts(app, fresh) == before
    assert upload_files(app) == files


def _with_settings(data: bytes, **changes) -> bytes:
    settings = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("workspace.json"))
    return rezip(data, {"workspace.json": json.dumps({**settings, **changes}).encode()})


def _with_manifest(data: bytes, **changes) -> bytes:
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))
    return rezip(data, {"manifest.json": json.dumps({**manifest, **changes}).encode()})


def test_a_fault_at_the_end_undoes_the_whole_restore(app, client, backup_of_a, fresh):
    """The audit log comes last: every other table is in when its bad line is read."""
    before, files = counts(app, fresh), upload_files(app)
    archive = zipfile.ZipFile(io.BytesIO(backup_of_a))
    audit_lines = archive.read("data/audit_log.jsonl") + b'{"id": 99999999}\n'
    response = restore(client, fresh, rezip(backup_of_a, {"data/audit_log.jsonl": audit_lines}))
    assert response.status_code == 422 and "data/audit_log.jsonl has other columns" in response.get_data(as_text=True)
    assert counts(app, fresh) == before  # no contact, no tag, no import
    assert upload_files(app) == files  # the kept import file written meanwhile is gone again


def test_no_file_and_too_big_a_file_are_refused(app, client, backup_of_a, fresh):
    response = post(client, backup_url(fresh, "restore"), {}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose a backup file." in response.get_data(as_text=True)
    limit = app.config["BACKUP_MAX_BYTES"]
    app.config["BACKUP_MAX_BYTES"] = 1000
    try:
        response = restore(client, fresh, backup_of_a + b"\0" * 2000)
    finally:
        app.config["BACKUP_MAX_BYTES"] = limit
    assert response.status_code == 413


def test_a_zip_that_unpacks_to_too_much_is_refused(app, client, backup_of_a, fresh):
    limit = app.config["BACKUP_MAX_BYTES"]
    app.config["BACKUP_MAX_BYTES"] = 100_000  # unpacked at most 25 times that
    try:
        response = restore(client, fresh, rezip(backup_of_a, {"data/notes.jsonl": b" " * 3_000_000}))
    finally:
        app.config["BACKUP_MAX_BYTES"] = limit
    assert response.status_code == 422 and "This backup unpacks to more than 2 MB" in response.get_data(as_text=True)


# --- who may ---------------------------------------------------------------------------------------


def test_only_the_owner_or_a_full_admin_may_back_up_or_restore(app, client, auth, ws_a):
    admin = make_member(app, ws_a, "ada@alpha.example.com", role="admin")
    sales = make_member(app, ws_a, "sam@alpha.example.com", role="sales")
    viewer = make_member(app, ws_a, "vic@alpha.example.com", role="viewer")
    settings_only = make_member(app, ws_a, "sid@alpha.example.com")
    assign_role(app, ws_a, settings_only.membership_id, make_role(app, ws_a, "Settings", ("settings.manage",)))
    for member in (sales, viewer, settings_only):
        auth.login(member.email, member.password)
        assert client.get(backup_url(ws_a)).status_code == 403, member.email
        assert client.get(backup_url(ws_a, "download")).status_code == 403, member.email
        assert restore(client, ws_a, b"PK").status_code == 403, member.email
        auth.logout()
    auth.login(admin.email, admin.password)
    page = client.get(backup_url(ws_a))
    assert page.status_code == 200 and "Download backup" in page.get_data(as_text=True)
    assert client.get(backup_url(ws_a, "download")).status_code == 200


def test_the_settings_tabs_link_to_the_backup_page_for_those_who_may_manage_settings(app, client, auth, ws_a):
    sales = make_member(app, ws_a, "sam@alpha.example.com", role="sales")
    auth.login(ws_a.email, ws_a.password)
    assert f'href="/w/{ws_a.slug}/settings/backup/"' in client.get(f"/w/{ws_a.slug}/settings").get_data(as_text=True)
    auth.logout()
    auth.login(sales.email, sales.password)
    assert "/settings/backup/" not in client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)


def test_another_workspace_cannot_download_or_restore(app, client, auth, ws_a, ws_b):
    make_contact(app, ws_a, "Secret Person")
    auth.login(ws_b.email, ws_b.password)
    for path in ("", "download"):
        response = client.get(backup_url(ws_a, path))
        assert response.status_code == 404 and "Secret" not in response.get_data(as_text=True)
    backup_of_b = download(client, ws_b)
    assert b"Secret" not in backup_of_b
    assert restore(client, ws_a, backup_of_b).status_code == 404
    assert counts(app, ws_a)["contacts"] == 1


def test_the_backup_page_is_valid_and_says_what_to_do(app, client, auth, ws_a, fresh):
    make_contact(app, ws_a, "Ann Lee")
    auth.login(ws_a.email, ws_a.password)
    html = client.get(backup_url(ws_a)).get_data(as_text=True)
    assert_valid_page(html, "backup page of a workspace with records")
    assert "Create a new workspace" in html and 'name="file"' not in html
    html = client.get(backup_url(fresh)).get_data(as_text=True)
    assert_valid_page(html, "backup page of an empty workspace")
    assert 'name="file"' in html and 'data-hx-boost="false"' in html
    response = restore(client, fresh, b"not a zip")
    assert_valid_page(response.get_data(as_text=True), "restore refused")
    assert 'aria-invalid="true"' in response.get_data(as_text=True)


# --- the plan --------------------------------------------------------------------------------------


def test_every_workspace_table_is_backed_up_or_excluded_with_a_reason(app):
    with app.app_context():
        names = [p.name for p in plan()]
        assert set(names) | set(schema.EXCLUDED) == set(scoped_tables())
        position = {name: index for index, name in enumerate(names)}
        for p in plan():
            for reference in p.references:
                if reference.table in position and reference.table != p.name:  # own rows: a second pass
                    assert position[reference.table] < position[p.name], f"{p.name} before {reference.table}"


def test_every_id_and_json_column_is_understood(app):
    """A new integer ``*_id`` column that is no foreign key, or a new JSON column, must be taught to
    crm/backup/schema.py: its ids would otherwise keep pointing at the old workspace's rows."""
    with app.app_context():
        for p in plan():
            references = {r.column for r in p.references}
            for column in p.table.columns:
                if (
                    isinstance(column.type, sa.Integer)
                    and column.name.endswith("_id")
                    and column.name != "workspace_id"
                ):
                    assert column.name in references or column.name in schema.NOT_REFERENCES.get(p.name, ()), (
                        f"{p.name}.{column.name}: a reference? add it to SOFT_REFERENCES or NOT_REFERENCES"
                    )
                if isinstance(column.type, sa.JSON):
                    key = (p.name, column.name)
                    known = schema.PLAIN_JSON | schema.KEYED_IDS | schema.IDS_BY_TABLE | set(schema.CUSTOM_VALUES)
                    assert key in known, f"{p.name}.{column.name}: classify this JSON column in crm/backup/schema.py"


def test_the_owner_role_keeps_every_permission(app, client, auth, ws_a, fresh):
    auth.login(ws_a.email, ws_a.password)
    backup = download(client, ws_a)
    roles = [json.loads(line) for line in zipfile.ZipFile(io.BytesIO(backup)).read("data/roles.jsonl").splitlines()]
    for role in roles:
        if role["builtin"] == "owner":
            role["permissions"] = ["contacts.read"]
    crafted = rezip(backup, {"data/roles.jsonl": b"".join(json.dumps(r).encode() + b"\n" for r in roles)})
    assert restore(client, fresh, crafted).status_code == 303
    with app.app_context(), workspace_scope(fresh.id):
        owner = db.session.scalar(sa.select(Role).where(Role.builtin == "owner"))
        assert "settings.manage" in owner.permissions


def test_a_backup_names_files_only_in_its_own_folder(app, client, auth, ws_a, fresh):
    """A restore never writes where a backup says, nor points an import at another's file."""
    auth.login(ws_a.email, ws_a.password)
    victim = make_import(app, ws_a, "Name\nSomeone else's\n", status="uploaded")
    backup = download(client, ws_a)
    with app.app_context(), workspace_scope(ws_a.id):
        from crm.imports.models import Import

        victim_name = db.session.get(Import, victim).stored_name
    files = upload_files(app)
    archive = zipfile.ZipFile(io.BytesIO(backup))
    rows = [json.loads(line) for line in archive.read("data/imports.jsonl").splitlines()]
    rows[0]["stored_name"] = "../../escape.csv"
    changes = {"data/imports.jsonl": b"".join(json.dumps(r).encode() + b"\n" for r in rows),
               "files/imports/../../escape.csv": b"Name\nEscaped\n"}  # fmt: skip
    assert restore(client, fresh, rezip(backup, changes)).status_code == 303
    assert not (Path(app.config["UPLOAD_DIR"]).parent / "escape.csv").exists()
    with app.app_context(), workspace_scope(fresh.id):
        from crm.imports.models import Import

        restored = db.session.scalar(sa.select(Import))
        assert restored.stored_name != victim_name and restored.stored_name.startswith(f"{fresh.id}-")
        assert ".." not in restored.stored_name
    assert upload_files(app) - files == set()  # the backup had no file for it under a name of ours


def test_the_commands_back_up_and_restore_without_the_page_limits(app, tmp_path, ws_a):
    make_contact(app, ws_a, "王小明", tags=["vip"])
    copy = make_workspace(app, "Alpha Copy", ws_a.email)
    runner = app.test_cli_runner()
    archive = tmp_path / "alpha.zip"
    result = runner.invoke(args=["crm", "backup", ws_a.slug, str(archive)])
    assert result.exit_code == 0, result.output
    assert json.loads(zipfile.ZipFile(archive).read("manifest.json"))["tables"]["contacts"]["rows"] == 1
    result = runner.invoke(args=["crm", "restore-backup", str(archive), copy.slug, "--user", "nobody@example.com"])
    assert result.exit_code != 0 and "nobody@example.com is not a member of alpha-copy" in result.output
    result = runner.invoke(args=["crm", "restore-backup", str(archive), copy.slug, "--user", ws_a.email])
    assert result.exit_code == 0, result.output
    assert "Restored" in result.output and "of Alpha Trading into alpha-copy" in result.output
    assert counts(app, copy)["contacts"] == 1
    result = runner.invoke(args=["crm", "restore-backup", str(archive), copy.slug, "--user", ws_a.email])
    assert result.exit_code != 0 and "already has records (" in result.output


def test_a_restored_brand_colour_that_is_not_one_is_dropped(app, client, backup_of_a, fresh):
    """The settings form only takes "#rrggbb"; a backup's edited colour must not break the Service page."""
    assert restore(client, fresh, _with_settings(backup_of_a, brand_color="red;}body{x")).status_code in (200, 303)
    with app.app_context():
        assert db.session.get(Workspace, fresh.id).brand_color is None
    assert client.get(f"/w/{fresh.slug}/settings/service/").status_code == 200
