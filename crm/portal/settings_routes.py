"""Settings → Service: the complaint portal's intro text, colour and public address, and the complaint
categories (add, rename, move, retire, use again). The category list answers its own fragment to
htmx; adding, renaming, the intro and the colour are plain forms (post/redirect/get)."""

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm.extensions import db
from crm.htmx import answer_list, wants_partial
from crm.permissions import require
from crm.portal import branding, service
from crm.portal.forms import BrandColorForm, CategoryForm, IntroForm
from crm.tickets import categories as category_service
from crm.tickets.models import TicketCategory
from crm.tickets.service import TicketError, categories

bp = Blueprint("service_settings", __name__, url_prefix="/settings/service")

CATEGORY_LIST = "category-list"


def _category_or_404(category_id: int) -> TicketCategory:
    return db.session.get(TicketCategory, category_id) or abort(404)


def _list_context(error: str | None = None) -> dict:
    return {"categories": categories(), "usage": category_service.usage(), "error": error}


def _brand_form() -> BrandColorForm:
    saved = g.workspace.brand_color
    return BrandColorForm(
        formdata=None, data={"brand_color": saved or "", "brand_picker": saved or branding.DEFAULT_COLOR}
    )


def _index(status: int = 200, intro_form=None, form=None, error: str | None = None, brand_form=None):
    saved = g.workspace.brand_color
    context = {
        **_list_context(error),
        "intro_form": intro_form or IntroForm(formdata=None, data={"intro": g.workspace.portal_intro or ""}),
        "brand_form": brand_form or _brand_form(),
        "brand_text": branding.text_color(saved) if saved else None,
        "floor_ratio": branding.floor_ratio,
        "form": form or CategoryForm(formdata=None),
        "portal_url": url_for("portal.home", slug=g.workspace.slug, _external=True),
    }
    return render_template("portal/settings.html", **context), status


def _answer_list(error: str | None = None):
    return answer_list(CATEGORY_LIST, lambda: render_template("portal/_categories.html", **_list_context(error)),
                       lambda: _index(error=error), error)  # fmt: skip


@bp.get("/")
@require("settings.manage")
def index():
    if wants_partial(CATEGORY_LIST):
        return render_template("portal/_categories.html", **_list_context())
    return _index()


@bp.post("/intro")
@require("settings.manage")
def update_intro():
    form = IntroForm()
    if form.validate_on_submit():
        try:
            service.set_intro(g.workspace, form.intro.data)
        except service.PortalError as error:
            form.intro.errors = [*form.intro.errors, str(error)]
        else:
            db.session.commit()
            flash(_("The portal's introduction is saved."), "success")
            return redirect(url_for(".index"), 303)
    db.session.rollback()
    return _index(422, intro_form=form)


def _chosen_color(form: BrandColorForm) -> str:
    """The text field's value, unless only the picker was changed (app.js keeps the two in step;
    without JavaScript the admin may use either). Empty means the standard colour."""
    saved = g.workspace.brand_color or ""
    text = (form.brand_color.data or "").strip()
    picker = (form.brand_picker.data or "").strip()
    if text.lower() == saved and picker and picker.lower() != (saved or branding.DEFAULT_COLOR):
        return picker
    return text


@bp.post("/brand-color")
@require("settings.manage")
def update_brand_color():
    form = BrandColorForm()
    if form.validate_on_submit():
        color = None if request.form.get("reset") else _chosen_color(form)
        try:
            service.set_brand_color(g.workspace, color)
        except service.PortalError as error:
            form.brand_color.data = color  # the refused value shown back, whichever input it came from
            form.brand_color.errors = [*form.brand_color.errors, str(error)]
        else:
            db.session.commit()
            if g.workspace.brand_color:
                flash(_("The portal's colour is saved."), "success")
            else:
                flash(_("The portal uses its standard colour again."), "success")
            return redirect(url_for(".index"), 303)
    db.session.rollback()
    return _index(422, brand_form=form)


@bp.post("/categories")
@require("settings.manage")
def create_category():
    form = CategoryForm()
    if form.validate_on_submit():
        try:
            category = category_service.create_category(form.name.data)
        except TicketError as error:
            db.session.rollback()
            form.name.errors = [*form.name.errors, str(error)]
        else:
            db.session.commit()
            flash(_("Category %(name)s added.", name=category.display_name), "success")
            return redirect(url_for(".index"), 303)
    db.session.rollback()
    return _index(422, form=form)


@bp.get("/categories/<int:category_id>")
@require("settings.manage")
def edit_category(category_id: int):
    category = _category_or_404(category_id)
    form = CategoryForm(formdata=None, data={"name": category.display_name})
    return render_template("portal/category.html", category=category, form=form)


@bp.post("/categories/<int:category_id>")
@require("settings.manage")
def update_category(category_id: int):
    category = _category_or_404(category_id)
    form = CategoryForm()
    if form.validate_on_submit():
        try:
            category_service.rename_category(category, form.name.data)
        except TicketError as error:
            db.session.rollback()
            form.name.errors = [*form.name.errors, str(error)]
        else:
            db.session.commit()
            flash(_("Category %(name)s saved.", name=category.display_name), "success")
            return redirect(url_for(".index"), 303)
    db.session.rollback()
    return render_template("portal/category.html", category=_category_or_404(category_id), form=form), 422


@bp.post("/categories/<int:category_id>/active")
@require("settings.manage")
def set_active(category_id: int):
    """Retires a category (the portal stops offering it; its tickets keep it) or puts it back."""
    category = _category_or_404(category_id)
    wanted = request.form.get("active")
    if wanted not in ("0", "1"):
        abort(400)
    try:
        category_service.set_active(category, wanted == "1")
    except TicketError as error:
        db.session.rollback()
        return _answer_list(str(error))
    db.session.commit()
    return _answer_list()


@bp.post("/categories/<int:category_id>/move")
@require("settings.manage")
def move(category_id: int):
    category = _category_or_404(category_id)
    step = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if step is None:
        abort(400)
    if category_service.move(category, step):
        db.session.commit()
    return _answer_list()
