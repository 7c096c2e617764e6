"""Migrations and models agree (autogenerate finds nothing to do), and the chain goes down to
an empty database and back up, on whichever database the suite runs against."""

import json
import re
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from crm.extensions import db
from crm.search import is_search_index
from tests.conftest import owner_engine


def declared(name, type_, parent_names) -> bool:
    return not is_search_index(name, type_)


def test_models_and_migrations_agree(app):
    with app.app_context():
        engine = owner_engine(app)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": declared})
            differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_downgrade_to_base_and_upgrade_again(app):
    with app.app_context():
        downgrade(revision="base")
        engine = owner_engine(app)
        with engine.connect() as connection:
            remaining = set(engine.dialect.get_table_names(connection)) - {"alembic_version"}
        upgrade()
    assert remaining == set()


def test_existing_memberships_move_to_builtin_roles(app):
    """0002 gives every workspace its built-in roles: old owners stay Owners, other members become Sales."""
    with app.app_context():
        downgrade(revision="0001")
        engine = owner_engine(app)
        with engine.begin() as connection:
            _insert_0001_rows(connection)
        upgrade()
        with engine.begin() as connection:
            _enter_workspace(connection, 7)
            moved = connection.execute(
                sa.text(
                    "SELECT m.user_id, r.builtin, m.status FROM memberships m"
                    " JOIN roles r ON r.workspace_id = m.workspace_id AND r.id = m.role_id ORDER BY m.user_id"
                )
            ).all()
            role_count = connection.execute(sa.text("SELECT count(*) FROM roles WHERE workspace_id = 7")).scalar_one()
            notes = connection.execute(sa.text("SELECT author_id, body FROM notes")).all()
        if engine is not db.engine:
            engine.dispose()
    assert moved == [(1, "owner", "active"), (2, "sales", "active")]
    assert role_count == 6
    assert notes == [(2, "kept")]


def _enter_workspace(connection, workspace_id: int) -> None:
    if connection.dialect.name == "postgresql":  # RLS is forced, for the owner too
        connection.execute(sa.text("SELECT set_config('app.current_workspace', :ws, true)"), {"ws": str(workspace_id)})


def _insert_0001_rows(connection) -> None:
    """A workspace as revision 0001 stored it: an owner, a plain member and a note of the member."""

    def insert(table: str, **values) -> None:
        columns = ", ".join(values)
        marks = ", ".join(f":{name}" for name in values)
        connection.execute(sa.text(f"INSERT INTO {table} ({columns}) VALUES ({marks})"), values)

    now = datetime.now(UTC)
    insert("workspaces", id=7, name="Old Co", slug="old-co", timezone="UTC", created_at=now, updated_at=now)
    for user_id in (1, 2):
        insert(
            "users", id=user_id, email=f"u{user_id}@old.example.com", name="x", password_hash="x",
            session_version=1, created_at=now, updated_at=now,
        )  # fmt: skip
    _enter_workspace(connection, 7)
    insert("memberships", id=1, workspace_id=7, user_id=1, role="owner", joined_at=now)
    insert("memberships", id=2, workspace_id=7, user_id=2, role="member", joined_at=now)
    insert("notes", workspace_id=7, author_id=2, body="kept", created_at=now, updated_at=now)


def test_0013_fills_contact_identities_and_repairs_birthdays(app):
    """Contacts stored before 0013 are found by their email addresses and phone numbers (and, on
    PostgreSQL, get the month-day 0012 failed to fill under forced row-level security)."""
    from tests.factories import make_contact, make_workspace

    ws = make_workspace(app, "Old Co", "owner@old.example.com")
    make_contact(app, ws, "Ann Lee", emails=["ann@example.com", "ann@home.example"], phones=["+14155550100"],
                 birthday=date(1990, 5, 1))  # fmt: skip
    with app.app_context():
        downgrade(revision="0012")
        engine = owner_engine(app)
        with engine.begin() as connection:
            _enter_workspace(connection, ws.id)
            connection.execute(sa.text("UPDATE contacts SET birthday_md = NULL"))
        upgrade()
        with engine.begin() as connection:
            _enter_workspace(connection, ws.id)
            found = connection.execute(sa.text("SELECT kind, value FROM contact_identities ORDER BY kind, value")).all()
            month_day = connection.execute(sa.text("SELECT birthday_md FROM contacts")).scalar_one()
        if engine is not db.engine:
            engine.dispose()
    assert found == [("email", "ann@example.com"), ("email", "ann@home.example"), ("phone", "+14155550100")]
    assert month_day == (501 if engine.dialect.name == "postgresql" else None)


def test_0038_folds_the_stored_search_texts(app, client, auth):
    """Contacts, companies and tickets stored before 0038 (search texts with accents) are found by
    words typed without them after it, through the trigram index (SQLite's FTS5 table in step)."""
    from tests.factories import make_company, make_contact, make_ticket, make_workspace

    ws = make_workspace(app, "Old Co", "owner@old.example.com")
    sao = make_company(app, ws, "São Paulo Têxtil")
    jose = make_contact(app, ws, "José Müller", company_id=sao)
    make_contact(app, ws, "王小明")
    ticket, _ = make_ticket(app, ws, jose, "Café frío")
    old = {  # as 0037's code stored them: lower case, accents kept
        "contacts": (jose, "josé müller são paulo têxtil"),
        "companies": (sao, "são paulo têxtil"),
        "tickets": (ticket, "café frío customer@example.com"),
    }
    with app.app_context():
        downgrade(revision="0037")
        engine = owner_engine(app)
        with engine.begin() as connection:
            _enter_workspace(connection, ws.id)
            for table, (row_id, text) in old.items():
                connection.execute(sa.text(f"UPDATE {table} SET search_text = :text WHERE id = :id"),
                                   {"text": text, "id": row_id})  # fmt: skip
        upgrade(revision="0038")  # 0046 adds German spellings (test_0046_...)
        with engine.begin() as connection:
            _enter_workspace(connection, ws.id)
            stored = {
                table: sorted(connection.execute(sa.text(f"SELECT search_text FROM {table}")).scalars())
                for table in old
            }
        upgrade()
        if engine is not db.engine:
            engine.dispose()
    assert stored == {
        "contacts": ["jose muller sao paulo textil", "王小明 |王| |小| |明| |王小| |小明|"],  # as written now
        "companies": ["sao paulo textil"],
        "tickets": ["cafe frio customer@example.com"],
    }
    auth.login(ws.email, ws.password)
    contacts = client.get(f"/w/{ws.slug}/contacts/", query_string={"q": "jose muller textil"}).get_data(as_text=True)
    assert "José Müller" in contacts
    assert "王小明" in client.get(f"/w/{ws.slug}/contacts/", query_string={"q": "小明"}).get_data(as_text=True)
    companies = client.get(f"/w/{ws.slug}/companies/", query_string={"q": "paulo"}).get_data(as_text=True)
    assert "São Paulo Têxtil" in companies
    tickets = client.get(f"/w/{ws.slug}/tickets/", query_string={"q": "frio"}).get_data(as_text=True)
    assert "Café frío" in tickets


def test_0042_splits_stored_tags_that_hold_separators(app, client, auth):
    """Tags the bulk bar stored whole ("a,b", "北京，上海") become one tag a part, merged into the
    workspace's tags of those names, each contact keeping every part; another workspace's tags of
    the same names stay its own. Each workspace changed gets an audit entry by Kehu itself (no
    actor) saying what was split; one with nothing to split gets none."""
    from tests.factories import make_contact, make_workspace

    ws = make_workspace(app, "Old Co", "owner@old.example.com")
    other = make_workspace(app, "Other Co", "owner@other.example.com")
    clean = make_workspace(app, "Clean Co", "owner@clean.example.com")
    make_contact(app, clean, "Di Du", tags=["a"])
    ann = make_contact(app, ws, "Ann Lee", tags=["a"])
    bo, cy = make_contact(app, ws, "Bo Bai"), make_contact(app, ws, "Cy Chen")
    beta = make_contact(app, other, "Beta Bee", tags=["b"])
    glued = {
        ws.id: {"a,b": [ann], "北京，上海": [bo], "VIP、北京": [bo, ann], "\uff0c ;": [cy]},
        other.id: {"a;b": [beta]},
    }
    with app.app_context():
        downgrade(revision="0041")
        engine = owner_engine(app)
        with engine.begin() as connection:
            for workspace_id, tags in glued.items():
                _enter_workspace(connection, workspace_id)
                for name, contact_ids in tags.items():
                    _glued_tag(connection, workspace_id, name, contact_ids)
        upgrade()
        found, audited = {}, {}
        entries = sa.text("SELECT actor_id, actor_label, action, record_type, changes FROM audit_log"
                          " WHERE workspace_id = :ws AND action = 'tags.split'")  # fmt: skip
        with engine.begin() as connection:
            for workspace_id in (ws.id, other.id, clean.id):
                _enter_workspace(connection, workspace_id)
                found[workspace_id] = _tags_and_links(connection, workspace_id)
                audited[workspace_id] = [
                    (*row[:4], row[4] if isinstance(row[4], dict) else json.loads(row[4]))
                    for row in connection.execute(entries, {"ws": workspace_id})
                ]
        if engine is not db.engine:
            engine.dispose()
    assert found[ws.id]["tags"] == sorted(["a", "b", "vip", "北京", "上海"])
    assert found[ws.id]["links"] == sorted([(ann, "a"), (ann, "b"), (ann, "vip"), (ann, "北京"), (bo, "上海"),
                                            (bo, "北京"), (bo, "vip")])  # fmt: skip
    assert found[other.id] == {"tags": ["a", "b"], "links": [(beta, "a"), (beta, "b")]}
    split = sorted(["a,b", "北京，上海", "VIP、北京", "\uff0c ;"])
    assert audited[ws.id] == [(None, "", "tags.split", None,
                               {"tags": [split, ["a", "b", "vip", "上海", "北京"]], "contacts": 3})]  # fmt: skip
    assert audited[other.id] == [(None, "", "tags.split", None, {"tags": [["a;b"], ["a", "b"]], "contacts": 1})]
    assert audited[clean.id] == []
    auth.login(ws.email, ws.password)
    listed = client.get(f"/w/{ws.slug}/contacts/", query_string={"tag": "上海"}).get_data(as_text=True)
    assert "Bo Bai" in listed and "Ann Lee" not in listed
    log = client.get(f"/w/{ws.slug}/settings/audit/").get_data(as_text=True)  # an entry with no one's name
    row = re.search(r"<tr>((?:(?!</tr>).)*<td>Tags holding a comma or another separator were split.*?)</tr>", log, re.S)
    assert "<td>Someone</td>" in row.group(1)
    assert "<del>“VIP、北京”, “a,b”, “北京，上海”, “， ;”</del> → <ins>a, b, vip, 上海, 北京</ins>" in row.group(1)
    assert '<li><span class="field-name">Contacts</span>: <ins>3</ins></li>' in row.group(1)


def _glued_tag(connection, workspace_id: int, name: str, contact_ids: list[int]) -> None:
    values = {"ws": workspace_id, "name": name}
    connection.execute(sa.text("INSERT INTO tags (workspace_id, name) VALUES (:ws, :name)"), values)
    tag_id = connection.execute(sa.text("SELECT id FROM tags WHERE workspace_id = :ws AND name = :name"), values)
    link = sa.text("INSERT INTO contact_tags (workspace_id, contact_id, tag_id) VALUES (:ws, :contact, :tag)")
    tag_id = tag_id.scalar_one()
    for contact_id in contact_ids:
        connection.execute(link, {"ws": workspace_id, "contact": contact_id, "tag": tag_id})


def _tags_and_links(connection, workspace_id: int) -> dict:
    names = sa.text("SELECT name FROM tags WHERE workspace_id = :ws")
    links = sa.text(
        "SELECT ct.contact_id, t.name FROM contact_tags ct"
        " JOIN tags t ON t.workspace_id = ct.workspace_id AND t.id = ct.tag_id WHERE ct.workspace_id = :ws"
    )
    return {
        "tags": sorted(connection.execute(names, {"ws": workspace_id}).scalars()),
        "links": sorted(tuple(row) for row in connection.execute(links, {"ws": workspace_id})),
    }


def test_0046_adds_german_spellings_to_stored_search_texts(app, client, auth):
    """Search texts 0038 folded ("jurgen muller") get the German spelling of the words that had ä, ö
    or ü, worked out from the columns they were made of, so "mueller" finds them; a text that left a
    column out (an erased contact's, without its company) stays without it; another workspace's rows
    are migrated too, and found only there."""
    from crm.contacts.service import search_text_of
    from tests.factories import make_company, make_contact, make_ticket, make_workspace

    ws = make_workspace(app, "Old Co", "owner@old.example.com")
    other = make_workspace(app, "Other Co", "owner@other.example.com")
    baecker = make_company(app, ws, "Bäckerei Schäfer")
    jurgen = make_contact(app, ws, "Jürgen Müller", emails=["j@schäfer.de"], company_id=baecker)
    erased = make_contact(app, ws, "Erased 5", company_id=baecker)
    plain = make_contact(app, ws, "王小明")
    ticket, _ = make_ticket(app, ws, jurgen, "Rückgabe")
    theirs = make_contact(app, other, "Maria Müller")
    old = {  # as 0038 left them: folded, the dots gone
        "contacts": {jurgen: "jurgen muller j@schafer.de backerei schafer", erased: "erased 5", plain: "王小明",
                     theirs: "maria muller"},
        "companies": {baecker: "backerei schafer"},
        "tickets": {ticket: "ruckgabe customer@example.com"},
    }  # fmt: skip
    with app.app_context():
        downgrade(revision="0043")
        engine = owner_engine(app)
        with engine.begin() as connection:
            for table, texts in old.items():
                for row_id, text in texts.items():
                    _enter_workspace(connection, other.id if row_id == theirs and table == "contacts" else ws.id)
                    connection.execute(sa.text(f"UPDATE {table} SET search_text = :text WHERE id = :id"),
                                       {"text": text, "id": row_id})  # fmt: skip
        upgrade()
        stored = {}
        with engine.begin() as connection:
            for workspace_id in (ws.id, other.id):
                _enter_workspace(connection, workspace_id)
                for table in old:
                    rows = connection.execute(sa.text(f"SELECT id, search_text FROM {table}")).all()
                    stored.update({(table, row.id): row.search_text for row in rows})
        if engine is not db.engine:
            engine.dispose()
    expected = "jurgen muller j@schafer.de backerei schafer juergen mueller j@schaefer.de baeckerei schaefer"
    assert (
        stored[("contacts", jurgen)]
        == expected
        == search_text_of("Jürgen Müller", ["j@schäfer.de"], [], "Bäckerei Schäfer")
    )  # what the app writes
    assert stored[("contacts", erased)] == "erased 5"  # its company's words were never in it
    assert stored[("contacts", plain)] == "王小明 |王| |小| |明| |王小| |小明|"  # 0051's grams (test_0051_...)
    assert stored[("contacts", theirs)] == "maria muller mueller"
    assert stored[("companies", baecker)] == "backerei schafer baeckerei schaefer"
    assert stored[("tickets", ticket)] == "ruckgabe customer@example.com rueckgabe"
    auth.login(ws.email, ws.password)
    contacts = client.get(f"/w/{ws.slug}/contacts/", query_string={"q": "mueller"}).get_data(as_text=True)
    assert "Jürgen Müller" in contacts and "Maria" not in contacts
    companies = client.get(f"/w/{ws.slug}/companies/", query_string={"q": "baeckerei"}).get_data(as_text=True)
    assert "Bäckerei Schäfer" in companies
    tickets = client.get(f"/w/{ws.slug}/tickets/", query_string={"q": "rueckgabe"}).get_data(as_text=True)
    assert "Rückgabe" in tickets


def test_0047_gives_deals_and_products_a_folded_search_text(app, client, auth):
    """Deals and products stored before 0047 get a search text of their title (name and SKU), found
    through the new trigram index (SQLite's FTS5 table built from it); another workspace's too."""
    from tests.factories import default_pipeline, make_deal, make_product, make_workspace

    ws = make_workspace(app, "Old Co", "owner@old.example.com")
    other = make_workspace(app, "Other Co", "owner@other.example.com")
    sales = default_pipeline(app, ws)
    cafe = make_deal(app, ws, "Café au lait supply", sales.stages["Lead in"])
    tea = make_deal(app, ws, "Tea for Acme", sales.stages["Lead in"])
    theirs = make_deal(app, other, "Müller order")
    creme = make_product(app, ws, "Café crème", sku="CC-1")
    with app.app_context():
        downgrade(revision="0046")
        upgrade()
        engine = owner_engine(app)
        stored = {}
        with engine.begin() as connection:
            for workspace_id in (ws.id, other.id):
                _enter_workspace(connection, workspace_id)
                stored.update(tuple(row) for row in connection.execute(sa.text("SELECT id, search_text FROM deals")))
                products = connection.execute(sa.text("SELECT id, search_text FROM products")).all()
                stored.update({("product", row_id): text for row_id, text in products})
        if engine is not db.engine:
            engine.dispose()
    assert stored[cafe] == "cafe au lait supply" and stored[tea] == "tea for acme"
    assert stored[theirs] == "muller order mueller"
    assert stored[("product", creme)] == "cafe creme cc-1"
    auth.login(ws.email, ws.password)
    found = client.get(f"/w/{ws.slug}/deals/pipelines/{sales.id}/list", query_string={"q": "cafe"})
    assert "Café au lait supply" in found.get_data(as_text=True) and "Tea for Acme" not in found.get_data(as_text=True)
    quick = client.get(f"/w/{ws.slug}/search/", query_string={"q": "mueller"}).get_data(as_text=True)
    assert "Müller order" not in quick
    products = client.get(f"/w/{ws.slug}/settings/products/", query_string={"q": "creme"}).get_data(as_text=True)
    assert "Café crème" in products


def test_0049_moves_the_tickets_merges_left_on_contacts_merged_away(app, client, auth):
    """Merges made before 0049 left the merged contact's tickets on it, in the trash. They move to
    the contact kept (the last of a chain of merges), in every workspace, and each merge they passed
    notes them so its undo moves them back; a merge undone keeps its tickets where they are. Each
    workspace changed gets an audit entry by Kehu itself with the tickets' numbers."""
    from crm.duplicates.models import ContactMerge
    from crm.tenancy import workspace_scope
    from tests.conftest import post
    from tests.factories import make_contact, make_merge, make_ticket, make_workspace

    ws = make_workspace(app, "Old Co", "owner@old.example.com")
    other = make_workspace(app, "Other Co", "owner@other.example.com")
    clean = make_workspace(app, "Clean Co", "owner@clean.example.com")
    keep, dup = make_contact(app, ws, "Ann Lee"), make_contact(app, ws, "Ann L")
    first, middle, last = (make_contact(app, ws, name) for name in ("Bo Wu (old)", "Bo W", "Bo Wu"))
    apart, back = make_contact(app, ws, "Cy Chen"), make_contact(app, ws, "Cy C")
    theirs, their_dup = make_contact(app, other, "Di Du"), make_contact(app, other, "Di D")
    make_ticket(app, clean, make_contact(app, clean, "Ed E"))
    tickets = {name: make_ticket(app, space, contact, subject=name)[0] for name, space, contact in (
        ("Cup broken", ws, dup), ("Lid missing", ws, first), ("Wrong colour", ws, back), ("Late", other, their_dup),
    )}  # fmt: skip
    merges = {"ann": make_merge(app, ws, keep, dup), "bo 1": make_merge(app, ws, middle, first)}
    merges["bo 2"] = make_merge(app, ws, last, middle)
    merges["cy"] = make_merge(app, ws, apart, back)
    their_merge = make_merge(app, other, theirs, their_dup)
    with app.app_context(), workspace_scope(ws.id):
        db.session.get(ContactMerge, merges["cy"]).undone_at = datetime.now(UTC)  # and its ticket stays with Cy C
        db.session.commit()
    left_on = {tickets["Cup broken"]: dup, tickets["Lid missing"]: first, tickets["Wrong colour"]: back}
    with app.app_context():
        downgrade(revision="0048")
        engine = owner_engine(app)
        with engine.begin() as connection:  # as merges left them before 0049
            for workspace_id, moves in ((ws.id, left_on), (other.id, {tickets["Late"]: their_dup})):
                _enter_workspace(connection, workspace_id)
                connection.execute(
                    sa.text("UPDATE tickets SET contact_id = :to WHERE id = :id"),
                    [{"id": ticket_id, "to": contact_id} for ticket_id, contact_id in moves.items()],
                )
                empty = sa.text("UPDATE contact_merges SET moved = :moved").bindparams(
                    sa.bindparam("moved", type_=sa.JSON)
                )
                connection.execute(empty, {"moved": {}})
        upgrade()
        owners, moved, audited = {}, {}, {}
        entries = sa.text("SELECT actor_id, actor_label, action, changes FROM audit_log"
                          " WHERE workspace_id = :ws AND action = 'tickets.moved_to_merged'")  # fmt: skip
        with engine.begin() as connection:
            for workspace_id in (ws.id, other.id, clean.id):
                _enter_workspace(connection, workspace_id)
                subjects = connection.execute(sa.text("SELECT subject, contact_id FROM tickets"))
                owners.update(tuple(row) for row in subjects)
                merged = sa.text("SELECT id, moved FROM contact_merges").columns(moved=sa.JSON)
                moved.update(tuple(row) for row in connection.execute(merged))
                audited[workspace_id] = [
                    (*row[:3], row[3] if isinstance(row[3], dict) else json.loads(row[3]))
                    for row in connection.execute(entries, {"ws": workspace_id})
                ]
        if engine is not db.engine:
            engine.dispose()
    assert owners["Cup broken"] == keep and owners["Lid missing"] == last and owners["Late"] == theirs
    assert owners["Wrong colour"] == back  # its merge was undone
    assert moved[merges["ann"]] == {"tickets": [tickets["Cup broken"]]}
    assert moved[merges["bo 1"]] == moved[merges["bo 2"]] == {"tickets": [tickets["Lid missing"]]}
    assert moved[merges["cy"]] == {} and moved[their_merge] == {"tickets": [tickets["Late"]]}
    with app.app_context(), workspace_scope(ws.id):
        from crm.tickets.models import Ticket

        numbers = sorted(db.session.scalars(sa.select(Ticket.number).where(Ticket.subject != "Wrong colour")))
    assert audited[ws.id] == [(None, "", "tickets.moved_to_merged", {"tickets": [None, numbers], "contacts": 2})]
    assert audited[other.id][0][3]["contacts"] == 1 and audited[clean.id] == []
    auth.login(ws.email, ws.password)
    assert "Cup broken" in client.get(f"/w/{ws.slug}/contacts/{keep}").get_data(as_text=True)
    log = client.get(f"/w/{ws.slug}/settings/audit/").get_data(as_text=True)
    assert "Tickets left on contacts merged into others were moved to the contacts kept (a Kehu upgrade)" in log
    row = re.search(r"<tr>((?:(?!</tr>).)*<td>Tickets left on contacts merged.*?)</tr>", log, re.S).group(1)
    assert f'<span class="field-name">Tickets</span>: <ins>{numbers[0]}, {numbers[1]}</ins>' in row
    post(client, f"/w/{ws.slug}/duplicates/merges/{merges['ann']}/undo", {})
    assert "Cup broken" in client.get(f"/w/{ws.slug}/contacts/{dup}").get_data(as_text=True)
    assert "Cup broken" not in client.get(f"/w/{ws.slug}/contacts/{keep}").get_data(as_text=True)


def test_0051_gives_stored_chinese_search_texts_their_short_grams(app, client, auth):
    """Search texts stored before 0051 hold Chinese as typed ("张伟"), where a one- or two-character
    query, now matched against grams (|伟|), would miss them. 0051 adds the grams, as the app writes
    them, to every table's texts and in every workspace; Latin-only texts are left as they were."""
    from crm.search import searchable
    from tests.factories import (
        default_pipeline,
        make_company,
        make_contact,
        make_deal,
        make_product,
        make_ticket,
        make_workspace,
    )

    ws = make_workspace(app, "Old Co", "owner@old.example.com")
    other = make_workspace(app, "Other Co", "owner@other.example.com")
    trading = make_company(app, ws, "上海贸易")
    zhang = make_contact(app, ws, "张伟", company_id=trading)
    ann = make_contact(app, ws, "Ann Lee")
    ticket, _ = make_ticket(app, ws, zhang, "退货")
    deal = make_deal(app, ws, "茶叶订单", default_pipeline(app, ws).stages["Lead in"])
    tea = make_product(app, ws, "绿茶")
    theirs = make_contact(app, other, "李伟")
    old = {  # as the app stored them before 0051: folded, CJK as typed
        "contacts": {zhang: "张伟 上海贸易", ann: "ann lee", theirs: "李伟"},
        "companies": {trading: "上海贸易"},
        "tickets": {ticket: "退货 customer@example.com"},
        "deals": {deal: "茶叶订单"},
        "products": {tea: "绿茶"},
    }
    with app.app_context():
        downgrade(revision="0050")
        engine = owner_engine(app)
        with engine.begin() as connection:
            for table, texts in old.items():
                for row_id, text in texts.items():
                    _enter_workspace(connection, other.id if row_id == theirs and table == "contacts" else ws.id)
                    connection.execute(sa.text(f"UPDATE {table} SET search_text = :text WHERE id = :id"),
                                       {"text": text, "id": row_id})  # fmt: skip
        upgrade()
        stored = {}
        with engine.begin() as connection:
            for workspace_id in (ws.id, other.id):
                _enter_workspace(connection, workspace_id)
                for table in old:
                    rows = connection.execute(sa.text(f"SELECT id, search_text FROM {table}")).all()
                    stored.update({(table, row.id): row.search_text for row in rows})
        if engine is not db.engine:
            engine.dispose()
    for table, texts in old.items():
        for row_id, text in texts.items():
            assert stored[(table, row_id)] == searchable(text)  # what the app writes now
    assert stored[("contacts", zhang)] == "张伟 上海贸易 |张| |伟| |张伟| |上| |海| |贸| |易| |上海| |海贸| |贸易|"
    assert stored[("contacts", ann)] == "ann lee"
    auth.login(ws.email, ws.password)
    contacts = client.get(f"/w/{ws.slug}/contacts/", query_string={"q": "伟"}).get_data(as_text=True)
    assert "张伟" in contacts and "李伟" not in contacts and "Ann Lee" not in contacts
    companies = client.get(f"/w/{ws.slug}/companies/", query_string={"q": "贸易"}).get_data(as_text=True)
    assert "上海贸易" in companies
    tickets = client.get(f"/w/{ws.slug}/tickets/", query_string={"q": "退"}).get_data(as_text=True)
    assert "退货" in tickets
    products = client.get(f"/w/{ws.slug}/settings/products/", query_string={"q": "绿茶"}).get_data(as_text=True)
    assert "绿茶" in products


def test_0053_ends_all_but_the_latest_of_the_imports_running_together(app, client, auth):
    """Before 0053 a workspace could have two imports writing at once; of those, the latest keeps
    running and the others end as failed, saying so on their pages, so the unique index can hold."""
    from crm.tenancy import workspace_scope
    from tests.factories import make_workspace
    from tests.test_imports import import_id_of, imports_url, job_of, upload

    ws = make_workspace(app, "Old Co", "owner@old.example.com")
    other = make_workspace(app, "Other Co", "owner@other.example.com")
    auth.login(ws.email, ws.password)
    older, newer, done = (import_id_of(upload(client, ws, "Name\nAnn\n")) for _ in range(3))
    auth.logout()
    auth.login(other.email, other.password)
    theirs = import_id_of(upload(client, other, "Name\nBo\n"))
    with app.app_context():
        downgrade(revision="0052")
        engine = owner_engine(app)
        with engine.begin() as connection:
            for workspace_id, statuses in ((ws.id, {older: "importing", newer: "importing", done: "done"}),
                                           (other.id, {theirs: "importing"})):  # fmt: skip
                _enter_workspace(connection, workspace_id)
                for import_id, status in statuses.items():
                    connection.execute(sa.text("UPDATE imports SET status = :status WHERE id = :id"),
                                       {"status": status, "id": import_id})  # fmt: skip
        if engine is not db.engine:
            engine.dispose()
        upgrade()
    statuses = {import_id: job_of(app, ws, import_id).status for import_id in (older, newer, done)}
    assert statuses == {older: "failed", newer: "importing", done: "done"}
    assert job_of(app, other, theirs).status == "importing"
    with app.app_context(), workspace_scope(ws.id):
        from crm.imports.models import Import

        assert db.session.get(Import, older).finished_at is not None
    auth.logout()
    auth.login(ws.email, ws.password)
    page = client.get(imports_url(ws, str(older))).get_data(as_text=True)
    assert "The import stopped before the end; the rows before it were kept (undo removes them)." in page


def test_0056_widens_the_customer_sums_and_keeps_the_contacts_search(app, client, auth):
    """0056 widens contacts' sums of purchases to Numeric(18, 2); on SQLite it copies the table, and
    the triggers keeping the search index come back with it: contacts are still found, new ones too."""
    from decimal import Decimal

    from tests.factories import make_contact, make_purchase, make_workspace

    ws = make_workspace(app, "Old Co", "owner@old.example.com")
    ann = make_contact(app, ws, "Annabel Lee")
    make_purchase(app, ws, ann, amount=Decimal("999999999999.99"))
    with app.app_context():
        downgrade(revision="0055")
        upgrade()
        engine = owner_engine(app)
        with engine.connect() as connection:
            columns = {c["name"]: c["type"] for c in sa.inspect(connection).get_columns("contacts")}
        if engine is not db.engine:
            engine.dispose()
    assert [
        (columns[name].precision, columns[name].scale) for name in ("lifetime_value", "value_12m", "value_prev_12m")
    ] == [(18, 2)] * 3
    make_purchase(app, ws, ann, amount=Decimal("999999999999.99"))  # beyond the old Numeric(14, 2)
    make_contact(app, ws, "Annika Berg")
    auth.login(ws.email, ws.password)
    page = client.get(f"/w/{ws.slug}/contacts/?q=anna&cols=value").get_data(as_text=True)
    assert "Annabel Lee" in page and "$1,999,999,999,999.98" in page
    assert "Annika Berg" in client.get(f"/w/{ws.slug}/contacts/?q=annik").get_data(as_text=True)


def test_migrations_run_on_a_sqlite_file_given_as_the_migration_url(tmp_path):
    """The migrations' own engine (MIGRATION_DATABASE_URL, as bench/ and a separate owner use) gets the
    SQLite functions and collation the app's has: migration 0055's name index needs ``human``."""
    from crm import create_app

    url = f"sqlite:///{tmp_path / 'kehu.sqlite3'}"
    app = create_app({"KEHU_ENV": "development", "SQLALCHEMY_DATABASE_URI": url, "MIGRATION_DATABASE_URL": url})
    with app.app_context():
        upgrade()
        names = db.session.scalars(sa.text("SELECT name FROM sqlite_master WHERE type = 'index'")).all()
    assert {"ix_contacts_name_order", "ix_products_name_order"} <= set(names)
