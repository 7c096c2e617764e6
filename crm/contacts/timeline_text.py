"""A contact's or a company's timeline entries as HTML (crm.contacts.timeline,
crm.activities.company_timeline): changes of its fields and class, what imports did to it,
purchases, deals' events, tickets and activities, written in Python for the reasons
crm/activities/entry_text.py gives."""

from functools import lru_cache

from flask import g, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from crm.activities.deal_routes import DEAL_EVENT_LABELS, deal_visible
from crm.activities.entry_text import (
    Writing,
    activity_writer,
    by_whom,
    event_badge,
    post_button,
    time_tag,
    writing,
)
from crm.activities.service import delete_permission
from crm.audit.change_text import actor_name, change_lines, prepare
from crm.audit.history_text import change_item, changed_label
from crm.audit.service import ACTIONS
from crm.html_text import escape
from crm.imports import history as imports_history
from crm.purchases.service import computed_amount
from crm.tickets.models import STATUS_LABELS


def contact_entries(contact, entries: list) -> Markup:
    shared = writing()
    write_activity = activity_writer(
        shared, url_for("ws.activities.create", contact_id=contact.id), delete_permission, _linked_deal
    )
    return entries_html(shared, entries, write_activity, url_for("ws.purchases.create", contact_id=contact.id))


def entries_html(
    shared: Writing, entries: list, write_activity, purchases_url: str | None = None, people: bool = False
) -> Markup:
    """A record's timeline entries (crm.contacts.timeline.Entry) as HTML: its activities by
    ``write_activity``, the rest here. Purchases get edit and delete buttons where ``purchases_url``
    (the record's purchases route) is given; with ``people`` (a company's timeline), a purchase or
    ticket of one of its people names them."""
    contact_url = url_for("ws.contacts.show", contact_id=0)[:-1]

    def with_person(person) -> str:
        """The " · with <a>Ann Lee</a>" of an entry about one of a company's people."""
        if person is None:
            return ""
        return f' · {shared.labels["with"]} <a href="{contact_url}{person.id}">{escape(person.name)}</a>'

    write_purchase = _purchase_writer(shared, purchases_url, with_person if people else None)
    write_change = _change_writer(shared)
    write_import = _import_writer(shared, write_change)
    deal_url = url_for("ws.deals.show", deal_id=0)[:-1]
    ticket_url = url_for("ws.tickets.show", ticket_number=0)[:-1]
    # the companies and the members they name, in one query each
    prepare([entry.item for entry in entries if entry.is_change or entry.is_import])

    def write(entry) -> str:
        if entry.is_ticket:
            return _ticket_opened(shared, entry.item, ticket_url, with_person(entry.item.person))
        if entry.is_change:
            return write_change(entry.item)
        if entry.is_import:
            return write_import(entry.item)
        if entry.is_purchase:
            return write_purchase(entry.item)
        if entry.is_deal_event:
            return _deal_event(shared, entry.item, deal_url)
        return write_activity(entry.item)

    return Markup("".join(map(write, entries)))  # noqa: S704  (every value is escaped by the writers)


def _linked_deal(activity):
    """The deal an activity was logged on, when the member may open it."""
    return activity.deal if activity.deal_id and deal_visible(activity.deal) else None


@lru_cache(maxsize=8)
def _labels(locale: str) -> dict:
    """Escaped texts in ``locale`` (the caller's request's), made once per process."""
    return {
        "actions": {action: escape(label) for action, label in ACTIONS.items()},
        "events": {kind: escape(label) for kind, label in DEAL_EVENT_LABELS.items()},
        "kehu": escape(_("Kehu")),
        "purchase": escape(_("Purchase")),
        "paid": escape(_("paid %(amount)s")),
        "worth": escape(_("(worth %(amount)s)")),
        "edit": escape(_("Edit")),
        "delete": escape(_("Delete")),
        "delete-purchase": escape(_("Delete this purchase? Tier and level are computed again.")),
        "ticket-opened": escape(_("Ticket opened")),
        "import": escape(_("Import")),
        "statuses": {status: escape(label) for status, label in STATUS_LABELS.items()},
    }


def _change_writer(shared: Writing):
    """Each changed field as the History panel writes it (crm/audit/change_text.py), values masked
    where the member may not see them."""
    labels = _labels(shared.locale)
    changed = changed_label(shared.locale)

    def write(item, badge: str | None = None, element_id: str | None = None, headline: str = "") -> str:
        badge = badge or labels["actions"].get(item.action) or escape(item.action)
        changes = "".join(change_item(line, changed) for line in change_lines(item))
        return (
            f'<li id="{element_id or f"entry-change-{item.id}"}" class="entry change">'
            f'<p class="entry-head"><span class="badge">{badge}</span> {time_tag(shared, item.created_at)}'
            f" · {escape(actor_name(item) or labels['kehu'])}</p>{headline}"
            + (f'<ul class="plain-list changes">{changes}</ul>' if changes else "")
            + "</li>\n"
        )

    return write


def _import_writer(shared: Writing, write_change):
    """An import's creation or change of the contact (crm/imports/history.py): written as a change
    is, under an "Import" badge, with the file it came from (a link for who may open the import)."""
    badge = _labels(shared.locale)["import"]

    def write(item) -> str:
        element_id = f"entry-import-{item.kind}-{item.id}"
        return write_change(item, badge, element_id, f'<p class="import-of">{imports_history.headline(item)}</p>')

    return write


def _total(labels: dict, shared: Writing, item) -> str:
    """ "= amount" when the amount is quantity times price; else "paid amount" (a discount, say), so
    the line never reads as wrong arithmetic."""
    amount = f"<strong>{escape(shared.money(item.amount, item.currency))}</strong>"
    if item.currency != g.workspace.currency:  # and what it counts for in the workspace's
        amount += " " + labels["worth"] % {"amount": escape(shared.money(item.base_amount, g.workspace.currency))}
    if item.amount == computed_amount(item.quantity, item.unit_price):
        return f"= {amount}"
    return labels["paid"] % {"amount": amount}


def _purchase_writer(shared: Writing, purchases_url: str | None, with_buyer=None):
    labels = _labels(shared.locale)
    can_write = purchases_url is not None and g.membership.can("contacts.write")

    def write(item) -> str:
        product, target = escape(item.product), f"#entry-purchase-{item.id}"
        html = (
            f'<li id="entry-purchase-{item.id}" class="entry purchase">'
            f'<p class="entry-head"><span class="badge">{labels["purchase"]}</span> '
            f'<time datetime="{item.purchased_on.isoformat()}">{escape(shared.day(item.purchased_on))}</time>'
            f"{with_buyer(item.contact) if with_buyer else ''}</p>"
            f"<p>{product} · {escape(shared.number(item.quantity))} \N{MULTIPLICATION SIGN} "
            f"{escape(shared.money(item.unit_price, item.currency))} {_total(labels, shared, item)}</p>"
        )
        if can_write:
            edit_url, delete_url = f"{purchases_url}{item.id}/edit", f"{purchases_url}{item.id}/delete"
            html += (
                f'<a href="{edit_url}" data-hx-get="{edit_url}" data-hx-target="{target}" data-hx-swap="outerHTML">'
                f'{labels["edit"]}<span class="visually-hidden"> {product}</span></a> '
            )
            html += post_button(shared, delete_url, labels["delete"], product, labels["delete-purchase"], target)
        return html + "</li>\n"

    return write


def _deal_event(shared: Writing, item, deal_url: str) -> str:
    label = _labels(shared.locale)["events"][item.kind]
    return (
        f'<li id="entry-deal-{item.id}" class="entry deal-event {escape(item.kind)}">'
        f'<p class="entry-head">{event_badge(item.kind, label)} {time_tag(shared, item.at)}{by_whom(item.by)}</p>'
        f'<p><a href="{deal_url}{item.deal_id}">{escape(item.title)}</a> · '
        f"{escape(shared.money(item.value, item.currency))}</p></li>\n"
    )


def _ticket_opened(shared: Writing, item, ticket_url: str, person: str) -> str:
    labels = _labels(shared.locale)
    return (
        f'<li id="entry-ticket-{item.id}" class="entry ticket">'
        f'<p class="entry-head"><span class="badge">{labels["ticket-opened"]}</span> {time_tag(shared, item.at)}'
        f"{person}</p>"
        f'<p><a href="{ticket_url}{item.number}">#{item.number} {escape(item.subject)}</a> · '
        f"{labels['statuses'][item.status]}</p></li>\n"
    )
