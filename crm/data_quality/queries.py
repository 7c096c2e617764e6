"""Reading the data quality report: the latest finished run with its counts, a running or failed
one, and a kind's findings a page at a time (keyset on the finding's id, 50 a page). Findings are
joined with their contacts, so the member's record scope applies and contacts trashed since the
run drop out."""

from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.auth.models import User
from crm.contacts.models import Contact
from crm.data_quality.checks import KINDS
from crm.data_quality.models import DONE, DataQualityFinding, DataQualityRun
from crm.extensions import db
from crm.pagination import Page, keyset
from crm.permissions import visible_to_member
from crm.workspaces.models import Membership

PER_PAGE = 50


@dataclass
class Report:
    run: DataQualityRun | None  # the latest finished run, whose findings are shown
    current: DataQualityRun | None  # a newer run: running, or failed
    counts: dict[str, int]


def report(member: Membership) -> Report:
    """One query, or two for a member limited to their own records: the stored counts cover
    every contact, so theirs are counted (grouped by kind, over their own contacts only)."""
    runs = db.session.scalars(
        sa.select(DataQualityRun)
        .options(so.joinedload(DataQualityRun.user))
        .order_by(DataQualityRun.id.desc())
        .limit(2)
    ).all()
    run = next((run for run in runs if run.status == DONE), None)
    current = runs[0] if runs and runs[0].status != DONE else None
    if run is None:
        return Report(None, current, {})
    if member.role.record_scope == "all":
        counts = run.counts
    else:
        statement = sa.select(DataQualityFinding.kind, sa.func.count()).where(DataQualityFinding.run_id == run.id)
        counts = dict(db.session.execute(_of_live_contacts(statement, member).group_by(DataQualityFinding.kind)).all())
    return Report(run, current, {kind: counts.get(kind, 0) for kind in KINDS})


def _of_live_contacts(statement: sa.Select, member: Membership) -> sa.Select:
    statement = statement.join(
        Contact,
        sa.and_(Contact.workspace_id == DataQualityFinding.workspace_id, Contact.id == DataQualityFinding.contact_id),
    ).where(Contact.deleted_at.is_(None))
    return visible_to_member(statement, Contact.owner_id, member)


def findings_page(run: DataQualityRun, kind: str, after: str | None, member: Membership) -> Page:
    """Rows of (id, contact_id, name, owner_name, detail), in the order the run found them."""
    statement = (
        sa.select(DataQualityFinding.id, DataQualityFinding.contact_id, DataQualityFinding.detail, Contact.name,
                  User.name.label("owner_name"))
        .where(DataQualityFinding.run_id == run.id, DataQualityFinding.kind == kind)
    )  # fmt: skip
    statement = _of_live_contacts(statement, member)
    statement = statement.outerjoin(
        Membership, sa.and_(Membership.workspace_id == Contact.workspace_id, Membership.id == Contact.owner_id)
    ).outerjoin(User, User.id == Membership.user_id)
    return keyset(db.session, statement, [DataQualityFinding.id], after, PER_PAGE, descending=False, scalars=False)
