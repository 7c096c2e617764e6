"""Two people editing one record: a save that would undo what someone else saved after the form was
opened is refused, the fields named, instead of silently overwriting it: a 422 like any form sent back
with errors (htmx swaps it; the app's 409s are refusals that only toast). The form carries when it was
opened (``opened_at``); the audit log says which fields were changed since, and by whom. Saves that
touch other fields go through."""

from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from crm.audit.models import AuditEntry
from crm.db import utcnow
from crm.extensions import db

STATUS = 422


def opened_now(form) -> None:
    form.opened_at.data = utcnow().isoformat()


def changed_since(record_type: str, record_id: int, opened_at: str | None) -> dict[str, str]:
    """Each field of the record that a save after ``opened_at`` changed, with who saved it last.
    Read before this save records its own changes."""
    try:
        since = datetime.fromisoformat(opened_at or "")
    except ValueError:
        return {}
    if since.tzinfo is None:
        return {}
    entries = db.session.execute(
        sa.select(AuditEntry.changes, AuditEntry.actor_label)
        .where(AuditEntry.record_type == record_type, AuditEntry.record_id == record_id, AuditEntry.created_at > since)
        .order_by(AuditEntry.id)
    )
    changed: dict[str, str] = {}
    for changes, who in entries:
        if isinstance(changes, dict):
            changed.update(dict.fromkeys(changes, who or _("someone")))
    return changed


def refused(form, others: dict[str, str], changes: dict) -> bool:
    """True, and the form says why, when this save's ``changes`` would undo fields of ``others``.
    The form is then as if opened now: saving it again keeps the person's entries."""
    clashes = {field: who for field, who in others.items() if field in changes}
    if not clashes:
        return False
    for field, who in clashes.items():
        if field in form:
            form[field].errors = [*form[field].errors, _("Changed by %(who)s since you opened this form.", who=who)]
    names = ", ".join(str(form[field].label.text) if field in form else field for field in clashes)
    form.form_errors.append(
        _("Someone saved this record after you opened the form: %(fields)s. Nothing of yours was saved, so as not "
          "to undo their change. Check the fields marked, then save again to keep your entries.", fields=names)
    )  # fmt: skip
    opened_now(form)
    return True
