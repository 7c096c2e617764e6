"""The SLA's scheduled work (`flask crm check-tickets`, every few minutes from cron or a scheduler):
tell the managers, once per ticket, that it missed a due time, and close tickets resolved more than
``close_after_days`` days ago (7 unless Settings → Service hours says otherwise)."""

from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app, g, render_template, url_for
from flask_babel import force_locale, refresh
from flask_babel import gettext as _

from crm.auth.models import User
from crm.db import utcnow
from crm.extensions import db
from crm.mail import send_mail
from crm.tickets import service
from crm.tickets.models import CLOSED, NEW, OPEN, RESOLVED, Ticket
from crm.tickets.sla import DEFAULT_CLOSE_AFTER_DAYS
from crm.workspaces.models import ACTIVE, Membership, Role, Workspace

MANAGER_PERMISSION = "tickets.escalated"  # Owner, Admin and Manager by default


def breaching(now: datetime):
    """Tickets past a due time: no first answer by its due time, or unresolved past its
    resolution time. A ticket waiting on the customer (pending) is not counted: its clocks stop."""
    late_answer = sa.and_(Ticket.status.in_((NEW, OPEN)), Ticket.first_responded_at.is_(None),
                          Ticket.first_response_due_at < now)  # fmt: skip
    late_resolution = sa.and_(Ticket.status.in_((NEW, OPEN)), Ticket.resolution_due_at < now)
    return sa.and_(Ticket.deleted_at.is_(None), sa.or_(late_answer, late_resolution))


def managers() -> list[User]:
    """Active members of the bound workspace whose role may work escalated tickets."""
    statement = (
        sa.select(Membership, Role)
        .join(Role, Role.id == Membership.role_id)
        .where(Membership.status == ACTIVE)
        .options(so.joinedload(Membership.user))
    )
    rows = db.session.execute(statement).all()
    return [membership.user for membership, role in rows if MANAGER_PERMISSION in role.permissions]


def notify_breaches(workspace: Workspace) -> int:
    """Emails the managers about each newly breaching ticket, once (``breach_notified_at``)."""
    late = list(db.session.scalars(sa.select(Ticket).where(breaching(utcnow()), Ticket.breach_notified_at.is_(None))
                                   .order_by(Ticket.number)))  # fmt: skip
    if not late:
        return 0
    recipients = managers()
    for ticket in late:
        link = url_for("ws.tickets.show", workspace_slug=workspace.slug, ticket_number=ticket.number, _external=True)
        for user in recipients:
            with force_locale(user.locale or "en"):
                subject = _("Ticket #%(number)d missed its service level", number=ticket.number)
                text = render_template("sla/email/breach.txt", ticket=ticket, workspace=workspace, link=link)
            send_mail(user.email, subject, text)
        ticket.breach_notified_at = utcnow()
    return len(late)


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


def check_every_workspace() -> tuple[int, int]:
    """(breaches reported, tickets closed) over every workspace, each in its own transaction."""
    from crm.links import public_request
    from crm.tenancy import ALL_WORKSPACES, workspace_scope

    workspace_ids = db.session.scalars(sa.select(Workspace.id).execution_options(**ALL_WORKSPACES)).all()
    reported = closed = 0
    with public_request(current_app):
        for workspace_id in workspace_ids:
            with workspace_scope(workspace_id):
                g.workspace = db.session.get(Workspace, workspace_id)
                refresh()  # due times in this workspace's time zone: Flask-Babel keeps the first one on g
                reported += notify_breaches(g.workspace)
                closed += close_resolved(g.workspace)
                db.session.commit()
    return reported, closed


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
