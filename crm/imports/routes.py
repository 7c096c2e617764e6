"""Importing contacts from a spreadsheet: upload, map the columns, dry run, import, fix the bad
rows and import them again, undo. The dry run and the import run as background jobs; the page
polls their progress."""

from itertools import groupby, islice

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from crm.audit import service as audit
from crm.billing import limits
from crm.billing.limits import LimitError
from crm.csv_stream import csv_download, csv_row
from crm.extensions import db
from crm.htmx import wants_partial
from crm.i18n import lazy_gettext as _l
from crm.imports import mappings, runner, storage
from crm.imports.fields import custom_fields_of, from_saved, guess, targets_for
from crm.imports.forms import ENTITY_LABELS, UploadForm, mapping_form
from crm.imports.models import Import, ImportProblem, SavedMapping
from crm.imports.purchases import classify_all_again
from crm.imports.reader import UnreadableFile, format_of, layout_of, rows
from crm.imports.reasons import shown
from crm.imports.undo import undo
from crm.jobs import enqueue
from crm.pagination import keyset, newest_first
from crm.permissions import own_records_only, require
from crm.security import record_id, uploaded_file_name
from crm.tenancy import bind_workspace

bp = Blueprint("imports", __name__, url_prefix="/imports")


@bp.context_processor
def import_labels() -> dict:
    return {"entity_labels": ENTITY_LABELS}


PER_PAGE = 20
PROBLEMS_PER_PAGE = 100
SAMPLE_ROWS = 3


def import_or_404(import_id: int) -> Import:
    job = db.session.get(Import, import_id)
    # A member who sees only their own records sees only the imports they started: another's import
    # shows its rows and problems (other people's customers) and could be undone.
    if job is None or (own_records_only() and job.user_id != current_user.id):
        abort(404)
    if runner.stalled(job):
        runner.give_up(job)
        db.session.commit()
    return job


def _to(job: Import):
    return redirect(url_for(".show", import_id=job.id), 303)


def _index(form: UploadForm, status: int = 200):
    statement = sa.select(Import).where(Import.user_id == current_user.id) if own_records_only() else sa.select(Import)
    page = newest_first(db.session, statement, Import, request.args.get("after"), PER_PAGE)
    return render_template("imports/index.html", form=form, page=page, saved=mappings.saved_mappings()), status


@bp.get("/")
@require("contacts.import")
def index():
    return _index(UploadForm(formdata=None))


def allow_large_upload() -> None:
    """The import upload takes bigger bodies than the rest of the app (MAX_CONTENT_LENGTH). Runs
    as an app-wide before-request hook registered ahead of CSRFProtect, which reads the body."""
    if request.endpoint == "ws.imports.upload" and current_user.is_authenticated:  # nobody else sends 50 MB
        request.max_content_length = current_app.config["IMPORT_MAX_BYTES"]


@bp.post("/")
@require("contacts.import")
def upload():
    form = UploadForm()
    if not form.validate_on_submit():
        return _index(form, 422)
    upload = form.file.data
    filename = uploaded_file_name(upload.filename, 255)
    try:
        file_format = format_of(filename)
        stored_name, path = storage.save(upload, g.workspace.id, file_format)
    except UnreadableFile as error:
        form.file.errors.append(str(error))
        return _index(form, 422)
    try:
        layout = layout_of(path, file_format)
        # A quote never closed among the first rows is told now, not after the upload; so is a file of
        # its header alone, whose dry run would only say that nothing in it can be imported.
        if not (_first_rows(path, layout) if file_format == "csv" else next(rows(path, layout), None)):
            raise UnreadableFile(_l("This file has no rows below its header row: there is nothing to import."))
    except UnreadableFile as error:
        path.unlink(missing_ok=True)
        form.file.errors.append(str(error))
        return _index(form, 422)
    entity = form.entity.data
    sensitive = g.membership.can("contacts.sensitive")
    guessed = guess(layout.headers, custom_fields_of(g.workspace, entity, sensitive), entity, sensitive)
    job = Import(user_id=g.membership.user_id, filename=filename, stored_name=stored_name,
                 file_format=file_format, encoding=layout.encoding, delimiter=layout.delimiter, sheet=layout.sheet,
                 headers=layout.headers,
                 entity=entity, mapping=guessed)  # fmt: skip
    saved = mappings.best_for(job.entity, layout.headers)
    if saved:
        _apply(job, saved)
        flash(_("Your saved choices “%(name)s” were applied. Check them below.", name=saved.name), "success")
    db.session.add(job)
    db.session.commit()
    return _to(job)


def _apply(job: Import, saved: SavedMapping) -> None:
    targets = _targets(job)
    known, several = {target.key for target in targets}, {target.key for target in targets if target.several}
    job.mapping = from_saved(job.headers, saved.columns, job.mapping, known, several)


def _form(job: Import, **kwargs):
    may_update = g.membership.role.record_scope == "all"
    return mapping_form(job, _targets(job), may_update, **kwargs)


def _targets(job: Import):
    sensitive = g.membership.can("contacts.sensitive")
    return targets_for(custom_fields_of(g.workspace, job.entity, sensitive), job.entity, sensitive)


def _first_rows(path, layout) -> list[list[str]]:
    return [cells for _line, cells in islice(rows(path, layout), SAMPLE_ROWS)]


def _samples(job: Import) -> tuple[list[list[str]], str | None]:
    """The first rows of the file, shown beside the mapping, or why they cannot be read."""
    if job.status not in ("uploaded", "checked"):
        return [], None
    try:
        return _first_rows(storage.path_of(job), storage.layout_of(job)), None
    except UnreadableFile as error:
        return [], str(error.message)
    except OSError:
        return [], None


def _problems(job: Import):
    statement = sa.select(ImportProblem).where(ImportProblem.import_id == job.id)
    return keyset(db.session, statement, [ImportProblem.line, ImportProblem.id], request.args.get("after"),
                  PROBLEMS_PER_PAGE, descending=False)  # fmt: skip


def _limit_error(job: Import) -> LimitError | None:
    """The dry run's new contacts against the room the plan leaves: refused before anything is
    written, never half-imported (None: they fit, or nothing is limited)."""
    if job.entity != "contacts" or job.status != "checked":
        return None
    try:
        limits.check_contacts(g.workspace, job.created_count)
    except LimitError as error:
        return error
    return None


def _show(job: Import, form=None, status: int = 200, limit_error: LimitError | None = None):
    form = form or _form(job, formdata=None)
    samples, unreadable = _samples(job)
    context = {"job": job, "form": form, "samples": samples, "unreadable": unreadable, "can_undo": runner.can_undo(job),
               "undo_until": runner.undo_deadline(job), "limit_error": limit_error or _limit_error(job)}  # fmt: skip
    if job.status in ("checked", "done", "failed", "undone"):
        context["problems"] = _problems(job)
    if wants_partial("import-problems"):
        return render_template("imports/_problems.html", **context), status
    if job.status in ("uploaded", "checked"):
        context["saved"] = mappings.saved_mappings(job.entity)
    return render_template("imports/show.html", **context), status


@bp.get("/<int:import_id>")
@require("contacts.import")
def show(import_id: int):
    return _show(import_or_404(import_id))


@bp.get("/<int:import_id>/progress")
@require("contacts.import")
def progress(import_id: int):
    job = import_or_404(import_id)
    if job.running:
        return render_template("imports/_progress.html", job=job, poll=True)
    response = make_response("", 200)
    response.headers["HX-Refresh"] = "true"  # finished: the whole page changes
    return response


@bp.post("/<int:import_id>/check")
@require("contacts.import")
def check(import_id: int):
    job = import_or_404(import_id)
    if job.status not in ("uploaded", "checked"):
        flash(_("This import has already run."), "error")
        return _to(job)
    form = _form(job)
    if not form.validate_on_submit():
        return _show(job, form, 422)
    job.mapping = form.mapping()
    job.mode = form.mode.data if form.mode else "create"
    job.match_by = form.match_by.data if form.match_by else "email"
    if form.save_as.data:
        mappings.save(job.entity, form.save_as.data, job.headers, job.mapping)
    job.status = "checking"
    job.set_failure(None)
    db.session.commit()
    enqueue(runner.check, g.workspace.id, job.id)
    return _to(job)


@bp.post("/<int:import_id>/mapping")
@require("contacts.import")
def apply_mapping(import_id: int):
    """Sets the columns as a saved mapping has them (the ones it does not know stay as they are)."""
    job = import_or_404(import_id)
    saved = db.session.get(SavedMapping, request.form.get("saved", type=record_id) or 0)
    if job.status not in ("uploaded", "checked") or saved is None or saved.entity != job.entity:
        flash(_("Choose one of the saved mappings."), "error")
        return _to(job)
    _apply(job, saved)
    job.status = "uploaded"  # the dry run was of other choices
    db.session.commit()
    flash(_("Your saved choices “%(name)s” were applied. Check them below.", name=saved.name), "success")
    return _to(job)


@bp.post("/mappings/<int:mapping_id>/delete")
@require("contacts.import")
def delete_mapping(mapping_id: int):
    saved = db.session.get(SavedMapping, mapping_id) or abort(404)
    db.session.delete(saved)
    db.session.commit()
    flash(_("Saved mapping “%(name)s” deleted.", name=saved.name), "success")
    return redirect(url_for(".index"), 303)


@bp.post("/<int:import_id>/run")
@require("contacts.import")
def run(import_id: int):
    job = import_or_404(import_id)
    if job.status != "checked":
        flash(_("Check the file before importing it."), "error")
        return _to(job)
    limit_error = _limit_error(job)
    if limit_error is not None:
        return _show(job, status=422, limit_error=limit_error)
    try:
        started = None if _another_import_runs(job) else _start(job)
    except sa.exc.IntegrityError:  # another import started since the look (uq_imports_importing)
        db.session.rollback()
        started = None
    if started is None:
        db.session.commit()  # the dead imports it found stay ended
        flash(_("Another import is running in this workspace. Try again when it has ended."), "error")
        return _show(job, status=422)
    if not started:  # a second click of Import: the first one started it (or the columns changed since)
        started_first = job.status != "uploaded"
        flash(_("This import has already started.") if started_first else _("Check the file before importing it."),
              "error")  # fmt: skip
        return _to(job)
    audit.record("import.started", "import", job.id, {"file": [None, job.filename]})
    db.session.commit()
    enqueue(runner.run, g.workspace.id, job.id)
    return _to(job)


def _another_import_runs(job: Import) -> bool:
    """Whether another import is writing in the workspace (one at a time: two would match the same
    rows against the contacts before either wrote, and both create them). One that has died ends as
    failed, saying so on its page, and gives way."""
    running = False
    for other in db.session.scalars(sa.select(Import).where(Import.status == "importing", Import.id != job.id)):
        if runner.stalled(other):
            runner.give_up(other)
        else:
            running = True
    db.session.flush()
    return running


def _start(job: Import) -> bool:
    """Marks the checked import as importing if it still is, so that two clicks of Import start one
    job (False: another request started it first)."""
    flipped = db.session.execute(
        sa.update(Import).where(Import.id == job.id, Import.status == "checked")
        .values(status="importing", failure=None, failure_message=None)  # an earlier try's refusal (the plan's room)
        .execution_options(synchronize_session=False)
    ).rowcount  # fmt: skip
    db.session.refresh(job)
    return bool(flipped)


@bp.post("/<int:import_id>/undo")
@require("contacts.import")
def undo_import(import_id: int):
    job = import_or_404(import_id)
    if not runner.can_undo(job):
        flash(_("This import can no longer be undone."), "error")
        return _to(job)
    counts = undo(job)
    db.session.commit()
    if job.entity == "purchases":
        classify_all_again(g.workspace.id, current_user.id)  # commits
    flash(_("Import undone: %(what)s", what=_sentences(_undone(job.entity, counts))), "success")
    return _to(job)


def _undone(entity: str, counts: dict) -> list[str]:
    """What an undo did, told for the kind of records the import added."""
    if entity == "purchases":
        return [ngettext("%(num)s purchase deleted.", "%(num)s purchases deleted.", counts["purchases_deleted"])]
    told = []
    if entity == "contacts":
        told += [
            ngettext("%(num)s contact moved to the trash.", "%(num)s contacts moved to the trash.", counts["trashed"]),
            ngettext("%(num)s contact put back as it was.", "%(num)s contacts put back as they were.",
                     counts["restored"]),
        ]  # fmt: skip
        if counts["kept"]:
            told.append(ngettext(
                "%(num)s contact it added was kept: it has purchases, deals, tickets or activities since.",
                "%(num)s contacts it added were kept: they have purchases, deals, tickets or activities since.",
                counts["kept"],
            ))  # fmt: skip
    if entity == "companies" or counts["companies_trashed"]:
        told.append(ngettext("%(num)s company moved to the trash.", "%(num)s companies moved to the trash.",
                             counts["companies_trashed"]))  # fmt: skip
    if counts.get("companies_kept"):
        told.append(ngettext(
            "%(num)s company it added was kept: it has contacts, purchases, deals or activities since.",
            "%(num)s companies it added were kept: they have contacts, purchases, deals or activities since.",
            counts["companies_kept"],
        ))  # fmt: skip
    return told


def _sentences(sentences: list[str]) -> str:
    """Sentences one after the other: a space after a full stop, none after a Chinese one."""
    text = ""
    for sentence in sentences:
        text += sentence if not text or text.endswith("。") else " " + sentence
    return text


@bp.post("/<int:import_id>/delete")
@require("contacts.import")
def delete(import_id: int):
    job = import_or_404(import_id)
    if job.status not in ("uploaded", "checked"):
        flash(_("An import that has run stays in the list; undo it instead."), "error")
        return _to(job)
    storage.remove(job)
    db.session.delete(job)
    db.session.commit()
    flash(_("Import of %(file)s cancelled.", file=job.filename), "success")
    return redirect(url_for(".index"), 303)


@bp.get("/<int:import_id>/invalid-rows.csv")
@require("contacts.import")
def invalid_rows(import_id: int):
    """The invalid rows as they were read, with an Error column: fix them and import this file."""
    job = import_or_404(import_id)
    header = [*job.headers, _("Error")]
    name = job.filename.rsplit(".", 1)[0]
    return csv_download(_invalid_lines(job.id, g.workspace.id, header), f"{name}-invalid-rows.csv")


def _problem_text(problem) -> str:
    """ "Column: reason" in the reader's language (as stored for problems written before 0043)."""
    message = problem.message or {}
    reason, column = shown(message.get("reason"), problem.reason), shown(message.get("column"), problem.column)
    return f"{column}: {reason}" if column else reason


def _invalid_lines(import_id: int, workspace_id: int, header: list[str]):
    bind_workspace(workspace_id)
    yield csv_row(header)
    statement = (
        sa.select(
            ImportProblem.line, ImportProblem.column, ImportProblem.reason, ImportProblem.message, ImportProblem.cells
        )
        .where(ImportProblem.import_id == import_id, ImportProblem.kind == "invalid")
        .order_by(ImportProblem.line, ImportProblem.id)
        .execution_options(yield_per=1000)
    )
    for _line, problems in groupby(db.session.execute(statement), key=lambda problem: problem.line):
        problems = list(problems)
        reasons = "; ".join(_problem_text(p) for p in problems)
        cells = list(problems[0].cells) + [""] * (len(header) - 1 - len(problems[0].cells))
        yield csv_row([*cells[: len(header) - 1], reasons])
