"""More of the staff ticket page (the same blueprint as crm.tickets.routes): a saved reply filled in
for the ticket, files attached to its messages, and approving a customer's privacy request."""

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm.extensions import db
from crm.permissions import require
from crm.privacy import service as privacy
from crm.saved_replies import service as saved_replies
from crm.saved_replies.models import SavedReply
from crm.tickets import attachments, notify, service
from crm.tickets.models import PRIVACY_ERASURE, TicketAttachment
from crm.tickets.routes import _worker, bp, ticket_or_404


@bp.get("/<int:ticket_number>/saved-reply")
@require("tickets.write")
def saved_reply(ticket_number: int):
    """The reply box holding the chosen saved reply, filled in for this ticket (htmx swaps it in)."""
    ticket = _worker(ticket_or_404(ticket_number))
    reply = db.session.get(SavedReply, request.args.get("saved_reply", type=int) or 0)
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


@bp.post("/<int:ticket_number>/privacy")
@require("tickets.write")
def fulfil_privacy(ticket_number: int):
    """Approves the customer's request: their copy becomes downloadable, or their data is erased
    (which also needs ``contacts.delete``)."""
    ticket = _worker(ticket_or_404(ticket_number))
    if ticket.kind == PRIVACY_ERASURE and not g.membership.can("contacts.delete"):
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
