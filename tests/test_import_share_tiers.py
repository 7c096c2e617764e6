"""Tiers given as shares of customers after a purchases import and its undo: the cut-offs are
worked out again and everyone classified by them, as saving the rules does; a contact's page never
words a money threshold as a share."""

from datetime import date

import sqlalchemy as sa

from crm.contacts import classification
from crm.contacts.models import Contact
from crm.extensions import db
from crm.tenancy import workspace_scope
from crm.workspaces.models import Workspace
from tests.conftest import post
from tests.factories import make_contact
from tests.test_imports import check, import_id_of, imports_url, upload

SHARE_RULES = {**classification.DEFAULT_RULES, "tier_by": "share", "vip_by": "share"}


def import_purchases(app, client, ws, amounts: dict[int, int]) -> int:
    lines = ["Date,Email,Product,Amount"] + [f"{date.today()},c{i}@example.com,Tea,{amount}" for i, amount in
                                             amounts.items()]  # fmt: skip
    import_id = import_id_of(upload(client, ws, "\n".join(lines) + "\n", entity="purchases"))
    check(client, app, ws, import_id)
    post(client, imports_url(ws, f"{import_id}/run"), {})
    return import_id


def tiers_of(app, ws) -> dict[str, str | None]:
    with app.app_context(), workspace_scope(ws.id):
        return {contact.name: contact.tier for contact in db.session.scalars(sa.select(Contact))}


def reasons_of(app, ws, name: str) -> list[str]:
    with app.app_context(), app.test_request_context(), workspace_scope(ws.id):
        contact = db.session.scalar(sa.select(Contact).where(Contact.name == name))
        return classification.reasons(contact, db.session.get(Workspace, ws.id))


def test_a_purchases_import_and_its_undo_work_out_the_share_cut_offs_again(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    post(client, f"/w/{ws_a.slug}/settings/customer-tiers/", SHARE_RULES)  # before anyone bought
    for i in range(10):
        make_contact(app, ws_a, f"C{i}", emails=[f"c{i}@example.com"])
    import_purchases(app, client, ws_a, {i: (i + 1) * 100 for i in range(10)})
    tiers = tiers_of(app, ws_a)
    assert (tiers["C9"], tiers["C7"], tiers["C4"], tiers["C0"]) == ("A", "B", "C", "D")
    assert reasons_of(app, ws_a, "C9")[:2] == [
        "Tier A: in the top 10% of customers by the last 12 months' value (from $1,000.00).",
        "VIP: in the top 5% of customers by the last 12 months' value (from $1,000.00).",
    ]
    second = import_purchases(app, client, ws_a, {0: 5000})
    tiers = tiers_of(app, ws_a)
    assert (tiers["C0"], tiers["C9"]) == ("A", "B")  # C9 is no longer in the top 10%
    post(client, imports_url(ws_a, f"{second}/undo"), {})
    tiers = tiers_of(app, ws_a)
    assert (tiers["C0"], tiers["C9"]) == ("D", "A")
    assert reasons_of(app, ws_a, "C9")[0] == (
        "Tier A: in the top 10% of customers by the last 12 months' value (from $1,000.00)."
    )


def test_a_contacts_page_says_share_cut_offs_not_worked_out_yet_rather_than_a_false_share(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    post(client, f"/w/{ws_a.slug}/settings/customer-tiers/", SHARE_RULES)
    contact_id = make_contact(app, ws_a, "Ann")
    with app.app_context(), workspace_scope(ws_a.id):
        contact = db.session.get(Contact, contact_id)
        contact.tier, contact.level, contact.lifecycle, contact.last_purchase_at = "C", "vip", "active", None
        assert db.session.get(Workspace, ws_a.id).class_cutoffs is None
        db.session.commit()
    page = client.get(f"/w/{ws_a.slug}/contacts/{contact_id}").get_data(as_text=True)
    assert "Tier C: the cut-offs of the tiers by share of customers are not worked out yet." in page
    assert "VIP: the cut-off of the top 5% of customers is not worked out yet." in page
    assert "in the top 60%" not in page and "in the top 5% of customers by" not in page
