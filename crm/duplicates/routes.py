"""Duplicate contacts: the list of candidate pairs, the warning while a contact is typed, the
side-by-side merge and its undo."""

import re

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm.billing.limits import LimitError
from crm.contacts import phones
from crm.contacts.models import Contact
from crm.contacts.pages import contact_or_404
from crm.contacts.queries import visible_contacts
from crm.custom_fields.service import definitions
from crm.duplicates import finder, service
from crm.duplicates.forms import comparison, merge_form
from crm.duplicates.models import ContactMerge, DuplicatePair
from crm.extensions import db
from crm.htmx import wants_partial
from crm.jobs import enqueue
from crm.pagination import keyset
from crm.permissions import require, visible_to_member
from crm.security import record_id

bp = Blueprint("duplicates", __name__, url_prefix="/duplicates")
PER_PAGE = 50
RECENT_MERGES = 20


# Made once: SQLAlchemy analyses a fresh alias again on every statement.
FIRST, SECOND = so.aliased(Contact), so.aliased(Contact)


def _may_merge() -> bool:
    return g.membership.can("contacts.write") and g.membership.can("contacts.delete")


def _pairs_page():
    first, second = FIRST, SECOND
    statement = (
        sa.select(DuplicatePair)
        .join(first, sa.and_(first.workspace_id == DuplicatePair.workspace_id, first.id == DuplicatePair.contact_id))
        .join(second, sa.and_(second.workspace_id == DuplicatePair.workspace_id, second.id == DuplicatePair.other_id))
        .where(DuplicatePair.dismissed_at.is_(None), first.deleted_at.is_(None), second.deleted_at.is_(None))
        .options(so.contains_eager(DuplicatePair.contact.of_type(first)),
                 so.contains_eager(DuplicatePair.other.of_type(second)))
    )  # fmt: skip
    statement = visible_to_member(visible_to_member(statement, first.owner_id), second.owner_id)
    columns = [DuplicatePair.score, DuplicatePair.group_id, DuplicatePair.id]
    return keyset(db.session, statement, columns, request.args.get("after"), PER_PAGE)


def _recent_merges() -> list[ContactMerge]:
    statement = (
        sa.select(ContactMerge)
        .join(
            Contact, sa.and_(Contact.workspace_id == ContactMerge.workspace_id, Contact.id == ContactMerge.survivor_id)
        )
        .where(ContactMerge.undone_at.is_(None))
        .order_by(ContactMerge.created_at.desc(), ContactMerge.id.desc())
        .options(so.joinedload(ContactMerge.survivor), so.joinedload(ContactMerge.merged))
        .limit(RECENT_MERGES)
    )
    statement = visible_to_member(statement, Contact.owner_id)
    return [record for record in db.session.scalars(statement) if service.can_undo(record)]


@bp.get("/")
@require("contacts.read")
def index():
    context = {"page": _pairs_page(), "may_merge": _may_merge(), "sensitive": g.membership.can("contacts.sensitive")}
    if wants_partial("more-pairs"):
        return render_template("duplicates/_pair_rows.html", **context)
    if context["may_merge"]:
        context["merges"] = _recent_merges()
    return render_template("duplicates/index.html", **context)


@bp.post("/scan")
@require("contacts.write")
def scan():
    enqueue(service.scan_job, g.workspace.id)
    flash(_("Looking for duplicates. The list shows what is found when the search ends."), "success")
    return redirect(url_for(".index"), 303)


def pair_or_404(pair_id: int) -> DuplicatePair:
    pair = db.session.get(DuplicatePair, pair_id) or abort(404)
    contact_or_404(pair.contact_id)
    contact_or_404(pair.other_id)
    return pair


@bp.post("/<int:pair_id>/dismiss")
@require("contacts.write")
def dismiss(pair_id: int):
    service.dismiss(pair_or_404(pair_id))
    db.session.commit()
    flash(_("Marked as different people."), "success")  # a toast after the swap too (WCAG 4.1.3)
    if wants_partial(f"pair-{pair_id}"):
        return ""
    return redirect(url_for(".index"), 303)


def _split(raw: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;\n]+", raw or "") if part.strip()]


def _phones(raw: str) -> list[str]:
    numbers = []
    for text in _split(raw):
        try:
            numbers.append(phones.to_e164(text, g.workspace.phone_region))
        except ValueError:
            continue  # the form says what is wrong with it; here it just matches nothing
    return numbers


@bp.get("/check")
@require("contacts.write")
def check():
    """The warning under a contact form being typed: contacts that look like this one."""
    args = request.args
    contact_id = args.get("contact", type=record_id)
    company_id = args.get("company_id", type=record_id)
    emails = [email.lower() for email in _split(args.get("emails", ""))]
    matches = finder.for_contact(contact_id, args.get("name", ""), emails, _phones(args.get("phones", "")), company_id)
    found = visible_contacts((match.contact_id for match in matches), g.membership)
    matches = [match for match in matches if match.contact_id in found]
    return render_template("duplicates/_warning.html", matches=matches, found=found, contact_id=contact_id)


def _merge_page(left: Contact, right: Contact, form=None, status: int = 200):
    sensitive = g.membership.can("contacts.sensitive")
    rows = comparison(left, right, definitions(g.workspace, "contact"), sensitive)
    form = form or merge_form(left, right, rows, formdata=None)
    context = {"left": left, "right": right, "rows": rows, "form": form, "sensitive": sensitive,
               "undo_days": service.UNDO_DAYS}  # fmt: skip
    if g.membership.can("tickets.read"):
        context["tickets"] = service.ticket_counts(left.id, right.id)
    return render_template("duplicates/merge.html", **context), status


def _both(contact_id: int, other_id: int) -> tuple[Contact, Contact]:
    if contact_id == other_id:
        abort(404)
    return contact_or_404(contact_id), contact_or_404(other_id)


@bp.get("/merge/<int:contact_id>/<int:other_id>")
@require("contacts.delete")
def merge_page(contact_id: int, other_id: int):
    if not _may_merge():
        abort(403)
    return _merge_page(*_both(contact_id, other_id))


@bp.post("/merge/<int:contact_id>/<int:other_id>")
@require("contacts.delete")
def merge(contact_id: int, other_id: int):
    if not _may_merge():
        abort(403)
    left, right = _both(contact_id, other_id)
    rows = comparison(left, right, definitions(g.workspace, "contact"), g.membership.can("contacts.sensitive"))
    form = merge_form(left, right, rows)
    if not form.validate_on_submit():
        return _merge_page(left, right, form, 422)
    survivor, merged = (left, right) if int(form.survivor.data) == left.id else (right, left)
    record = service.merge(survivor, merged, form.picks(), g.membership)
    db.session.commit()
    flash(_("%(merged)s was merged into %(survivor)s. You can undo this for %(days)d days from the Duplicates page.",
            merged=merged.name, survivor=survivor.name, days=service.UNDO_DAYS), "success")  # fmt: skip
    return redirect(url_for("ws.contacts.show", contact_id=record.survivor_id), 303)


@bp.post("/merges/<int:merge_id>/undo")
@require("contacts.delete")
def undo_merge(merge_id: int):
    if not _may_merge():
        abort(403)
    record = db.session.get(ContactMerge, merge_id) or abort(404)
    contact_or_404(record.survivor_id, deleted=None)
    contact_or_404(record.merged_id, deleted=None)
    try:
        service.undo(record)
    except service.TooLate:
        flash(_("This merge can no longer be undone."), "error")
        return redirect(url_for(".index"), 303)
    except LimitError as error:
        flash(str(error), "error")
        return redirect(url_for(".index"), 303)
    db.session.commit()
    flash(_("Merge undone: %(name)s is back as a contact of its own.", name=record.merged.name), "success")
    return redirect(url_for("ws.contacts.show", contact_id=record.merged_id), 303)
