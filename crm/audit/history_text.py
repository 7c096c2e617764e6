"""A record's History panel (templates/audit/_history.html) and the changed fields of an audit entry,
as HTML written in Python for the reasons crm/activities/entry_text.py gives: a contact's panel shows
20 entries of a few changed fields each, and in the template each field cost an include (a copy of
the page's context) and each entry a time formatted through Flask-Babel (its zone and locale looked
up again), a fifth of the contact page's Python calls. The markup is the template's."""

from functools import lru_cache

from flask_babel import gettext as _
from markupsafe import Markup

from crm.activities.entry_text import time_tag, writing
from crm.audit.change_text import ChangeLine, actor_name, change_lines
from crm.audit.service import ACTIONS
from crm.html_text import escape
from crm.imports import history as imports_history


@lru_cache(maxsize=8)
def _labels(locale: str) -> dict:
    """Escaped texts in ``locale`` (the caller's request's), made once per process."""
    return {
        "actions": {action: escape(label) for action, label in ACTIONS.items()},
        "someone": escape(_("Someone")),
        "changed": escape(_("%(field)s changed")),
    }


def change_item(line: ChangeLine, changed: str) -> str:
    """One changed field as an ``<li>``; ``changed`` is the escaped "%(field)s changed" of the
    request's language, for a field whose values are not shown."""
    label = escape(line.label)
    if not line.values_shown:
        return f"<li>{changed % {'field': label}}</li>"
    text = f'<li><span class="field-name">{label}</span>: '
    if line.before is not None:
        text += f"<del>{escape(line.before)}</del> → "
    return text + (f"<ins>{escape(line.after)}</ins>" if line.after is not None else "—") + "</li>"


def changed_label(locale: str) -> str:
    return _labels(locale)["changed"]


def history_items(history: list) -> Markup:
    """The panel's entries (audit entries, and imports' entries of crm/imports/history.py), newest
    first as given, each an ``<li>``: when, who, what, and the fields it changed."""
    shared = writing()
    labels = _labels(shared.locale)

    def what(entry) -> str:
        if isinstance(entry, imports_history.ImportEntry):
            return imports_history.headline(entry)
        return labels["actions"].get(entry.action) or escape(entry.action)

    def item(entry) -> str:
        who = escape(actor_name(entry)) or labels["someone"]
        html = f"<li>{time_tag(shared, entry.created_at)} · {who} · {what(entry)}"
        if entry.changes:
            lines = "".join(change_item(line, labels["changed"]) for line in change_lines(entry))
            html += f'<ul class="plain-list changes">{lines}</ul>'
        return html + "</li>\n"

    return Markup("".join(map(item, history)))  # noqa: S704  (every value is escaped here or by headline())
