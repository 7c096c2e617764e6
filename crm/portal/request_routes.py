"""More of the portal (the same blueprint as crm.portal.routes): privacy requests, "My requests"
through a single-use emailed link, files attached to a ticket, and the copy of a customer's data."""

from datetime import UTC, datetime, timedelta

from flask import abort, flash, g, make_response, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from crm.auth.service import normalize_email
from crm.db import utcnow
from crm.extensions import db, limiter
from crm.portal import service
from crm.portal.forms import MyRequestsForm, PrivacyForm
from crm.portal.routes import (
    ANSWER_LIMIT,
    SUBMIT_EMAIL_LIMIT,
    SUBMIT_LIMIT,
    _email_key,
    _ticket_or_404,
    bp,
    status_text,
)
from crm.privacy import service as privacy
from crm.tickets import attachments
from crm.tickets import service as tickets
from crm.tickets.models import INTERNAL, KIND_LABELS, TicketAttachment, TicketMessage

SIGNED_IN_KEY = "portal_requests"  # session: {workspace id: [email, until (ISO)]}


@bp.route("/privacy", methods=["GET", "POST"])
@limiter.limit(SUBMIT_LIMIT, methods=["POST"])
@limiter.limit(SUBMIT_EMAIL_LIMIT, key_func=_email_key, methods=["POST"])
def privacy_request():
    form = PrivacyForm()
    if request.method == "GET":
        return render_template("portal/privacy.html", workspace=g.portal_workspace, form=form)
    if request.form.get("website"):  # the honeypot: answered like a success, nothing saved
        flash(_("Thank you. We received your request and will answer by email."), "success")
        return redirect(url_for(".home"), 303)
    if form.validate_on_submit():
        try:
            ticket, token = privacy.open_request(form.kind.data, form.name.data, form.email.data,
                                                 details=form.details.data, locale=str(get_locale()))  # fmt: skip
        except (tickets.TicketError, ValueError) as error:
            db.session.rollback()
            field = form[{"name": "name", "email": "email", "kind": "kind"}.get(getattr(error, "field", ""), "email")]
            field.errors = [*field.errors, str(error)]
        else:
            db.session.commit()
            service.send_privacy_received(g.portal_workspace, ticket, token)
            # The link goes by email only: opening it proves the address is the requester's.
            flash(_("We received your request #%(number)d. To confirm it is yours, open the link we have just "
                    "emailed you; we answer within 30 days.", number=ticket.number), "success")  # fmt: skip
            return redirect(url_for(".home"), 303)
    db.session.rollback()
    return render_template("portal/privacy.html", workspace=g.portal_workspace, form=form), 422


@bp.get("/t/<token>/my-data.zip")
@limiter.limit(ANSWER_LIMIT)
def my_data(token: str):
    ticket = _ticket_or_404(token)
    if not privacy.copy_available(ticket):
        abort(404)
    response = make_response(privacy.export_zip(ticket.contact))
    response.content_type = "application/zip"
    response.headers["Content-Disposition"] = f'attachment; filename="my-data-{ticket.number}.zip"'
    return response


@bp.get("/t/<token>/files/<int:attachment_id>")
def attachment(token: str, attachment_id: int):
    """A file of the ticket, if the message it belongs to is one the customer sees."""
    ticket = _ticket_or_404(token)
    found = db.session.get(TicketAttachment, attachment_id)
    if found is None or found.ticket_id != ticket.id:
        abort(404)
    if db.session.get(TicketMessage, found.message_id).kind == INTERNAL:
        abort(404)
    return attachments.response_for(found)


@bp.route("/requests", methods=["GET", "POST"])
@limiter.limit(SUBMIT_LIMIT, methods=["POST"])
@limiter.limit(SUBMIT_EMAIL_LIMIT, key_func=_email_key, methods=["POST"])
def my_requests_start():
    form = MyRequestsForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            return render_template("portal/requests_start.html", workspace=g.portal_workspace, form=form), 422
        try:
            email = normalize_email(form.email.data)
        except ValueError as error:
            form.email.errors = [*form.email.errors, str(error)]
            return render_template("portal/requests_start.html", workspace=g.portal_workspace, form=form), 422
        token = service.start_sign_in(email)
        db.session.commit()
        if token is not None:
            service.send_sign_in(g.portal_workspace, email, token)
        flash(_("If you made requests with %(email)s, we have sent it a link to see them. It works once, within "
                "30 minutes.", email=email), "success")  # fmt: skip
        return redirect(url_for(".my_requests_start"), 303)
    return render_template("portal/requests_start.html", workspace=g.portal_workspace, form=form)


def _link_refused():
    flash(_("This link has expired or was used already. Ask for a new one."), "error")
    return redirect(url_for(".my_requests_start"), 303)


@bp.get("/requests/link/<token>")
@limiter.limit(ANSWER_LIMIT)
def my_requests_link(token: str):
    """The emailed link asks for a click, and only that click (a POST) uses it: mail servers and
    security scanners open the links in a message before its reader does, and would use it up."""
    if service.usable_sign_in(token) is None:
        return _link_refused()
    return render_template("portal/requests_open.html", workspace=g.portal_workspace, token=token)


@bp.post("/requests/link/<token>")
@limiter.limit(ANSWER_LIMIT)
def my_requests_open(token: str):
    email = service.use_sign_in(token)
    db.session.commit()
    if email is None:
        return _link_refused()
    until = utcnow() + timedelta(hours=service.SIGNED_IN_HOURS)
    signed_in = dict(session.get(SIGNED_IN_KEY, {}))
    signed_in[str(g.portal_workspace.id)] = [email, until.isoformat()]
    session[SIGNED_IN_KEY] = signed_in
    return redirect(url_for(".my_requests"), 303)


def _signed_in_email() -> str | None:
    entry = session.get(SIGNED_IN_KEY, {}).get(str(g.portal_workspace.id))
    if not entry or datetime.fromisoformat(entry[1]).astimezone(UTC) < utcnow():
        return None
    return entry[0]


@bp.get("/requests/mine")
def my_requests():
    email = _signed_in_email()
    if email is None:
        return redirect(url_for(".my_requests_start"), 303)
    found = [(ticket, tickets.tracking_token(ticket)) for ticket in service.requests_of(email)]
    context = {"workspace": g.portal_workspace, "email": email, "requests": found, "status_text": status_text,
               "kind_labels": KIND_LABELS}  # fmt: skip
    return render_template("portal/requests.html", **context)
