"""The workspace's complaint categories as Settings → Service edits them: adding, renaming, moving
up and down, retiring (a category tickets have stays on them but the portal no longer offers it) and
using again. Categories are never deleted: the service report counts them. Every change is audited;
the caller commits.

A workspace keeps at least one active category, so the portal form always has one to offer."""

import sqlalchemy as sa
from flask_babel import gettext as _

from crm.audit import service as audit
from crm.extensions import db
from crm.tickets.models import Ticket, TicketCategory, display_name
from crm.tickets.service import TicketError, categories

NAME_MAX = 120


def usage() -> dict[int, int]:
    """{category id: number of tickets of it}, deleted tickets included."""
    statement = (
        sa.select(Ticket.category_id, sa.func.count())
        .where(Ticket.category_id.is_not(None))
        .group_by(Ticket.category_id)
    )
    return dict(db.session.execute(statement).all())


def _taken(name: str, except_id: int | None) -> bool:
    wanted = name.casefold()
    return any(
        category.id != except_id and wanted in (category.name.casefold(), display_name(category.name).casefold())
        for category in categories()
    )


def _clean_name(name: str | None, category: TicketCategory | None) -> str:
    name = (name or "").strip()
    if not name:
        raise TicketError(_("Enter a name."), 422, "name")
    if len(name) > NAME_MAX:
        raise TicketError(_("At most %(num)d characters.", num=NAME_MAX), 422, "name")
    if category is not None and name == category.display_name:
        return category.name  # the translated default shown in the form stays the default
    if _taken(name, category.id if category else None):
        raise TicketError(_("The list has this category already."), 422, "name")
    return name


def create_category(name: str) -> TicketCategory:
    name = _clean_name(name, None)
    last = db.session.scalar(sa.select(sa.func.max(TicketCategory.position)))
    category = TicketCategory(name=name, position=0 if last is None else last + 1, active=True)
    db.session.add(category)
    db.session.flush()
    audit.record("ticket_category.created", "ticket_category", category.id, {"name": [None, name]})
    return category


def rename_category(category: TicketCategory, name: str) -> dict:
    category.name = _clean_name(name, category)
    changes = audit.changes_of(category, ("name",))
    if changes:
        audit.record("ticket_category.updated", "ticket_category", category.id, changes)
    return changes


def set_active(category: TicketCategory, active: bool) -> None:
    """Retires a category (the portal stops offering it; its tickets keep it) or puts it back."""
    if category.active == active:
        return
    if not active and len(categories(active_only=True)) <= 1:
        raise TicketError(_("Keep at least one category in use, so customers can file a complaint."))
    category.active = active
    audit.record("ticket_category.updated", "ticket_category", category.id, {"active": [not active, active]})


def move(category: TicketCategory, step: int) -> bool:
    """Swaps a category with its neighbour ``step`` (-1 up, 1 down) places away and renumbers the
    list; False when it is already at that end."""
    ordered = categories()
    index = next(i for i, other in enumerate(ordered) if other.id == category.id)
    target = index + step
    if not 0 <= target < len(ordered):
        return False
    ordered[index], ordered[target] = ordered[target], ordered[index]
    for position, other in enumerate(ordered):
        other.position = position
    audit.record("ticket_category.reordered", "ticket_category", None, {"order": [None, [c.id for c in ordered]]})
    return True
