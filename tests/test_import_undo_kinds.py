"""Undoing an import of companies or purchases: companies used since (a contact, an activity, a
purchase, a deal) are kept as contacts are, and the message says what the undo did for that kind of
records, with its plurals."""

from datetime import date

import sqlalchemy as sa

from crm.contacts.models import Company, Contact
from crm.extensions import db
from crm.purchases.models import Purchase
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import make_company_activity, make_company_purchase, make_contact, make_deal, make_ticket
from tests.test_imports import check, import_id_of, imports_url, upload


def imported(client, app, ws, text: str, entity: str) -> int:
    import_id = import_id_of(upload(client, ws, text, entity=entity))
    check(client, app, ws, import_id)
    post(client, imports_url(ws, f"{import_id}/run"), {})
    return import_id


def companies_of(app, ws) -> dict[str, bool]:
    """Name -> in the trash."""
    with app.app_context(), workspace_scope(ws.id):
        rows = db.session.execute(sa.select(Company.name, Company.deleted_at))
        return {name: deleted is not None for name, deleted in rows}


def undone_page(client, ws, import_id: int) -> str:
    return post(client, imports_url(ws, f"{import_id}/undo"), {}, follow_redirects=True).get_data(as_text=True)


def test_undoing_a_companies_import_keeps_the_companies_used_since(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    text = "Company name,Industry\nAcme Ltd,Tea\nBeta Co,Cups\nGamma Inc,Pots\nDelta AG,Lids\nEpsilon SA,Jars\n"
    import_id = imported(client, app, ws_a, text, "companies")
    with app.app_context(), workspace_scope(ws_a.id):
        ids = dict(db.session.execute(sa.select(Company.name, Company.id)).all())
    make_company_activity(app, ws_a, ids["Acme Ltd"], "Met their buyer")
    make_company_purchase(app, ws_a, ids["Beta Co"], amount=5000)
    make_deal(app, ws_a, "Big order", company_id=ids["Gamma Inc"])
    make_contact(app, ws_a, "Ann Lee", company_id=ids["Delta AG"])
    page = undone_page(client, ws_a, import_id)
    assert companies_of(app, ws_a) == {"Acme Ltd": False, "Beta Co": False, "Gamma Inc": False, "Delta AG": False,
                                       "Epsilon SA": True}  # fmt: skip
    assert ("Import undone: 1 company moved to the trash. 4 companies it added were kept: they have contacts, "
            "purchases, deals or activities since.") in page  # fmt: skip
    assert "contacts moved to the trash" not in page


def test_undoing_a_companies_import_nobody_used_says_how_many_went_to_the_trash(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    import_id = imported(client, app, ws_a, "Company name\nAcme Ltd\nBeta Co\n", "companies")
    page = undone_page(client, ws_a, import_id)
    assert "Import undone: 2 companies moved to the trash.</" in page
    assert companies_of(app, ws_a) == {"Acme Ltd": True, "Beta Co": True}


def test_undoing_a_purchases_import_says_how_many_purchases_were_deleted(app, client, auth, ws_a):
    make_contact(app, ws_a, "Ann", emails=["ann@example.com"])
    auth.login(ws_a.email, ws_a.password)
    text = f"Date,Email,Product,Amount\n{date.today()},ann@example.com,Tea,30\n{date.today()},ann@example.com,Cups,20\n"
    import_id = imported(client, app, ws_a, text, "purchases")
    page = undone_page(client, ws_a, import_id)
    assert "Import undone: 2 purchases deleted.</" in page and "contacts" not in page.split("Import undone")[1][:80]
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Purchase)) == 0
    one = imported(client, app, ws_a, f"Date,Email,Product,Amount\n{date.today()},ann@example.com,Tea,30\n",
                   "purchases")  # fmt: skip
    assert "Import undone: 1 purchase deleted.</" in undone_page(client, ws_a, one)


def test_undoing_a_contacts_import_counts_each_thing_in_the_singular_or_plural(app, client, auth, ws_a):
    make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"], title="Clerk")
    auth.login(ws_a.email, ws_a.password)
    text = "Name,Email,Title,Company\nAnn Lee,ann@example.com,Director,\nBo Chen,bo@example.com,,Acme Ltd\n"
    import_id = import_id_of(upload(client, ws_a, text))
    check(client, app, ws_a, import_id, mode="update")
    post(client, imports_url(ws_a, f"{import_id}/run"), {})
    page = undone_page(client, ws_a, import_id)
    assert ("Import undone: 1 contact moved to the trash. 1 contact put back as it was. 1 company moved to the "
            "trash.</") in page  # fmt: skip


def test_undoing_a_contacts_import_keeps_a_contact_with_a_ticket_since(app, client, auth, ws_a):
    """A customer who wrote in since the import is in use as one who bought is: moved to the trash, they
    were erased with their tickets made anonymous when the trash was emptied 30 days later."""
    auth.login(ws_a.email, ws_a.password)
    import_id = imported(client, app, ws_a, "Name,Email\nAnn Lee,ann@example.com\nBo Chen,bo@example.com\n", "contacts")
    with app.app_context(), workspace_scope(ws_a.id):
        ann = db.session.scalar(sa.select(Contact.id).where(Contact.name == "Ann Lee"))
    make_ticket(app, ws_a, ann)
    page = undone_page(client, ws_a, import_id)
    assert ("Import undone: 1 contact moved to the trash. 0 contacts put back as they were. 1 contact it added was "
            "kept: it has purchases, deals, tickets or activities since.</") in page  # fmt: skip
    with app.app_context(), workspace_scope(ws_a.id):
        rows = db.session.execute(sa.select(Contact.name, Contact.deleted_at))
        assert {name: deleted is not None for name, deleted in rows} == {"Ann Lee": False, "Bo Chen": True}
