"""The public complaint portal, /portal/<slug>/...: no sign-in. Every request resolves the
workspace by its slug and binds it for the tenancy walls (RLS included); a customer reaches their
ticket only through its private tracking token, looked up within that workspace. The portal always
acts as nobody signed in, even for a staff member with a session, so what it writes is the
customer's and never an employee's."""

import hashlib

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException
from wtforms.fields.choices import SelectChoice

from crm.auth.service import normalize_email
from crm.contacts.phones import to_e164
from crm.errors import MESSAGES
from crm.extensions import db, limiter, login_manager
from crm.portal import branding, service
from crm.portal.forms import ComplaintForm, RatingForm, ReplyForm
from crm.privacy import service as privacy
from crm.tenancy import bind_user, bind_workspace
from crm.tickets import attachments, merge, notify
from crm.tickets import service as tickets
from crm.tickets.models import (
    CLOSED,
    COMPLAINT,
    CUSTOMER,
    FINISHED,
    NEW,
    OPEN,
    PENDING,
    PORTAL,
    PUBLIC,
    RESOLVED,
    TicketMessage,
)
from crm.workspaces import service as workspaces
from crm.workspaces.models import Workspace

bp = Blueprint("portal", __name__, url_prefix="/portal/<slug>")

SUBMIT_LIMIT = "5 per minute;30 per hour"
SUBMIT_EMAIL_LIMIT = "5 per hour"
ANSWER_LIMIT = "10 per minute;60 per hour"


def status_text(status: str) -> str:
    """What the customer reads for each status (the staff labels speak of "the customer")."""
    labels = {
        NEW: _("Received"),
        OPEN: _("In progress"),
        PENDING: _("Waiting for your reply"),
        RESOLVED: _("Resolved"),
        CLOSED: _("Closed"),
    }
    return labels.get(status, status)


@bp.url_value_preprocessor
def pull_slug(endpoint, values) -> None:
    g.portal_slug = values.pop("slug", None)


@bp.url_defaults
def add_slug(endpoint, values) -> None:
    workspace = g.get("portal_workspace")
    if workspace is not None and "slug" not in values and current_app.url_map.is_endpoint_expecting(endpoint, "slug"):
        values["slug"] = workspace.slug


@bp.before_request
def load_workspace():
    """The workspace at the slug, bound for the whole request; 404 when there is none (never
    was, or deleted). A slug the workspace used before redirects: customers' emailed links
    outlive a change of address, and the portal is public anyway."""
    # Nobody is signed in here: a staff session would otherwise be the actor of the customer's
    # actions in the audit log, and its user binding would reach the RLS settings.
    login_manager._update_request_context_with_user()
    bind_user(None)
    workspace = db.session.scalar(sa.select(Workspace).where(Workspace.slug == g.portal_slug))
    if workspace is None:
        return _redirect_old_slug()
    bind_workspace(workspace.id)
    g.portal_workspace = g.workspace = workspace  # g.workspace: dates in its time zone


def _redirect_old_slug():
    workspace = workspaces.workspace_for_old_slug(g.portal_slug or "")
    if workspace is None:
        abort(404)
    rest = request.path.removeprefix(f"/portal/{g.portal_slug}")
    location = f"{request.script_root}/portal/{workspace.slug}{rest}"
    if request.query_string:
        location += "?" + request.query_string.decode("latin-1")
    return redirect(location, 301 if request.method in ("GET", "HEAD") else 308)


@bp.after_request
def private_pages(response):
    """Portal pages carry tracking tokens in their address (and in the Location of a redirect):
    never cached, never sent on as a referrer."""
    if request.endpoint not in ("portal.logo", "portal.brand_css"):
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(HTTPException)
def portal_error(error: HTTPException):
    """Errors in the portal's own layout, without the staff app's header."""
    if error.code is None or error.code < 400:
        return error
    title, message = MESSAGES.get(error.code, MESSAGES[500])
    login_manager._update_request_context_with_user()
    # A rate limit, or a body too large for CSRFProtect to read, answers before the workspace is
    # loaded: read it (a global row) for the header, and for the links back to its portal.
    workspace = g.get("portal_workspace") or db.session.scalar(
        sa.select(Workspace).where(Workspace.slug == g.get("portal_slug"))
    )
    if workspace is not None:
        g.portal_workspace = workspace
    page = render_template("portal/error.html", workspace=workspace, code=error.code, title=str(title),
                           message=str(message))  # fmt: skip
    return page, error.code


@bp.get("/")
def home():
    return render_template("portal/home.html", workspace=g.portal_workspace)


@bp.get("/logo")
def logo():
    workspace = g.portal_workspace
    data = workspace.logo if workspace.logo_type else None
    if not data:
        abort(404)
    response = make_response(data)
    response.content_type = workspace.logo_type
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    # Public, as the portal is, but revalidated each time so a new logo shows at once.
    response.cache_control.public = True
    response.cache_control.no_cache = True
    response.set_etag(hashlib.sha256(data).hexdigest()[:32])
    return response.make_conditional(request)


@bp.get("/brand.css")
def brand_css():
    """The workspace's colour as CSS custom properties (the CSP allows no inline style). Pages link
    it as brand.css?v=<colour>, and its content follows from the colour alone: that address may be
    cached for good. Any other address is revalidated by its ETag."""
    color = branding.normalize(g.portal_workspace.brand_color)
    if color is None:
        abort(404)
    css = branding.stylesheet(color)
    response = make_response(css)
    response.content_type = "text/css; charset=utf-8"
    response.cache_control.public = True
    if request.args.get("v") == color[1:]:
        response.cache_control.max_age = 365 * 24 * 3600
        response.cache_control.immutable = True
    else:
        response.cache_control.no_cache = True
    response.set_etag(hashlib.sha256(css.encode()).hexdigest()[:32])
    return response.make_conditional(request)


def _email_key() -> str:
    return "portal-email:" + request.form.get("email", "").strip().lower()


def _complaint_form() -> ComplaintForm:
    form = ComplaintForm()
    placeholder = [SelectChoice("", _("Choose…"))]
    active = [SelectChoice(c.id, c.display_name) for c in tickets.categories(active_only=True)]
    form.category_id.choices = placeholder + active
    return form


def _check_reachable(form: ComplaintForm) -> None:
    """Email and phone checked with the rest of the form, so every mistake shows at once."""
    if form.email.data and not form.email.errors:
        try:
            normalize_email(form.email.data)
        except ValueError as error:
            form.email.errors = [*form.email.errors, str(error)]
    if (form.phone.data or "").strip() and not form.phone.errors:
        try:
            to_e164(form.phone.data.strip(), g.portal_workspace.phone_region)
        except ValueError as error:
            form.phone.errors = [*form.phone.errors, str(error)]
    active = {choice.value for choice in form.category_id.choices if choice.value != ""}
    if form.category_id.data is not None and form.category_id.data not in active and not form.category_id.errors:
        form.category_id.errors = [*form.category_id.errors, _("Choose what your complaint is about.")]


# Service field names -> form field names.
FIELDS = {"body": "description", "category_id": "category_id", "name": "name", "email": "email", "phone": "phone",
          "subject": "subject", "reference": "reference"}  # fmt: skip


@bp.route("/new", methods=["GET", "POST"])
@limiter.limit(SUBMIT_LIMIT, methods=["POST"])
@limiter.limit(SUBMIT_EMAIL_LIMIT, key_func=_email_key, methods=["POST"])
def new():
    form = _complaint_form()
    if request.method == "GET":
        return render_template("portal/new.html", workspace=g.portal_workspace, form=form)
    if request.form.get("website"):
        # The honeypot: answered like a success, nothing saved.
        flash(_("Thank you. We received your complaint and will answer by email."), "success")
        return redirect(url_for(".home"), 303)
    valid = form.validate_on_submit()
    _check_reachable(form)
    if not valid or any(field.errors for field in form):
        return _form_page(form)
    try:
        files = attachments.check(form.attachments.data or [])
    except tickets.TicketError as error:
        form.attachments.errors = [*form.attachments.errors, str(error)]
        return _form_page(form)
    known = tickets.known_customer(form.email.data)
    try:
        contact = tickets.find_contact_for_portal(form.name.data, form.email.data, form.phone.data)
        ticket, token = tickets.open_ticket(
            contact=contact, subject=form.subject.data, body=form.description.data, channel=PORTAL,
            category_id=form.category_id.data, requester_name=form.name.data, requester_email=form.email.data,
            reference=form.reference.data, locale=str(get_locale()),
        )  # fmt: skip
    except tickets.TicketError as error:
        db.session.rollback()
        field = form[FIELDS.get(error.field, "description")]
        field.errors = [*field.errors, str(error)]
        return _form_page(form)
    first = db.session.scalar(sa.select(TicketMessage).where(TicketMessage.ticket_id == ticket.id))
    attachments.save(first, files)
    db.session.commit()
    service.send_received(g.portal_workspace, ticket, token)
    notify.given_in_turn(ticket, g.portal_workspace)
    if known:
        # The address belongs to a customer on record: only its owner gets the private link (by
        # email), or anyone typing it could read what we answer that customer.
        flash(_("We received your complaint. Its number is #%(number)d. We have emailed you the private link to "
                "follow it.", number=ticket.number), "success")  # fmt: skip
        return redirect(url_for(".home"), 303)
    flash(
        _(
            "We received your complaint. Its number is #%(number)d. Keep the link of this page private: "
            "anyone with it can read and answer your complaint. We have also sent it to you by email.",
            number=ticket.number,
        ),
        "success",
    )
    return redirect(url_for(".track", token=token), 303)


def _form_page(form: ComplaintForm):
    db.session.rollback()
    return render_template("portal/new.html", workspace=g.portal_workspace, form=form), 422


def _ticket_or_404(token: str, lock: bool = False):
    """The ticket of this tracking link, else 404. A merged ticket's link (crm.tickets.merge) is
    answered on every route, GET or POST, with only the number it was joined with (410 Gone: the
    link will not work again): it may have been shown in a browser to someone who only typed the
    customer's address, so it neither opens the merged conversation nor adds to it. The kept
    ticket's new link went by email. ``lock`` (what adds to the ticket): a merge going on is waited
    for, so a reply never lands on a ticket merged meanwhile."""
    ticket = tickets.ticket_by_token(token, lock=lock) or abort(404)
    if ticket.merged_into_id is not None:
        joined = merge.followed(ticket) or abort(404)  # the live end of a chain of merges
        page = render_template("portal/merged.html", workspace=g.portal_workspace, number=joined.number)
        abort(make_response(page, 410))
    return ticket


def _conversation(ticket) -> list[TicketMessage]:
    """What the customer may read: public replies of staff and their own messages, never notes."""
    statement = (
        sa.select(TicketMessage)
        .where(TicketMessage.ticket_id == ticket.id, TicketMessage.kind.in_((PUBLIC, CUSTOMER)))
        .order_by(TicketMessage.created_at, TicketMessage.id)
    )
    return list(db.session.scalars(statement))


def author_label(message: TicketMessage) -> str:
    if message.kind == CUSTOMER:
        return _("You")
    member = message.author
    first = (member.user.name or "").split()[0] if member is not None and (member.user.name or "").strip() else ""
    return first or _("Support team")


def _track_page(ticket, token: str, reply_form=None, rating_form=None, status: int = 200, error: str | None = None):
    can_rate = ticket.status in FINISHED and ticket.rating is None
    context = {
        "workspace": g.portal_workspace,
        "ticket": ticket,
        "token": token,
        "messages": _conversation(ticket),
        "reply_form": reply_form or ReplyForm(formdata=None),
        "rating_form": (rating_form or RatingForm(formdata=None)) if can_rate else None,
        "status_text": status_text,
        "author_label": author_label,
        "page_error": error,
        "files": attachments.of_ticket(ticket),
        "privacy_copy_ready": privacy.copy_available(ticket),
    }
    return render_template("portal/track.html", **context), status


@bp.get("/t/<token>")
def track(token: str):
    ticket = _ticket_or_404(token)
    if ticket.kind != COMPLAINT and ticket.privacy_verified_at is None:
        privacy.verify(ticket)  # only the address's owner has this link: it was emailed, never shown
        db.session.commit()
    return _track_page(ticket, token)


@bp.post("/t/<token>/reply")
@limiter.limit(ANSWER_LIMIT)
def reply(token: str):
    ticket = _ticket_or_404(token, lock=True)
    form = ReplyForm()
    if not form.validate_on_submit():
        db.session.rollback()
        return _track_page(ticket, token, reply_form=form, status=422)
    if tickets.just_said(ticket, form.body.data) and not form.attachments.data:
        db.session.rollback()  # "Send" tapped twice: the first tap's reply is there already
        flash(_("Your reply is sent."), "success")
        return redirect(url_for(".track", token=token), 303)
    reopened = ticket.status in (PENDING, *FINISHED)
    try:
        files = attachments.check(form.attachments.data or [])
        message = tickets.add_reply(ticket, form.body.data, kind=CUSTOMER, author_id=None)
        attachments.save(message, files)
        ticket.locale = str(get_locale())  # the language they write in now: our next emails use it
    except tickets.TicketError as error:
        db.session.rollback()
        field = form.attachments if error.field == "attachments" else form.body
        field.errors = [*field.errors, str(error)]
        return _track_page(_ticket_or_404(token), token, reply_form=form, status=error.status)
    db.session.commit()
    service.send_customer_replied(g.portal_workspace, ticket, form.body.data)
    if reopened and ticket.status == OPEN:
        flash(_("Your reply is sent, and your complaint is open again."), "success")
    else:
        flash(_("Your reply is sent."), "success")
    return redirect(url_for(".track", token=token), 303)


@bp.post("/t/<token>/rate")
@limiter.limit(ANSWER_LIMIT)
def rate(token: str):
    ticket = _ticket_or_404(token)
    form = RatingForm()
    if ticket.rating is not None or ticket.status not in FINISHED:
        db.session.rollback()
        message = (
            _("You have rated this complaint already.")
            if ticket.rating is not None
            else _("You can rate your complaint once it is resolved.")
        )
        return _track_page(ticket, token, status=409, error=message)
    if not form.validate_on_submit():
        db.session.rollback()
        return _track_page(ticket, token, rating_form=form, status=422)
    try:
        tickets.rate(ticket, form.score.data, form.comment.data)
    except tickets.TicketError as error:
        db.session.rollback()
        ticket = _ticket_or_404(token)
        if error.field in ("score", "comment"):
            form[error.field].errors = [*form[error.field].errors, str(error)]
            return _track_page(ticket, token, rating_form=form, status=error.status)
        return _track_page(ticket, token, status=error.status, error=str(error))
    db.session.commit()
    flash(_("Thank you for your rating."), "success")
    return redirect(url_for(".track", token=token), 303)
