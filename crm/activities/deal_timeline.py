"""A deal's timeline: its activities and the stages it entered, newest first, in keyset pages.

The same key and cursor as a contact's timeline (crm/contacts/timeline.py): (time, source rank, id),
stage changes before activities at equal times; each source is asked only for rows after the
cursor (two queries a page, whatever the number of entries).
"""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from crm.activities.models import Activity
from crm.contacts.timeline import PER_PAGE, Entry, Source, activities, merged_page, newest_after, stage_history
from crm.deals.models import DealStageChange, Stage, display_name
from crm.extensions import db
from crm.workspaces.models import Membership

STAGE = 2


@dataclass
class StageEntered:
    """One row of the deal's stage history, as the timeline shows it."""

    id: int
    at: datetime
    stage: str
    kind: str  # open | won | lost
    created: bool  # the deal was created in this stage
    by: str | None


def _stages_entered(deal_id: int) -> Source:
    columns = DealStageChange.from_stage_id, Stage.name, Stage.kind
    statement = stage_history(*columns).where(DealStageChange.deal_id == deal_id)

    def after(cursor: tuple | None, limit: int) -> list[Entry]:
        ordered = newest_after(statement, DealStageChange.at, DealStageChange.id, STAGE, cursor, limit)
        return [
            Entry(row.at, STAGE, StageEntered(row.id, row.at, display_name(row.name), row.kind,
                                              row.from_stage_id is None, row.by))
            for row in db.session.execute(ordered)
        ]  # fmt: skip

    return after


def page(deal_id: int, cursor: str | None = None, per_page: int = PER_PAGE) -> tuple[list[Entry], str | None]:
    """One page of entries, and the cursor of the next page (None: this is the last)."""
    logged = sa.select(Activity).where(Activity.deal_id == deal_id)
    logged = logged.options(Membership.shown_by_name(Activity.author), Membership.shown_by_name(Activity.assignee))
    return merged_page([activities(logged), _stages_entered(deal_id)], cursor, per_page)
