"""Plain factory functions. Each opens its own app context and returns plain values (ids,
slugs), never live ORM objects, so no session or workspace binding leaks into a test."""

import secrets
from types import SimpleNamespace

import sqlalchemy as sa

from crm.auth.models import User
from crm.auth.service import create_user
from crm.extensions import db
from crm.notes.models import Note
from crm.tenancy import workspace_scope
from crm.workspaces.models import Membership, Role
from crm.workspaces.service import create_workspace, sign_up

PASSWORD = "correct horse battery staple"


def make_workspace(app, name: str, owner_email: str, password: str = PASSWORD) -> SimpleNamespace:
    """A workspace with its owner (a new user, or an existing one with that email)."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == owner_email))
        if user is None:
            user, workspace = sign_up(owner_email.split("@")[0].title(), owner_email, password, name, "UTC")
        else:
            workspace = create_workspace(user, name)
        membership = db.session.scalar(sa.select(Membership).where(Membership.user_id == user.id))
        db.session.commit()
        return SimpleNamespace(
            id=workspace.id,
            slug=workspace.slug,
            name=workspace.name,
            user_id=user.id,
            email=user.email,
            password=password,
            membership_id=membership.id,
        )


def make_user(app, email: str, password: str = PASSWORD, name: str = "Test User") -> SimpleNamespace:
    with app.app_context():
        user = create_user(name, email, password)
        db.session.commit()
        return SimpleNamespace(id=user.id, email=user.email, password=password)


def make_member(app, workspace, email: str, role: str = "sales", status: str = "active") -> SimpleNamespace:
    """Adds a user (new unless the email exists) to a workspace with a built-in role (its key)."""
    with app.app_context():
        existing = db.session.scalar(sa.select(User.id).where(User.email == email))
    user_id = existing or make_user(app, email).id
    with app.app_context(), workspace_scope(workspace.id):
        role_id = db.session.scalar(sa.select(Role.id).where(Role.builtin == role))
        membership = Membership(user_id=user_id, role_id=role_id, status=status)
        db.session.add(membership)
        db.session.commit()
        return SimpleNamespace(user_id=user_id, email=email, password=PASSWORD, membership_id=membership.id)


def role_id(app, workspace, key: str) -> int:
    with app.app_context(), workspace_scope(workspace.id):
        return db.session.scalar(sa.select(Role.id).where(Role.builtin == key))


def make_note(app, workspace, body: str = "Remember the milk", author_id: int | None = None) -> int:
    with app.app_context(), workspace_scope(workspace.id):
        note = Note(author_id=author_id or workspace.membership_id, body=body)
        db.session.add(note)
        db.session.commit()
        return note.id


def make_invitation(app, workspace, email: str, role: str = "sales", days: int = 7) -> SimpleNamespace:
    """An open invitation (or an expired one, with ``days`` <= 0); returns its id and raw token."""
    from datetime import timedelta

    from crm.db import utcnow
    from crm.members.models import Invitation
    from crm.members.service import _hash

    token = secrets.token_urlsafe(16)
    with app.app_context(), workspace_scope(workspace.id):
        invitation = Invitation(
            email=email,
            role_id=db.session.scalar(sa.select(Role.id).where(Role.builtin == role)),
            invited_by_id=workspace.membership_id,
            token_hash=_hash(token),
            expires_at=utcnow() + timedelta(days=days),
        )
        db.session.add(invitation)
        db.session.commit()
        return SimpleNamespace(id=invitation.id, token=token, email=email)


def make_role(app, workspace, name: str, permissions=("contacts.read",), record_scope: str = "all") -> int:
    with app.app_context(), workspace_scope(workspace.id):
        role = Role(name=name, permissions=list(permissions), record_scope=record_scope)
        db.session.add(role)
        db.session.commit()
        return role.id


def make_company(app, workspace, name: str = "Acme Ltd", **fields) -> int:
    """A company made through the service (search text and audit entry included)."""
    from crm.contacts.service import create_company

    with app.app_context(), workspace_scope(workspace.id):
        company = create_company({"name": name, **fields})
        db.session.commit()
        return company.id


def make_contact(app, workspace, name: str = "Ann Lee", tags=(), **fields) -> int:
    """A contact made through the service; ``fields`` are model fields (phones in E.164)."""
    from crm.contacts.service import create_contact

    with app.app_context(), workspace_scope(workspace.id):
        contact = create_contact({"name": name, "tags": list(tags), **fields})
        db.session.commit()
        return contact.id


def assign_role(app, workspace, membership_id: int, role_id: int) -> None:
    with app.app_context(), workspace_scope(workspace.id):
        db.session.get(Membership, membership_id).role_id = role_id
        db.session.commit()


def make_activity(app, workspace, contact_id: int, body: str, kind: str = "note", author_id=None, **fields) -> int:
    from crm.activities.service import log_activity
    from crm.contacts.models import Contact

    with app.app_context(), workspace_scope(workspace.id):
        author_id = author_id or db.session.scalar(sa.select(Membership.id).order_by(Membership.id))
        activity = log_activity(db.session.get(Contact, contact_id), author_id, {"kind": kind, "body": body, **fields})
        db.session.commit()
        return activity.id


def _purchase_data(product: str, amount, on, quantity) -> dict:
    from datetime import date
    from decimal import Decimal

    return {
        "purchased_on": on or date.today(),
        "product": product,
        "quantity": Decimal(quantity),
        "unit_price": Decimal(str(amount)) / Decimal(quantity),
        "amount": Decimal(str(amount)),
    }


def make_purchase(app, workspace, contact_id: int, product: str = "Tea", amount=100, on=None, quantity=1) -> int:
    """A purchase through the service, so the contact is classified again; ``on`` defaults to today."""
    from datetime import date

    from crm.contacts.models import Contact
    from crm.purchases.service import add_purchase
    from crm.workspaces.models import Workspace

    with app.app_context(), workspace_scope(workspace.id):
        contact = db.session.get(Contact, contact_id)
        data = _purchase_data(product, amount, on, quantity)
        purchase = add_purchase(contact, db.session.get(Workspace, workspace.id), data, date.today())
        db.session.commit()
        return purchase.id


def make_company_purchase(app, workspace, company_id: int, product: str = "Tea", amount=100, on=None) -> int:
    """A purchase of the company as a whole (no contact)."""
    from crm.contacts.models import Company
    from crm.purchases.service import add_company_purchase
    from crm.workspaces.models import Workspace

    with app.app_context(), workspace_scope(workspace.id):
        company = db.session.get(Company, company_id)
        data = _purchase_data(product, amount, on, 1)
        purchase = add_company_purchase(company, db.session.get(Workspace, workspace.id), data)
        db.session.commit()
        return purchase.id


def make_classification_run(app, workspace, status: str = "running", **values) -> int:
    """A run classifying the workspace's customers again, as the run leaves it in the database."""
    from crm.contacts.models import ClassificationRun

    with app.app_context(), workspace_scope(workspace.id):
        run = ClassificationRun(status=status, **{"done": 0, "changed": 0, "again": False, **values})
        db.session.add(run)
        db.session.commit()
        return run.id


def make_bulk_job(app, workspace, status: str = "running", asked_by=None, list_name: str = "contacts", **values) -> int:
    """A background bulk change that ``asked_by`` (a member; default the workspace's owner) asked
    for, as the job leaves it in the database."""
    from crm.contacts.models import BulkJob

    asked_by = asked_by or workspace
    with app.app_context(), workspace_scope(workspace.id):
        job = BulkJob(membership_id=asked_by.membership_id, user_id=asked_by.user_id, list_name=list_name,
                      action="owner", state_args={"tag": "fair"}, value=None, status=status, **values)  # fmt: skip
        db.session.add(job)
        db.session.commit()
        return job.id


def make_saved_view(
    app, workspace, name: str, query: str = "tag=fair", owner_id=None, shared: bool = True, list_name="contacts"
) -> int:
    from crm.contacts.models import SavedView

    with app.app_context(), workspace_scope(workspace.id):
        owner_id = owner_id or db.session.scalar(sa.select(Membership.id).order_by(Membership.id))
        view = SavedView(name=name, query=query, owner_id=owner_id, shared=shared, list_name=list_name)
        db.session.add(view)
        db.session.commit()
        return view.id


def make_custom_field(app, workspace, label: str, kind: str = "text", entity: str = "contact", options=(),
                      required: bool = False, sensitive: bool = False) -> int:  # fmt: skip
    from crm.custom_fields.service import create_field
    from crm.workspaces.models import Workspace

    with app.app_context(), workspace_scope(workspace.id):
        ws = db.session.get(Workspace, workspace.id)
        field = create_field(ws, entity, label, kind, list(options), required, sensitive)
        db.session.commit()
        return field.id


def set_custom_value(app, workspace, record_id: int, field_id: int, value) -> None:
    """Stores a custom value on a contact or company (the field's entity) as the forms would
    (encrypted when sensitive)."""
    from crm.contacts.models import Company, Contact
    from crm.custom_fields.models import CustomField
    from crm.custom_fields.service import FieldDef, to_storage

    with app.app_context(), workspace_scope(workspace.id):
        f = db.session.get(CustomField, field_id)
        definition = FieldDef(f.id, f.entity, f.key, f.label, f.kind, tuple(f.options), f.required, f.sensitive)
        record = db.session.get(Company if f.entity == "company" else Contact, record_id)
        record.custom = {**record.custom, f.key: to_storage(definition, value)}
        db.session.commit()


def make_import(app, workspace, text: str = "Name,Email\nAnn Lee,ann@example.com\n", status: str = "checked") -> int:
    """An uploaded contacts CSV with its guessed mapping, stored as the upload route does."""
    from crm.imports import storage
    from crm.imports.fields import guess
    from crm.imports.models import Import
    from crm.imports.reader import layout_of

    with app.app_context(), workspace_scope(workspace.id):
        name = f"{workspace.id}-{secrets.token_hex(8)}.csv"
        path = storage.path_for(name)
        path.write_text(text, encoding="utf-8")
        layout = layout_of(path, "csv")
        job = Import(filename="contacts.csv", stored_name=name, file_format="csv", encoding=layout.encoding,
                     delimiter=layout.delimiter, headers=layout.headers, mapping=guess(layout.headers, []),
                     status=status)  # fmt: skip
        db.session.add(job)
        db.session.commit()
        return job.id


def make_duplicate_pair(app, workspace, first: int, second: int) -> int:
    """Two contacts that share an email address, found by a scan; returns the pair's id."""
    from crm.duplicates.models import DuplicatePair
    from crm.duplicates.service import scan

    with app.app_context(), workspace_scope(workspace.id):
        scan()
        db.session.commit()
        return db.session.scalar(
            sa.select(DuplicatePair.id).where(DuplicatePair.contact_id == min(first, second),
                                              DuplicatePair.other_id == max(first, second))
        )  # fmt: skip


def make_merge(app, workspace, survivor: int, merged: int) -> int:
    """``merged`` folded into ``survivor`` by the workspace's first member; returns the merge's id."""
    from crm.contacts.models import Contact
    from crm.duplicates.service import merge

    with app.app_context(), workspace_scope(workspace.id):
        member = db.session.scalar(sa.select(Membership).order_by(Membership.id))
        record = merge(db.session.get(Contact, survivor), db.session.get(Contact, merged), {}, member)
        db.session.commit()
        return record.id


def make_saved_mapping(app, workspace, name: str, columns: dict | None = None, entity: str = "contacts") -> int:
    from crm.imports.models import SavedMapping

    with app.app_context(), workspace_scope(workspace.id):
        saved = SavedMapping(entity=entity, name=name, columns=columns or {"name": "name", "e mail": "email"})
        db.session.add(saved)
        db.session.commit()
        return saved.id


def make_pipeline(app, workspace, name: str = "Partners", stages=(("Talk", 20), ("Sign", 70))) -> SimpleNamespace:
    """A pipeline with open stages (name, probability) plus Won and Lost; the default "Sales"
    pipeline is ``default_pipeline``."""
    from crm.deals.models import LOST, OPEN, WON, Pipeline, Stage

    with app.app_context(), workspace_scope(workspace.id):
        pipeline = Pipeline(name=name, position=1 + (db.session.scalar(sa.select(sa.func.max(Pipeline.position))) or 0))
        db.session.add(pipeline)
        db.session.flush()
        rows = [*((stage, probability, OPEN) for stage, probability in stages), ("Won", 100, WON), ("Lost", 0, LOST)]
        for position, (stage, probability, kind) in enumerate(rows):
            db.session.add(Stage(pipeline_id=pipeline.id, name=stage, position=position, probability=probability,
                                 kind=kind))  # fmt: skip
        db.session.commit()
        return _pipeline_ns(pipeline)


def default_pipeline(app, workspace) -> SimpleNamespace:
    """The workspace's "Sales" pipeline: id, and stage ids by English name (``stages["Qualified"]``)."""
    from crm.deals.models import Pipeline

    with app.app_context(), workspace_scope(workspace.id):
        return _pipeline_ns(db.session.scalar(sa.select(Pipeline).order_by(Pipeline.position, Pipeline.id)))


def _pipeline_ns(pipeline) -> SimpleNamespace:
    from crm.deals.service import stages_of

    stages = stages_of(pipeline.id)
    return SimpleNamespace(id=pipeline.id, stages={stage.name: stage.id for stage in stages},
                           open=[stage.id for stage in stages if stage.kind == "open"])  # fmt: skip


def lost_reason_id(app, workspace, name: str = "Too expensive") -> int:
    """The id of one of the workspace's lost reasons, by its stored (English default) name."""
    from crm.deals.models import LostReason

    with app.app_context(), workspace_scope(workspace.id):
        return db.session.scalar(sa.select(LostReason.id).where(LostReason.name == name))


def make_deal(app, workspace, title: str = "Big order", stage_id: int | None = None, value=1000, **fields) -> int:
    """An open deal made through the service (stage history and audit entry included), at the end
    of ``stage_id`` (default: the first stage of the workspace's first pipeline)."""
    from decimal import Decimal

    from crm.deals.models import OPEN, Stage
    from crm.deals.service import create_deal

    with app.app_context(), workspace_scope(workspace.id):
        if stage_id is None:
            stage_id = db.session.scalar(sa.select(Stage.id).where(Stage.kind == OPEN).order_by(Stage.id))
        stage = db.session.get(Stage, stage_id)
        data = {"title": title, "value": Decimal(str(value)), "currency": fields.pop("currency", "USD"), **fields}
        deal = create_deal(data, stage, fields.get("owner_id"))
        db.session.commit()
        return deal.id


def make_deal_activity(app, workspace, deal_id: int, body: str, kind: str = "note", author_id=None, **fields) -> int:
    """An activity logged on a deal (its contact, if any, gets it too)."""
    from crm.activities.service import log_deal_activity
    from crm.deals.models import Deal

    with app.app_context(), workspace_scope(workspace.id):
        author_id = author_id or db.session.scalar(sa.select(Membership.id).order_by(Membership.id))
        activity = log_deal_activity(db.session.get(Deal, deal_id), author_id, {"kind": kind, "body": body, **fields})
        db.session.commit()
        return activity.id


def make_company_activity(app, workspace, company_id: int, body: str, kind: str = "note", author_id=None, **fields):
    """An activity logged on a company (no contact, no deal)."""
    from crm.activities.service import log_activity
    from crm.contacts.models import Company

    with app.app_context(), workspace_scope(workspace.id):
        author_id = author_id or db.session.scalar(sa.select(Membership.id).order_by(Membership.id))
        data = {"kind": kind, "body": body, **fields}
        activity = log_activity(None, author_id, data, company=db.session.get(Company, company_id))
        db.session.commit()
        return activity.id


def make_quote(app, workspace, deal_id: int | None = None) -> int:
    """A draft quote generated from ``deal_id`` (default: a new deal) through the service."""
    from datetime import date

    from crm.deals.models import Deal
    from crm.quotes.service import create_quote
    from crm.workspaces.models import Workspace

    deal_id = deal_id or make_deal(app, workspace, "Quoted deal")
    with app.app_context(), workspace_scope(workspace.id):
        deal = db.session.get(Deal, deal_id)
        quote = create_quote(deal, db.session.get(Workspace, workspace.id), date.today(), None)
        db.session.commit()
        return quote.id


def make_product(app, workspace, name: str = "Green tea", unit_price="10.00", currency: str = "USD", tax_rate="0",
                 sku: str | None = None, active: bool = True) -> int:  # fmt: skip
    """A catalogue product made through the service (audited)."""
    from decimal import Decimal

    from crm.products.models import Product
    from crm.products.service import create_product, set_active

    with app.app_context(), workspace_scope(workspace.id):
        product = create_product({"name": name, "sku": sku, "unit_price": Decimal(str(unit_price)),
                                  "currency": currency, "tax_rate": Decimal(str(tax_rate))})  # fmt: skip
        if not active:
            set_active(db.session.get(Product, product.id), False)
        db.session.commit()
        return product.id


def make_deal_item(app, workspace, deal_id: int, product_id: int | None = None, name: str | None = None,
                   quantity="1", unit_price=None, discount="0", tax_rate=None) -> int:  # fmt: skip
    """A line of an open deal, through the service: from a product (whose name, price and tax rate
    fill what is not given) or, without one, free text (``name`` and ``unit_price`` needed)."""
    from decimal import Decimal

    from crm.deals.models import Deal
    from crm.products.models import Product
    from crm.products.service import add_item

    given = {"name": name, "quantity": quantity, "unit_price": unit_price, "discount_percent": discount,
             "tax_rate": tax_rate}  # fmt: skip
    data = {key: value if key == "name" else Decimal(str(value)) for key, value in given.items() if value is not None}
    with app.app_context(), workspace_scope(workspace.id):
        product = db.session.get(Product, product_id) if product_id else None
        item = add_item(db.session.get(Deal, deal_id), product, data)
        db.session.commit()
        return item.id


def make_ticket(app, workspace, contact_id: int, subject: str = "Broken cup", body: str = "It arrived broken.",
                channel: str = "portal", requester_email: str | None = "customer@example.com", **fields):  # fmt: skip
    """A ticket opened through the service (numbered, routed, first message, audited); ``fields``
    are open_ticket's other keywords (category_id, priority, requester_name, reference, author_id).
    Returns (ticket id, tracking token)."""
    from crm.contacts.models import Contact
    from crm.tickets.service import open_ticket

    with app.app_context(), workspace_scope(workspace.id):
        ticket, token = open_ticket(contact=db.session.get(Contact, contact_id), subject=subject, body=body,
                                    channel=channel, requester_name=fields.pop("requester_name", None),
                                    requester_email=requester_email, **fields)  # fmt: skip
        db.session.commit()
        return ticket.id, token
