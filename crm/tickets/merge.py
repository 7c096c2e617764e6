"""Merging a duplicate ticket into another: the customer wrote twice about the same thing (by the
portal and by email, say), and the team answers one conversation.

The duplicate (the source) hands its messages and files to the ticket that is kept (the target),
each message keeping its time, so the conversation reads in order; both get an internal note
saying so; the source is closed with ``merged_into_id`` pointing at the target and stops counting
against the service levels. A merge is not undone: the messages are no longer told apart.

Only tickets of the same customer (contact) are merged. The target's conversation, replies and
tracking link are the customer's: merging another customer's ticket into it would show that
customer's words (and files) to this one on the portal and in emails. Two people of one company
write as two contacts and keep two tickets.

Same contact is not proof enough for the tracking links, though: the portal shows a new address's
link in the browser without proof that the address is the visitor's (crm.portal.routes.new), so
either ticket's link may be held by someone who only typed the customer's address. Following an
old link into the merged conversation would hand them the other ticket's words (the source's link)
or the other ticket's messages moved in (the target's link). So the target gets a new tracking
token on every merge, sent only by email to the requester addresses of both tickets
(``tell_customer``); the target's old link then finds nothing (404, like any unknown token) and the
source's old link shows only that the request was joined with another (crm.portal.routes), never
its content nor its link, and takes no replies, ratings or files any more."""

import sqlalchemy as sa
from flask import g, render_template, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from crm.audit import service as audit
from crm.db import utcnow
from crm.extensions import db
from crm.i18n import LANGUAGES
from crm.mail import send_mail
from crm.tenancy import bound_workspace_id
from crm.tickets.models import (
    CLOSED,
    COMPLAINT,
    ESCALATED,
    FINISHED,
    INTERNAL,
    OPEN,
    PRIORITIES,
    Ticket,
    TicketAttachment,
    TicketMessage,
)
from crm.tickets.queries import visible
from crm.tickets.service import TicketError, allowed_to_work, due_times_again, renew_tracking_token, tracking_token
from crm.workspaces.models import Membership, Workspace

MAX_HOPS = 20  # a chain of merges (A into B, later B into C) longer than this is not followed


def merge_ticket(source: Ticket, target: Ticket, actor: Membership) -> dict:
    """Merges ``source`` into ``target`` for ``actor`` (see the module's docstring); the caller
    commits. Both must be live tickets of the bound workspace that the actor may see and work (the
    rules of the ticket page, crm.tickets.service.allowed_to_work), two different complaints of
    the same customer; the target must not be merged itself, nor the source already.

    Effects: the source's messages and attachments move to the target; an internal note on each;
    the source is closed with ``merged_into_id``, its due times cleared (a duplicate is neither
    met nor breached in the service report); the target takes the higher of the two priorities
    (its due times follow, as when the priority is changed by hand), the escalated queue if the
    source was in it, and opens again if it was done with while the source still needed work; the
    target gets a new tracking token (every link shown before, for either ticket, stops opening
    the merged conversation; ``tell_customer`` emails the new one after the commit).
    Audited as "ticket.merged" on both. Returns the target's changes.

    Refusals raise TicketError before anything is written: 403 when the actor may not work the
    source, 409 when the source is merged already, 422 (field "target") for the target."""
    _check(source, target, actor)
    _lock(source, target)
    _check(source, target, actor)  # again, as the rows are now: a concurrent merge may have won

    now = utcnow()
    moved_messages = db.session.execute(
        sa.update(TicketMessage).where(TicketMessage.ticket_id == source.id).values(ticket_id=target.id)
    ).rowcount
    moved_files = db.session.execute(
        sa.update(TicketAttachment).where(TicketAttachment.ticket_id == source.id).values(ticket_id=target.id)
    ).rowcount
    db.session.add_all(
        [
            TicketMessage(ticket_id=target.id, kind=INTERNAL, author_id=actor.id, created_at=now,
                          body=_("Ticket #%(number)d was merged into this ticket.", number=source.number)),
            TicketMessage(ticket_id=source.id, kind=INTERNAL, author_id=actor.id, created_at=now,
                          body=_("This ticket was merged into ticket #%(number)d.", number=target.number)),
        ]
    )  # fmt: skip

    source_changes = {"merged_into_id": [None, target.id], "messages_moved": [None, moved_messages],
                      "files_moved": [None, moved_files]}  # fmt: skip
    still_working = source.status not in FINISHED
    if source.status != CLOSED:
        source_changes["status"] = [source.status, CLOSED]
        source.status, source.closed_at = CLOSED, now
    source.merged_into_id = target.id
    # Closed as a duplicate, not resolved: no resolution time, no running or paused clocks.
    source.first_response_due_at = source.resolution_due_at = source.sla_paused_at = None
    source.updated_at = now

    renew_tracking_token(target)
    target_changes = {"merged_from": [None, source.number]}
    if PRIORITIES.index(source.priority) > PRIORITIES.index(target.priority):
        target_changes["priority"] = [target.priority, source.priority]
        target.priority = source.priority
        _due_times(target)
    if source.queue == ESCALATED and target.queue != ESCALATED:
        target_changes["queue"] = [target.queue, ESCALATED]
        target.queue = ESCALATED
    if target.status in FINISHED and still_working:  # the customer's matter is not done with after all
        target_changes["status"] = [target.status, OPEN]
        target.status, target.resolved_at, target.closed_at = OPEN, None, None
    target.updated_at = now

    audit.record("ticket.merged", "ticket", source.id, {"merged_into": [None, target.number], **source_changes})
    audit.record("ticket.merged", "ticket", target.id, target_changes)
    db.session.flush()
    return target_changes


def _check(source: Ticket, target: Ticket, actor: Membership) -> None:
    workspace_id = bound_workspace_id()
    if source.workspace_id != workspace_id or source.deleted_at is not None or not allowed_to_work(source, actor):
        raise TicketError(_("You may not change this ticket."), 403)
    if source.merged_into_id is not None:
        raise TicketError(_("This ticket is merged into another one already."), 409, "target")
    # A ticket the actor may not see (another workspace's, deleted, in a queue they do not work)
    # is answered like a number that does not exist, so nothing about it is confirmed.
    if target.workspace_id != workspace_id or target.deleted_at is not None or not allowed_to_work(target, actor):
        raise TicketError(_("There is no ticket with this number."), 422, "target")
    if target.id == source.id:
        raise TicketError(_("A ticket cannot be merged into itself."), 422, "target")
    if target.merged_into_id is not None:
        raise TicketError(
            _("Ticket #%(number)d was merged into another ticket: merge into that one instead.", number=target.number),
            422,
            "target",
        )
    if source.kind != COMPLAINT or target.kind != COMPLAINT:
        raise TicketError(_("A privacy request is handled on its own and cannot be merged."), 422, "target")
    if source.contact_id != target.contact_id:
        raise TicketError(
            _("Ticket #%(number)d is another customer's: only tickets of the same customer can be merged, or each "
              "would read the other's conversation.", number=target.number),
            422,
            "target",
        )  # fmt: skip


def _lock(source: Ticket, target: Ticket) -> None:
    """Locks both rows (in id order, so two merges of the same pair cannot deadlock) and reloads
    them: the checks run again on what another transaction may have committed meanwhile."""
    db.session.scalars(
        sa.select(Ticket)
        .where(Ticket.id.in_((source.id, target.id)))
        .order_by(Ticket.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()


def _due_times(ticket: Ticket) -> None:
    """The due times for the ticket's new priority, counted from when it was opened (as
    crm.tickets.service.set_priority sets them)."""
    due_times_again(ticket, ticket.contact.level, db.session.get(Workspace, ticket.workspace_id))


# --- reading -------------------------------------------------------------------------------------


def followed(ticket: Ticket | None) -> Ticket | None:
    """The live ticket a merged ticket's conversation went to (following later merges of that
    one), the ticket itself when it is not merged, None when the chain ends at a deleted ticket."""
    for _hop in range(MAX_HOPS):
        if ticket is None or ticket.merged_into_id is None:
            return ticket
        ticket = db.session.get(Ticket, ticket.merged_into_id)
        if ticket is not None and ticket.deleted_at is not None:
            return None
    return None


def merged_into_number(ticket: Ticket) -> int | None:
    """The number of the ticket ``ticket`` was merged into, or None."""
    if ticket.merged_into_id is None:
        return None
    return db.session.scalar(sa.select(Ticket.number).where(Ticket.id == ticket.merged_into_id))


def merged_into_for(ticket: Ticket, member: Membership) -> tuple[int | None, bool]:
    """(number of the ticket ``ticket`` was merged into, whether ``member`` may open it): one
    query when they may, as is usual."""
    if ticket.merged_into_id is None:
        return None, False
    seen = db.session.scalar(visible(sa.select(Ticket.number).where(Ticket.id == ticket.merged_into_id), member))
    return (seen, True) if seen is not None else (merged_into_number(ticket), False)


def refusal(ticket: Ticket) -> str:
    """What a change to a merged ticket is answered with."""
    return _(
        "Ticket #%(number)d was merged into #%(target)d and cannot be changed: continue on #%(target)d.",
        number=ticket.number,
        target=merged_into_number(ticket) or 0,
    )


# --- telling the customer --------------------------------------------------------------------------


def tell_customer(source: Ticket, target: Ticket) -> None:
    """Emails the new private link of the merged conversation, once each, to the requester
    addresses on record of both tickets (the same customer's), after the merge is committed. Only
    by email: an address's owner is the one who reads it, unlike whoever saw a link in a browser.
    Each in the language the customer last wrote in on that ticket (as crm.tickets.notify); where
    both have the same address, the source's (usually the later one). Nothing is sent for a ticket
    without an address (one opened from a call, say): that customer had no link to lose."""
    link = url_for("portal.track", slug=g.workspace.slug, token=tracking_token(target), _external=True)
    sent: set[str] = set()
    for ticket in (source, target):
        address = ticket.requester_email
        if not address or address.casefold() in sent:
            continue
        sent.add(address.casefold())
        with force_locale(_customer_locale(ticket)):
            subject = _("[#%(number)d] %(subject)s: merged into #%(target)d", number=source.number,
                        subject=source.subject, target=target.number)  # fmt: skip
            text = render_template("tickets/email/merged.txt", source=source, target=target, workspace=g.workspace,
                                   name=ticket.requester_name, link=link)  # fmt: skip
        send_mail(address, subject, text)


def _customer_locale(ticket: Ticket) -> str:
    """The language the customer last used on the portal, else the member's (crm.tickets.notify)."""
    return ticket.locale if ticket.locale in LANGUAGES else str(get_locale() or "en")
