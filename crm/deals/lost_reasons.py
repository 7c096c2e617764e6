"""The workspace's list of reasons deals are lost: what the Lost form offers and the Sales report
counts. Adding, renaming, reordering, retiring (a reason in use stays on its deals but is no longer
offered) and deleting unused reasons. Every change is audited; the caller commits.

A workspace keeps at least one active reason, so a deal can always be marked lost."""

import sqlalchemy as sa
from flask_babel import gettext as _

from crm.audit import service as audit
from crm.deals.admin import PipelineInUse, taken
from crm.deals.models import DEFAULT_LOST_REASONS, Deal, LostReason
from crm.deals.service import DealError
from crm.extensions import db

NAME_MAX = 120


def create_defaults() -> None:
    """The list every workspace starts with (names translated on display)."""
    for position, name in enumerate(DEFAULT_LOST_REASONS):
        db.session.add(LostReason(name=name, position=position, active=True))
    db.session.flush()


def remove_all() -> None:
    """A restore into a new workspace replaces the default list with the backup's."""
    db.session.execute(sa.delete(LostReason))


def reasons(active_only: bool = False) -> list[LostReason]:
    statement = sa.select(LostReason).order_by(LostReason.position, LostReason.id)
    if active_only:
        statement = statement.where(LostReason.active.is_(True))
    return list(db.session.scalars(statement))


def usage() -> dict[int, int]:
    """{reason id: number of deals lost for it}, trash included (a trashed deal can be restored)."""
    statement = (
        sa.select(Deal.lost_reason_id, sa.func.count())
        .where(Deal.lost_reason_id.is_not(None))
        .group_by(Deal.lost_reason_id)
    )
    return dict(db.session.execute(statement).all())


def _clean_name(name: str | None, reason: LostReason | None) -> str:
    name = (name or "").strip()
    if not name:
        raise DealError(_("Enter a name."), "name")
    if len(name) > NAME_MAX:
        raise DealError(_("At most %(num)d characters.", num=NAME_MAX), "name")
    if reason is not None and name == reason.display_name:
        return reason.name  # the translated default shown in the form stays the default
    if taken(LostReason, name, reason.id if reason else None):
        raise DealError(_("The list has this reason already."), "name")
    return name


def create_reason(name: str) -> LostReason:
    name = _clean_name(name, None)
    last = db.session.scalar(sa.select(sa.func.max(LostReason.position)))
    reason = LostReason(name=name, position=0 if last is None else last + 1, active=True)
    db.session.add(reason)
    db.session.flush()
    audit.record("lost_reason.created", "lost_reason", reason.id, {"name": [None, name]})
    return reason


def rename_reason(reason: LostReason, name: str) -> dict:
    reason.name = _clean_name(name, reason)
    changes = audit.changes_of(reason, ("name",))
    if changes:
        audit.record("lost_reason.updated", "lost_reason", reason.id, changes)
    return changes


def set_active(reason: LostReason, active: bool) -> None:
    if reason.active == active:
        return
    if not active and len(reasons(active_only=True)) <= 1:
        raise PipelineInUse(_("Keep at least one reason in use, so deals can be marked lost."))
    reason.active = active
    audit.record("lost_reason.updated", "lost_reason", reason.id, {"active": [not active, active]})


def delete_reason(reason: LostReason) -> None:
    if usage().get(reason.id):
        raise PipelineInUse(_("Deals were lost for this reason: retire it instead, so they keep it."))
    if reason.active and len(reasons(active_only=True)) <= 1:
        raise PipelineInUse(_("Keep at least one reason in use, so deals can be marked lost."))
    audit.record("lost_reason.deleted", "lost_reason", reason.id, {"name": [reason.name, None]})
    db.session.delete(reason)


def reorder(ordered_ids: list[int]) -> bool:
    """Puts the reasons in the posted order (ids of other workspaces or unknown are ignored; a
    reason not posted keeps its place after the posted ones). Returns whether anything changed."""
    every = reasons()
    by_id = {reason.id: reason for reason in every}
    posted = list(dict.fromkeys(i for i in ordered_ids if i in by_id))
    ordered = [by_id[i] for i in posted] + [reason for reason in every if reason.id not in posted]
    changed = False
    for position, reason in enumerate(ordered):
        if reason.position != position:
            reason.position, changed = position, True
    if changed:
        audit.record("lost_reason.reordered", "lost_reason", None, {"order": [None, [r.id for r in ordered]]})
    return changed


def move(reason: LostReason, step: int) -> bool:
    """Swaps a reason with its neighbour ``step`` (-1 up, 1 down) places away: the keyboard's way."""
    ids = [r.id for r in reasons()]
    index = ids.index(reason.id)
    other = index + step
    if not 0 <= other < len(ids):
        return False
    ids[index], ids[other] = ids[other], ids[index]
    return reorder(ids)
