"""A deal's timeline: its activities and the stages it entered, newest first, in keyset pages.

The same key and cursor as a contact's timeline (crm/contacts/timeline.py): (time, source rank, id),
stage changes before activities at equal times; each source is asked only for rows after the
cursor (two queries a page, whatever the number of entries).
"""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.activities.models import Activity
from crm.auth.models import User
from crm.contacts.timeline import ACTIVITY, PER_PAGE, Entry, after_cursor, decode, encode
from crm.deals.models import DealStageChange, Stage, display_name
from crm.extensions import db
from crm.workspaces.models import Membership

STAGE = 2


CHANGED_BY = so.aliased(User)  # made once: SQLAlchemy analyses a fresh alias again on every statement


@dataclass
class StageEntered:
    """One row of the deal's stage history, as the timeline shows it."""

    id: int
    at: datetime
    stage: str
    kind: str  # open | won | lost
    created: bool  # the deal was created in this stage
    by: str | None


def _activities_after(deal_id: int, cursor: tuple | None, limit: int) -> list[Activity]:
    statement = sa.select(Activity).where(Activity.deal_id == deal_id)
    if cursor:
        statement = statement.where(after_cursor(Activity.occurred_at, Activity.id, ACTIVITY, cursor))
    statement = statement.options(
        Membership.shown_by_name(Activity.author), Membership.shown_by_name(Activity.assignee)
    )
    return list(db.session.scalars(statement.order_by(Activity.occurred_at.desc(), Activity.id.desc()).limit(limit)))


def _stages_after(deal_id: int, cursor: tuple | None, limit: int) -> list[StageEntered]:
    by_user = CHANGED_BY
    statement = (
        sa.select(
            DealStageChange.id,
            DealStageChange.at,
            DealStageChange.from_stage_id,
            Stage.name,
            Stage.kind,
            by_user.name.label("by"),
        )
        .join(
            Stage, sa.and_(Stage.workspace_id == DealStageChange.workspace_id, Stage.id == DealStageChange.to_stage_id)
        )
        .outerjoin(
            Membership,
            sa.and_(Membership.workspace_id == DealStageChange.workspace_id, Membership.id == DealStageChange.by_id),
        )
        .outerjoin(by_user, by_user.id == Membership.user_id)
        .where(DealStageChange.deal_id == deal_id)
    )
    if cursor:
        statement = statement.where(after_cursor(DealStageChange.at, DealStageChange.id, STAGE, cursor))
    ordered = statement.order_by(DealStageChange.at.desc(), DealStageChange.id.desc()).limit(limit)
    return [
        StageEntered(row.id, row.at, display_name(row.name), row.kind, row.from_stage_id is None, row.by)
        for row in db.session.execute(ordered)
    ]


def page(deal_id: int, cursor: str | None = None, per_page: int = PER_PAGE) -> tuple[list[Entry], str | None]:
    """One page of entries, and the cursor of the next page (None: this is the last)."""
    after = decode(cursor) if cursor else None
    entries = [Entry(a.occurred_at, ACTIVITY, a) for a in _activities_after(deal_id, after, per_page + 1)]
    entries += [Entry(s.at, STAGE, s) for s in _stages_after(deal_id, after, per_page + 1)]
    entries.sort(key=lambda entry: entry.key, reverse=True)
    if len(entries) <= per_page:
        return entries, None
    return entries[:per_page], encode(entries[per_page - 1].key)
