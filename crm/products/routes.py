"""Settings → Products: the catalogue (``settings.manage``), a page of 50 by name, searched by name
or SKU. Products are deactivated, never deleted. Plain forms with post/redirect/get, boosted by htmx."""

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm.extensions import db
from crm.htmx import wants_partial
from crm.permissions import require
from crm.products import queries, service
from crm.products.forms import ProductForm
from crm.products.models import Product
from crm.workspaces.service import currency_choices

bp = Blueprint("products", __name__, url_prefix="/settings/products")

STATUSES = ("active", "inactive", "all")  # a value each: a filter form leaves empty fields out


def _product_or_404(product_id: int) -> Product:
    return db.session.get(Product, product_id) or abort(404)


def _filters() -> tuple[str, str]:
    status = request.args.get("status", "active")
    return request.args.get("q", "").strip()[:100], status if status in STATUSES else "active"


def _form(**kwargs) -> ProductForm:
    return ProductForm(currencies=currency_choices(first=g.workspace.currency), **kwargs)


def _field_error(form, error: service.ProductError) -> None:
    field = form[error.field] if error.field and error.field in form else form.name
    field.errors = [*field.errors, str(error)]


def _index(form: ProductForm | None = None, status: int = 200):
    q, shown = _filters()
    context = {"page": queries.products_page(q, shown, request.args.get("after")), "q": q, "status": shown}
    if wants_partial("products-more"):
        return render_template("products/_rows.html", **context)
    if wants_partial("product-results"):
        return render_template("products/_results.html", **context)
    if form is None:
        form = _form(formdata=None, data={"currency": g.workspace.currency})
    return render_template("products/index.html", form=form, **context), status


@bp.get("/")
@require("settings.manage")
def index():
    return _index()


@bp.post("/")
@require("settings.manage")
def create():
    form = _form()
    if form.validate_on_submit():
        try:
            product = service.create_product(form.service_data())
        except service.ProductError as error:
            db.session.rollback()
            _field_error(form, error)
        else:
            db.session.commit()
            flash(_("Product %(name)s added.", name=product.name), "success")
            return redirect(url_for(".index"), 303)
    return _index(form, 422)


@bp.get("/<int:product_id>")
@require("settings.manage")
def edit(product_id: int):
    product = _product_or_404(product_id)
    return render_template("products/edit.html", product=product, form=_form(formdata=None, obj=product))


@bp.post("/<int:product_id>")
@require("settings.manage")
def update(product_id: int):
    product = _product_or_404(product_id)
    form = _form()
    if form.validate_on_submit():
        try:
            service.update_product(product, form.service_data())
        except service.ProductError as error:
            db.session.rollback()
            _field_error(form, error)
        else:
            db.session.commit()
            flash(_("Product %(name)s saved.", name=product.name), "success")
            return redirect(url_for(".index"), 303)
    return render_template("products/edit.html", product=_product_or_404(product_id), form=form), 422


@bp.post("/<int:product_id>/deactivate")
@require("settings.manage")
def deactivate(product_id: int):
    return _set_active(_product_or_404(product_id), False)


@bp.post("/<int:product_id>/activate")
@require("settings.manage")
def activate(product_id: int):
    return _set_active(_product_or_404(product_id), True)


def _set_active(product: Product, active: bool):
    service.set_active(product, active)
    db.session.commit()
    if active:
        flash(_("%(name)s is offered again.", name=product.name), "success")
    else:
        flash(_("%(name)s is no longer offered; deals that have it keep it.", name=product.name), "success")
    return redirect(url_for(".edit", product_id=product.id), 303)
