"""Round-robin assignment: an admin chooses members per queue (Settings → Ticket assignment), and
each new ticket of that queue goes to the next of them in turn. A member who left, or who may no
longer work that queue, is skipped; a queue without anyone chosen leaves its tickets unassigned."""

import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.audit import service as audit
from crm.extensions import db
from crm.tickets.models import ESCALATED, QUEUES, AssignmentRotation
from crm.workspaces.models import ACTIVE, Membership

WORK_PERMISSION = "tickets.write"
QUEUE_PERMISSION = {ESCALATED: "tickets.escalated"}


def may_work(member: Membership, queue: str) -> bool:
    needed = QUEUE_PERMISSION.get(queue)
    return member.can(WORK_PERMISSION) and (needed is None or member.can(needed))


def eligible_members(queue: str) -> list[Membership]:
    """Active members who may take this queue's tickets, by name."""
    members = db.session.scalars(sa.select(Membership).where(Membership.status == ACTIVE)
                                 .options(so.joinedload(Membership.user), so.joinedload(Membership.role)))  # fmt: skip
    return sorted((m for m in members if may_work(m, queue)), key=lambda m: m.user.name.lower())


def rotations() -> dict[str, list[int]]:
    saved = {rotation.queue: rotation.member_ids for rotation in db.session.scalars(sa.select(AssignmentRotation))}
    return {queue: saved.get(queue, []) for queue in QUEUES}


def set_rotation(queue: str, member_ids: list[int]) -> None:
    """Saves who takes turns on ``queue``; ids of members who may not work it are refused."""
    if queue not in QUEUES:
        raise ValueError(queue)
    allowed = {member.id for member in eligible_members(queue)}
    if not set(member_ids) <= allowed:
        raise ValueError("not an eligible member")
    rotation = db.session.scalar(sa.select(AssignmentRotation).where(AssignmentRotation.queue == queue))
    before = rotation.member_ids if rotation else []
    if before == member_ids:
        return
    if rotation is None:
        rotation = AssignmentRotation(queue=queue, member_ids=member_ids)
        db.session.add(rotation)
    rotation.member_ids = list(member_ids)
    db.session.flush()
    audit.record("ticket.rotation_changed", "assignment_rotation", rotation.id, {queue: [before, member_ids]})


def next_assignee(queue: str) -> int | None:
    """The member whose turn it is on ``queue`` (and remembers it), or None. On PostgreSQL the
    rotation row stays locked until the ticket is saved, so two tickets never take the same turn."""
    statement = sa.select(AssignmentRotation).where(AssignmentRotation.queue == queue).with_for_update()
    rotation = db.session.scalar(statement)
    if rotation is None or not rotation.member_ids:
        return None
    members = {m.id: m for m in db.session.scalars(sa.select(Membership).where(Membership.id.in_(rotation.member_ids)))}
    order = rotation.member_ids
    start = order.index(rotation.last_member_id) + 1 if rotation.last_member_id in order else 0
    for offset in range(len(order)):
        candidate = members.get(order[(start + offset) % len(order)])
        if candidate is not None and may_work(candidate, queue):
            rotation.last_member_id = candidate.id
            return candidate.id
    return None
