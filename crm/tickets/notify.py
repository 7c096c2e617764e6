"""Emails about tickets, sent after the change is committed (a refused or rolled-back change
sends nothing): to the customer on every public reply and when the ticket waits on them, is
resolved or closed, each with the private tracking link; to a member when a ticket is given to
them by someone else. The customer's emails go in the language they used on the portal."""

from flask import g, render_template, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from crm.i18n import LANGUAGES
from crm.mail import send_mail
from crm.tickets import service
from crm.tickets.models import CLOSED, PENDING, RESOLVED, STATUS_LABELS, Ticket, TicketMessage
from crm.workspaces.models import Membership

# Status changes the customer is told about: the ticket waits on them, or is done with.
TOLD_STATUSES = (PENDING, RESOLVED, CLOSED)


def tracking_url(ticket: Ticket) -> str:
    """The customer's private link to the ticket on the portal."""
    return url_for("portal.track", slug=g.workspace.slug, token=service.tracking_token(ticket), _external=True)


def _customer_locale(ticket: Ticket) -> str:
    """The language the customer last used on the portal (kept on the ticket). Where it is not
    known (a ticket staff opened from a call, say), the language of the member writing to them."""
    if ticket.locale in LANGUAGES:
        return ticket.locale
    return str(get_locale() or "en")


def reply_sent(ticket: Ticket, message: TicketMessage) -> None:
    if not ticket.requester_email:
        return
    with force_locale(_customer_locale(ticket)):
        subject = _("Re: [#%(number)d] %(subject)s", number=ticket.number, subject=ticket.subject)
        text = render_template("tickets/email/reply.txt", ticket=ticket, message=message, workspace=g.workspace,
                               link=tracking_url(ticket))  # fmt: skip
    send_mail(ticket.requester_email, subject, text)


def status_changed(ticket: Ticket, status: str) -> None:
    if not ticket.requester_email or status not in TOLD_STATUSES:
        return
    with force_locale(_customer_locale(ticket)):
        subject = _("[#%(number)d] %(subject)s: %(status)s", number=ticket.number, subject=ticket.subject,
                    status=STATUS_LABELS[status])  # fmt: skip
        text = render_template("tickets/email/status.txt", ticket=ticket, status=status, workspace=g.workspace,
                               link=tracking_url(ticket))  # fmt: skip
    send_mail(ticket.requester_email, subject, text)


def assigned(ticket: Ticket, assignee: Membership, by: Membership) -> None:
    """Tells ``assignee`` the ticket is theirs now, unless they took it themselves."""
    if assignee.id == by.id:
        return
    user = assignee.user
    with force_locale(user.locale or "en"):
        subject = _("Ticket #%(number)d is yours: %(subject)s", number=ticket.number, subject=ticket.subject)
        link = url_for("ws.tickets.show", ticket_number=ticket.number, _external=True)
        text = render_template("tickets/email/assigned.txt", ticket=ticket, assignee=user, by=by.user,
                               workspace=g.workspace, link=link)  # fmt: skip
    send_mail(user.email, subject, text)


def given_in_turn(ticket: Ticket, workspace) -> None:
    """Tells the member round-robin assignment gave a new ticket to (Settings → Ticket assignment)."""
    member = ticket.assignee
    if member is None:
        return
    user = member.user
    with force_locale(user.locale or "en"):
        subject = _("Ticket #%(number)d is yours: %(subject)s", number=ticket.number, subject=ticket.subject)
        link = url_for("ws.tickets.show", workspace_slug=workspace.slug, ticket_number=ticket.number, _external=True)
        text = render_template("tickets/email/assigned.txt", ticket=ticket, assignee=user, by=None,
                               workspace=workspace, link=link)  # fmt: skip
    send_mail(user.email, subject, text)


def privacy_done(ticket: Ticket, email: str | None) -> None:
    """Tells the customer their copy is ready, or their data is erased (to the address they wrote
    from: an erasure has cleared it from the ticket)."""
    if not email:
        return
    with force_locale(_customer_locale(ticket)):
        subject = _("[#%(number)d] %(subject)s: done", number=ticket.number, subject=ticket.subject)
        text = render_template("tickets/email/privacy_done.txt", ticket=ticket, workspace=g.workspace,
                               link=tracking_url(ticket))  # fmt: skip
    send_mail(email, subject, text)
