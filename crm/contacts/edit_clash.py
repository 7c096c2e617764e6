"""Two people editing one record: a save that would undo what someone else saved after the form was
opened is refused, the fields named, instead of silently overwriting it: a 422 like any form sent back
with errors (htmx swaps it; the app's 409s are refusals that only toast).

The form carries a fingerprint of each field as it was shown (``seen``: a short hash per field, no
values) and when it was shown (``opened_at``). On saving, the record is drawn into a form again: a
field whose fingerprint changed was changed meanwhile, by whatever did it (a colleague's save, a bulk
change, an import). Refused are the fields this save changes too; the audit log names who changed
them, where it has an entry. Fields changed by nobody else, or not by this save, go through."""

import hashlib
import hmac
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from crm.audit.models import AuditEntry
from crm.auth.models import User
from crm.db import utcnow
from crm.extensions import db

FIELD_CHANGES = ("contact.updated", "contact.reclassified", "contact.merged", "contact.merge_undone",
                 "company.updated")  # fmt: skip
NOT_SHOWN = ("CSRFTokenField", "HiddenField")
STATUS = 422


def _keys(form) -> dict[str, str]:
    """Form field name -> the key the record's changes use for it (a custom field's label)."""
    keys = {field.name: field.name for field in form if field.type not in NOT_SHOWN}
    keys.update((definition.name, definition.label) for definition in getattr(form, "custom_fields", ()))
    return keys


def _fingerprint(form) -> dict[str, str]:
    """Each field's value as drawn from the record, hashed (the two forms compared are both drawn
    from the record, so their values are alike wherever the record is). Keyed with the app's secret:
    a plain hash of a sensitive field (an ID number) could be guessed offline, without the audited
    reveal."""
    key = current_app.secret_key.encode() if isinstance(current_app.secret_key, str) else current_app.secret_key
    return {field: hmac.new(key, str(form[name].data).encode(), hashlib.sha256).hexdigest()[:12]
            for name, field in _keys(form).items()}  # fmt: skip


def remember(form) -> None:
    """Marks a form drawn from the stored record: what each field showed, and when."""
    form.seen.data = json.dumps(_fingerprint(form), separators=(",", ":"))
    form.opened_at.data = utcnow().isoformat()


def changed_meanwhile(form, stored_form, record_type: str, record_id: int) -> dict[str, str | None]:
    """The fields that show otherwise now (``stored_form``: the record drawn again) than when
    ``form`` was opened, each with who changed it last as far as the audit log says (None: an
    import, say). Nothing, for a form sent without its fingerprint. Read before the save records
    its own changes."""
    try:
        seen = json.loads(form.seen.data or "{}")
    except ValueError:
        return {}
    if not isinstance(seen, dict):
        return {}
    now = _fingerprint(stored_form)
    changed = [key for key, mark in seen.items() if key in now and now[key] != mark]
    who = _who(record_type, record_id, form.opened_at.data) if changed else {}
    return {key: who.get(key) for key in changed}


def _who(record_type: str, record_id: int, opened_at: str | None) -> dict[str, str]:
    """Who last changed each field of the record since ``opened_at``, as far as the audit log says."""
    try:
        since = datetime.fromisoformat(opened_at or "")
        since = since.astimezone(UTC) if since.tzinfo is not None else None  # a time at the calendar's edge overflows
    except (ValueError, OverflowError):
        return {}
    if since is None:
        return {}
    entries = db.session.execute(
        sa.select(AuditEntry.changes, sa.func.coalesce(sa.func.nullif(User.name, ""), AuditEntry.actor_label))
        .outerjoin(User, User.id == AuditEntry.actor_id)
        .where(AuditEntry.record_type == record_type, AuditEntry.record_id == record_id,
               AuditEntry.action.in_(FIELD_CHANGES), AuditEntry.created_at > since)
        .order_by(AuditEntry.id)
    )  # fmt: skip
    who: dict[str, str] = {}
    for changes, actor in entries:
        if isinstance(changes, dict) and actor:
            who.update(dict.fromkeys(changes, actor))
    return who


def refused(form, meanwhile: dict[str, str | None], changes: dict, stored_form) -> bool:
    """True, and the form says why, when this save's ``changes`` would undo fields changed
    ``meanwhile``. The form is then as if opened now (``stored_form``'s marks): saving it again
    keeps the person's entries."""
    clashes = sorted(meanwhile.keys() & changes.keys())
    if not clashes:
        return False
    names = {key: name for name, key in _keys(form).items()}
    for key in clashes:
        message = (_("Changed by %(who)s since you opened this form.", who=meanwhile[key]) if meanwhile[key]
                   else _("Changed by someone else since you opened this form."))  # fmt: skip
        if key in names:
            field = form[names[key]]
            field.errors = [*field.errors, message]
    labels = ", ".join(str(form[names[key]].label.text) if key in names else key for key in clashes)
    form.form_errors.append(
        _("Someone saved this record after you opened the form: %(fields)s. Nothing of yours was saved, so as not "
          "to undo their change. Check the fields marked, then save again to keep your entries.", fields=labels)
    )  # fmt: skip
    form.seen.data = stored_form.seen.data
    form.opened_at.data = stored_form.opened_at.data
    return True
