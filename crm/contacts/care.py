"""Customer care lists for the workspace home: overdue follow-ups, birthdays today and in the next
BIRTHDAY_DAYS days, valuable customers going quiet, customers nobody owns, and open tasks of
members who cannot sign in. Each respects the
member's record scope."""

from datetime import date, timedelta

import sqlalchemy as sa

from crm.activities.tasks import overdue_tasks, stranded_tasks
from crm.contacts.models import Contact, month_day
from crm.contacts.queries import read_roster, roster
from crm.extensions import db
from crm.permissions import own_records_only, visible_to_member

LIMIT = 10  # each list on the workspace home
PAGE_LIMIT = 200  # on the care page of its own, which the home links to when a list is longer
COUNT_CAP = 1000
BIRTHDAY_DAYS = 7  # birthdays today and on the 7 days after it (8 days: one a week today is listed too)


def _live(member) -> sa.Select:
    return visible_to_member(sa.select(Contact).where(Contact.deleted_at.is_(None)), Contact.owner_id, member)


def birthdays_soon(member, today: date, days: int = BIRTHDAY_DAYS, limit: int = LIMIT) -> list[Contact]:
    """Birthdays from today through the next ``days`` days, soonest first (across New Year), through
    the (workspace_id, birthday_md) index; 29 February counts in years without one too."""
    window = [month_day(today + timedelta(days=n)) for n in range(days + 1)]
    if 301 in window and 229 not in window and 228 in window:
        window.insert(window.index(301), 229)
    soonest = sa.case({md: position for position, md in enumerate(window)}, value=Contact.birthday_md)
    statement = _live(member).where(Contact.birthday_md.in_(window)).order_by(soonest, Contact.name, Contact.id)
    return list(db.session.scalars(statement.limit(limit)))


QUIET = ("dormant", "churned")


def valuable_going_quiet(member, limit: int = LIMIT) -> list[Contact]:
    """VIP and potential customers whose purchases have gone dormant: call them before they churn.
    A VIP pinned by hand stays one when they churn: worth a call all the more, so listed too."""
    statement = _live(member).where(Contact.level.in_(("vip", "potential")), Contact.lifecycle.in_(QUIET))
    return list(db.session.scalars(statement.order_by(Contact.lifetime_value.desc(), Contact.id).limit(limit)))


def unowned_count(member) -> int:
    """Contacts with no owner, counted up to a cap (no full count on a large workspace)."""
    capped = _live(member).where(Contact.owner_id.is_(None)).with_only_columns(Contact.id).limit(COUNT_CAP + 1)
    return db.session.scalar(sa.select(sa.func.count()).select_from(capped.subquery()))


def _former_member_name(member_id: int) -> str:
    """A former member by name ("Sam Lee (disabled)"): the roster read once, however many tasks it names."""
    return (read_roster() or roster()).former_member_name(member_id)


def care_lists(member, timezone: str, today: date, sensitive: bool, limit: int = LIMIT) -> dict:
    """Each list holds up to ``limit`` + 1 entries: the template shows ``limit`` and, when there is
    one more, says so and links the care page."""
    return {
        "limit": limit,
        "overdue": overdue_tasks(member, timezone, limit + 1),
        "birthdays": birthdays_soon(member, today, limit=limit + 1) if sensitive else None,
        "birthday_days": BIRTHDAY_DAYS,  # the list's words say what it covers
        "quiet": valuable_going_quiet(member, limit + 1),
        # A member who sees only their own customers never sees one without an owner: no section.
        "unowned": None if own_records_only(member) else unowned_count(member),
        # Open tasks of members who cannot sign in (disabled or removed): on nobody's My tasks.
        "stranded": None if own_records_only(member) else stranded_tasks(member, limit + 1),
        "count_cap": COUNT_CAP,
        "former_member_name": _former_member_name,
    }
