"""Generating quotes from deals, editing drafts, moving them through their statuses (accepting one
can win its deal), and the workspace's business details printed on them. The caller commits (one
transaction per user action)."""

from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.dialects import postgresql, sqlite

from crm.audit import service as audit
from crm.db import utcnow
from crm.deals import service as deals
from crm.deals.models import LOST, OPEN, WON, Deal
from crm.extensions import db
from crm.products import service as product_lines
from crm.quotes.models import ACCEPTED, DRAFT, STATUS_LABELS, TRANSITIONS, Quote, QuoteCounter, QuoteItem
from crm.tenancy import bound_workspace_id
from crm.workspaces.models import Workspace

VALID_DAYS = 30
MAX_AMOUNT = Decimal(10**10 - 1) / 100  # Numeric(12, 2)
DETAILS_MAX = 1000


class QuoteError(ValueError):
    """A refused change: ``status`` 409 when the quote or deal is not in a state that allows it,
    422 for a value that cannot be taken."""

    def __init__(self, message: str, status: int = 409, field: str | None = None):
        super().__init__(message)
        self.status = status
        self.field = field


def next_number(year: int) -> str:
    """The next quote number of the bound workspace for ``year``: Q-2026-0001, Q-2026-0002...

    One statement, INSERT ... ON CONFLICT DO UPDATE ... RETURNING, on the (workspace, year) counter
    row. On PostgreSQL the row stays locked until the transaction ends, so concurrent generations
    wait for each other rather than read the same value (no lost update under READ COMMITTED), and
    a transaction that rolls back takes its increment with it: numbers are sequential and gap-free.
    SQLite runs one writer at a time anyway. A sequence would be neither per workspace nor gap-free."""
    table = QuoteCounter.__table__
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(table)
        .values(workspace_id=bound_workspace_id(), year=year, last_number=1)
        .on_conflict_do_update(
            index_elements=[table.c.workspace_id, table.c.year], set_={"last_number": table.c.last_number + 1}
        )
        .returning(table.c.last_number)
    )
    return f"Q-{year}-{db.session.execute(statement).scalar_one():04d}"


def _deal_lines(deal: Deal) -> list[QuoteItem]:
    """The deal's lines as quote lines; a deal without lines gives one line of its title and value."""
    items = product_lines.items_of(deal)
    if not items:
        return [QuoteItem(position=0, name=deal.title, quantity=Decimal(1), unit_price=deal.value,
                          discount_percent=Decimal(0), tax_rate=Decimal(0), net_amount=deal.value,
                          tax_amount=Decimal(0))]  # fmt: skip
    return [
        QuoteItem(position=position, name=item.name, quantity=item.quantity, unit_price=item.unit_price,
                  discount_percent=item.discount_percent or Decimal(0), tax_rate=item.tax_rate or Decimal(0),
                  net_amount=item.net_amount, tax_amount=item.tax_amount)
        for position, item in enumerate(items)
    ]  # fmt: skip


def create_quote(deal: Deal, workspace: Workspace, today: date, member_id: int | None) -> Quote:
    """A draft quote of an open deal, numbered, issued today and valid for VALID_DAYS, with a copy
    of the deal's lines, its customer's names and the workspace's name and details."""
    if deal.status != OPEN:
        raise QuoteError(_("Only an open deal can be quoted. Reopen the deal first."))
    lines = _deal_lines(deal)
    subtotal = sum((line.net_amount for line in lines), Decimal(0))
    tax_total = sum((line.tax_amount for line in lines), Decimal(0))
    if max(subtotal + tax_total, *(line.net_amount + line.tax_amount for line in lines)) > MAX_AMOUNT:
        raise QuoteError(_("The quote's total is too large."), 422)
    quote = Quote(
        deal_id=deal.id, number=next_number(today.year), status=DRAFT, issued_on=today,
        valid_until=today + timedelta(days=VALID_DAYS), currency=deal.currency, seller_name=workspace.name,
        seller_details=workspace.business_details, company_name=deal.company.name if deal.company else None,
        contact_name=deal.contact.name if deal.contact else None, title=deal.title, subtotal=subtotal,
        tax_total=tax_total, total=subtotal + tax_total, created_by_id=member_id,
    )  # fmt: skip
    db.session.add(quote)
    db.session.flush()
    for line in lines:
        line.quote_id = quote.id
    db.session.add_all(lines)
    changes = {"number": [None, quote.number], "deal_id": [None, deal.id], "total": [None, str(quote.total)]}
    audit.record("quote.created", "quote", quote.id, changes)
    return quote


def update_quote(quote: Quote, valid_until: date, notes: str | None) -> dict:
    """Changes a draft's validity date and notes; a sent quote is as the customer saw it."""
    if quote.status != DRAFT:
        raise QuoteError(_("Only a draft quote can be changed."))
    if valid_until < quote.issued_on:
        raise QuoteError(_("The quote must be valid until its date of issue or later."), 422, "valid_until")
    quote.valid_until = valid_until
    quote.notes = (notes or "").strip() or None
    changes = audit.changes_of(quote, ("valid_until", "notes"))
    if changes:
        audit.record("quote.updated", "quote", quote.id, changes)
    return changes


def change_status(quote: Quote, status: str, workspace: Workspace, today: date, member_id: int | None,
                  win_deal: bool = False) -> None:  # fmt: skip
    """draft → sent → accepted or declined. Accepting with ``win_deal`` marks the deal won as well
    (in the same transaction); a deal won already stays so, a lost one refuses."""
    if status not in TRANSITIONS.get(quote.status, ()):
        raise QuoteError(_("A quote that is %(now)s cannot be marked %(status)s.",
                           now=STATUS_LABELS[quote.status], status=STATUS_LABELS.get(status, status)))  # fmt: skip
    deal = quote.deal
    if status == ACCEPTED and win_deal and deal.status == LOST:
        raise QuoteError(_("The deal is lost. Reopen it before marking it won."))
    before = quote.status
    # One conditional UPDATE claims the change: of two members marking the quote at once (accepted
    # and declined), the second waits for the first's row and then finds it changed.
    claimed = db.session.execute(
        sa.update(Quote).where(Quote.id == quote.id, Quote.status == before).values(status=status),
        execution_options={"synchronize_session": False},
    )
    if claimed.rowcount != 1:
        raise QuoteError(_("Someone else changed this quote's status meanwhile. Check it and try again."))
    quote.status, quote.status_changed_at = status, utcnow()
    audit.record(f"quote.{status}", "quote", quote.id, {"status": [before, status]})
    if status == ACCEPTED and win_deal and deal.status != WON:
        try:
            deals.win_deal(deal, workspace, today, member_id)
        except deals.DealError as error:
            raise QuoteError(str(error)) from error


def set_business_details(workspace: Workspace, details: str | None) -> dict:
    """The workspace's legal name, address, tax ID... printed on the quotes made from now on."""
    details = (details or "").strip() or None
    if details is not None and len(details) > DETAILS_MAX:
        raise QuoteError(_("Keep the details under %(count)d characters.", count=DETAILS_MAX), 422, "business_details")
    workspace.business_details = details
    changes = audit.changes_of(workspace, ("business_details",))
    if changes:
        audit.record("workspace.updated", "workspace", workspace.id, changes)
    return changes
