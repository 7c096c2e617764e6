"""The public complaint portal's own settings and mail: the intro text and the colour admins edit,
the emails to the customer (received, with the private tracking link) and to the assignee (the
customer replied). Ticket work itself goes through crm.tickets.service."""

import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import render_template, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from crm.audit import service as audit
from crm.db import utcnow
from crm.extensions import db
from crm.mail import send_mail
from crm.portal import branding
from crm.tickets.models import PortalSignIn, Ticket
from crm.tickets.service import hash_token
from crm.workspaces.models import ACTIVE, Workspace

INTRO_MAX = 2_000


class PortalError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def set_intro(workspace: Workspace, text: str | None) -> dict:
    """The text on the portal's home; empty gives the default text back (caller commits)."""
    text = (text or "").strip().replace("\r\n", "\n") or None
    if text is not None and len(text) > INTRO_MAX:
        raise PortalError(_("Keep it under %(count)d characters.", count=INTRO_MAX), "intro")
    workspace.portal_intro = text
    changes = audit.changes_of(workspace, ("portal_intro",))
    if changes:
        audit.record("workspace.updated", "workspace", workspace.id, changes)
    return changes


def set_brand_color(workspace: Workspace, value: str | None) -> dict:
    """The portal's colour as "#rrggbb" in lower case; empty puts the standard colour back (caller
    commits). Refused (PortalError on "brand_color") when it is not a colour in that form, or when
    neither white nor near-black text on it reaches WCAG's 4.5:1."""
    color = None
    if (value or "").strip():
        color = branding.normalize(value)
        if color is None:
            raise PortalError(_("Enter the colour as # and six hexadecimal digits, such as #1a5fb4."), "brand_color")
        if not branding.readable(color):
            raise PortalError(
                _(
                    "Text on %(color)s would be hard to read: white text reaches a contrast of %(white)s:1 and "
                    "black text %(black)s:1, and at least %(minimum)s:1 is needed (WCAG AA). Choose a darker or a "
                    "lighter colour.",
                    color=color,
                    white=branding.floor_ratio(branding.contrast_ratio(color, branding.WHITE)),
                    black=branding.floor_ratio(branding.contrast_ratio(color, branding.NEAR_BLACK)),
                    minimum=branding.MIN_CONTRAST,
                ),
                "brand_color",
            )
    workspace.brand_color = color
    changes = audit.changes_of(workspace, ("brand_color",))
    if changes:
        audit.record("workspace.updated", "workspace", workspace.id, changes)
    return changes


def tracking_link(workspace: Workspace, token: str) -> str:
    return url_for("portal.track", slug=workspace.slug, token=token, _external=True)


def staff_ticket_link(workspace: Workspace, ticket: Ticket) -> str:
    # The staff ticket page is /w/<slug>/tickets/<number> (crm/tickets/routes.py).
    return f"{url_for('site.index', _external=True).rstrip('/')}/w/{workspace.slug}/tickets/{ticket.number}"


def send_received(workspace: Workspace, ticket: Ticket, token: str) -> None:
    """Tells the customer the number and the private link, in the language they filed in."""
    if not ticket.requester_email:
        return
    with force_locale(ticket.locale or str(get_locale())):
        subject = _("We received your complaint #%(number)d", number=ticket.number)
        text = render_template(
            "portal/email/received.txt", workspace=workspace, ticket=ticket, link=tracking_link(workspace, token)
        )
    send_mail(ticket.requester_email, subject, text)


def send_customer_replied(workspace: Workspace, ticket: Ticket, body: str) -> None:
    """Tells the ticket's assignee, if any and still active, in their language."""
    member = ticket.assignee
    if member is None or member.status != ACTIVE:
        return
    user = member.user
    with force_locale(user.locale or "en"):
        subject = _("The customer replied on ticket #%(number)d", number=ticket.number)
        text = render_template(
            "portal/email/customer_replied.txt",
            workspace=workspace, ticket=ticket, body=body, name=user.name, link=staff_ticket_link(workspace, ticket),
        )  # fmt: skip
    send_mail(user.email, subject, text)


# --- "My requests": a single-use sign-in link by email ---------------------------------------------

SIGN_IN_MINUTES = 30
SIGNED_IN_HOURS = 2  # how long the list stays open in the browser after the link is used
MY_REQUESTS_LIMIT = 100


def start_sign_in(email: str) -> str | None:
    """A sign-in token for ``email`` (normalised) when it filed something here, else None; the
    caller answers the same either way, so the form tells nobody whose address is known."""
    known = db.session.scalar(sa.select(Ticket.id).where(Ticket.requester_email == email,
                                                         Ticket.deleted_at.is_(None)).limit(1))  # fmt: skip
    if known is None:
        return None
    token = secrets.token_urlsafe(32)
    db.session.add(PortalSignIn(email=email, token_hash=hash_token(token),
                                expires_at=utcnow() + timedelta(minutes=SIGN_IN_MINUTES)))  # fmt: skip
    return token


def usable_sign_in(token: str, lock: bool = False) -> PortalSignIn | None:
    """The unused, unexpired link of this token, or None (``lock``: its row locked until commit)."""
    if len(token) > 100:
        return None
    statement = sa.select(PortalSignIn).where(PortalSignIn.token_hash == hash_token(token))
    sign_in = db.session.scalar(statement.with_for_update() if lock else statement)
    if sign_in is None or sign_in.used_at is not None or sign_in.expires_at < utcnow():
        return None
    return sign_in


def use_sign_in(token: str) -> str | None:
    """The email of an unused, unexpired link (now used), or None."""
    sign_in = usable_sign_in(token, lock=True)
    if sign_in is None:
        return None
    sign_in.used_at = utcnow()
    return sign_in.email


def requests_of(email: str) -> list[Ticket]:
    """The requests filed with this email address, newest first."""
    statement = (sa.select(Ticket).where(Ticket.requester_email == email, Ticket.deleted_at.is_(None))
                 .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(MY_REQUESTS_LIMIT))  # fmt: skip
    return list(db.session.scalars(statement))


def send_sign_in(workspace: Workspace, email: str, token: str) -> None:
    with force_locale(str(get_locale())):
        subject = _("Your requests at %(workspace)s", workspace=workspace.name)
        link = url_for("portal.my_requests_link", slug=workspace.slug, token=token, _external=True)
        text = render_template("portal/email/sign_in.txt", workspace=workspace, link=link, minutes=SIGN_IN_MINUTES)
    send_mail(email, subject, text)


def send_privacy_received(workspace: Workspace, ticket: Ticket, token: str) -> None:
    with force_locale(ticket.locale or str(get_locale())):
        subject = _("We received your privacy request #%(number)d", number=ticket.number)
        text = render_template("portal/email/privacy_received.txt", workspace=workspace, ticket=ticket,
                               link=tracking_link(workspace, token))  # fmt: skip
    send_mail(ticket.requester_email, subject, text)
