"""More of the staff ticket pages (the same blueprint as crm.tickets.routes): a saved reply filled in
for the ticket, files attached to its messages, approving a customer's privacy request, merging a
duplicate into another ticket, and bulk status and assignee changes from the queue."""

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from crm.extensions import db
from crm.htmx import wants_partial
from crm.permissions import require, scope_allows
from crm.privacy import service as privacy
from crm.saved_replies import service as saved_replies
from crm.saved_replies.models import SavedReply
from crm.security import record_id
from crm.tickets import attachments, notify, queries, service
from crm.tickets.merge import merge_ticket, tell_customer
from crm.tickets.models import ESCALATED, NEW, PRIVACY_ERASURE, STATUSES, Ticket, TicketAttachment
from crm.tickets.routes import _leave_for, _show, _worker, bp, ticket_or_404


@bp.get("/<int:ticket_number>/saved-reply")
@require("tickets.write")
def saved_reply(ticket_number: int):
    """The reply box holding the chosen saved reply, filled in for this ticket (htmx swaps it in)."""
    ticket = _worker(ticket_or_404(ticket_number))
    reply = db.session.get(SavedReply, request.args.get("saved_reply", type=record_id) or 0)
    text = ""
    if reply is not None:
        values = saved_replies.values_for(ticket.contact.name, ticket.number, g.membership.user.name, g.workspace.name)
        text = saved_replies.fill(reply.body, values)
    return render_template("tickets/_reply_body.html", text=text)


@bp.get("/<int:ticket_number>/files/<int:attachment_id>")
@require("tickets.read")
def attachment(ticket_number: int, attachment_id: int):
    ticket = ticket_or_404(ticket_number)  # 404 for a ticket the member may not see
    found = db.session.get(TicketAttachment, attachment_id)
    if found is None or found.ticket_id != ticket.id:
        abort(404)
    return attachments.response_for(found)


def _may_erase(ticket) -> bool:
    """Erasing needs ``contacts.delete`` and, for a role limited to its own records, owning the contact."""
    if not g.membership.can("contacts.delete"):
        return False
    return scope_allows(ticket.contact.owner_id)


@bp.post("/<int:ticket_number>/privacy")
@require("tickets.write")
def fulfil_privacy(ticket_number: int):
    """Approves the customer's request: their copy becomes downloadable, or their data is erased
    (which also needs ``contacts.delete``)."""
    ticket = _worker(ticket_or_404(ticket_number))
    if ticket.kind == PRIVACY_ERASURE and not _may_erase(ticket):
        abort(403)
    email = ticket.requester_email  # an erasure clears it
    try:
        privacy.fulfil(ticket, g.membership.id)
    except service.TicketError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for(".show", ticket_number=ticket_number), 303)
    db.session.commit()
    notify.privacy_done(ticket, email)
    done = (
        _("The copy is ready for the customer to download.")
        if ticket.kind != PRIVACY_ERASURE
        else _("The customer's personal data is erased.")
    )
    flash(done, "success")
    return redirect(url_for(".show", ticket_number=ticket_number), 303)


def _merge_target(typed: str) -> Ticket:
    """The ticket whose number was typed ("1001" or "#1001"), if the member may see it: any other
    number, of another workspace or a queue they do not work, is no ticket at all."""
    if not typed:
        raise service.TicketError(_("Enter the number of the ticket to merge into."), 422, "target")
    number = queries.NUMBER.fullmatch(typed)
    target = queries.ticket_or_none(int(number.group(1)), g.membership) if number else None
    if target is None:
        raise service.TicketError(_("There is no ticket with this number."), 422, "target")
    return target


@bp.post("/<int:ticket_number>/merge")
@require("tickets.write")
def merge(ticket_number: int):
    """Merges this ticket (a duplicate) into the one whose number was typed (crm.tickets.merge),
    then goes to that one; a refusal comes back next to the number, with nothing changed."""
    source = _worker(ticket_or_404(ticket_number))
    typed = request.form.get("target", "").strip()[:20]
    try:
        target = _merge_target(typed)
        merge_ticket(source, target, g.membership)
    except service.TicketError as error:
        db.session.rollback()
        if error.status == 403:
            abort(403)
        error.status = 422
        context = {"ticket": ticket_or_404(ticket_number), "merge_error": error, "merge_value": typed}
        if wants_partial("ticket-merge"):
            return render_template("tickets/_merge.html", **context), 422
        return _show(status=422, **context)
    db.session.commit()
    tell_customer(source, target)
    flash(_("Ticket #%(number)d was merged into #%(target)d.", number=source.number, target=target.number), "success")
    return _leave_for(url_for(".show", ticket_number=target.number))


BULK_LIMIT = 100


@bp.post("/bulk")
@require("tickets.write")
def bulk():
    """Sets the status and/or the assignee of the chosen tickets (at most 100): each is changed as on
    its own page, tickets the member may not work are left alone and counted, and nothing is saved
    if any value is refused."""
    numbers = [n for n in map(record_id, request.form.getlist("ticket")) if n is not None][:BULK_LIMIT]
    status, assignee = request.form.get("bulk_status", ""), request.form.get("bulk_assignee", "")
    back = url_for(".index") + ("?" + request.form["query"] if request.form.get("query") else "")
    if not numbers or not (status or assignee):
        flash(_("Choose tickets, and a status or an assignee for them."), "error")
        return redirect(back, 303)
    if (status and status not in STATUSES) or status == NEW:
        flash(_("A ticket cannot go back to new.") if status == NEW else _("Not a valid choice."), "error")
        return redirect(back, 303)
    member_id = record_id(assignee)  # None for "none": back to the queue
    if assignee not in ("", "none") and member_id not in dict(queries.worker_choices()):
        flash(_("Choose a member who answers tickets."), "error")
        return redirect(back, 303)
    escalated_workers = dict(queries.worker_choices(ESCALATED))
    changed, skipped, done = [], 0, []
    try:
        for number in numbers:
            ticket = queries.ticket_or_none(number, g.membership)
            merged = ticket is not None and ticket.merged_into_id is not None  # read-only: its work went on elsewhere
            if ticket is None or merged or not service.allowed_to_work(ticket, g.membership):
                skipped += 1
                continue
            changes = service.set_status(ticket, status, g.membership.id) if status else {}
            if assignee:
                if member_id is not None and ticket.queue == ESCALATED and member_id not in escalated_workers:
                    raise service.TicketError(_("Ticket #%(number)d is in the escalated queue: choose a member who "
                                                "works that queue.", number=ticket.number))  # fmt: skip
                changes |= service.assign(ticket, member_id)
            if changes:
                changed.append((ticket, changes))
    except service.TicketError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(back, 303)
    db.session.commit()
    for ticket, changes in changed:
        if "status" in changes:
            notify.status_changed(ticket, ticket.status)
        if changes.get("assignee_id", [None, None])[1] is not None:
            notify.assigned(ticket, ticket.assignee, g.membership)
        done.append(ticket.number)
    message = ngettext("%(num)d ticket updated.", "%(num)d tickets updated.", len(done))
    if skipped:
        message += " " + ngettext("%(num)d ticket you may not change was left alone.",
                                  "%(num)d tickets you may not change were left alone.", skipped)  # fmt: skip
    flash(message, "success")
    return redirect(back, 303)
