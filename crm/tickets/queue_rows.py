"""The queue's rows as HTML, written in Python rather than in a Jinja loop.

The queue is the ticket desk's busiest page. In Jinja each of a row's ~25 values cost an attribute
lookup, an escape into a new Markup and a join, about 65 µs a row (3.3 ms for a page of 50, a fifth
of the request); here a row is one f-string, every text from the database escaped once with
``crm.html_text.escape``, and labels, links and ages made once per page. tests/test_tickets.py checks the
markup, escaping included.
"""

from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache

from babel.dates import TIMEDELTA_UNITS, format_timedelta
from flask import g, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from crm.contacts.forms import LEVEL_LABELS
from crm.db import utcnow
from crm.html_text import escape
from crm.i18n import machine_time
from crm.permissions import may_open
from crm.tickets.models import ESCALATED, PRIORITY_LABELS, QUEUE_LABELS, STATUS_LABELS
from crm.tickets.queries import QueueRow

BADGED_LEVELS = ("vip", "potential")


def queue_rows(
    items: Iterable[QueueRow], can_bulk: bool, category_names: dict[int, str], assignee_names: dict[int, str]
) -> Markup:
    """The ``<tr>`` of each ticket of a queue page, with its category and assignee named from the
    workspace's lists (its categories, crm.contacts.queries.roster)."""
    row = _row_writer(can_bulk, _escaped(category_names), _escaped(assignee_names))
    return Markup("".join(row(item) for item in items))  # noqa: S704  (every value is escaped in row())


def _escaped(names: dict[int, str]) -> dict[int, str]:
    return {key: escape(name) for key, name in names.items()}


def _row_writer(can_bulk: bool, categories: dict[int, str], assignees: dict[int, str]):
    ticket_url = url_for("ws.tickets.show", ticket_number=0)[:-1]
    contact_url, member = url_for("ws.contacts.show", contact_id=0)[:-1], g.membership
    now, locale = utcnow(), str(get_locale())
    statuses, priorities, levels, escalated, choose, nobody, in_the_trash = _labels(locale)

    def row(item: QueueRow) -> str:
        number, priority = item.number, escape(item.priority)
        customer = escape(item.contact_name)
        if may_open(item.contact_deleted_at, item.contact_owner_id, member):
            customer = f'<a href="{contact_url}{item.contact_id}">{customer}</a>'
        elif item.contact_deleted_at is not None:
            customer += f" ({in_the_trash})"
        if item.level in levels:
            customer += f' <span class="badge level-{item.level}">{levels[item.level]}</span>'
        pick = (
            f'<td><input type="checkbox" form="ticket-bulk" name="ticket" value="{number}" id="pick-{number}">'
            f'<label for="pick-{number}" class="visually-hidden">{choose}{number}</label></td>'
            if can_bulk
            else ""
        )
        return (
            f'<tr id="ticket-row-{number}" class="priority-{priority}">{pick}'
            f'<td><a href="{ticket_url}{number}">#{number}</a></td>'
            f'<th scope="row"><a href="{ticket_url}{number}">{escape(item.subject)}</a>'
            f"{escalated if item.queue == ESCALATED else ''}</th>"
            f"<td>{customer}</td>"
            f"<td>{categories.get(item.category_id, '')}</td>"
            f'<td><span class="priority priority-{priority}">{priorities.get(item.priority, priority)}</span></td>'
            f"<td>{statuses.get(item.status, escape(item.status))}</td>"
            f"<td>{assignees.get(item.assignee_id, nobody)}</td>"
            f'<td><time datetime="{machine_time(item.created_at)}">{age(now, item.created_at, locale)}</time></td>'
            "</tr>\n"
        )

    return row


@lru_cache(maxsize=8)
def _labels(locale: str) -> tuple:
    """The rows' fixed texts in ``locale`` (the request's), translated and escaped once per process."""
    escalated = f' <span class="badge warning">{escape(str(QUEUE_LABELS[ESCALATED]))}</span>'
    levels = {key: escape(str(LEVEL_LABELS[key])) for key in BADGED_LEVELS}
    choose, nobody, in_the_trash = escape(_("Choose ticket #")), escape(_("Nobody")), escape(_("in the trash"))
    return _texts(STATUS_LABELS), _texts(PRIORITY_LABELS), levels, escalated, choose, nobody, in_the_trash


def _texts(labels: dict) -> dict[str, str]:
    return {key: escape(str(label)) for key, label in labels.items()}


def age(now: datetime, moment: datetime, locale: str) -> str:
    """How long ago, as babel's ``format_timedelta(threshold=1)`` words it ("3 days"): the unit and
    rounded number are worked out as babel does, and each wording is made once per locale."""
    seconds = abs((now - moment).total_seconds())
    for _unit, unit_seconds in TIMEDELTA_UNITS:
        value = seconds / unit_seconds
        if value >= 1:
            return _wording(locale, unit_seconds * max(1, round(value)))
    return _wording(locale, 0)


@lru_cache(maxsize=1024)
def _wording(locale: str, seconds: int) -> str:
    return escape(format_timedelta(seconds, threshold=1, locale=locale))
