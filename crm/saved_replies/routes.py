"""Settings → Saved replies (``tickets.write``: the agents who answer keep their own answers)."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from crm.extensions import db
from crm.permissions import require
from crm.saved_replies import service
from crm.saved_replies.forms import SavedReplyForm
from crm.saved_replies.models import SavedReply

bp = Blueprint("saved_replies", __name__, url_prefix="/settings/saved-replies")


def _reply_or_404(reply_id: int) -> SavedReply:
    return db.session.get(SavedReply, reply_id) or abort(404)


def _index(form: SavedReplyForm, status: int = 200):
    context = {"form": form, "replies": service.saved_replies(), "placeholders": service.PLACEHOLDERS}
    return render_template("saved_replies/index.html", **context), status


def _save(form: SavedReplyForm, action) -> bool:
    """Runs ``action`` with the form's title and body; False (errors on the form) when refused."""
    if not form.validate_on_submit():
        return False
    try:
        action(form.title.data, form.body.data)
    except service.SavedReplyError as error:
        form[error.field].errors.append(str(error))
        db.session.rollback()
        return False
    db.session.commit()
    return True


@bp.get("/")
@require("tickets.write")
def index():
    return _index(SavedReplyForm(formdata=None))


@bp.post("/")
@require("tickets.write")
def create():
    form = SavedReplyForm()
    if not _save(form, service.create):
        return _index(form, 422)
    flash(_("Saved reply %(title)s added.", title=form.title.data.strip()), "success")
    return redirect(url_for(".index"), 303)


@bp.get("/<int:reply_id>")
@require("tickets.write")
def edit(reply_id: int):
    reply = _reply_or_404(reply_id)
    form = SavedReplyForm(formdata=None, obj=reply)
    return render_template("saved_replies/edit.html", reply=reply, form=form, placeholders=service.PLACEHOLDERS)


@bp.post("/<int:reply_id>")
@require("tickets.write")
def update(reply_id: int):
    reply = _reply_or_404(reply_id)
    form = SavedReplyForm()
    if not _save(form, lambda title, body: service.update(reply, title, body)):
        context = {"reply": reply, "form": form, "placeholders": service.PLACEHOLDERS}
        return render_template("saved_replies/edit.html", **context), 422
    flash(_("Saved reply %(title)s saved.", title=reply.title), "success")
    return redirect(url_for(".index"), 303)


@bp.post("/<int:reply_id>/delete")
@require("tickets.write")
def delete(reply_id: int):
    reply = _reply_or_404(reply_id)
    title = reply.title
    service.delete(reply)
    db.session.commit()
    flash(_("Saved reply %(title)s deleted.", title=title), "success")
    return redirect(url_for(".index"), 303)
