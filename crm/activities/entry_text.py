"""Timeline entries as HTML, written in Python rather than in Jinja: a contact's or a deal's page shows
20 of them, and in a template each cost an include (a copy of the page's context), a dozen filter and
translation calls and an escape into a new Markup per value, a third of the contact page's Python
calls. Here the texts every entry shares (labels, the CSRF token, URL prefixes, the member's rights)
are made once per page and each value from the database is escaped once (crm/html_text.py).

The same writers make the single entries that htmx swaps in after logging, finishing or deleting, so
an entry reads the same however it reached the page (tests/test_timeline.py checks the markup)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from flask import current_app, g, url_for
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf
from jinja2.filters import do_truncate
from markupsafe import Markup

from crm.activities.forms import KIND_LABELS
from crm.activities.service import may_correct, may_finish
from crm.contacts.timeline import ACTIVITY
from crm.html_text import escape
from crm.i18n import machine_time, money_writer


@dataclass(frozen=True)
class Writing:
    """What every entry of a page shares: the request's labels, formats and CSRF token."""

    locale: str
    labels: dict[str, str]  # escaped, in the request's locale
    csrf: str
    when: Callable[[datetime], str]  # a time as the templates' ``datetime('short')`` writes it
    day: Callable[[date], str]  # a date as ``format_date`` writes it
    number: Callable[[object], str]
    money: Callable[[object, str], str]


def writing() -> Writing:
    locale, zone = get_locale(), get_timezone()
    return Writing(
        locale=str(locale),
        labels=_labels(str(locale)),
        csrf=generate_csrf(),
        when=lambda moment: format_datetime(moment, "short", tzinfo=zone, locale=locale),
        day=lambda day: format_date(day, "medium", locale=locale),
        number=lambda number: format_decimal(number, locale=locale),
        money=money_writer(str(locale)),
    )


@lru_cache(maxsize=8)
def _labels(locale: str) -> dict[str, str]:
    """The entries' fixed texts in ``locale`` (the request's), translated and escaped once per process."""
    texts = {f"kind-{kind}": label for kind, label in KIND_LABELS.items()}
    texts.update({
        "delete": _("Delete"), "edit": _("Edit"), "delete-entry": _("Delete this entry?"), "on-deal": _("on the deal"),
        "done": _("Done"), "reopen": _("Reopen"), "mark-done": _("Mark done"), "due": _("Due %(when)s"),
        "assigned": _("Assigned to %(name)s"), "with": _("with"),
    })  # fmt: skip
    return {key: escape(text) for key, text in texts.items()}


def short(text: str) -> str:
    """``text|truncate(40)`` as the templates wrote it, escaped."""
    return escape(do_truncate(current_app.jinja_env, text, 40))


def post_button(writing: Writing, url: str, label: str, object_name: str, confirm: str, target: str) -> str:
    """The ``post_button`` macro of templates/_macros/forms.html, for an htmx swap of ``target``;
    ``label``, ``object_name`` and ``confirm`` are escaped already."""
    return (
        f'<form method="post" action="{url}" class="inline" data-hx-post="{url}" data-hx-target="{target}" '
        f'data-hx-swap="outerHTML" data-hx-confirm="{confirm}">'
        f'<input type="hidden" name="csrf_token" value="{writing.csrf}">'
        f'<button type="submit" class="link">{label}<span class="visually-hidden"> {object_name}</span></button></form>'
    )


def activity_writer(
    writing: Writing,
    activities_url: str,
    delete_permission: str | Callable[[object], str],
    deal_link: Callable | None = None,
    contact_link: Callable | None = None,
) -> Callable:
    """Writes one activity of a record's timeline; ``activities_url`` is the record's activities
    route (".../contacts/7/activities/"); anyone may delete their own entries, others need
    ``delete_permission`` (or the one it gives for the entry); ``deal_link`` and ``contact_link``
    give the deal and the person an entry links to, if any."""
    member, labels = g.membership, writing.labels
    can_write = member.can("notes.write")
    permission_of = delete_permission if callable(delete_permission) else lambda _item: delete_permission
    deal_url = url_for("ws.deals.show", deal_id=0)[:-1]
    contact_url = url_for("ws.contacts.show", contact_id=0)[:-1]

    def write(item) -> str:
        entry_id, kind = item.id, item.kind
        badge = labels.get(f"kind-{kind}", escape(kind))
        author = escape(item.author.user.name)
        head = f'<span class="badge">{badge}</span> {time_tag(writing, item.occurred_at)} · {author}'
        contact = contact_link(item) if contact_link else None
        if contact is not None:
            head += f' · {labels["with"]} <a href="{contact_url}{contact.id}">{escape(contact.name)}</a>'
        deal = deal_link(item) if deal_link else None
        if deal is not None:
            head += f' · {labels["on-deal"]} <a href="{deal_url}{deal.id}">{escape(deal.title)}</a>'
        html = (
            f'<li id="entry-activity-{entry_id}" class="entry {escape(kind)}{" done" if item.done_at else ""}">'
            f'<p class="entry-head">{head}</p><p class="note-body">{escape(item.body)}</p>'
        )
        if kind == "task":
            html += _task_line(writing, item)
        if can_write:
            finishes = kind == "task" and may_finish(item, member)
            actions = _done_form(writing, f"{activities_url}{entry_id}/done", item) if finishes else ""
            target = f"#entry-activity-{entry_id}"
            if may_correct(item, member, permission_of(item)):
                edit_url = f"{activities_url}{entry_id}/edit"
                actions += (
                    f'<a href="{edit_url}" data-hx-get="{edit_url}" data-hx-target="{target}" data-hx-swap="outerHTML">'
                    f'{labels["edit"]}<span class="visually-hidden"> {short(item.body)}</span></a>'
                )
            if item.author_id == member.id or member.can(permission_of(item)):
                delete_url = f"{activities_url}{entry_id}/delete"
                actions += post_button(
                    writing, delete_url, labels["delete"], short(item.body), labels["delete-entry"], target
                )
            html += f'<div class="entry-actions">{actions}</div>'
        return html + "</li>\n"

    return write


def time_tag(writing: Writing, moment: datetime) -> str:
    """A ``<time>`` written in the member's time zone and language."""
    return f'<time datetime="{machine_time(moment)}">{escape(writing.when(moment))}</time>'


def _task_line(writing: Writing, item) -> str:
    labels = writing.labels
    line = labels["due"] % {"when": escape(writing.when(item.due_at))}
    if item.assignee:
        line += " · " + labels["assigned"] % {"name": escape(item.assignee.user.name)}
    if item.done_at:
        line += f" · {labels['done']}"
    return f'<p class="hint">{line}</p>'


def _done_form(writing: Writing, url: str, item) -> str:
    labels, entry_id = writing.labels, item.id
    return (
        f'<form method="post" action="{url}" data-hx-post="{url}" data-hx-target="#entry-activity-{entry_id}" '
        'data-hx-swap="outerHTML">'
        f'<input type="hidden" name="csrf_token" value="{writing.csrf}">'
        f'<input type="hidden" name="done" value="{"0" if item.done_at else "1"}">'
        f'<button type="submit" class="link">{labels["reopen"] if item.done_at else labels["mark-done"]}'
        f'<span class="visually-hidden"> {short(item.body)}</span></button></form>'
    )


def event_badge(kind: str, label: str) -> str:
    """The badge of a deal's stage entry or of a deal event: won green, lost amber."""
    tone = {"won": " success", "lost": " warning"}.get(kind, "")
    return f'<span class="badge{tone}">{label}</span>'


def by_whom(name: str | None) -> str:
    return f" · {escape(name)}" if name else ""


def deal_entries(deal, entries: list) -> Markup:
    """A deal's timeline entries (crm.activities.deal_timeline): stages it entered, and activities."""
    shared = writing()
    write_activity = activity_writer(shared, url_for("ws.deal_activities.create", deal_id=deal.id), "deals.delete")
    created, stage, entered = escape(_("Deal created")), escape(_("Stage")), escape(_("Entered %(stage)s"))

    def write(entry) -> str:
        item = entry.item
        if entry.rank == ACTIVITY:
            return write_activity(item)
        badge = event_badge(item.kind, created if item.created else stage)
        return (
            f'<li id="entry-stage-{item.id}" class="entry stage-change">'
            f'<p class="entry-head">{badge} {time_tag(shared, item.at)}{by_whom(item.by)}</p>'
            f"<p>{entered % {'stage': escape(item.stage)}}</p></li>\n"
        )

    return Markup("".join(map(write, entries)))  # noqa: S704  (every value is escaped in write())
