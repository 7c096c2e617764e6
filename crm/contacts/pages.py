"""What the pages about one contact or company share: finding it (record scope applied; 404 otherwise),
finding an activity or purchase of it, going back to its page, and a composer sent back with its errors."""

from flask import abort, g, redirect, render_template, url_for
from markupsafe import Markup

from crm.contacts import queries
from crm.contacts.models import Company, Contact
from crm.extensions import db
from crm.permissions import scope_allows


def contact_or_404(contact_id: int, deleted: bool | None = False) -> Contact:
    return queries.contact_or_none(contact_id, g.membership, deleted) or abort(404)


def company_or_404(company_id: int, deleted: bool | None = False) -> Company:
    return queries.company_or_none(company_id, g.membership, deleted) or abort(404)


def handed_over(owner_id: int | None) -> bool:
    """After a record was saved: whether the member, who sees only their own records, gave it away
    (to a colleague, or to nobody) and can no longer open it. Its page would answer 404 now: the
    member is told and taken to the list instead."""
    return not scope_allows(owner_id)


def member_name(member_id: int) -> str:
    return queries.member_names().get(member_id, f"#{member_id}")


def item_of_or_404(model, contact: Contact, item_id: int):
    """An activity or purchase of ``contact``; one of another contact is a 404 too."""
    item = db.session.get(model, item_id)
    if item is None or item.contact_id != contact.id:
        abort(404)
    return item


def back_to(contact: Contact):
    return redirect(url_for("ws.contacts.show", contact_id=contact.id), 303)


def errors_text(form) -> str:
    """A form's errors in one line, for a message after a plain (non-htmx) POST."""
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


def composer_page(heading: str, message: str, composer: str, record_name: str, record_url: str) -> tuple[str, int]:
    """A composer of a record's page (log an activity, add a purchase) refused on a plain form post
    (no JavaScript): 422 with a page of its own holding ``composer``, the rendered form with what was
    typed and each field's error, under ``message`` and a link back to the record. A redirect to the
    record's page would lose what was typed; sent again from here, the form saves and goes back."""
    return render_template("contacts/composer_page.html", heading=heading, message=message,
                           composer=Markup(composer),  # noqa: S704  (a rendered template: escaped by Jinja)
                           record_name=record_name, record_url=record_url), 422  # fmt: skip
