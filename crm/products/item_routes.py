"""The line items of a deal (``deals.write``; the deal is loaded with the member's record scope,
a line through its deal). Each change answers the "Products" section to htmx, with the deal's new
value out of band; without JavaScript it redirects to the deal page, and a refused form renders
the lines page (422)."""

from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, url_for
from flask_babel import gettext as _

from crm.deals import queries as deal_queries
from crm.deals.models import Deal
from crm.extensions import db
from crm.htmx import is_boosted, is_htmx, trigger, wants_partial
from crm.permissions import require
from crm.products import panel, service
from crm.products.models import DealItem, Product

bp = Blueprint("deal_items", __name__, url_prefix="/deals/<int:deal_id>/items")


def _field_error(form, error: service.ProductError) -> None:
    field = form[error.field] if error.field and error.field in form else form.name
    field.errors = [*field.errors, str(error)]


def _product_or_404(product_id: int) -> Product:
    return db.session.get(Product, product_id) or abort(404)


def _deal_or_404(deal_id: int) -> Deal:
    return deal_queries.deal_or_none(deal_id, g.membership) or abort(404)


def _item_or_404(deal: Deal, item_id: int) -> DealItem:
    item = db.session.get(DealItem, item_id)
    if item is None or item.deal_id != deal.id:
        abort(404)
    return item


def _section(deal: Deal, status: int = 200, **kwargs):
    """The lines section to htmx (with the deal's new value out of band); the lines page otherwise."""
    context = panel.deal_items_context(deal, **kwargs)
    if wants_partial(panel.SECTION):
        return render_template("products/_deal_items.html", value_oob=True, **context), status
    return render_template("products/deal_items.html", **context), status


def _done(deal: Deal):
    if is_htmx() and not is_boosted():
        return _section(deal)
    return redirect(url_for("ws.deals.show", deal_id=deal.id, _anchor=panel.SECTION), 303)


def _refused(deal: Deal, error: service.ProductError):
    """A refusal about the deal's state (closed): 409, and a toast for htmx (which does not swap it)."""
    db.session.rollback()
    response = make_response(*_section(_deal_or_404(deal.id), 409))
    if is_htmx():
        trigger(response, "toast", [{"level": "error", "message": str(error)}])
    return response


@bp.get("/")
@require("deals.read")
def index(deal_id: int):
    return _section(_deal_or_404(deal_id))


@bp.post("/")
@require("deals.write")
def create(deal_id: int):
    deal = _deal_or_404(deal_id)
    form = panel.item_form(deal, submitted=True)
    if form.validate_on_submit():
        product = _product_or_404(form.product_id.data) if form.product_id.data else None
        try:
            service.add_item(deal, product, form.service_data())
        except service.ProductError as error:
            if error.field is None:
                return _refused(deal, error)
            db.session.rollback()
            _field_error(form, error)
        else:
            db.session.commit()
            flash(_("Line added."), "success")
            return _done(deal)
    return _section(_deal_or_404(deal_id), 422, new_form=form)


@bp.post("/<int:item_id>")
@require("deals.write")
def update(deal_id: int, item_id: int):
    deal = _deal_or_404(deal_id)
    item = _item_or_404(deal, item_id)
    form = panel.line_form(item, submitted=True)
    if form.validate_on_submit():
        try:
            service.update_item(deal, item, form.service_data())
        except service.ProductError as error:
            if error.field is None:
                return _refused(deal, error)
            db.session.rollback()
            _field_error(form, error)
        else:
            db.session.commit()
            flash(_("Line saved."), "success")
            return _done(deal)
    return _section(_deal_or_404(deal_id), 422, failed=form, failed_id=item_id)


@bp.post("/<int:item_id>/delete")
@require("deals.write")
def delete(deal_id: int, item_id: int):
    deal = _deal_or_404(deal_id)
    item = _item_or_404(deal, item_id)
    try:
        service.remove_item(deal, item)
    except service.ProductError as error:
        return _refused(deal, error)
    db.session.commit()
    flash(_("Line removed."), "success")
    return _done(deal)
