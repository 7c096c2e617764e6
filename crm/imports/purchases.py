"""Importing purchases: each row a purchase of a customer already in Kehu, found by email, phone or
the ID of the old system (or, with none of those, of a company by its name). The customers are
classified again once the file is in. Undo deletes the purchases it added."""

import logging
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from crm.contacts import classification, identities, tier_runs
from crm.contacts.forms import EARLIEST_DAY
from crm.contacts.models import Company, Contact
from crm.db import utcnow
from crm.extensions import db
from crm.i18n import lazy_gettext as _l
from crm.imports.amounts import currency_of
from crm.imports.contact_rows import (
    Column,
    Invalid,
    RowContext,
    amount_cell,
    email_cell,
    number_cell,
    parse_date,
    phone_cell,
    text_cell,
)
from crm.imports.forms import MATCH_LABELS
from crm.imports.reasons import lowered
from crm.imports.work import RowWork, insert_rows
from crm.jobs import enqueue
from crm.purchases.forms import MAX_QUANTITY
from crm.purchases.models import Purchase
from crm.purchases.service import CENT, computed_amount
from crm.workspaces.models import Membership, Workspace

log = logging.getLogger(__name__)
MAX_AMOUNT = Decimal("999999999999.99")  # Numeric(14, 2)
RECLASSIFY_BATCH = 500


@dataclass
class PurchaseRow:
    line: int
    cells: list[str]
    keys: dict = field(default_factory=dict)  # "email" / "phone" / "external_id" -> value
    company: str | None = None
    currency: str | None = None  # of the Currency column
    signed: dict = field(default_factory=dict)  # currency -> an amount written with its sign or code
    fields: dict = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)


def parse(line: int, cells: list[str], columns: list[Column], context: RowContext) -> PurchaseRow:
    row = PurchaseRow(line, cells)
    for column in columns:
        raw = cells[column.index].strip() if column.index < len(cells) else ""
        if raw:
            try:
                _take(row, column.target, raw, context)
            except Invalid as error:
                row.problems.append((column.header, error.args[0]))
    if not row.problems:
        _settle(row, columns, context)
    return row


def _take(row: PurchaseRow, target: str, raw: str, context: RowContext) -> None:
    if target == "email":
        row.keys["email"] = email_cell(raw)
    elif target == "phone":
        row.keys["phone"] = phone_cell(raw, context.region)
    elif target == "external_id":
        row.keys["external_id"] = text_cell(raw, 100)
    elif target == "company":
        row.company = text_cell(raw, 200)
    elif target == "purchased_on":
        row.fields["purchased_on"] = parse_date(raw, context.day_first)
        if row.fields["purchased_on"] > context.today:
            raise Invalid(_l("%(value)s is in the future: a purchase cannot be dated after today.", value=raw))
        if row.fields["purchased_on"] < EARLIEST_DAY:  # as the purchase form (crm/purchases/forms.py)
            raise Invalid(_l("%(value)s is before 1900: not a purchase date.", value=raw))
    elif target == "product":
        row.fields["product"] = text_cell(raw, 200)
    elif target == "currency":
        row.currency = _currency(raw)
    elif target == "base_amount":
        number, currency = amount_cell(raw, context.currency)
        if currency not in (None, context.currency):
            raise Invalid(_l("%(value)s is not in %(currency)s.", value=raw, currency=context.currency))
        row.fields[target] = _possible(number, raw, target)
    elif target == "quantity":
        row.fields[target] = _possible(number_cell(raw, 3), raw, target)
    else:  # unit_price, amount
        number, currency = amount_cell(raw, context.currency)
        if currency is not None:
            row.signed.setdefault(currency, raw)
        row.fields[target] = _possible(number, raw, target)


def _possible(number: Decimal, raw: str, target: str) -> Decimal:
    most = MAX_QUANTITY if target == "quantity" else MAX_AMOUNT  # as the purchase form (and the columns) take
    if number < 0 or (target == "quantity" and number == 0) or number > most:
        raise Invalid(_l("%(value)s is not a possible %(what)s.", value=raw, what=_what(target)))
    return number


def _currency(raw: str) -> str:
    currency = currency_of(raw, "")
    if currency is None:
        raise Invalid(_l("%(value)s is not a currency: write its code, such as CNY or USD.", value=raw))
    return currency


def _what(target: str) -> str:
    return {"quantity": _l("quantity"), "unit_price": _l("price"), "amount": _l("amount"),
            "base_amount": _l("amount")}[target]  # fmt: skip


def _settle(row: PurchaseRow, columns: list[Column], context: RowContext) -> None:
    """Fills what the others imply: the quantity (1), the amount (quantity x price) or the price,
    and the currency (the workspace's unless the row says another)."""
    header = {column.target: column.header for column in columns}
    _settle_currency(row, header, context.currency)
    for target, message in (("purchased_on", _l("A date is needed.")), ("product", _l("A product is needed."))):
        if target not in row.fields:
            row.problems.append((header.get(target, target), message))
    quantity = row.fields.setdefault("quantity", Decimal(1))
    amount, unit_price = row.fields.get("amount"), row.fields.get("unit_price")
    if amount is None and unit_price is None:
        row.problems.append((header.get("amount", _l("Amount")), _l("An amount is needed.")))
    elif amount is None:
        row.fields["amount"] = computed_amount(quantity, unit_price)  # as the purchase form stores it
        if row.fields["amount"] > MAX_AMOUNT:
            row.problems.append((header["unit_price"], _l("Quantity times unit price is too large.")))
    elif unit_price is None:
        row.fields["unit_price"] = (amount / quantity).quantize(CENT, rounding=ROUND_HALF_UP)
        if row.fields["unit_price"] > MAX_AMOUNT:  # a fraction of a unit (0.001 kg) for a large amount
            row.problems.append((header["amount"], _l("Amount divided by quantity is too large a unit price.")))
    if not (row.keys or row.company):
        row.problems.append((None, _l("Nothing in this row says whose purchase it is.")))


def _settle_currency(row: PurchaseRow, header: dict, workspace_currency: str) -> None:
    """A purchase in another currency needs its worth in the workspace's, as on the purchase form
    (crm/purchases/forms.py): tiers and totals add that up."""
    currency = row.currency or next(iter(row.signed), workspace_currency)
    for other, raw in row.signed.items():
        if other != currency:
            where = header.get("currency", header.get("amount", header.get("unit_price")))
            row.problems.append((where, _l("%(value)s is in %(other)s, but the row's currency is %(currency)s.",
                                           value=raw, other=other, currency=currency)))  # fmt: skip
            return
    row.fields["currency"] = currency
    if currency == workspace_currency:
        row.fields.pop("base_amount", None)  # as the form, which keeps it for other currencies only
    elif "base_amount" not in row.fields:
        row.problems.append((header.get("currency", header.get("amount", _l("Amount"))),
                             _l("Purchases in %(currency)s need their worth in %(workspace)s: add a column with it "
                                "(Worth in the workspace currency), or write the amounts in %(workspace)s.",
                                currency=currency, workspace=workspace_currency)))  # fmt: skip


class PurchaseWork(RowWork):
    def __init__(self, job, write: bool, context: RowContext, columns: list[Column]):
        super().__init__(job, write)
        self.context, self.columns = context, columns
        # A role limited to its own records finds only its own customers (the others stay unknown).
        importer = db.session.scalar(sa.select(Membership).where(Membership.user_id == job.user_id))
        self.only_owner = None if importer and importer.role.record_scope == "all" else (importer.id if importer else 0)
        self.customers: set[int] = set()  # contacts whose figures changed

    def parse(self, batch) -> list[PurchaseRow]:
        return [parse(line, cells, self.columns, self.context) for line, cells in batch]

    def take(self, parsed: list[PurchaseRow]) -> None:
        rows = [row for row in parsed if self.valid(row)]
        contacts = self._contacts(rows)
        companies = self._companies({row.company.lower() for row in rows if row.company})
        values = []
        for row in rows:
            owner = self._owner_of(row, contacts, companies)
            if owner is not None:
                values.append(self._values(row, *owner))
        self.job.created_count += len(values)
        if self.write and values:
            insert_rows(Purchase, values)
            self.customers.update(value["contact_id"] for value in values if value["contact_id"])
        self.save_problems()

    def _contacts(self, rows: list[PurchaseRow]) -> dict[str, tuple[int, int | None]]:
        """{key: (contact id, its company id)} of the live contacts holding the rows' keys."""
        match_by = self.job.match_by
        keys = {row.keys[match_by] for row in rows if match_by in row.keys}
        if not keys:
            return {}
        if match_by == "external_id":
            statement = sa.select(Contact.external_id, Contact.id).where(
                Contact.external_id.in_(keys), Contact.deleted_at.is_(None)
            )
            found = dict(db.session.execute(statement.order_by(Contact.id.desc())).all())
        else:
            found = identities.owners_of(match_by, keys)
        statement = sa.select(Contact.id, Contact.company_id).where(Contact.id.in_(set(found.values())))
        companies = dict(db.session.execute(self._visible(statement, Contact)).all())
        return {
            key: (contact_id, companies[contact_id]) for key, contact_id in found.items() if contact_id in companies
        }

    def _visible(self, statement: sa.Select, model) -> sa.Select:
        return statement if self.only_owner is None else statement.where(model.owner_id == self.only_owner)

    def _companies(self, names: set[str]) -> dict[str, int]:
        if not names:
            return {}
        statement = sa.select(sa.func.lower(Company.name), Company.id).where(
            sa.func.lower(Company.name).in_(names), Company.deleted_at.is_(None)
        )
        return dict(db.session.execute(self._visible(statement, Company).order_by(Company.id.desc())).all())

    def _owner_of(self, row: PurchaseRow, contacts: dict, companies: dict) -> tuple[int | None, int | None] | None:
        """(contact id, company id) the purchase belongs to, or None (the row is then invalid)."""
        key = row.keys.get(self.job.match_by)
        if key is not None and key in contacts:
            return contacts[key]
        if key is not None:  # a mistyped address is no purchase of the company the row also names
            self._invalid(row, _l("No contact has %(key)s.", key=key))
        elif row.company and row.company.lower() in companies:
            return None, companies[row.company.lower()]
        elif row.company:
            self._invalid(row, _l("No company is called %(name)s.", name=row.company))
        else:
            self._invalid(row, _l("This row has no %(what)s to find the customer by.", what=_match_label(self.job)))
        return None

    def _invalid(self, row: PurchaseRow, reason) -> None:
        self.job.invalid_count += 1
        self.problem(row, "invalid", None, reason)

    def _values(self, row: PurchaseRow, contact_id: int | None, company_id: int | None) -> dict:
        now = utcnow()
        return {**row.fields, "workspace_id": self.job.workspace_id, "import_id": self.job.id,
                "contact_id": contact_id, "company_id": company_id,
                "base_amount": row.fields.get("base_amount", row.fields["amount"]), "created_at": now,
                "updated_at": now}  # fmt: skip

    def finish(self) -> None:
        if self.write:
            reclassify(self.job.workspace_id, self.customers)
            classify_all_again(self.job.workspace_id, self.job.user_id, inline=True)  # a job already


def _match_label(job):
    return lowered(MATCH_LABELS[job.match_by])


def reclassify(workspace_id: int, contact_ids: set[int]) -> None:
    """Figures and classes of the contacts whose purchases an import added or removed."""
    workspace = db.session.get(Workspace, workspace_id)
    rules, today = classification.rules_of(workspace), classification.today_in(workspace)
    ids = sorted(contact_ids)
    for start in range(0, len(ids), RECLASSIFY_BATCH):
        chunk = ids[start : start + RECLASSIFY_BATCH]
        for contact in db.session.scalars(sa.select(Contact).where(Contact.id.in_(chunk))):
            classification.reclassify(contact, rules, today, workspace.timezone)
        db.session.flush()


def classify_all_again(workspace_id: int, user_id: int | None, inline: bool | None = None) -> None:
    """With tiers or VIP given as shares of customers, the purchases an import added or removed move
    the cut-offs for everyone: every customer is classified again as saving the rules does
    (crm/contacts/tier_runs.py), after committing the transaction: ``inline`` or in the background
    (by default, as the rules page decides: by the number of customers). The customers' own figures
    must be up to date first (``reclassify``)."""
    if not classification.by_share(db.session.get(Workspace, workspace_id)):
        return
    db.session.commit()
    started = tier_runs.request_run(user_id)
    if started is None:
        return  # the run under way starts over, with these purchases
    if inline or (inline is None and tier_runs.live_buyers() <= tier_runs.INLINE_LIMIT):
        tier_runs.run(started.id)
        return
    try:
        enqueue(tier_runs.run, workspace_id, started.id)
    except Exception:  # Redis unreachable: the cut-offs are worked out again tonight
        log.exception("classification run %s could not be queued", started.id)
        tier_runs.give_up(started.id)
