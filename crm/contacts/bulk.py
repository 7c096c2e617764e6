"""Bulk actions on a selection of contacts or companies, or on every one a list state selects.
Contacts: assign an owner, add or remove a tag, set the level by hand or hand it back to the rules,
delete; companies: assign an owner, delete. Both lists export their selection. Each changed record
gets its own audit entry (as a single edit would); work goes a batch at a time. The caller commits."""

import sqlalchemy as sa
from flask import g, make_response, render_template, request
from flask_babel import format_decimal, ngettext

from crm.contacts import batch, service
from crm.contacts.models import LEVELS, Company, Contact
from crm.contacts.tags import TagError, read_tags
from crm.extensions import db
from crm.htmx import trigger
from crm.i18n import lazy_gettext as _l
from crm.i18n import workspace_today
from crm.security import record_id

ACTIONS = {
    "owner": (_l("Assign owner"), "contacts.write"),
    "add_tag": (_l("Add tag"), "contacts.write"),
    "remove_tag": (_l("Remove tag"), "contacts.write"),
    "level": (_l("Set level"), "contacts.write"),
    "delete": (_l("Move to trash"), "contacts.delete"),
    "export": (_l("Export CSV"), "contacts.export"),  # answered with the download, see routes
    "export_xlsx": (_l("Export XLSX"), "contacts.export"),
}
COMPANY_ACTIONS = {
    "owner": (_l("Assign owner"), "contacts.write"),
    "delete": (_l("Move to trash"), "contacts.delete"),
    "export": (_l("Export CSV"), "contacts.export"),
    "export_xlsx": (_l("Export XLSX"), "contacts.export"),
}
EXPORTS = ("export", "export_xlsx")  # answered with the file itself (a plain form post, see app.js)
# The form field holding each action's value.
VALUE_FIELDS = {"owner": "bulk_owner", "add_tag": "bulk_tag", "remove_tag": "bulk_tag", "level": "bulk_level"}
AUTOMATIC = "auto"  # the bulk bar's "Automatic": hand the level back to the tier rules
MAX_SELECTED = 1000
COUNT_CAP = 10_000  # "all matching" is counted up to here before the bar asks; beyond it, "more than"
# The most one request changes (about 5 s on PostgreSQL with the bench data, at 0.22-0.36 ms a
# contact; gunicorn's timeout is 30 s; bench/bulk.py): a larger "all matching" is left to a
# background job (crm/contacts/bulk_jobs.py).
MAX_AT_ONCE = 20_000
# "Automatic" classifies each contact again (one figures query each, about 5 ms): fewer at once.
AUTOMATIC_AT_ONCE = 1_000
MAX_TAGS_AT_ONCE = 10  # tags one "Add tag" or "Remove tag" takes (as many as the list's tag filter)


# A refused bulk request from htmx: nothing is swapped, so the ticked rows and the chosen action
# stay for the person to mend; the toast (its flash) says why.
REFUSED = ("", 422, {"HX-Reswap": "none"})
NOBODY = "none"  # the owner choice that leaves records without an owner ("" is no choice made)


class BulkError(ValueError):
    """A bulk request that cannot run, with a message for the person who asked; ``field``: the id
    of the bar's field to mend, if one is wrong (the action, the tag, the owner, the level)."""

    def __init__(self, message, field: str | None = None):
        super().__init__(message)
        self.field = field


def refused(error: BulkError):
    """A refused bulk request from htmx (REFUSED), which also names the wrong field: app.js marks it
    (aria-invalid), writes the reason under it and moves the focus there (WCAG 3.3.1)."""
    body, status, headers = REFUSED
    response = make_response(body, status, headers)
    if error.field:
        trigger(response, "bulkRefused", {"field": error.field, "message": str(error)})
    return response


class OwnerNotChosen(BulkError):
    """ "Assign owner" with no owner chosen. Without JavaScript the bar's owner list never loads (it
    is fetched when seen), so the route then asks for the owner on a page of its own."""


def apply(action: str, statement: sa.Select, value, progress: batch.Progress | None = None) -> int:
    """Runs ``action`` on every contact of ``statement``; returns how many changed. ``progress``: told
    after each batch (a background job commits it there, so that its change shows as it goes). The
    tag actions' ``value``: the tag names (a job queued before several were taken holds one name)."""
    tags = None
    changed = 0
    for ids in batch.id_batches(Contact, statement, progress):
        if action in ("add_tag", "remove_tag") and tags is None:  # made only when there is a contact to tag
            names = [value] if isinstance(value, str) else value
            tags = batch.tags_named(names, create=action == "add_tag")
            if not tags:  # removing tags nobody has
                return 0
        if action == "owner":
            changed += batch.set_owner(Contact, ids, value)
        elif action == "delete":
            changed += batch.trash(Contact, ids)
        elif action == "add_tag":
            changed += batch.add_tags(ids, tags)
        elif action == "remove_tag":
            changed += batch.remove_tags(ids, tags)
        elif value:
            changed += batch.pin_level(ids, value)
        else:
            changed += _back_to_the_rules(ids)
    return changed


def _back_to_the_rules(ids: list[int]) -> int:
    """Hands pinned levels back to the tier rules, which classify each contact at once."""
    pinned = db.session.scalars(sa.select(Contact).where(Contact.id.in_(ids), Contact.level_pinned.is_(True))).all()
    today = workspace_today()
    for contact in pinned:
        service.set_level(contact, "", g.workspace, today)
    return len(pinned)


def apply_to_companies(action: str, statement: sa.Select, value, progress: batch.Progress | None = None) -> int:
    """Runs ``action`` ("owner" or "delete") on every company of ``statement``; returns how many changed."""
    changed = 0
    for ids in batch.id_batches(Company, statement, progress):
        changed += batch.set_owner(Company, ids, value) if action == "owner" else batch.trash(Company, ids)
    return changed


def capped_count(statement: sa.Select, model, cap: int | None = None) -> int:
    """How many records ``statement`` selects, counted up to ``cap`` (``COUNT_CAP``) + 1, reading no more."""
    matching = statement.with_only_columns(model.id).limit((cap or COUNT_CAP) + 1).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(matching))


def too_large(form, statement: sa.Select, model) -> bool:
    """Whether "all matching" holds more records than one request changes (a job does it then)."""
    most = AUTOMATIC_AT_ONCE if (form.get("action"), form.get("bulk_level")) == ("level", AUTOMATIC) else MAX_AT_ONCE
    return form.get("scope") == "all" and capped_count(statement, model, most) > most


def ticked(form) -> list[int]:
    return [number for number in map(record_id, form.getlist("ids")) if number is not None]


def selection(statement: sa.Select, model, form, none_ticked: str, too_many: str) -> sa.Select:
    """``statement`` narrowed to the ticked rows, or whole for "all matching"; BulkError when the
    ticked rows are none or too many."""
    ids = ticked_ids(form, none_ticked, too_many)
    return statement if ids is None else statement.where(model.id.in_(ids))


def ticked_ids(form, none_ticked: str, too_many: str) -> list[int] | None:
    """The ticked ids the bar acts on (None: all the list selects), or BulkError."""
    if form.get("scope") == "all":
        return None
    ids = ticked(form)
    if not ids:
        raise BulkError(none_ticked)
    if len(ids) > MAX_SELECTED:
        raise BulkError(too_many)
    return ids


def done_message(list_name: str, action: str, changed: int) -> str:
    """What a bulk change did, in a request or a background job. ``list_name`` as a job's."""
    contacts, count = list_name.endswith("contacts"), format_decimal(changed)  # "12,000": a job's may be large
    if list_name.startswith("trash:"):
        if contacts:
            return ngettext("%(count)s contact restored.", "%(count)s contacts restored.", changed, count=count)
        return ngettext("%(count)s company restored.", "%(count)s companies restored.", changed, count=count)
    if action == "delete":
        if contacts:
            return ngettext("%(count)s contact moved to the trash.", "%(count)s contacts moved to the trash.", changed,
                            count=count)  # fmt: skip
        return ngettext("%(count)s company moved to the trash.", "%(count)s companies moved to the trash.", changed,
                        count=count)  # fmt: skip
    if contacts:
        return ngettext("%(count)s contact changed.", "%(count)s contacts changed.", changed, count=count)
    return ngettext("%(count)s company changed.", "%(count)s companies changed.", changed, count=count)


def choose_owner_page(owners: list[tuple[int, str]], noun: str, back_url: str) -> str:
    """The no-JavaScript bar's second step: the same request again, with the owner chosen here."""
    carried = [
        (name, value) for name, value in request.form.items(multi=True) if name not in ("csrf_token", "bulk_owner")
    ]
    return render_template("contacts/bulk_owner.html", carried=carried, owners=owners, noun=noun,
                           ticked=None if request.form.get("scope") == "all" else len(ticked(request.form)),
                           action_url=request.path, back_url=back_url)  # fmt: skip


def check_value(action: str, raw: str, owners: dict[int, str]):
    """The action's value from the form, or BulkError (naming the action's field)."""
    try:
        return _value_of(action, raw, owners)
    except BulkError as error:
        error.field = error.field or "bulk-" + VALUE_FIELDS[action].removeprefix("bulk_")
        raise


def _value_of(action: str, raw: str, owners: dict[int, str]):
    if action in ("add_tag", "remove_tag"):
        try:
            names = read_tags(raw)
        except TagError as error:
            raise BulkError(str(error)) from error
        if not names:
            raise BulkError(_l("Enter a tag."))
        if len(names) > MAX_TAGS_AT_ONCE:
            raise BulkError(_l("Enter at most %(count)d tags at once.", count=MAX_TAGS_AT_ONCE))
        return names
    if action == "owner":
        if raw == NOBODY:
            return None
        if not raw:
            raise OwnerNotChosen(_l("Choose the new owner, or Nobody."))
        if record_id(raw) not in owners:
            raise BulkError(_l("Choose one of the members listed."))
        return int(raw)
    if action == "level":
        if raw not in (*LEVELS, AUTOMATIC):
            raise BulkError(_l("Choose a level."))
        return "" if raw == AUTOMATIC else raw  # "": back to the rules (service.set_level)
    return None
