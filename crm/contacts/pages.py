"""What the pages about one contact or company share: finding it (record scope applied; 404 otherwise),
finding an activity or purchase of it, and going back to its page."""

from flask import abort, g, redirect, url_for

from crm.contacts import queries
from crm.contacts.models import Company, Contact
from crm.extensions import db


def contact_or_404(contact_id: int, deleted: bool | None = False) -> Contact:
    return queries.contact_or_none(contact_id, g.membership, deleted) or abort(404)


def company_or_404(company_id: int, deleted: bool | None = False) -> Company:
    return queries.company_or_none(company_id, g.membership, deleted) or abort(404)


def item_of_or_404(model, contact: Contact, item_id: int):
    """An activity or purchase of ``contact``; one of another contact is a 404 too."""
    item = db.session.get(model, item_id)
    if item is None or item.contact_id != contact.id:
        abort(404)
    return item


def back_to(contact: Contact):
    return redirect(url_for("ws.contacts.show", contact_id=contact.id), 303)


def errors_text(form) -> str:
    """A form's errors in one line, for a flash message after a plain (non-htmx) POST."""
    return " ".join(str(error) for errors in form.errors.values() for error in errors)
