"""A merge of contacts moves the merged contact's tickets to the one kept, as it moves its
activities, purchases and deals: merges made before left them on the contact merged away, in the
trash, where the kept contact's page missed them, the ticket linked to a page that is gone and the
purge of the trash anonymised them as an erased customer's.

The tickets of each contact merged away (in a merge not undone, the contact still in the trash) go
to the contact it was merged into; when that one was merged into another since, on to the last of
the chain. Each merge the tickets passed through notes them among the rows it moved, so undoing it
(within its 7 days) moves them back, as for a merge made now. Tickets the purge has anonymised
already move too: the customer they belong to is the one kept (their text cannot come back).

Each workspace it changes gets one audit entry, "tickets.moved_to_merged", by no one (Kehu
itself): the numbers of the tickets moved and how many contacts received them.

Downgrading leaves the tickets where they are: the older code shows them on the kept contact.

Revision ID: 0049
Revises: 0048
Create Date: 2026-12-11
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from crm.pg import row_security_relaxed

revision = "0049"
down_revision = "0048"
branch_labels = None
depends_on = None

AUDIT_LOG = sa.table(
    "audit_log", sa.column("workspace_id"), sa.column("actor_id"), sa.column("actor_label"), sa.column("action"),
    sa.column("record_type"), sa.column("record_id"), sa.column("changes", sa.JSON),
    sa.column("created_at", sa.DateTime(timezone=True)),
)  # fmt: skip
CONTACT_MERGES = sa.table("contact_merges", sa.column("workspace_id"), sa.column("id"), sa.column("moved", sa.JSON))
# Tickets on a contact merged away by a merge not undone.
LEFT_BEHIND = (
    "SELECT DISTINCT t.workspace_id FROM tickets t JOIN contact_merges m"
    " ON m.workspace_id = t.workspace_id AND m.merged_id = t.contact_id WHERE m.undone_at IS NULL"
    " ORDER BY t.workspace_id"
)
MERGES = (
    "SELECT m.id, m.merged_id, m.survivor_id, m.moved FROM contact_merges m"
    " JOIN contacts c ON c.workspace_id = m.workspace_id AND c.id = m.merged_id"
    " WHERE m.workspace_id = :ws AND m.undone_at IS NULL AND c.deleted_at IS NOT NULL ORDER BY m.created_at, m.id"
)
TICKETS = (
    "SELECT DISTINCT t.id, t.number, t.contact_id FROM tickets t JOIN contact_merges m"
    " ON m.workspace_id = t.workspace_id AND m.merged_id = t.contact_id"
    " WHERE t.workspace_id = :ws AND m.undone_at IS NULL ORDER BY t.id"
)


def upgrade():
    connection = op.get_bind()
    with row_security_relaxed("tickets", "contact_merges", "contacts", "audit_log"):
        for workspace_id in connection.execute(sa.text(LEFT_BEHIND)).scalars().all():
            _move_tickets(connection, workspace_id)


def _move_tickets(connection, workspace_id: int) -> None:
    merges = connection.execute(sa.text(MERGES).columns(moved=sa.JSON), {"ws": workspace_id}).all()
    away = {merge.merged_id: merge for merge in merges}  # the latest merge of each, should there be two
    moves, numbers, survivors = [], [], set()
    moved_by = {merge.id: dict(merge.moved or {}) for merge in merges}
    for ticket in connection.execute(sa.text(TICKETS), {"ws": workspace_id}).all():
        contact_id, seen = ticket.contact_id, {ticket.contact_id}
        while contact_id in away and away[contact_id].survivor_id not in seen:
            merge = away[contact_id]
            moved_by[merge.id].setdefault("tickets", []).append(ticket.id)
            contact_id = merge.survivor_id
            seen.add(contact_id)
        if contact_id != ticket.contact_id:
            moves.append({"ws": workspace_id, "id": ticket.id, "to": contact_id})
            numbers.append(ticket.number)
            survivors.add(contact_id)
    if not moves:
        return
    connection.execute(sa.text("UPDATE tickets SET contact_id = :to WHERE workspace_id = :ws AND id = :id"), moves)
    for merge in merges:
        if moved_by[merge.id] != dict(merge.moved or {}):
            connection.execute(
                sa.update(CONTACT_MERGES)
                .where(CONTACT_MERGES.c.workspace_id == workspace_id, CONTACT_MERGES.c.id == merge.id)
                .values(moved=moved_by[merge.id])
            )
    connection.execute(sa.insert(AUDIT_LOG).values(
        workspace_id=workspace_id, actor_id=None, actor_label="", action="tickets.moved_to_merged", record_type=None,
        record_id=None, changes={"tickets": [None, sorted(numbers)], "contacts": len(survivors)},
        created_at=datetime.now(UTC),
    ))  # fmt: skip


def downgrade():
    pass
