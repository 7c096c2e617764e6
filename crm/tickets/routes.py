"""The staff side of tickets: the queue (tabs, filters, search, "load more"), a ticket's page (the
conversation, replies and internal notes, status, priority, category and assignee changed in
place, the customer panel) and opening a ticket for a customer. Tickets are addressed by their
number in the workspace (#1001), never by their id."""

import re

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm.contacts.models import Contact
from crm.contacts.queries import member_names, roster
from crm.deals import customers as customer_search
from crm.extensions import db
from crm.htmx import is_boosted, is_htmx, wants_partial
from crm.permissions import require
from crm.saved_replies import service as saved_replies
from crm.tickets import attachments, merge, notify, queries, service, sla_jobs
from crm.tickets.forms import REPLY_KINDS, ReplyForm, TicketForm
from crm.tickets.models import (
    CHANNEL_LABELS,
    KIND_LABELS,
    NEW,
    PRIORITY_LABELS,
    PUBLIC,
    QUEUE_LABELS,
    STATUS_LABELS,
    Ticket,
)
from crm.tickets.queries import ALL_STATUSES, SORTS, WORK, QueueView
from crm.tickets.queue_rows import queue_rows
from crm.tickets.service import TicketError

bp = Blueprint("tickets", __name__, url_prefix="/tickets")

FIELD_ID = re.compile(r"[a-z][a-z0-9_-]{0,39}")
ID = re.compile(r"[1-9]\d{0,17}")
CUSTOMER_FIELD = "ticket-customer"  # the queue's customer picker (templates/tickets/index.html)


@bp.context_processor
def ticket_helpers() -> dict:
    # Labels translated once per request, not once per row of the queue.
    labels = {"ticket_statuses": STATUS_LABELS, "ticket_priorities": PRIORITY_LABELS,
              "ticket_channels": CHANNEL_LABELS, "ticket_queues": QUEUE_LABELS, "reply_kinds": REPLY_KINDS,
              "ticket_kinds": KIND_LABELS}  # fmt: skip
    helpers = {name: {key: str(label) for key, label in pairs.items()} for name, pairs in labels.items()}
    helpers["queue_rows"] = queue_rows
    return helpers


def ticket_or_404(number: int) -> Ticket:
    return queries.ticket_or_none(number, g.membership) or abort(404)


def _status_filters() -> dict:
    return {WORK: _("Open work (new, open, waiting)"), **STATUS_LABELS, ALL_STATUSES: _("Any status")}


# --- the queue -------------------------------------------------------------------------------------


@bp.get("/")
@require("tickets.read")
def index():
    view, customer_label = queries.without_hidden_customer(
        QueueView.from_args(request.args, g.membership), g.membership
    )
    page = queries.queue_page(view, g.membership, request.args.get("after"))
    can_bulk = g.membership.can("tickets.write")
    categories, members = service.categories(), roster()  # the rows' names, the filters' choices
    context = {"view": view, "page": page, "tabs": queries.tabs(g.membership), "can_bulk": can_bulk,
               "category_names": {category.id: category.display_name for category in categories},
               "assignee_names": members.names}  # fmt: skip
    if wants_partial("ticket-more"):
        return render_template("tickets/_rows.html", **context)
    context["workers"] = members.who_may("tickets.write")  # the bulk bar's and the filter's choices
    if wants_partial("ticket-results"):
        return render_template("tickets/_results_swap.html", **context)
    return render_template("tickets/index.html", categories=categories, status_filters=_status_filters(),
                           sorts=SORTS, customer_label=customer_label, **context)  # fmt: skip


# --- opening a ticket for a customer ---------------------------------------------------------------


def _int(value) -> int | None:
    value = (value or "").strip() if isinstance(value, str) else value
    return int(value) if value and ID.fullmatch(str(value)) else None


def _new_form() -> TicketForm:
    contact_id = _int(request.form.get("contact_id") if request.method == "POST" else request.args.get("contact"))
    form = TicketForm(
        contacts=customer_search.chosen(Contact, contact_id, g.membership),
        categories=service.categories(active_only=True),
    )
    if request.method == "GET":
        form.contact_id.data = form.contact_id.offered
    return form


@bp.get("/new")
@require("tickets.write")
def new():
    return render_template("tickets/new.html", form=_new_form())


@bp.post("/")
@require("tickets.write")
def create():
    form = _new_form()
    if not form.validate_on_submit():
        return render_template("tickets/new.html", form=form), 422
    try:
        ticket, _token = service.open_ticket(
            contact=db.session.get(Contact, form.contact_id.data), subject=form.subject.data, body=form.body.data,
            channel=form.channel.data, category_id=form.category_id.data, priority=form.priority.data,
            requester_name=None, requester_email=None, author_id=g.membership.id,
        )  # fmt: skip
    except TicketError as error:
        db.session.rollback()
        field = form._fields.get(error.field, form.subject)
        field.errors = [*field.errors, str(error)]
        return render_template("tickets/new.html", form=form), 422
    db.session.commit()
    if queries.ticket_or_none(ticket.number, g.membership) is None:
        # Routed where the member cannot follow (the escalated queue, or a role limited to its own
        # tickets): opened all the same, for those who work that queue.
        flash(_("Ticket #%(number)d opened. It went to a queue you do not see.", number=ticket.number), "success")
        return _leave_for(url_for(".index"))
    flash(_("Ticket #%(number)d opened.", number=ticket.number), "success")
    return _leave_for(url_for(".show", ticket_number=ticket.number))


def _leave_for(url: str):
    if is_htmx() and not is_boosted():
        return "", 204, {"HX-Redirect": url}
    return redirect(url, 303)


@bp.get("/customers")
@require("tickets.write")
def customers():
    """The new-ticket form's contact picker (templates/_macros/picker.html): live contacts the
    member may see that match ``q``."""
    field_id = request.args.get("field", "")
    if not FIELD_ID.fullmatch(field_id):
        abort(400)
    q = request.args.get("q", "").strip()[:100]
    options = customer_search.search("contact", q, g.membership)
    return render_template("deals/_picker_options.html", options=options, q=q, kind="contact", field_id=field_id)


@bp.get("/customer-filter")
@require("tickets.read", "contacts.read")
def customer_filter():
    """The queue's customer filter picker: live contacts and companies the member may see."""
    q = request.args.get("q", "").strip()[:100]
    options = customer_search.search("customer", q, g.membership)
    return render_template("deals/_picker_options.html", options=options, q=q, kind="customer",
                           field_id=CUSTOMER_FIELD)  # fmt: skip


# --- a ticket's page -------------------------------------------------------------------------------


def _fields_context(ticket: Ticket, can_work: bool) -> dict:
    if not can_work:
        return {"can_work": False}
    categories = [c for c in service.categories() if c.active or c.id == ticket.category_id]
    statuses = {key: label for key, label in STATUS_LABELS.items() if key != NEW or ticket.status == NEW}
    workers = queries.worker_choices(ticket.queue)
    if ticket.assignee_id is not None and ticket.assignee_id not in dict(workers):
        # Still theirs, as a retired category stays: the form sends every field on each change, and
        # leaving them out would give the ticket to nobody when its status changes.
        workers = [(ticket.assignee_id, member_names().get(ticket.assignee_id, "")), *workers]
    return {"can_work": True, "categories": categories, "workers": workers, "status_choices": statuses}


def _show(ticket: Ticket, reply_form: ReplyForm | None = None, fields_error: TicketError | None = None,
          status: int = 200, **extra):  # fmt: skip
    # A merged ticket is read-only: its conversation went on in the ticket it was merged into.
    can_work = service.allowed_to_work(ticket, g.membership) and ticket.merged_into_id is None
    context = {
        "ticket": ticket,
        "messages": queries.conversation(ticket.id),
        "panel": queries.customer_panel(ticket, g.membership),
        "reply_form": reply_form or ReplyForm(formdata=None),
        "fields_error": fields_error,
        "files": attachments.of_ticket(ticket),
        "saved_replies": saved_replies.saved_replies() if can_work else [],
        "late": sla_jobs.late_marks(ticket),
        **_fields_context(ticket, can_work),
        **_merged_context(ticket),
        **extra,
    }
    return render_template("tickets/show.html", **context), status


def _merged_context(ticket: Ticket) -> dict:
    """For a merged ticket's banner: the number it was merged into, and whether the member may
    open that ticket (a link) or not (the number alone)."""
    if ticket.merged_into_id is None:
        return {}
    number, visible = merge.merged_into_for(ticket, g.membership)
    return {"merged_into": number, "merged_into_visible": visible}


@bp.get("/<int:ticket_number>")
@require("tickets.read")
def show(ticket_number: int):
    return _show(ticket_or_404(ticket_number))


def _worker(ticket: Ticket) -> Ticket:
    """The ticket, if the member may answer and change it (403 otherwise: they can see it), and it
    is not merged into another (409)."""
    if not service.allowed_to_work(ticket, g.membership):
        abort(403)
    if ticket.merged_into_id is not None:
        abort(409, merge.refusal(ticket))
    return ticket


def _optional_id(field: str) -> int | None:
    raw = request.form.get(field, "").strip()
    if not raw:
        return None
    if not ID.fullmatch(raw):
        raise TicketError(_("Not a valid choice."), 422, field)
    return int(raw)


def _apply_fields(ticket: Ticket) -> dict:
    """The header's fields as posted (any of them), each checked by the service; the first refusal
    raises before the caller commits, so nothing is saved."""
    changes = {}
    form = request.form
    if "status" in form:
        changes.update(service.set_status(ticket, form["status"], g.membership.id))
    if "priority" in form:
        changes.update(service.set_priority(ticket, form["priority"]))
    if "category_id" in form:
        changes.update(service.set_category(ticket, _optional_id("category_id")))
    if "assignee_id" in form:
        member_id = _optional_id("assignee_id")
        chosen_anew = member_id is not None and member_id != ticket.assignee_id
        if chosen_anew and member_id not in dict(queries.worker_choices(ticket.queue)):
            raise TicketError(_("Choose a member who answers tickets."), 422, "assignee_id")
        changes.update(service.assign(ticket, member_id))
    return changes


def _fields_response(ticket: Ticket, error: TicketError | None = None, status: int = 200):
    context = {"ticket": ticket, "fields_error": error, **_fields_context(ticket, True)}
    return render_template("tickets/_fields.html", **context), status


@bp.post("/<int:ticket_number>")
@require("tickets.write")
def update(ticket_number: int):
    ticket = _worker(ticket_or_404(ticket_number))
    try:
        changes = _apply_fields(ticket)
    except TicketError as error:
        db.session.rollback()
        ticket = ticket_or_404(ticket_number)
        error.status = 422
        if wants_partial("ticket-fields"):
            return _fields_response(ticket, error, 422)
        return _show(ticket, fields_error=error, status=422)
    db.session.commit()
    if "status" in changes:
        notify.status_changed(ticket, ticket.status)
    if changes.get("assignee_id", [None, None])[1] is not None:
        notify.assigned(ticket, ticket.assignee, g.membership)
    if changes:
        flash(_("Ticket #%(number)d updated.", number=ticket.number), "success")
    if not queries.ticket_or_none(ticket.number, g.membership):  # given away by a role limited to its own
        return _leave_for(url_for(".index"))
    if wants_partial("ticket-fields"):
        return _fields_response(ticket)
    return redirect(url_for(".show", ticket_number=ticket.number), 303)


@bp.post("/<int:ticket_number>/messages")
@require("tickets.write")
def reply(ticket_number: int):
    ticket = ticket_or_404(ticket_number)
    # Locked and read again: a merge going on is waited for, and a reply never lands on the duplicate.
    db.session.refresh(ticket, with_for_update=True)
    ticket = _worker(ticket)
    form = ReplyForm()
    partial = wants_partial("ticket-reply")
    message = None
    if form.validate_on_submit():
        try:
            files = attachments.check(request.files.getlist("attachments"))
            message = service.add_reply(ticket, form.body.data, kind=form.kind.data, author_id=g.membership.id)
            attachments.save(message, files)
        except TicketError as error:
            db.session.rollback()
            ticket = ticket_or_404(ticket_number)
            message = None
            form.body.errors = [*form.body.errors, str(error)]
    if message is None:
        if partial:
            return render_template("tickets/_reply_form.html", ticket=ticket, reply_form=form), 422
        return _show(ticket, reply_form=form, status=422)
    db.session.commit()
    if message.kind == PUBLIC:
        notify.reply_sent(ticket, message)
    if partial:
        row = queries.conversation(ticket.id, message.id)[0]
        context = {"ticket": ticket, "reply_form": ReplyForm(formdata=None), "message": row,
                   "files": attachments.of_ticket(ticket), **_fields_context(ticket, True)}  # fmt: skip
        return render_template("tickets/_reply_sent.html", **context)
    return redirect(url_for(".show", ticket_number=ticket.number, _anchor=f"message-{message.id}"), 303)
