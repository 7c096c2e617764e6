"""The SLA's scheduled work (`flask crm check-tickets`, every few minutes from cron or a scheduler):
tell the managers, once per ticket, that it missed a due time, and close tickets resolved more than
``close_after_days`` days ago (7 unless Settings → Service hours says otherwise)."""

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app, g, render_template, url_for
from flask_babel import force_locale, refresh
from flask_babel import gettext as _

from crm.db import utcnow
from crm.extensions import db
from crm.mail import hand_over
from crm.tickets import service
from crm.tickets.models import CLOSED, NEW, OPEN, RESOLVED, BreachNotice, Ticket
from crm.tickets.sla import DEFAULT_CLOSE_AFTER_DAYS
from crm.workspaces.models import ACTIVE, Membership, Role, Workspace

log = logging.getLogger(__name__)

MANAGER_PERMISSION = "tickets.escalated"  # Owner, Admin and Manager by default


def breaching(now: datetime):
    """Tickets past a due time: no first answer by its due time, or unresolved past its
    resolution time. A ticket waiting on the customer (pending) is not counted: its clocks stop."""
    late_answer = sa.and_(Ticket.status.in_((NEW, OPEN)), Ticket.first_responded_at.is_(None),
                          Ticket.first_response_due_at < now)  # fmt: skip
    late_resolution = sa.and_(Ticket.status.in_((NEW, OPEN)), Ticket.resolution_due_at < now)
    return sa.and_(Ticket.deleted_at.is_(None), sa.or_(late_answer, late_resolution))


def managers() -> list[Membership]:
    """Active members of the bound workspace whose role may work escalated tickets, with their user."""
    statement = (
        sa.select(Membership, Role)
        .join(Role, Role.id == Membership.role_id)
        .where(Membership.status == ACTIVE)
        .options(so.joinedload(Membership.user))
    )
    rows = db.session.execute(statement).all()
    return [membership for membership, role in rows if MANAGER_PERMISSION in role.permissions]


def _unreported(now: datetime) -> sa.Select:
    return sa.select(Ticket).where(breaching(now), Ticket.breach_notified_at.is_(None))


def notify_breaches(workspace: Workspace) -> tuple[int, bool]:
    """Emails each manager once about each newly breaching ticket, in their language; (tickets whose
    managers all have it now, whether any mail was not sent). Each ticket is taken under a row lock
    that another run skips; its mails are handed to the mail server right here (not queued), each
    kept as a ``BreachNotice`` once the server accepted it, and the ticket is marked
    (``breach_notified_at``) once every manager has theirs. So overlapping runs never mail a manager
    twice, and a mail that failed is sent by the next run. A mail the server refuses leaves the rest
    going; a server out of reach stops the workspace's run (the rest would fail alike)."""
    now, reported, failed = utcnow(), 0, False
    ticket_ids = db.session.scalars(_unreported(now).with_only_columns(Ticket.id).order_by(Ticket.number)).all()
    if not ticket_ids:
        return 0, False
    recipients = [(member.id, member.user.email, member.user.locale or "en") for member in managers()]
    for ticket_id in ticket_ids:
        ticket = db.session.scalar(
            _unreported(now).where(Ticket.id == ticket_id).with_for_update(skip_locked=True, of=Ticket)
        )
        if ticket is not None:
            try:
                complete = _tell_managers(ticket, workspace, recipients)
            except Exception:
                log.exception("the late-ticket mails stopped at ticket %s", ticket.number)
                db.session.commit()  # keeps who had theirs before the server went away
                return reported, True
            if complete:
                ticket.breach_notified_at = utcnow()
                reported += 1
            else:
                log.error("some managers were not told about late ticket %s; the next run tries again", ticket.number)
                failed = True
        db.session.commit()
    return reported, failed


def _tell_managers(ticket: Ticket, workspace: Workspace, recipients: list[tuple[int, str, str]]) -> bool:
    """Mails the managers who were not told about the ticket yet; whether all of them have it now."""
    told = set(db.session.scalars(sa.select(BreachNotice.member_id).where(BreachNotice.ticket_id == ticket.id)))
    link = url_for("ws.tickets.show", workspace_slug=workspace.slug, ticket_number=ticket.number, _external=True)
    complete = True
    for member_id, email, locale in recipients:
        if member_id in told:
            continue
        with force_locale(locale):
            subject = _("Ticket #%(number)d missed its service level", number=ticket.number)
            text = render_template("sla/email/breach.txt", ticket=ticket, workspace=workspace, link=link)
        if hand_over(email, subject, text):
            db.session.add(BreachNotice(ticket_id=ticket.id, member_id=member_id, sent_at=utcnow()))
        else:
            complete = False
    return complete


def close_resolved(workspace: Workspace) -> int:
    """Closes the tickets resolved more than the workspace's close-after days ago."""
    days = (workspace.sla_settings or {}).get("close_after_days", DEFAULT_CLOSE_AFTER_DAYS)
    cutoff = utcnow() - timedelta(days=days)
    stale = db.session.scalars(sa.select(Ticket).where(Ticket.status == RESOLVED, Ticket.resolved_at < cutoff,
                                                       Ticket.deleted_at.is_(None)))  # fmt: skip
    closed = 0
    for ticket in stale:
        service.set_status(ticket, CLOSED, None)
        closed += 1
    return closed


def check_every_workspace() -> tuple[int, int, list[int]]:
    """(breaches reported, tickets closed, the workspaces where some mail was not sent or the closing
    failed) over every workspace, each in its own transactions: one failing keeps no other back."""
    from crm.links import public_request
    from crm.tenancy import ALL_WORKSPACES, workspace_scope

    workspace_ids = db.session.scalars(sa.select(Workspace.id).execution_options(**ALL_WORKSPACES)).all()
    reported = closed = 0
    failed = []
    with public_request(current_app):
        for workspace_id in workspace_ids:
            with workspace_scope(workspace_id):
                g.workspace = db.session.get(Workspace, workspace_id)
                refresh()  # due times in this workspace's time zone: Flask-Babel keeps the first one on g
                try:
                    count, failing = notify_breaches(g.workspace)
                except Exception:  # the database, say
                    db.session.rollback()
                    log.exception("late tickets of workspace %s were not reported", workspace_id)
                    count, failing = 0, True
                reported += count
                try:  # even when the mail server is away
                    closed += close_resolved(g.workspace)
                    db.session.commit()
                except Exception:
                    db.session.rollback()
                    log.exception("resolved tickets of workspace %s were not closed", workspace_id)
                    failing = True
                if failing:
                    failed.append(workspace_id)
                db.session.expunge_all()
    return reported, closed, failed


def late_marks(ticket: Ticket) -> dict[str, bool]:
    """Whether the ticket missed its first-response and its resolution due times, so far."""
    now = utcnow()
    running = ticket.status in (NEW, OPEN)  # pending stops the clocks; resolved and closed are done
    first_due, resolve_due = ticket.first_response_due_at, ticket.resolution_due_at
    if ticket.first_responded_at is not None:
        first = first_due is not None and ticket.first_responded_at > first_due
    else:
        first = first_due is not None and running and now > first_due
    if ticket.resolved_at is not None:
        resolution = resolve_due is not None and ticket.resolved_at > resolve_due
    else:
        resolution = resolve_due is not None and running and now > resolve_due
    return {"first": first, "resolution": resolution}
