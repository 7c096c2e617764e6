from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm.extensions import db
from crm.htmx import is_htmx, wants_partial
from crm.notes import queries, service
from crm.notes.forms import NoteForm
from crm.notes.models import Note
from crm.permissions import every_member, require

bp = Blueprint("notes", __name__, url_prefix="/notes")


@bp.app_context_processor
def note_helpers() -> dict:
    return {"can_change_note": lambda note: service.can_change(note, g.membership)}


def _note_or_404(note_id: int) -> Note:
    return queries.note_or_none(note_id) or abort(404)


def _edit_form(note: Note, **kwargs) -> NoteForm:
    # Prefixed so an inline editor never repeats the composer's field id on the same page.
    return NoteForm(prefix=f"note-{note.id}", **kwargs)


def _home(status: int = 200, form: NoteForm | None = None):
    page = queries.notes_page(None)
    return render_template("workspaces/home.html", page=page, form=form or NoteForm()), status


@bp.get("/")
@every_member
def index():
    page = queries.notes_page(request.args.get("after"))
    if wants_partial("notes-more"):
        return render_template("notes/_page.html", page=page)
    return render_template("workspaces/home.html", page=page, form=NoteForm())


@bp.post("/")
@require("notes.write")
def create():
    form = NoteForm()
    if not form.validate_on_submit():
        if wants_partial("note-composer"):
            return render_template("notes/_composer.html", form=form), 422
        return _home(422, form)
    note = service.create_note(g.membership, form.body.data)
    db.session.commit()
    if wants_partial("note-composer"):
        return render_template("notes/_composer.html", form=NoteForm(formdata=None), created=note)
    flash(_("Note added."), "success")
    return redirect(url_for("ws.home"), 303)


@bp.get("/<int:note_id>")
@every_member
def show(note_id: int):
    note = _note_or_404(note_id)
    if is_htmx():
        return render_template("notes/_note.html", note=note)
    return redirect(url_for("ws.home"))


@bp.get("/<int:note_id>/edit")
@require("notes.write")
def edit(note_id: int):
    note = _note_or_404(note_id)
    if not service.can_change(note, g.membership):
        abort(403)
    form = _edit_form(note, obj=note)
    if wants_partial(f"note-{note.id}"):
        return render_template("notes/_edit.html", note=note, form=form)
    return render_template("notes/edit.html", note=note, form=form)


@bp.post("/<int:note_id>")
@require("notes.write")
def update(note_id: int):
    note = _note_or_404(note_id)
    form = _edit_form(note)
    partial = wants_partial(f"note-{note.id}")
    if not form.validate_on_submit():
        template = "notes/_edit.html" if partial else "notes/edit.html"
        return render_template(template, note=note, form=form), 422
    try:
        service.update_note(note, g.membership, form.body.data)
    except service.NotAllowed:
        abort(403)
    db.session.commit()
    if partial:
        return render_template("notes/_note.html", note=note)
    flash(_("Note saved."), "success")
    return redirect(url_for("ws.home"), 303)


@bp.post("/<int:note_id>/delete")
@require("notes.write")
def delete(note_id: int):
    note = _note_or_404(note_id)
    try:
        service.delete_note(note, g.membership)
    except service.NotAllowed:
        abort(403)
    db.session.commit()
    flash(_("Note deleted."), "success")
    if wants_partial(f"note-{note_id}"):
        return ""
    return redirect(url_for("ws.home"), 303)
