"""What imports did to one contact or company, for its timeline and its History panel: "Created by
import of customers.csv" and "Changed by import of customers.csv", with the values it set, by the
member who ran it.

Design: nothing more is written while importing. A contact an import updated already has its row in
``import_changes`` (what it had before and what the import set, kept for undo), and a contact or
company an import created carries the import's id (``import_id``); the timeline and the History
panel read those, through ``ix_import_changes_workspace_id_contact_id`` (workspace_id first, as every
index of a scoped table) and the record's own row. The alternative, an audit entry per created or
updated row written per batch of 1,000 in one multi-row INSERT in the batch's transaction, was timed
with a prototype on SQLite (20,000 rows into a fresh database, then the same rows again updating them;
CPU seconds of the job's process, medians of 3 runs, bench/README.md): creating cost 3.77 s before,
3.80 s with this, 4.10 s with the entries (+9%: the audit log's four indexes); updating 30.3, 30.6 and
29.7 s (within the noise: an update's own per-row work is ten times a create's). This way also reads
a record's import history in one query a page, shared by the timeline and the History panel.
An import's time on the timeline is when it finished (its progress time while it runs): the rows of one
batch are written together and no row keeps its own time.

The import's undo is rare and already changes each contact by itself, so it does write audit entries
(crm/imports/undo.py): "contact.import_undone" with what it put back, and "contact.deleted" /
"company.deleted" for what it moved to the trash.

Values show as the audit log shows them (crm/audit/change_text.py): a contact's sensitive details as
"changed" to a member without ``contacts.sensitive``, sensitive custom fields masked for everyone, by
their labels. Changes kept before an import kept what it set (migration 0037) show their fields as
"changed" only.
"""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import g, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from crm.auth.models import User
from crm.contacts.models import Company, Contact
from crm.custom_fields.service import FieldDef, definitions, display
from crm.extensions import db
from crm.html_text import escape
from crm.imports.models import Import, ImportChange
from crm.permissions import own_records_only

CREATED, CHANGED = "created", "changed"
RECORDS = {"contact": Contact, "company": Company}


@dataclass
class ImportEntry:
    """An import's creation or change of one record, read like an audit entry (``created_at``,
    ``actor_id``, ``record_type``, ``changes`` as {field: [before, after]}), so that
    crm/audit/change_text.py names and masks its values as it does the audit log's."""

    kind: str  # CREATED or CHANGED
    id: int  # the import change's id (CHANGED) or the import's (CREATED)
    created_at: datetime
    import_id: int
    filename: str
    actor_id: int | None  # the user who ran it: named as an audit entry's actor is (change_text.actor_name)
    actor_label: str  # their email address, where they are gone or nameless
    record_type: str
    record_id: int
    changes: dict
    values_unknown: bool = False  # a change kept before the import kept what it set: fields named only
    action: str = "import"


def changed_at():
    """When an import's changes happened: when it finished, or its progress time while it runs."""
    return sa.func.coalesce(Import.finished_at, Import.updated_at)


def _columns(id_column, at, record_id, before, after) -> list:
    return [
        id_column.label("id"),
        at.label("at"),
        record_id.label("record_id"),
        Import.id.label("import_id"),
        Import.filename,
        Import.user_id,
        User.email,
        before.label("before"),
        after.label("after"),
    ]


def changes_of(contact_id: int) -> sa.Select:
    """The contact's import changes, newest first once ordered (columns: id, at, record_id,
    import_id, filename, user_id, email, before, after)."""
    return (
        sa.select(
            *_columns(ImportChange.id, changed_at(), ImportChange.contact_id, ImportChange.before, ImportChange.after)
        )
        .join(Import, sa.and_(Import.workspace_id == ImportChange.workspace_id, Import.id == ImportChange.import_id))
        .outerjoin(User, User.id == Import.user_id)
        .where(ImportChange.contact_id == contact_id)
    )


def creation_of(record_type: str, record_id: int) -> sa.Select:
    """The record's creation by an import, if an import created it (the same columns)."""
    model = RECORDS[record_type]
    nothing = sa.cast(sa.null(), sa.JSON)
    return (
        sa.select(*_columns(Import.id, model.created_at, model.id, nothing, nothing))
        .join(Import, sa.and_(Import.workspace_id == model.workspace_id, Import.id == model.import_id))
        .outerjoin(User, User.id == Import.user_id)
        .where(model.id == record_id)
    )


def entries(rows, record_type: str) -> list[ImportEntry]:
    """``rows`` of the statements above (with their ``kind``) as entries."""
    custom = {field.key: field for field in definitions(g.workspace, "contact")} if record_type == "contact" else {}
    made = []
    for row in rows:
        kind = row.kind
        changes, unknown = {}, False
        if kind == CHANGED and row.after is None:  # the fields are known, not the values it set
            unknown, changes = True, {name: [None, None] for name in row.before or {} if name != "custom"}
        elif kind == CHANGED:
            changes = logged(row.before or {}, row.after, custom)
        made.append(ImportEntry(kind, row.id, row.at, row.import_id, row.filename, row.user_id, row.email or "",
                                record_type, row.record_id, changes, unknown))  # fmt: skip
    return made


def logged(before: dict, after: dict, custom: dict[str, FieldDef], tags_added: bool = True) -> dict:
    """An import change's ``before`` and ``after`` (crm/imports/models.py) as the audit log keeps a
    change: {field: [before, after]}, tags as the whole list (an import's ``after`` keeps only those
    it added; ``tags_added=False``: both are whole lists), custom values one per field under its
    label, sensitive ones masked."""
    changes = {}
    for name in [*before, *(key for key in after if key not in before)]:
        was, now = before.get(name), after.get(name)
        if name == "custom":
            changes.update(custom_changes(was or {}, now or {}, custom))
        elif name == "tags" and tags_added:
            was = list(was or [])
            changes["tags"] = [was, was + [tag for tag in now or [] if tag not in was]]
        elif was != now:
            changes[name] = [_none_if_empty(was), _none_if_empty(now)]
    return changes


def _none_if_empty(value):
    """An empty list or text as no value: no empty "before" for a first address, "—" after the last."""
    return None if value == [] or value == "" else value


def custom_changes(before: dict, after: dict, custom: dict[str, FieldDef]) -> dict:
    """Custom values that differ, by label, as crm/custom_fields/service.py logs them (a field
    deleted since is left out: its values went with it)."""
    changes = {}
    for key in [*before, *(key for key in after if key not in before)]:
        field = custom.get(key)
        if field is None or before.get(key) == after.get(key):
            continue
        changes[field.label] = [_custom_text(field, before.get(key)), _custom_text(field, after.get(key))]
    return changes


def _custom_text(field: FieldDef, stored):
    return None if stored is None else display(field, stored)  # a sensitive value as the mask


def latest(record_type: str, record_id: int, limit: int, after=None) -> list[ImportEntry]:
    """The newest import entries of a contact or a company, in one query: newest first, a creation
    before a change at the same time (the timeline's order). ``after(kind, time, id)``: a condition
    for the rows of that kind after a timeline cursor. Without one, read once per request for the
    timeline's first page and the History panel both."""
    kept = g.setdefault("import_entries", {})
    known = kept.get((record_type, record_id)) if after is None else None
    if known is not None and (known[0] >= limit or len(known[1]) < known[0]):
        return known[1][:limit]
    creation = creation_of(record_type, record_id).add_columns(sa.literal(CREATED).label("kind"))
    if after is not None:
        model = RECORDS[record_type]
        creation = creation.where(after(CREATED, model.created_at, Import.id))
    if record_type != "contact":  # companies are created by imports, never changed
        statement = creation
    else:
        changes = changes_of(record_id).add_columns(sa.literal(CHANGED).label("kind"))
        if after is not None:
            changes = changes.where(after(CHANGED, changed_at(), ImportChange.id))
        statement = sa.union_all(changes, creation)
    both = statement.subquery()
    # "created" sorts after "changed": descending, a creation comes first at equal times
    ordered = sa.select(both).order_by(both.c.at.desc(), both.c.kind.desc(), both.c.id.desc()).limit(limit)
    made = entries(db.session.execute(ordered), record_type)
    if after is None:
        kept[(record_type, record_id)] = (limit, made)
    return made


def with_imports(history: list, record_type: str, record_id: int, limit: int = 20) -> list:
    """A record's History panel (crm/audit/queries.history_of) with its import entries, newest first."""
    from crm.audit.change_text import prepare  # here: change_text reads crm.contacts.timeline, which reads this

    mine = latest(record_type, record_id, limit)
    prepare(mine)  # the companies their changes name
    merged = sorted([*history, *mine], key=lambda entry: entry.created_at, reverse=True)
    return merged[:limit]


def may_open(entry: ImportEntry) -> bool:
    """Whether the member may open the import's page (crm/imports/routes.import_or_404)."""
    member = g.membership
    return member.can("contacts.import") and (not own_records_only(member) or entry.actor_id == current_user.id)


def headline(entry: ImportEntry) -> Markup:
    """ "Changed by import of customers.csv", the file's name a link to the import where the member
    may open it."""
    text = _("Created by import of %(file)s") if entry.kind == CREATED else _("Changed by import of %(file)s")
    name = escape(entry.filename)
    if may_open(entry):
        name = f'<a href="{url_for("ws.imports.show", import_id=entry.import_id)}">{name}</a>'
    return Markup(escape(text) % {"file": name})  # noqa: S704  (the text and the name are escaped)
