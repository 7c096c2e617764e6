"""Tasks: the "My tasks" page's sections and the reminder emails (`flask crm send-reminders`)."""

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from crm.activities.models import Activity
from crm.auth.models import User
from crm.contacts.models import Company, Contact
from crm.db import utcnow
from crm.deals.models import Deal
from crm.extensions import db
from crm.mail import hand_over, one_line
from crm.pagination import Page, decode_cursor, keyset
from crm.permissions import may_open, scope_allows
from crm.workspaces.models import ACTIVE, Membership, Workspace

log = logging.getLogger(__name__)

SECTION_LIMIT = 50
KEPT_LIMIT = 1000  # a section drawn again keeps at most this many of the rows the member had loaded
LOADED_ALL = "all"  # a section loaded to its end (no "Show more" left)


def _day_bounds(timezone: str) -> tuple[datetime, datetime]:
    """The start of today and of tomorrow where the workspace is, in UTC."""
    zone = ZoneInfo(timezone)
    today = datetime.now(zone).date()
    start = datetime.combine(today, time(), tzinfo=zone)
    return start.astimezone(ZoneInfo("UTC")), (start + timedelta(days=1)).astimezone(ZoneInfo("UTC"))


def _on_live_records(statement: sa.Select) -> sa.Select:
    """Tasks with their contact, deal and company, leaving out those of a contact or deal in the trash,
    and those of a company in the trash when logged on the company alone (a person's or deal's task
    stays theirs wherever their company went). They come back with their record."""
    return (
        statement.outerjoin(
            Contact, sa.and_(Contact.workspace_id == Activity.workspace_id, Contact.id == Activity.contact_id)
        )
        .outerjoin(Deal, sa.and_(Deal.workspace_id == Activity.workspace_id, Deal.id == Activity.deal_id))
        .outerjoin(Company, sa.and_(Company.workspace_id == Activity.workspace_id, Company.id == Activity.company_id))
        .where(
            Activity.kind == "task",
            Contact.deleted_at.is_(None),
            Deal.deleted_at.is_(None),
            sa.or_(Activity.contact_id.isnot(None), Activity.deal_id.isnot(None), Company.deleted_at.is_(None)),
        )
        .options(
            so.contains_eager(Activity.contact),
            so.contains_eager(Activity.deal),
            so.contains_eager(Activity.company).load_only(Company.name, Company.owner_id, Company.deleted_at),
        )
    )


def _assigned_to(member: Membership) -> sa.Select:
    return _on_live_records(sa.select(Activity).where(Activity.assignee_id == member.id))


def _sections(member: Membership, timezone: str) -> dict[str, tuple[sa.Select, list, bool]]:
    """Each section of My tasks: its statement, keyset columns, and whether it runs newest first."""
    today, tomorrow = _day_bounds(timezone)
    base = _assigned_to(member)
    due, open_tasks = [Activity.due_at, Activity.id], base.where(Activity.done_at.is_(None))
    return {
        "overdue": (open_tasks.where(Activity.due_at < today), due, False),
        "today": (open_tasks.where(Activity.due_at >= today, Activity.due_at < tomorrow), due, False),
        "upcoming": (open_tasks.where(Activity.due_at >= tomorrow), due, False),
        "done": (base.where(Activity.done_at.isnot(None)), [Activity.done_at, Activity.id], True),
    }


SECTIONS = ("overdue", "today", "upcoming", "done")


def task_page(member: Membership, timezone: str, section: str, after: str | None = None) -> Page:
    """A page of one section (open ones by when they are due, done ones latest first)."""
    statement, columns, descending = _sections(member, timezone)[section]
    return keyset(db.session, statement, columns, after, SECTION_LIMIT, descending)


def my_tasks(member: Membership, timezone: str) -> dict[str, Page]:
    """Open tasks assigned to the member by when they are due, and the latest done ones."""
    return {section: task_page(member, timezone, section) for section in SECTIONS}


def loaded_page(member: Membership, timezone: str, section: str, loaded: str | None) -> Page:
    """A section drawn again as far as the member had loaded it: its rows through the one ``loaded``
    names (the cursor of its "Show more"), or all of them (``LOADED_ALL``); its first page without
    it. A task that moved into the loaded rows shows in its place; one that moved past them comes
    with "Show more", as it would have."""
    if not loaded:
        return task_page(member, timezone, section)
    statement, columns, descending = _sections(member, timezone)[section]
    if loaded == LOADED_ALL:
        return keyset(db.session, statement, columns, None, KEPT_LIMIT, descending)
    key, bound = sa.tuple_(*columns), tuple(decode_cursor(loaded, columns))
    through, beyond = (key >= bound, key < bound) if descending else (key <= bound, key > bound)
    page = keyset(db.session, statement.where(through), columns, None, KEPT_LIMIT, descending)
    if not page.items:  # every loaded row moved away: the section starts again
        return task_page(member, timezone, section)
    if page.next_cursor is None and db.session.scalar(statement.where(beyond).with_only_columns(Activity.id).limit(1)):
        page.next_cursor = loaded
    return page


def how_far_loaded(member: Membership, timezone: str, values) -> dict[str, str | None]:
    """How far each section was loaded, as a task's forms say (``loaded-<section>``); a forged cursor
    is refused (400) here, before anything is saved."""
    sections = _sections(member, timezone)
    loaded = {section: values.get(f"loaded-{section}") or None for section in SECTIONS}
    for section, cursor in loaded.items():
        if cursor not in (None, LOADED_ALL):
            decode_cursor(cursor, sections[section][1])
    return loaded


def tasks_as_loaded(member: Membership, timezone: str, loaded: dict[str, str | None]) -> dict[str, Page]:
    """Every section as far as the member had loaded it (``loaded``: section -> how far)."""
    return {section: loaded_page(member, timezone, section, loaded.get(section)) for section in SECTIONS}


def section_of(task: Activity, timezone: str) -> str | None:
    """The section of My tasks a task is in (an open one without a due date is in none)."""
    if task.done_at is not None:
        return "done"
    if task.due_at is None:
        return None
    today, tomorrow = _day_bounds(timezone)
    return "overdue" if task.due_at < today else "today" if task.due_at < tomorrow else "upcoming"


def my_task(member: Membership, task_id: int) -> Activity | None:
    """One task as My tasks lists it: assigned to the member, its record not in the trash."""
    return db.session.scalar(_assigned_to(member).where(Activity.id == task_id))


def overdue_tasks(member: Membership, timezone: str, limit: int) -> list[Activity]:
    today, _tomorrow = _day_bounds(timezone)
    statement = _assigned_to(member).where(Activity.done_at.is_(None), Activity.due_at < today)
    return list(db.session.scalars(statement.order_by(Activity.due_at, Activity.id).limit(limit)))


def stranded_tasks(member: Membership, limit: int) -> list[Activity]:
    """Open tasks nobody will do: assigned to a member who is disabled (their reminders wait for
    them), or who was removed before removing handed their tasks to the admin. On nobody's My tasks,
    so the care lists show them, soonest due first (those without a due date last), for someone to
    hand on. Not for a member limited to their own records (the caller leaves them out); a task
    logged on a deal only for those who may read deals."""
    gone = sa.select(Membership.id).where(Membership.status != ACTIVE)
    statement = _on_live_records(sa.select(Activity)).where(Activity.done_at.is_(None), Activity.assignee_id.in_(gone))
    if not member.can("deals.read"):
        statement = statement.where(sa.or_(Activity.contact_id.isnot(None), Activity.deal_id.is_(None)))
    statement = statement.order_by(Activity.due_at.is_(None), Activity.due_at, Activity.id)
    return list(db.session.scalars(statement.limit(limit)))


def _due(now: datetime) -> sa.Select:
    """Open tasks of the bound workspace whose reminder time has come and that were not reminded
    (a task of a record in the trash waits for its record to come back)."""
    return _on_live_records(sa.select(Activity)).where(
        Activity.done_at.is_(None),
        Activity.reminded_at.is_(None),
        Activity.remind_at <= now,
        Activity.assignee_id.isnot(None),
    )


def send_reminders(workspace: Workspace) -> tuple[int, bool]:
    """Emails each due reminder once (``reminded_at`` marks it), in the assignee's language; (how many
    were sent, whether any failed). Each is taken under a row lock that another run skips, handed to
    the mail server right here (not queued: it is marked only once the server accepted it), marked and
    committed on its own: two overlapping runs (cron every few minutes) never send one twice, and a
    reminder that failed stays unmarked for the next run. A message the server refuses leaves the rest
    going; a server out of reach stops the workspace's run (the rest would fail alike)."""
    now, sent, failed = utcnow(), 0, False
    for task_id in db.session.scalars(_due(now).with_only_columns(Activity.id).order_by(Activity.remind_at)).all():
        taken = _due(now).where(Activity.id == task_id).with_for_update(skip_locked=True, of=Activity)
        task = db.session.scalar(taken.options(so.joinedload(Activity.assignee)))
        if task is not None and task.assignee.status == ACTIVE:  # a disabled member's reminder waits for them
            try:
                accepted = _send(task, workspace)
            except Exception:
                db.session.rollback()
                log.exception("the reminders stopped at task %s", task_id)
                return sent, True
            if not accepted:
                db.session.rollback()  # unmarked and unlocked: tried again at the next run
                log.error("the mail server refused the reminder of task %s", task_id)
                failed = True
                continue
            task.reminded_at = utcnow()
            sent += 1
        db.session.commit()
    return sent, failed


def _send(task: Activity, workspace: Workspace) -> bool:
    user: User = task.assignee.user
    with force_locale(user.locale or "en"):
        subject = _("Reminder: %(task)s", task=one_line(task.body)[:60])  # the whole text is in the mail
        link = _link(task, workspace)
        text = render_template("activities/email/reminder.txt", task=task, workspace=workspace, link=link)
    return hand_over(user.email, subject, text)


def _link(task: Activity, workspace: Workspace) -> str:
    """The page of the task's record, as My tasks links it: its deal's (a task logged on a deal is the
    deal's, even when the deal has a person: crm/activities/routes.py own_record_form), else its
    contact's, else its company's; or My tasks, where the assignee may not open that record (their
    role or record scope), as My tasks shows it unlinked."""
    member, slug = task.assignee, workspace.slug
    if task.deal_id is not None:
        if member.can("deals.read") and scope_allows(task.deal.owner_id, member):
            return url_for("ws.deals.show", workspace_slug=slug, deal_id=task.deal_id, _external=True)
    elif task.contact_id is not None:
        if may_open(task.contact.deleted_at, task.contact.owner_id, member):
            return url_for("ws.contacts.show", workspace_slug=slug, contact_id=task.contact_id, _external=True)
    elif may_open(task.company.deleted_at, task.company.owner_id, member):
        return url_for("ws.companies.show", workspace_slug=slug, company_id=task.company_id, _external=True)
    return url_for("ws.tasks.index", workspace_slug=slug, _external=True)


def remind_every_workspace() -> tuple[int, list[int]]:
    """``flask crm send-reminders``: each workspace in its own transactions; (reminders sent, the
    workspaces where some were not sent: the mail server refused them or was out of reach)."""
    from flask import current_app, g
    from flask_babel import refresh

    from crm.links import public_request
    from crm.tenancy import ALL_WORKSPACES, workspace_scope

    workspace_ids = db.session.scalars(sa.select(Workspace.id).execution_options(**ALL_WORKSPACES)).all()
    sent, failed = 0, []
    with public_request(current_app):
        for workspace_id in workspace_ids:
            with workspace_scope(workspace_id):
                g.workspace = db.session.get(Workspace, workspace_id)  # dates in its time zone
                refresh()  # Flask-Babel keeps the time zone it found first on g
                try:
                    count, failing = send_reminders(g.workspace)
                except Exception:  # the database, say: the other workspaces still get theirs
                    db.session.rollback()
                    log.exception("reminders of workspace %s failed", workspace_id)
                    count, failing = 0, True
                sent += count
                if failing:
                    log.error("some reminders of workspace %s were not sent; the next run tries again", workspace_id)
                    failed.append(workspace_id)
                db.session.expunge_all()
    return sent, failed
