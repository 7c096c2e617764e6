"""A record's change history (the History panel, the contact's timeline, the audit log): companies
and members by name, money in the record's currency, one query per kind of name for a whole page."""

from itertools import pairwise

import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.contacts.models import Company
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import make_company, make_contact, make_custom_field, make_deal, make_member, make_purchase
from tests.query_counter import count_queries


def contact_url(ws, contact_id: int, rest: str = "") -> str:
    return f"/w/{ws.slug}/contacts/{contact_id}{rest}"


def history_of(page: str) -> str:
    return page.split('<section id="record-history"')[1].split("</section>")[0]


def timeline_of(page: str) -> str:
    return page.split('id="timeline-list"')[1].split("</ol>")[0]


def log(app, ws, *entries: dict) -> None:
    with app.app_context(), workspace_scope(ws.id):
        for entry in entries:
            db.session.add(AuditEntry(**{"actor_id": ws.user_id, "actor_label": ws.email, **entry}))
        db.session.commit()


def test_a_company_and_owner_change_name_them_escaped_on_the_history_and_the_timeline(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    evil = make_company(app, ws_a, "<b>x</b>")
    contact_id = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    auth.login(ws_a.email, ws_a.password)
    post(client, contact_url(ws_a, contact_id), {"name": "Ann Lee", "lifecycle": "lead", "company_id": str(evil),
                                                 "owner_id": str(ws_a.membership_id)})  # fmt: skip
    page = client.get(contact_url(ws_a, contact_id)).get_data(as_text=True)
    company_line = '<span class="field-name">Company</span>: <del>Acme Ltd</del> → <ins>&lt;b&gt;x&lt;/b&gt;</ins>'
    owner_line = '<span class="field-name">Owner</span>: <ins>Alice</ins>'
    for section in (history_of(page), timeline_of(page)):
        assert company_line in section and owner_line in section
        assert "Company changed" not in section and "Owner changed" not in section and "<b>x" not in section
    # In the trash, the company keeps its name; purged, it is said to be deleted.
    post(client, f"/w/{ws_a.slug}/companies/{acme}/delete", {})
    assert company_line in history_of(client.get(contact_url(ws_a, contact_id)).get_data(as_text=True))
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.execute(sa.delete(Company).where(Company.id == acme))
        db.session.commit()
    page = client.get(contact_url(ws_a, contact_id)).get_data(as_text=True)
    assert "<del>a deleted company</del> → <ins>&lt;b&gt;x&lt;/b&gt;</ins>" in history_of(page)
    assert "<del>a deleted company</del>" in timeline_of(page)


def test_a_purchase_edit_shows_money_in_its_currency_and_dates_as_dates(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    purchase_id = make_purchase(app, ws_a, contact_id, "Tea", amount=100)
    auth.login(ws_a.email, ws_a.password)
    prefix = f"purchase-{purchase_id}-"
    edit = {"purchased_on": "2024-05-01", "product": "<b>Tea</b>", "quantity": "2", "unit_price": "25000",
            "currency": "USD"}  # fmt: skip
    post(client, contact_url(ws_a, contact_id, f"/purchases/{purchase_id}"), {prefix + k: v for k, v in edit.items()})
    history = history_of(client.get(contact_url(ws_a, contact_id)).get_data(as_text=True))
    assert '<span class="field-name">Unit price</span>: <del>$100.00</del> → <ins>$25,000.00</ins>' in history
    assert '<span class="field-name">Amount</span>: <del>$100.00</del> → <ins>$50,000.00</ins>' in history
    assert '<span class="field-name">Quantity</span>: <del>1</del> → <ins>2</ins>' in history
    assert "<ins>May 1, 2024</ins>" in history and "<ins>&lt;b&gt;Tea&lt;/b&gt;</ins>" in history
    assert "25000" not in history and "<b>Tea" not in history
    assert "Worth in the workspace currency" not in history  # in the workspace's currency: its amount, said once
    # A purchase in euros: its amounts in euros (the currency is not in the entry: read from the
    # purchase), what it is worth in the workspace's dollars.
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.execute(sa.text("UPDATE purchases SET currency = 'EUR' WHERE id = :id"), {"id": purchase_id})
        db.session.commit()
    log(app, ws_a, {"action": "purchase.updated", "record_type": "contact", "record_id": contact_id,
                    "changes": {"purchase": [purchase_id, purchase_id], "amount": ["50000.00", "45000.00"],
                                "base_amount": ["50000.00", "48000.00"]}})  # fmt: skip
    history = history_of(client.get(contact_url(ws_a, contact_id)).get_data(as_text=True))
    assert "<del>€50,000.00</del> → <ins>€45,000.00</ins>" in history
    assert "<del>$50,000.00</del> → <ins>$48,000.00</ins>" in history


def test_a_deals_value_is_in_the_deals_currency(app, client, auth, ws_a):
    deal_id = make_deal(app, ws_a, "Big order", value=1000, currency="EUR")
    log(app, ws_a, {"action": "deal.updated", "record_type": "deal", "record_id": deal_id,
                    "changes": {"value": ["1000.00", "2500.50"]}})  # fmt: skip
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/deals/{deal_id}").get_data(as_text=True)
    assert '<span class="field-name">Value</span>: <del>€1,000.00</del> → <ins>€2,500.50</ins>' in history_of(page)
    audit_log = client.get(f"/w/{ws_a.slug}/settings/audit/?action=deal.updated").get_data(as_text=True)
    assert "<del>€1,000.00</del> → <ins>€2,500.50</ins>" in audit_log


def test_sensitive_details_stay_masked_in_the_history(app, client, auth, ws_a):
    contact_id = make_contact(app, ws_a, "Ann Lee")
    log(app, ws_a, {"action": "contact.updated", "record_type": "contact", "record_id": contact_id,
                    "changes": {"birthday": [None, "1990-04-02"], "city": ["Oslo", "Bergen"]}})  # fmt: skip
    sales = make_member(app, ws_a, "sales@alpha.example.com", role="sales")  # no contacts.sensitive
    make_member(app, ws_a, "boss@alpha.example.com", role="admin")
    auth.login(ws_a.email, ws_a.password)
    mine = client.get(contact_url(ws_a, contact_id)).get_data(as_text=True)
    assert "<del>Oslo</del> → <ins>Bergen</ins>" in history_of(mine)
    auth.logout()
    auth.login(sales.email, sales.password)
    theirs = client.get(contact_url(ws_a, contact_id)).get_data(as_text=True)
    assert "Birthday changed" in timeline_of(theirs) and "City changed" in timeline_of(theirs)
    assert "Bergen" not in theirs and "1990" not in theirs


def test_the_contact_page_reads_names_once_whatever_the_number_of_entries(app, client, auth, ws_a):
    companies = [make_company(app, ws_a, f"Company {n}") for n in range(12)]
    few = make_contact(app, ws_a, "Few", company_id=companies[0])
    many = make_contact(app, ws_a, "Many", company_id=companies[0])
    few_purchase = make_purchase(app, ws_a, few, "Tea", amount=10)
    purchases = [make_purchase(app, ws_a, many, f"Tea {n}", amount=10) for n in range(5)]

    def changes(contact_id: int, moves: list[int], bought: list[int]) -> list[dict]:
        moved = [{"action": "contact.updated", "record_type": "contact", "record_id": contact_id,
                  "changes": {"company_id": [before, after], "owner_id": [None, ws_a.membership_id]}}
                 for before, after in pairwise(moves)]  # fmt: skip
        edited = [{"action": "purchase.updated", "record_type": "contact", "record_id": contact_id,
                   "changes": {"purchase": [pid, pid], "unit_price": ["10.00", "12.00"]}}
                  for pid in bought]  # fmt: skip
        return moved + edited

    log(app, ws_a, *changes(few, companies[:2], [few_purchase]))
    log(app, ws_a, *changes(many, companies, purchases))
    auth.login(ws_a.email, ws_a.password)

    def queries_for(contact_id: int) -> tuple[int, str]:
        client.get(contact_url(ws_a, contact_id))
        with count_queries(app) as queries:
            page = client.get(contact_url(ws_a, contact_id)).get_data(as_text=True)
        return len(queries), page

    few_count, _ = queries_for(few)
    many_count, page = queries_for(many)
    assert "<del>Company 10</del> → <ins>Company 11</ins>" in history_of(page)
    assert "<del>Company 10</del> → <ins>Company 11</ins>" in timeline_of(page)
    assert history_of(page).count("<ins>$12.00</ins>") == 5
    assert many_count == few_count, (few_count, many_count)


def test_reordering_custom_fields_is_audited(app, client, auth, ws_a):
    make_custom_field(app, ws_a, "Segment")
    second = make_custom_field(app, ws_a, "Region code")
    auth.login(ws_a.email, ws_a.password)
    post(client, f"/w/{ws_a.slug}/settings/custom-fields/{second}/move", {"direction": "up"})
    post(client, f"/w/{ws_a.slug}/settings/custom-fields/{second}/move", {"direction": "up"})  # first already
    with app.app_context(), workspace_scope(ws_a.id):
        moves = list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "custom_field.moved")))
        assert [(e.record_type, e.record_id, e.changes) for e in moves] == [
            ("custom_field", second, {"label": "Region code", "position": [2, 1]})
        ]
    audit_log = client.get(f"/w/{ws_a.slug}/settings/audit/?action=custom_field.moved").get_data(as_text=True)
    assert "<td>Reordered a custom field</td>" in audit_log
    assert '<span class="field-name">Position</span>: <del>2</del> → <ins>1</ins>' in audit_log


def test_who_made_a_change_is_named_as_the_team_knows_them(app, client, auth, ws_a):
    """By their name on the History panel, the timeline and the audit log (with the email logged, there);
    by the email logged where no user stands behind it any more."""
    contact_id = make_contact(app, ws_a, "Ann Lee")
    colleague = make_member(app, ws_a, "sam@alpha.example.com", role="admin")
    auth.login(colleague.email, colleague.password)
    post(client, contact_url(ws_a, contact_id), {"name": "Ann Lee", "lifecycle": "lead", "title": "Buyer"})
    log(app, ws_a, {"action": "contact.updated", "record_type": "contact", "record_id": contact_id,
                    "changes": {"title": ["Buyer", "CEO"]}, "actor_id": None})  # fmt: skip
    auth.login(ws_a.email, ws_a.password)
    page = client.get(contact_url(ws_a, contact_id)).get_data(as_text=True)
    for section in (history_of(page), timeline_of(page)):
        assert "Test User" in section and colleague.email not in section
        assert ws_a.email in section  # the entry with no user: its logged email
    audit_log = client.get(f"/w/{ws_a.slug}/settings/audit/").get_data(as_text=True)
    assert f'Test User<br><span class="hint">{colleague.email}</span>' in audit_log
