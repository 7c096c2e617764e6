"""Adding and deleting a contact's purchases; the page's summary (tier, level, figures) follows."""

from flask import Blueprint, flash, g, render_template, request, url_for
from flask_babel import gettext as _

from crm.contacts import timeline
from crm.contacts.forms import LEVEL_LABELS, LIFECYCLE_LABELS
from crm.contacts.pages import back_to, composer_page, contact_or_404, errors_text, item_of_or_404
from crm.contacts.timeline import PURCHASE, Entry, day_start
from crm.extensions import db
from crm.htmx import wants_partial
from crm.i18n import workspace_today
from crm.permissions import require
from crm.purchases import service
from crm.purchases.forms import PurchaseForm
from crm.purchases.models import Purchase

bp = Blueprint("purchases", __name__, url_prefix="/contacts/<int:contact_id>/purchases")


@bp.post("/")
@require("contacts.write")
def create(contact_id: int):
    contact = contact_or_404(contact_id)
    form = PurchaseForm()
    partial = wants_partial("purchase-composer")
    if not form.validate_on_submit():
        if partial:
            return render_template("purchases/_composer.html", contact=contact, form=form), 422
        message = _("The purchase was not saved: %(errors)s", errors=errors_text(form))
        composer = render_template("purchases/_composer.html", contact=contact, form=form)
        return composer_page(_("Add a purchase"), message, composer, contact.name,
                             url_for("ws.contacts.show", contact_id=contact.id))  # fmt: skip
    before = classes_of(contact)
    service.add_purchase(contact, g.workspace, form.service_data(), workspace_today())
    db.session.commit()
    # A toast after the swap too (the form is empty again), saying the class it moved the contact to.
    flash(with_new_class(_("Purchase added."), contact, before), "success")
    if partial:
        # The timeline's first page again: the purchase goes where its day puts it (below today's
        # activities, or far down when back-dated), not simply on top.
        entries, more = timeline.page(contact.id, None, member=g.membership)
        fresh = PurchaseForm(formdata=None)
        return render_template("purchases/_composer.html", contact=contact, form=fresh, created=True,
                               timeline_entries=entries, timeline_more=more)  # fmt: skip
    return back_to(contact)


@bp.get("/<int:purchase_id>/edit")
@require("contacts.write")
def edit(contact_id: int, purchase_id: int):
    contact = contact_or_404(contact_id)
    purchase = item_of_or_404(Purchase, contact, purchase_id)
    partial = wants_partial(f"entry-purchase-{purchase.id}")
    if request.args.get("cancel"):  # the entry back, unchanged
        entry = Entry(day_start(purchase.purchased_on, g.workspace.timezone), PURCHASE, purchase)
        return render_template("contacts/_entry.html", contact=contact, entry=entry) if partial else back_to(contact)
    form = PurchaseForm.to_edit(purchase, prefix=f"purchase-{purchase.id}")
    template = "purchases/_edit.html" if partial else "purchases/edit.html"
    return render_template(template, contact=contact, purchase=purchase, form=form)


@bp.post("/<int:purchase_id>")
@require("contacts.write")
def update(contact_id: int, purchase_id: int):
    contact = contact_or_404(contact_id)
    purchase = item_of_or_404(Purchase, contact, purchase_id)
    form = PurchaseForm(prefix=f"purchase-{purchase.id}")
    partial = wants_partial(f"entry-purchase-{purchase.id}")
    if not form.validate_on_submit():
        template = "purchases/_edit.html" if partial else "purchases/edit.html"
        return render_template(template, contact=contact, purchase=purchase, form=form), 422
    before = classes_of(contact)
    service.update_purchase(contact, g.workspace, purchase, form.service_data(), workspace_today())
    db.session.commit()
    flash(with_new_class(_("Purchase saved."), contact, before), "success")  # a toast after an htmx swap
    if partial:
        entry = Entry(day_start(purchase.purchased_on, g.workspace.timezone), PURCHASE, purchase)
        return render_template("purchases/_updated.html", contact=contact, entry=entry)
    return back_to(contact)


@bp.post("/<int:purchase_id>/delete")
@require("contacts.write")
def delete(contact_id: int, purchase_id: int):
    contact = contact_or_404(contact_id)
    purchase = item_of_or_404(Purchase, contact, purchase_id)
    before = classes_of(contact)
    service.delete_purchase(contact, g.workspace, purchase, workspace_today())
    db.session.commit()
    flash(with_new_class(_("Purchase deleted."), contact, before), "success")  # a toast after an htmx swap
    if wants_partial(f"entry-purchase-{purchase_id}"):
        return render_template("contacts/_summary.html", contact=contact, oob=True)
    return back_to(contact)


def classes_of(contact) -> tuple:
    return contact.tier, contact.level, contact.lifecycle


def with_new_class(done: str, contact, before: tuple) -> str:
    """``done`` and, when the purchase moved the contact to another tier, level or lifecycle, the
    classes it has now: the summary that shows them is swapped silently, the toast is read out
    (WCAG 4.1.3)."""
    if classes_of(contact) == before:
        return done
    classes = [_("Tier %(tier)s", tier=contact.tier)] if contact.tier else []
    classes += [str(LEVEL_LABELS.get(contact.level, contact.level)),
                str(LIFECYCLE_LABELS.get(contact.lifecycle, contact.lifecycle))]  # fmt: skip
    return _("%(done)s %(name)s is now %(classes)s.", done=done, name=contact.name, classes=" · ".join(classes))
