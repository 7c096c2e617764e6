"""Creating, moving, winning, losing, reopening and deleting deals, with their stage history and
audit entries; the default pipeline of a new workspace. The caller commits (one transaction per
user action)."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from crm.audit import service as audit
from crm.contacts import classification
from crm.contacts.models import Company, Contact
from crm.db import utcnow
from crm.deals.models import (
    DEFAULT_PIPELINE,
    DEFAULT_STAGES,
    LOST,
    OPEN,
    WON,
    Deal,
    DealStageChange,
    LostReason,
    Pipeline,
    Stage,
)  # fmt: skip
from crm.extensions import db
from crm.products import service as product_lines
from crm.purchases import service as purchases
from crm.purchases.models import Purchase

FIELDS = (
    "title", "value", "currency", "contact_id", "company_id", "owner_id", "expected_close_on", "notes",
)  # fmt: skip
CLOSED_FIELDS = ("status", "stage_id", "closed_on", "lost_reason_id", "lost_reason")


class DealError(ValueError):
    """A refused change, with a message for the person who asked and the form field it is about."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def create_default_pipeline() -> Pipeline:
    """The "Sales" pipeline every workspace starts with (names translated on display)."""
    pipeline = Pipeline(name=DEFAULT_PIPELINE, position=0)
    db.session.add(pipeline)
    db.session.flush()
    for position, (name, probability, kind, rotting_days) in enumerate(DEFAULT_STAGES):
        db.session.add(
            Stage(pipeline_id=pipeline.id, name=name, position=position, probability=probability, kind=kind,
                  rotting_days=rotting_days)
        )  # fmt: skip
    db.session.flush()
    return pipeline


def remove_pipelines() -> None:
    """Deletes the bound workspace's pipelines and stages, which hold no deal: a restore into a new
    workspace replaces the default pipeline it started with by the backup's pipelines."""
    db.session.execute(sa.delete(Stage))
    db.session.execute(sa.delete(Pipeline))


def stages_of(pipeline_id: int) -> list[Stage]:
    return list(
        db.session.scalars(sa.select(Stage).where(Stage.pipeline_id == pipeline_id).order_by(Stage.position, Stage.id))
    )


def _end_of(stage: Stage) -> int:
    last = db.session.scalar(
        sa.select(sa.func.max(Deal.position)).where(
            Deal.stage_id == stage.id, Deal.status == stage.kind, Deal.deleted_at.is_(None)
        )
    )
    return 0 if last is None else last + 1


def _entered(deal: Deal, stage: Stage, member_id: int | None, from_stage_id: int | None) -> None:
    deal.stage_id, deal.pipeline_id = stage.id, stage.pipeline_id
    deal.stage_entered_at = utcnow()
    db.session.add(DealStageChange(deal_id=deal.id, from_stage_id=from_stage_id, to_stage_id=stage.id,
                                   at=deal.stage_entered_at, by_id=member_id))  # fmt: skip


def create_deal(data: dict, stage: Stage, member_id: int | None) -> Deal:
    """A new open deal at the end of ``stage`` (an open stage; routes offer no other)."""
    if stage.kind != OPEN:
        raise DealError(_("Choose an open stage."), "stage_id")
    deal = Deal(status=OPEN, custom=data.get("custom") or {}, pipeline_id=stage.pipeline_id, stage_id=stage.id,
                position=_end_of(stage), stage_entered_at=utcnow())  # fmt: skip
    for name in FIELDS:
        if name in data:
            setattr(deal, name, data[name])
    changes = {name: values for name, values in audit.changes_of(deal, (*FIELDS, "stage_id")).items() if values[1]}
    changes.update(data.get("custom_audit") or {})  # custom fields, sensitive ones masked
    db.session.add(deal)
    db.session.flush()
    db.session.add(DealStageChange(deal_id=deal.id, to_stage_id=stage.id, at=deal.stage_entered_at, by_id=member_id))
    audit.record("deal.created", "deal", deal.id, changes)
    classification.deals_changed(deal.contact_id)  # open deals may make their person potential
    return deal


def update_deal(deal: Deal, data: dict, member_id: int | None, stage: Stage | None = None) -> dict:
    """Applies the fields in ``data``; ``stage`` (an open stage of any pipeline) moves an open deal."""
    if ("value" in data or "currency" in data) and product_lines.has_items(deal.id):
        data = {name: value for name, value in data.items() if name not in ("value", "currency")}  # the lines' own
    person_before = deal.contact_id
    for name in FIELDS:
        if name in data:
            setattr(deal, name, data[name])
    changes = audit.changes_of(deal, FIELDS)
    if "custom" in data:
        deal.custom = data["custom"]
        changes.update(data.get("custom_audit") or {})
    if stage is not None and stage.id != deal.stage_id and deal.status == OPEN:
        changes["stage_id"] = [deal.stage_id, stage.id]
        from_stage = deal.stage_id
        deal.position = _end_of(stage)
        _entered(deal, stage, member_id, from_stage)
    if changes:
        audit.record("deal.updated", "deal", deal.id, changes)
    if changes.keys() & {"value", "currency", "contact_id"}:
        classification.deals_changed(person_before, deal.contact_id)
    return changes


def move_deal(deal: Deal, stage: Stage, member_id: int | None, position: int | None = None) -> None:
    """Puts an open deal into another open stage of its pipeline (at the end unless ``position``)."""
    if deal.status != OPEN or stage.kind != OPEN or stage.pipeline_id != deal.pipeline_id:
        raise DealError(_("Only an open deal moves between the open stages of its pipeline."))
    if stage.id == deal.stage_id:
        return
    from_stage = deal.stage_id
    deal.position = _end_of(stage) if position is None else position
    _entered(deal, stage, member_id, from_stage)
    audit.record("deal.moved", "deal", deal.id, {"stage_id": [from_stage, stage.id]})


def neighbour_stage(deal: Deal, stages: list[Stage], step: int) -> Stage | None:
    """The open stage ``step`` places after (or before) the deal's own, if there is one."""
    open_stages = [stage for stage in stages if stage.kind == OPEN]
    index = next((i for i, stage in enumerate(open_stages) if stage.id == deal.stage_id), None)
    if index is None or not 0 <= index + step < len(open_stages):
        return None
    return open_stages[index + step]


@dataclass
class BoardCard:
    id: int
    stage_id: int
    position: int


def reorder(stages: list[Stage], visible: set[int], cards: list[BoardCard], posted: dict[int, list[int]],
            member_id: int | None) -> list[int]:  # fmt: skip
    """Applies a board's new order and returns the ids of the deals that changed stage.

    ``cards`` are the open deals of the pipeline in board order (all of them, seen or not);
    ``visible`` the ids the member sees and may move; ``posted`` each open stage's deal ids as the
    browser sent them. A deal id that is not visible is ignored, and a visible deal posted nowhere
    stays where it is. A member with "own" scope reorders their deals among the others: each
    column keeps the slots of deals the member does not see, and the member's deals fill the rest
    in the posted order. Every column is then numbered 0, 1, 2... (only changed rows are written).
    """
    moved_ids: set[int] = set()  # posted and movable; a deal posted twice counts where it came first
    wanted: dict[int, list[int]] = {}
    for stage_id, ids in posted.items():
        wanted[stage_id] = []
        for deal_id in ids:
            if deal_id in visible and deal_id not in moved_ids:
                moved_ids.add(deal_id)
                wanted[stage_id].append(deal_id)
    by_id = {card.id: card for card in cards}
    new_place: dict[int, tuple[int, int]] = {}
    for stage in stages:
        if stage.kind != OPEN:
            continue
        incoming = iter(wanted.get(stage.id, []))
        order, after_last_slot = [], 0
        for card in (c for c in cards if c.stage_id == stage.id):
            if card.id in moved_ids:  # a slot of the member's, filled in the posted order
                order.append(next(incoming, None))
                after_last_slot = len(order)
            else:
                order.append(card.id)
        # Deals dragged in beyond the column's slots follow its last posted one, not the deals
        # after it that the member does not see or that the board did not show (CARDS_PER_COLUMN).
        order[after_last_slot:after_last_slot] = list(incoming)
        for position, deal_id in enumerate(i for i in order if i is not None):
            new_place[deal_id] = (stage.id, position)
    changed = {deal_id: place for deal_id, place in new_place.items()
               if (by_id[deal_id].stage_id, by_id[deal_id].position) != place}  # fmt: skip
    if not changed:
        return []
    deals = {deal.id: deal for deal in db.session.scalars(sa.select(Deal).where(Deal.id.in_(changed)))}
    stage_by_id = {stage.id: stage for stage in stages}
    moved = []
    for deal_id, (stage_id, position) in changed.items():
        deal = deals[deal_id]
        deal.position = position
        if deal.stage_id != stage_id:
            from_stage = deal.stage_id
            _entered(deal, stage_by_id[stage_id], member_id, from_stage)
            audit.record("deal.moved", "deal", deal.id, {"stage_id": [from_stage, stage_id]})
            moved.append(deal_id)
    return moved


def _outcome_stage(deal: Deal, kind: str) -> Stage:
    stage = db.session.scalar(
        sa.select(Stage).where(Stage.pipeline_id == deal.pipeline_id, Stage.kind == kind).order_by(Stage.position)
    )
    if stage is None:
        raise DealError(_("The pipeline has no stage for this outcome."))
    return stage


def _close(deal: Deal, kind: str, today: date, member_id: int | None) -> dict:
    if deal.status != OPEN:
        raise DealError(_("The deal is closed already."))
    stage = _outcome_stage(deal, kind)
    # Claimed with one conditional UPDATE: of two people closing the deal at once (won with a
    # purchase and lost, or a double submit), the second waits for the first's row and then finds
    # it closed, instead of both reading it open and the last one's outcome standing.
    claimed = db.session.execute(
        sa.update(Deal).where(Deal.id == deal.id, Deal.status == OPEN).values(status=kind),
        execution_options={"synchronize_session": False},
    )
    if claimed.rowcount != 1:
        raise DealError(_("The deal is closed already."))
    from_stage = deal.stage_id
    deal.status, deal.closed_on = kind, today
    deal.position = _end_of(stage)
    _entered(deal, stage, member_id, from_stage)
    return audit.changes_of(deal, CLOSED_FIELDS)


def win_deal(deal: Deal, workspace, today: date, member_id: int | None, with_purchase: bool = False) -> None:
    """Marks the deal won today; ``with_purchase`` records a purchase of its customer (the contact's,
    which reclassifies them; else the company's as a whole) for each of its product lines, or for
    its value when it has none. Those purchases name the deal: won again with its purchase (after a
    reopen), it replaces the ones its earlier win recorded rather than counting the sale twice.
    Decision: reopening keeps them (the goods may have gone; the reopen may be for more), and a win
    again without its purchase leaves them as they are."""
    if with_purchase:
        _check_purchase(deal, workspace)
    changes = _close(deal, WON, today, member_id)
    audit.record("deal.won", "deal", deal.id, changes)
    if not (with_purchase and deal.contact_id):  # its purchase classifies the person, once
        classification.deals_changed(deal.contact_id)  # no longer an open deal
    if with_purchase:
        rows = product_lines.purchase_rows(deal, today) or [
            {"purchased_on": today, "product": deal.title[:200], "quantity": Decimal(1), "unit_price": deal.value,
             "amount": deal.value}
        ]  # fmt: skip
        earlier = db.session.scalars(sa.select(Purchase).where(Purchase.deal_id == deal.id)).all()
        others = purchases.delete_for_a_new_win(earlier) - {deal.contact_id}  # the person moved since
        contact = db.session.get(Contact, deal.contact_id) if deal.contact_id else None
        if contact is not None:
            made = purchases.add_purchases(contact, workspace, rows, today)
        else:
            company = db.session.get(Company, deal.company_id)
            made = [purchases.add_company_purchase(company, workspace, data) for data in rows]
        for purchase in made:
            purchase.deal_id = deal.id
        classification.deals_changed(*others)


def _check_purchase(deal: Deal, workspace) -> None:
    if deal.contact_id is None and deal.company_id is None:
        raise DealError(_("Add a contact or a company to the deal before recording a purchase."), "purchase")
    # The purchase would go to a customer in the trash, out of everyone's sight and figures.
    if deal.contact_id is not None:
        if db.session.scalar(sa.select(Contact.deleted_at).where(Contact.id == deal.contact_id)) is not None:
            raise DealError(_("This contact is in the trash. Restore it first."), "purchase")
    elif db.session.scalar(sa.select(Company.deleted_at).where(Company.id == deal.company_id)) is not None:
        raise DealError(_("This company is in the trash. Restore it first."), "purchase")
    if deal.currency != workspace.currency:
        raise DealError(
            _("Purchases are kept in %(currency)s; this deal is in another currency.", currency=workspace.currency),
            "purchase",
        )


def lose_deal(deal: Deal, reason: LostReason | None, details: str | None, today: date, member_id: int | None) -> None:
    """Marks the deal lost today for ``reason`` (an active entry of the workspace's list), with the
    member's optional words."""
    if reason is None or not reason.active:
        raise DealError(_("Choose why the deal was lost."), "reason_id")
    changes = _close(deal, LOST, today, member_id)
    deal.lost_reason_id = reason.id
    deal.lost_reason = (details or "").strip()[:300] or None
    changes.update(audit.changes_of(deal, ("lost_reason_id", "lost_reason")))
    audit.record("deal.lost", "deal", deal.id, changes)
    classification.deals_changed(deal.contact_id)


def reopen_deal(deal: Deal, member_id: int | None) -> None:
    """Back to the first open stage of its pipeline, at the end of that column."""
    if deal.status == OPEN:
        return
    stage = _outcome_stage(deal, OPEN)
    from_stage = deal.stage_id
    deal.status, deal.closed_on, deal.lost_reason_id, deal.lost_reason = OPEN, None, None, None
    deal.position = _end_of(stage)
    _entered(deal, stage, member_id, from_stage)
    audit.record("deal.reopened", "deal", deal.id, audit.changes_of(deal, CLOSED_FIELDS))
    classification.deals_changed(deal.contact_id)


def delete_deal(deal: Deal) -> None:
    deal.deleted_at = utcnow()
    audit.record("deal.deleted", "deal", deal.id, {"title": [deal.title, None]})
    classification.deals_changed(deal.contact_id)
