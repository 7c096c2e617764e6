"""Read queries for pipelines and deals: the board (a fixed number of queries, whatever the number
of cards), one deal with its stage history, and the choices of the deal form.

Every deal query goes through ``visible_to_member`` (record scope "own" sees its own deals only,
board totals included) and hides soft-deleted deals.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.auth.models import User
from crm.contacts.models import Company, Contact
from crm.contacts.queries import owner_filter
from crm.db import utcnow
from crm.deals.customers import parse_customer, where_customer
from crm.deals.models import OPEN, Deal, DealStageChange, Pipeline, Stage
from crm.deals.service import BoardCard
from crm.extensions import db
from crm.permissions import scope_allows, visible_to_member
from crm.search import matching, search_order
from crm.security import digits
from crm.workspaces.models import Membership

# Cards rendered per column; the counts and totals cover every deal. A column of 2,000 cards
# weighed 2.6 MB and took 0.6 s to render; "Show all" opens one column whole.
CARDS_PER_COLUMN = 25


# Aliases are made once: SQLAlchemy analyses a fresh alias again on every statement.
CHANGED_BY = so.aliased(User)


@dataclass(frozen=True)
class BoardFilters:
    """The board's filters, kept in the URL: owner ("me", "none" or a member id), words found in the
    title or the customer's name, a customer, an expected close date range and a least value. A value
    that does not parse is left out (a link typed by hand filters less, it does not fail)."""

    owner: str = ""
    q: str = ""
    customer: str = ""  # "contact:<id>" or "company:<id>" (crm/deals/customers.py)
    close_from: date | None = None
    close_until: date | None = None
    min_value: Decimal | None = None

    @classmethod
    def from_args(cls, args) -> "BoardFilters":
        owner = args.get("owner", "")
        return cls(
            owner=owner if owner in ("me", "none") or digits(owner) is not None else "",
            q=args.get("q", "").strip()[:100],
            customer=parse_customer(args.get("customer")),
            close_from=_day(args.get("close_from")),
            close_until=_day(args.get("close_until")),
            min_value=_amount(args.get("min_value")),
        )

    def as_args(self) -> dict[str, str]:
        values = {"owner": self.owner, "q": self.q, "customer": self.customer, "close_from": self.close_from,
                  "close_until": self.close_until, "min_value": self.min_value}  # fmt: skip
        return {key: str(value) for key, value in values.items() if value not in (None, "")}

    def apply(self, statement: sa.Select, member: Membership) -> sa.Select:
        statement = owner_filter(statement, Deal.owner_id, self.owner, member)
        if self.q:
            dialect = db.engine.dialect.name
            contacts = matching(sa.select(Contact.id), Contact, self.q, dialect)
            companies = matching(sa.select(Company.id), Company, self.q, dialect)
            titles = matching(sa.select(Deal.id), Deal, self.q, dialect, phone_digits=False)
            statement = statement.where(sa.or_(
                Deal.id.in_(titles), Deal.contact_id.in_(contacts), Deal.company_id.in_(companies),
            ))  # fmt: skip
        statement = where_customer(statement, self.customer)
        if self.close_from:
            statement = statement.where(Deal.expected_close_on >= self.close_from)
        if self.close_until:
            statement = statement.where(Deal.expected_close_on <= self.close_until)
        if self.min_value is not None:
            statement = statement.where(Deal.value >= self.min_value)
        return statement


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _amount(text: str | None) -> Decimal | None:
    try:
        value = Decimal(text) if text else None
    except ArithmeticError:
        return None
    return value if value is not None and value.is_finite() and value >= 0 else None


def pipelines() -> list[Pipeline]:
    return list(db.session.scalars(sa.select(Pipeline).order_by(Pipeline.position, Pipeline.id)))


def pipelines_with_stages() -> list[tuple[Pipeline, list[Stage]]]:
    """Every pipeline in order, each with its stages in order: the board's tabs and columns (one query)."""
    statement = (
        sa.select(Pipeline, Stage)
        .outerjoin(Stage, sa.and_(Stage.workspace_id == Pipeline.workspace_id, Stage.pipeline_id == Pipeline.id))
        .order_by(Pipeline.position, Pipeline.id, Stage.position, Stage.id)
    )
    every: dict[int, tuple[Pipeline, list[Stage]]] = {}
    for pipeline, stage in db.session.execute(statement):
        stages = every.setdefault(pipeline.id, (pipeline, []))[1]
        if stage is not None:
            stages.append(stage)
    return list(every.values())


@dataclass
class Card:
    """One deal on the board: only the columns a card shows."""

    id: int
    title: str
    value: Decimal
    currency: str
    stage_id: int
    position: int
    expected_close_on: date | None
    stage_entered_at: datetime
    contact_id: int | None
    contact_name: str | None
    company_id: int | None
    company_name: str | None
    owner_id: int | None
    rotting_for: int | None = None  # days in the stage, when past the stage's limit
    # Written by crm.deals.board_text for the template.
    owner_name: str | None = None
    value_text: str = ""
    customer_text: str = ""
    close_text: str = ""
    rotting_text: str = ""


@dataclass
class Column:
    stage: Stage
    cards: list[Card] = field(default_factory=list)
    totals: dict[str, Decimal] = field(default_factory=dict)  # currency -> total value
    count: int = 0  # every open deal of the stage the member sees, shown or not

    @property
    def hidden(self) -> int:
        return self.count - len(self.cards)

    @property
    def weighted(self) -> dict[str, Decimal]:
        share = Decimal(self.stage.probability) / 100
        return {currency: (total * share).quantize(Decimal("0.01")) for currency, total in self.totals.items()}


# What the board query reads of each deal.
CARD_COLUMNS = (Deal.id, Deal.workspace_id, Deal.title, Deal.value, Deal.currency, Deal.stage_id,
                Deal.position, Deal.expected_close_on, Deal.stage_entered_at, Deal.contact_id, Deal.company_id,
                Deal.owner_id)  # fmt: skip


def open_cards(
    pipeline_id: int, member: Membership, whole_stage: int | None = None, filters: BoardFilters = BoardFilters()
) -> list[Card]:
    """The first CARDS_PER_COLUMN open deals of each column of a pipeline the member may see (every
    one of ``whole_stage``), in board order, with the names a card shows (one query)."""
    statement = _kept(("cards", whole_stage is not None), member, filters, _cards_statement)
    values = {"pipeline_id": pipeline_id, "per_column": CARDS_PER_COLUMN, "whole_stage": whole_stage}
    return [Card(*row) for row in db.session.execute(statement, values)]  # it selects Card's fields in order


# The board's statements, built once per kind, member and filters: building the card query (three
# subqueries of a dozen columns) took longer than running it. Their values come as parameters.
_statements: dict[tuple, sa.Select] = {}
STATEMENTS_KEPT = 1_000


def _kept(kind: tuple, member: Membership, filters: BoardFilters, build) -> sa.Select:
    """``build(member, *kind[1:], filters)``, kept per kind, database, member (the "own" scope and the
    "me" filter name them) and filters."""
    key = (*kind, db.engine.dialect.name, member.id, member.role.record_scope, filters)
    statement = _statements.get(key)
    if statement is None:
        if len(_statements) >= STATEMENTS_KEPT:
            _statements.clear()
        statement = _statements[key] = build(member, *kind[1:], filters)
    return statement


def _cards_statement(member: Membership, whole: bool, filters: BoardFilters) -> sa.Select:
    """The cards of a board (a column's whole with ``whole``), joined to their customers' names. The
    owners are named from the workspace's members (crm.contacts.queries.roster), which the board
    loads anyway: joined here too, they made PostgreSQL plan two more tables on every request."""
    open_deals = sa.select(*CARD_COLUMNS).where(
        Deal.pipeline_id == sa.bindparam("pipeline_id"), Deal.status == OPEN, Deal.deleted_at.is_(None)
    )
    first = (_first_cards_by_stage if db.engine.dialect.name == "postgresql" else _first_cards_ranked)(
        open_deals, member, whole, filters
    )
    card_columns = [first.c[name] for name in ("id", "title", "value", "currency", "stage_id", "position",
                                               "expected_close_on", "stage_entered_at", "contact_id")]  # fmt: skip
    return (
        sa.select(
            *card_columns,
            Contact.name.label("contact_name"),
            first.c.company_id,
            Company.name.label("company_name"),
            first.c.owner_id,
        )
        .select_from(first)
        .outerjoin(Contact, sa.and_(Contact.workspace_id == first.c.workspace_id, Contact.id == first.c.contact_id))
        .outerjoin(Company, sa.and_(Company.workspace_id == first.c.workspace_id, Company.id == first.c.company_id))
        .order_by(first.c.stage_id, first.c.position, first.c.id)
    )


def _first_cards_by_stage(open_deals: sa.Select, member: Membership, whole: bool, filters: BoardFilters) -> sa.Subquery:
    """PostgreSQL: for each open stage, its first cards read in order from the board index
    (ix_deals_workspace_id_board), so the board reads about a hundred index entries, not every
    open deal of the pipeline (2,000 deals: 2.3 ms of execution down to 0.45 ms)."""
    stage = (
        sa.select(Stage.id)
        .where(Stage.pipeline_id == sa.bindparam("pipeline_id"), Stage.kind == OPEN)
        .subquery("open_stage")
    )
    limit = sa.bindparam("per_column")
    if whole:
        limit = sa.case((stage.c.id == sa.bindparam("whole_stage"), sa.null()), else_=limit)
    first = (
        visible_to_member(filters.apply(open_deals.where(Deal.stage_id == stage.c.id), member), Deal.owner_id, member)
        .order_by(Deal.position, Deal.id)
        .limit(limit)
        .lateral("first_cards")
    )
    return sa.select(first).select_from(stage).join(first, sa.true()).subquery("cards")


def _first_cards_ranked(open_deals: sa.Select, member: Membership, whole: bool, filters: BoardFilters) -> sa.Subquery:
    """Elsewhere (SQLite has no LATERAL): every open deal ranked within its stage, the first kept. The
    deals are ranked and read in one pass; joining the ranking back to deals made PostgreSQL,
    without statistics on a young table, compare every deal with every ranked one."""
    rank = sa.func.row_number().over(partition_by=Deal.stage_id, order_by=(Deal.position, Deal.id))
    ranked = visible_to_member(filters.apply(open_deals.add_columns(rank.label("rank")), member), Deal.owner_id, member)
    ranked = ranked.subquery("ranked")
    shown = ranked.c.rank <= sa.bindparam("per_column")
    if whole:
        shown = sa.or_(shown, ranked.c.stage_id == sa.bindparam("whole_stage"))
    return sa.select(*(ranked.c[column.key] for column in CARD_COLUMNS)).where(shown).subquery("cards")


def column_totals(
    pipeline_id: int, member: Membership, filters: BoardFilters = BoardFilters()
) -> dict[int, dict[str, tuple[int, Decimal]]]:
    """{stage id: {currency: (deals, total value)}} over every open deal the member sees and the
    filters keep (one query)."""
    statement = _kept(("totals",), member, filters, _totals_statement)
    totals: dict[int, dict[str, tuple[int, Decimal]]] = defaultdict(dict)
    for stage_id, currency, count, total in db.session.execute(statement, {"pipeline_id": pipeline_id}):
        totals[stage_id][currency] = (count, Decimal(str(total or 0)))
    return totals


def _totals_statement(member: Membership, filters: BoardFilters) -> sa.Select:
    statement = sa.select(Deal.stage_id, Deal.currency, sa.func.count(Deal.id), sa.func.sum(Deal.value)).where(
        Deal.pipeline_id == sa.bindparam("pipeline_id"), Deal.status == OPEN, Deal.deleted_at.is_(None)
    )
    statement = filters.apply(statement, member).group_by(Deal.stage_id, Deal.currency)
    return visible_to_member(statement, Deal.owner_id, member)


def board_positions(pipeline_id: int, member: Membership) -> tuple[list[BoardCard], set[int]]:
    """Every open deal of the pipeline as (id, stage, position) in board order, seen by the member
    or not (a reorder keeps the places of deals the member does not see), and the ids the member
    may move (one query)."""
    statement = (
        sa.select(Deal.id, Deal.stage_id, Deal.position, Deal.owner_id)
        .where(Deal.pipeline_id == pipeline_id, Deal.status == OPEN, Deal.deleted_at.is_(None))
        .order_by(Deal.stage_id, Deal.position, Deal.id)
    )
    rows = db.session.execute(statement).all()
    visible = {row.id for row in rows if scope_allows(row.owner_id, member)}
    return [BoardCard(row.id, row.stage_id, row.position) for row in rows], visible


def board(stages: list[Stage], cards: list[Card], totals: dict[int, dict[str, tuple[int, Decimal]]]) -> list[Column]:
    """The open stages as columns holding their cards, with counts, totals and rotting warnings."""
    columns = {stage.id: Column(stage) for stage in stages if stage.kind == OPEN}
    now = utcnow()
    for card in cards:
        column = columns.get(card.stage_id)
        if column is None:
            continue
        limit = column.stage.rotting_days
        if limit is not None and now - card.stage_entered_at > timedelta(days=limit):
            card.rotting_for = (now - card.stage_entered_at).days
        column.cards.append(card)
    for stage_id, column in columns.items():
        by_currency = totals.get(stage_id, {})
        column.count = sum(count for count, _total in by_currency.values())
        column.totals = {currency: total for currency, (_count, total) in by_currency.items()}
    return list(columns.values())


def deal_or_none(deal_id: int, member: Membership) -> Deal | None:
    """A live deal the member may see, with its customer, owner, stage and pipeline."""
    statement = (
        sa.select(Deal)
        .where(Deal.id == deal_id, Deal.deleted_at.is_(None))
        .options(
            so.joinedload(Deal.contact),
            so.joinedload(Deal.company),
            Membership.shown_by_name(Deal.owner),
            so.joinedload(Deal.stage),
            so.joinedload(Deal.pipeline),
            so.joinedload(Deal.lost_reason_entry),
        )
    )
    return db.session.scalar(visible_to_member(statement, Deal.owner_id, member))


def stage_history(deal_id: int) -> list[tuple[DealStageChange, str, str | None]]:
    """(change, stage name, member name) for each stage the deal entered, latest first."""
    by_user = CHANGED_BY
    statement = (
        sa.select(DealStageChange, Stage, by_user.name)
        .join(
            Stage, sa.and_(Stage.workspace_id == DealStageChange.workspace_id, Stage.id == DealStageChange.to_stage_id)
        )
        .outerjoin(
            Membership,
            sa.and_(Membership.workspace_id == DealStageChange.workspace_id, Membership.id == DealStageChange.by_id),
        )
        .outerjoin(by_user, by_user.id == Membership.user_id)
        .where(DealStageChange.deal_id == deal_id)
        .order_by(DealStageChange.at.desc(), DealStageChange.id.desc())
    )
    return [(change, stage, name) for change, stage, name in db.session.execute(statement)]


def open_stages() -> list[tuple[Pipeline, Stage]]:
    """Every open stage of every pipeline, in order: where a deal may be put."""
    statement = (
        sa.select(Pipeline, Stage)
        .join(Stage, sa.and_(Stage.workspace_id == Pipeline.workspace_id, Stage.pipeline_id == Pipeline.id))
        .where(Stage.kind == OPEN)
        .order_by(Pipeline.position, Pipeline.id, Stage.position, Stage.id)
    )
    return [(pipeline, stage) for pipeline, stage in db.session.execute(statement)]


def company_of_contact(contact_id: int) -> int | None:
    return db.session.scalar(sa.select(Contact.company_id).where(Contact.id == contact_id))


def quick_deals(q: str, member: Membership, limit: int) -> list:
    """Live deals whose title holds every word of ``q`` (up to 8), accents folded as contacts' are
    (crm.search), newest first, within the member's record scope: the header's search (the title's
    search text is indexed: pg_trgm GIN on PostgreSQL, FTS5 trigram on SQLite)."""
    q = " ".join(q.split()[:8])
    dialect = db.engine.dialect.name
    statement = sa.select(Deal.id, Deal.title, Deal.status, Deal.value, Deal.currency).where(Deal.deleted_at.is_(None))
    statement = visible_to_member(matching(statement, Deal, q, dialect, phone_digits=False), Deal.owner_id, member)
    order = search_order(q, dialect, [Deal.created_at, Deal.id], True) or (Deal.created_at.desc(), Deal.id.desc())
    return db.session.execute(statement.order_by(*order).limit(limit)).all()
