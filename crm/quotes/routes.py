from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, url_for
from flask_babel import gettext as _

from crm.audit import queries as audit_queries
from crm.audit.service import ACTIONS
from crm.deals import queries as deal_queries
from crm.extensions import db
from crm.htmx import is_htmx, trigger
from crm.i18n import workspace_today
from crm.permissions import require
from crm.quotes import queries, service
from crm.quotes.forms import DetailsForm, QuoteForm, StatusForm
from crm.quotes.models import STATUS_LABELS, TRANSITIONS, Quote

bp = Blueprint("quotes", __name__)


@bp.app_context_processor
def quote_helpers() -> dict:
    # The deal page lists its quotes without the deals feature knowing about them.
    return {"deal_quotes": queries.quotes_of_deal, "quote_statuses": STATUS_LABELS}


def quote_or_404(quote_id: int) -> Quote:
    return queries.quote_or_none(quote_id, g.membership) or abort(404)


@bp.post("/deals/<int:deal_id>/quotes")
@require("deals.write")
def create(deal_id: int):
    deal = deal_queries.deal_or_none(deal_id, g.membership) or abort(404)
    try:
        quote = service.create_quote(deal, g.workspace, workspace_today(), g.membership.id)
    except service.QuoteError as error:
        db.session.rollback()
        if is_htmx():
            return _with_toast(make_response("", error.status), str(error))
        abort(error.status, str(error))
    db.session.commit()
    flash(_("Quote %(number)s created.", number=quote.number), "success")
    return redirect(url_for(".show", quote_id=quote.id), 303)


def _show(quote: Quote, form=None, status_form=None, status: int = 200, error: str | None = None):
    context = {
        "quote": quote,
        "form": form or QuoteForm(formdata=None, obj=quote),
        "status_form": status_form or StatusForm(formdata=None),
        "next_statuses": TRANSITIONS[quote.status],
        "page_error": error,
        "history": audit_queries.history_of("quote", quote.id) if g.membership.can("audit.view") else [],
        "actions": ACTIONS,
    }
    return _with_toast(make_response(render_template("quotes/show.html", **context), status), error)


def _with_toast(response, error: str | None):
    """htmx (boosted forms too) swaps no 409: the reason travels as a toast as well."""
    if error and is_htmx():
        trigger(response, "toast", [{"level": "error", "message": error}])
    return response


@bp.get("/quotes/<int:quote_id>")
@require("deals.read")
def show(quote_id: int):
    return _show(quote_or_404(quote_id))


@bp.post("/quotes/<int:quote_id>")
@require("deals.write")
def update(quote_id: int):
    quote = quote_or_404(quote_id)
    form = QuoteForm()
    if not form.validate_on_submit():
        return _show(quote, form=form, status=422)
    try:
        service.update_quote(quote, form.valid_until.data, form.notes.data)
    except service.QuoteError as error:
        db.session.rollback()
        if error.field:
            form[error.field].errors.append(str(error))
        return _show(quote_or_404(quote_id), form=form, status=error.status, error=None if error.field else str(error))
    db.session.commit()
    flash(_("Quote %(number)s saved.", number=quote.number), "success")
    return redirect(url_for(".show", quote_id=quote.id), 303)


@bp.post("/quotes/<int:quote_id>/status")
@require("deals.write")
def mark(quote_id: int):
    quote = quote_or_404(quote_id)
    form = StatusForm()
    if not form.validate_on_submit():
        return _show(quote, status_form=form, status=422)
    try:
        service.change_status(quote, form.status.data, g.workspace, workspace_today(), g.membership.id,
                              form.win_deal.data)  # fmt: skip
    except service.QuoteError as error:
        db.session.rollback()
        return _show(quote_or_404(quote_id), status=error.status, error=str(error))
    db.session.commit()
    flash(_("Quote %(number)s marked %(status)s.", number=quote.number, status=STATUS_LABELS[quote.status]), "success")
    return redirect(url_for(".show", quote_id=quote.id), 303)


@bp.get("/settings/quotes")
@require("settings.manage")
def settings():
    return render_template("quotes/settings.html", form=DetailsForm(formdata=None, obj=g.workspace))


@bp.post("/settings/quotes")
@require("settings.manage")
def update_settings():
    form = DetailsForm()
    if form.validate_on_submit():
        try:
            service.set_business_details(g.workspace, form.business_details.data)
        except service.QuoteError as error:
            form.business_details.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("The details on quotes are saved."), "success")
            return redirect(url_for(".settings"), 303)
    db.session.rollback()
    return render_template("quotes/settings.html", form=form), 422
