"""Purchases entered on a company's page: by the company itself, or by one of its contacts (which
is then that contact's purchase, re-classifying them). The company's purchases section is the
htmx target; without htmx each form posts and comes back to the company's page."""

from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm.contacts import queries as contact_queries
from crm.contacts.models import Company
from crm.contacts.pages import company_or_404, composer_page, contact_or_404, errors_text
from crm.deals import customers as customer_search
from crm.extensions import db
from crm.htmx import trigger, wants_partial
from crm.i18n import workspace_today
from crm.permissions import require
from crm.purchases import queries, service
from crm.purchases.buyers import typed_buyer
from crm.purchases.forms import CompanyPurchaseForm, PurchaseForm
from crm.purchases.models import Purchase

bp = Blueprint("company_purchases", __name__, url_prefix="/companies/<int:company_id>/purchases")
SECTION = "company-purchases"
BUYERS_IN_SELECT = 50  # a company with more contacts (that the member may see) gets a picker for its buyer


def purchase_or_404(company: Company, purchase_id: int) -> Purchase:
    return queries.company_purchase_or_none(company.id, purchase_id) or abort(404)


def company_purchase_form(company: Company, contacts: list | None = None, **kwargs) -> CompanyPurchaseForm:
    """The form with the company's contacts (those the member may see) as possible buyers: in a
    select while they are at most BUYERS_IN_SELECT, else found with a picker (``buyers`` below).
    ``contacts`` are the first of them by name, at least BUYERS_IN_SELECT + 1 when there are more.
    A posted buyer is looked up on its own, so any of the company's contacts is a valid choice; the
    picker's typed text, sent without JavaScript, names one (crm/purchases/buyers.py)."""
    if contacts is None:
        contacts = contact_queries.company_contacts(company, g.membership, limit=BUYERS_IN_SELECT + 1)
    searched = len(contacts) > BUYERS_IN_SELECT
    offered = [] if searched else [(contact.id, contact.name) for contact in contacts]
    if kwargs.get("formdata", True) is not None and request.method == "POST":
        sent = _posted_id(request.form.get("buyer"))
        if sent is not None and all(contact_id != sent for contact_id, _name in offered):
            offered += contact_queries.company_contact_choice(company, sent, g.membership)
        typed = typed_buyer(company, request.form, sent, offered, g.membership)
        if typed is not None:
            kwargs["formdata"] = request.form.copy()
            kwargs["formdata"]["buyer"] = typed.buyer
            offered += typed.offered
            kwargs.update(typed=typed.text, problem=typed.problem)
    return CompanyPurchaseForm(buyers=offered, searched=searched, **kwargs)


def _posted_id(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None  # not an id: the field refuses it


def section_context(company: Company, form: CompanyPurchaseForm | None = None, contacts: list | None = None) -> dict:
    """What the company page's purchases section shows (figures, latest purchases, the form)."""
    lifetime, last_12m = queries.company_totals(company.id, g.membership, workspace_today())
    if form is None and g.membership.can("contacts.write"):
        form = company_purchase_form(company, contacts, formdata=None)
    return {
        "company": company,
        "purchases": queries.company_purchases(company.id, g.membership),
        "lifetime": lifetime,
        "last_12m": last_12m,
        "purchase_form": form,
    }


def _back(company: Company):
    return redirect(url_for("ws.companies.show", company_id=company.id), 303)


def _section(company: Company, form=None, status: int = 200, changed: bool = False):
    """The section; after a change, the page's timeline is asked to draw itself again (the purchase
    goes where its day puts it)."""
    response = make_response(render_template("companies/_purchases.html", **section_context(company, form)), status)
    return trigger(response, "timeline-changed") if changed else response


@bp.post("/")
@require("contacts.write")
def create(company_id: int):
    company = company_or_404(company_id)
    form = company_purchase_form(company)
    if not form.validate_on_submit():
        if wants_partial(SECTION):
            return _section(company, form, 422)
        message = _("The purchase was not saved: %(errors)s", errors=errors_text(form))
        composer = render_template("purchases/_company_composer.html", company=company, form=form)
        return composer_page(_("Add a purchase"), message, composer, company.name,
                             url_for("ws.companies.show", company_id=company.id))  # fmt: skip
    if form.buyer.data is None:
        service.add_company_purchase(company, g.workspace, form.service_data())
    else:
        contact = contact_or_404(form.buyer.data)  # one of the choices: a contact of this company
        service.add_purchase(contact, g.workspace, form.service_data(), workspace_today())
    db.session.commit()
    flash(_("Purchase added."), "success")  # a toast after the swap too: the form is empty again
    if wants_partial(SECTION):
        return _section(company, changed=True)
    return _back(company)


@bp.get("/buyers")
@require("contacts.write")
def buyers(company_id: int):
    """The buyer picker's listbox (templates/_macros/picker.html): live contacts of the company that
    the member may see and that match ``q``."""
    company = company_or_404(company_id)
    q = request.args.get("q", "").strip()[:100]
    options = customer_search.search("contact", q, g.membership, company_id=company.id)
    return render_template("deals/_picker_options.html", options=options, q=q, kind="contact", field_id="buyer")


@bp.get("/<int:purchase_id>/edit")
@require("contacts.write")
def edit(company_id: int, purchase_id: int):
    company = company_or_404(company_id)
    purchase = purchase_or_404(company, purchase_id)
    form = PurchaseForm.to_edit(purchase)
    return render_template("purchases/company_edit.html", company=company, purchase=purchase, form=form)


@bp.post("/<int:purchase_id>")
@require("contacts.write")
def update(company_id: int, purchase_id: int):
    company = company_or_404(company_id)
    purchase = purchase_or_404(company, purchase_id)
    form = PurchaseForm()
    if not form.validate_on_submit():
        return render_template("purchases/company_edit.html", company=company, purchase=purchase, form=form), 422
    service.update_purchase(None, g.workspace, purchase, form.service_data(), workspace_today())
    db.session.commit()
    flash(_("Purchase saved."), "success")
    return _back(company)


@bp.post("/<int:purchase_id>/delete")
@require("contacts.write")
def delete(company_id: int, purchase_id: int):
    company = company_or_404(company_id)
    purchase = purchase_or_404(company, purchase_id)
    service.delete_purchase(None, g.workspace, purchase, workspace_today())
    db.session.commit()
    flash(_("Purchase deleted."), "success")  # a toast after an htmx swap
    if wants_partial(SECTION):
        return _section(company, changed=True)
    return _back(company)
