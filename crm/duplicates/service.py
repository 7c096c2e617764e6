"""Keeping the candidate pairs current (a full scan, or one contact after it is saved), dismissing
a pair, and merging two contacts into one, with its undo. The caller commits."""

from datetime import date, datetime, timedelta
from itertools import chain

import sqlalchemy as sa

from crm.activities.models import Activity
from crm.audit import service as audit
from crm.billing import limits
from crm.contacts import classification
from crm.contacts import service as contacts
from crm.contacts.models import Contact
from crm.custom_fields import service as custom_fields
from crm.db import utcnow
from crm.deals.models import Deal
from crm.duplicates import finder
from crm.duplicates.models import ContactMerge, DuplicatePair
from crm.extensions import db
from crm.purchases.models import Purchase
from crm.tenancy import ALL_WORKSPACES, bound_workspace_id, workspace_scope
from crm.tickets.models import Ticket
from crm.workspaces.models import Workspace

UNDO_DAYS = 7
# Plain fields a merge lets the user pick between (emails, phones and tags are combined; the
# classes and figures are recomputed from the purchases).
FIELDS = (
    "name", "company_id", "title", "gender", "birthday", "source", "owner_id", "about",
    "street", "city", "region", "postal_code", "country", "external_id",
)  # fmt: skip
# Rows that are the person's and move to the survivor (undo moves back those still there). What
# else names a contact stays with the merged one, which undo brings back as it was: its email and
# phone identities and its tags (the survivor gets the union of both), its data-quality findings
# and import undo rows (about its own values as they were then); its duplicate pairs go. A ticket
# left on it would vanish from the survivor's page and be anonymised when the trash is purged.
MOVED = {"activities": Activity, "purchases": Purchase, "deals": Deal, "tickets": Ticket}


class MergeRefused(ValueError):
    """Two contacts that cannot be merged (the same one, or one already in the trash)."""


class TooLate(ValueError):
    """The merge is older than the undo window, or already undone."""


# Scanning -----------------------------------------------------------------------------------


def scan() -> int:
    """Rebuilds the bound workspace's candidate pairs; returns how many there are. A pair dismissed
    before stays dismissed."""
    found = finder.best(chain(finder.shared_identities(), finder.similar_names_in_companies()))
    dismissed = set(
        db.session.execute(
            sa.select(DuplicatePair.contact_id, DuplicatePair.other_id).where(DuplicatePair.dismissed_at.isnot(None))
        ).all()
    )
    db.session.execute(sa.delete(DuplicatePair).where(DuplicatePair.dismissed_at.is_(None)))
    groups = _groups(found)
    rows = [
        {"workspace_id": bound_workspace_id(), "contact_id": a, "other_id": b, "group_id": groups[a],
         "score": item.score, "reason": item.reason, "detail": item.detail, "created_at": utcnow()}
        for (a, b), item in found.items() if (a, b) not in dismissed
    ]  # fmt: skip
    for start in range(0, len(rows), finder.BATCH):
        db.session.execute(sa.insert(DuplicatePair), rows[start : start + finder.BATCH])
    return len(rows)


def scan_job() -> None:
    """A job (``crm.jobs.enqueue``): scan the bound workspace."""
    scan()


def scan_every_workspace() -> list[tuple[str, int]]:
    """``flask crm find-duplicates``: each workspace in its own transaction."""
    workspaces = db.session.execute(sa.select(Workspace.id, Workspace.name).execution_options(**ALL_WORKSPACES)).all()
    results = []
    for workspace_id, name in workspaces:
        with workspace_scope(workspace_id):
            results.append((name, scan()))
            db.session.commit()
    return results


def _groups(pairs) -> dict[int, int]:
    """{contact id: lowest contact id linked to it through any pair}."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: root(x) for x in parent}


def refresh_for(contact: Contact) -> list[int]:
    """After ``contact`` was saved: its pairs as they now stand (dismissed ones stay dismissed).
    Returns the ids of the contacts it looks like, the likeliest first."""
    matches = finder.for_contact(
        contact.id, contact.name, contact.emails, contact.phones, contact.company_id, limit=finder.MAX_SHARED
    )
    existing = {(pair.contact_id, pair.other_id): pair for pair in _pairs_of(contact.id)}
    wanted = {}
    for match in matches:
        item = finder.candidate(contact.id, match.contact_id, match.score, match.reason, match.detail)
        wanted[(item.contact_id, item.other_id)] = item
    for key, pair in existing.items():
        if key not in wanted and pair.dismissed_at is None:
            db.session.delete(pair)
    if not wanted:
        return []
    groups = dict(
        db.session.execute(
            sa.select(DuplicatePair.contact_id, sa.func.min(DuplicatePair.group_id))
            .where(DuplicatePair.contact_id.in_([m.contact_id for m in matches]))
            .group_by(DuplicatePair.contact_id)
        ).all()
    )
    for key, item in wanted.items():
        pair = existing.get(key) or DuplicatePair(contact_id=key[0], other_id=key[1])
        if pair.dismissed_at is None:
            pair.score, pair.reason, pair.detail = item.score, item.reason, item.detail
            pair.group_id = min(key[0], *(groups.get(other, key[0]) for other in key))
            db.session.add(pair)
    dismissed = {key for key, pair in existing.items() if pair.dismissed_at is not None}
    ranked = sorted(matches, key=lambda match: -match.score)
    return [
        m.contact_id for m in ranked if (min(contact.id, m.contact_id), max(contact.id, m.contact_id)) not in dismissed
    ]


def _pairs_of(contact_id: int) -> list[DuplicatePair]:
    statement = sa.select(DuplicatePair).where(
        sa.or_(DuplicatePair.contact_id == contact_id, DuplicatePair.other_id == contact_id)
    )
    return list(db.session.scalars(statement))


def dismiss(pair: DuplicatePair) -> None:
    pair.dismissed_at = utcnow()
    audit.record("duplicates.dismissed", "contact", pair.contact_id, {"not_duplicate_of": [None, pair.other_id]})


# Merging ------------------------------------------------------------------------------------


def merge(survivor: Contact, merged: Contact, picks: dict[str, int], member) -> ContactMerge:
    """Folds ``merged`` into ``survivor``. ``picks`` names, per field, the contact whose value is
    kept (a field not named keeps the survivor's value, or takes the other's when it has none).
    Emails, phones and tags are combined; the rows of ``MOVED`` move; ``merged`` goes to the
    trash; the survivor's classes are recomputed, but for a level set by hand (its own, else the
    merged one's)."""
    if survivor.id == merged.id or survivor.deleted_at or merged.deleted_at:
        raise MergeRefused
    data = _merged_values(survivor, merged, picks)
    before = _values(survivor, data)
    before["last_activity_at"] = _iso(survivor.last_activity_at)
    contacts.update_contact(survivor, _with_custom_audit(survivor, data))
    if merged.level_pinned and not survivor.level_pinned:
        # A level set by hand is a decision about the person (it routes their tickets): the survivor
        # keeps its own, or takes the merged one's, rather than the rules' (undo gives it back).
        before["level_pin"] = [survivor.level, False]
        audit.record("contact.updated", "contact", survivor.id, {"level": [survivor.level, merged.level]})
        survivor.level, survivor.level_pinned = merged.level, True
    moved = {}
    for key, model in MOVED.items():
        ids = list(db.session.scalars(sa.select(model.id).where(model.contact_id == merged.id)))
        if ids:
            db.session.execute(sa.update(model).where(model.id.in_(ids)).values(contact_id=survivor.id))
        moved[key] = ids
    latest = [moment for moment in (survivor.last_activity_at, merged.last_activity_at) if moment]
    survivor.last_activity_at = max(latest) if latest else None
    for pair in _pairs_of(merged.id):
        db.session.delete(pair)
    contacts.delete_contact(merged)
    record = ContactMerge(survivor_id=survivor.id, merged_id=merged.id, merged_by=member.id, before=before, moved=moved)
    db.session.add(record)
    _reclassify(survivor)
    db.session.flush()
    audit.record("contact.merged", "contact", survivor.id, {"merged": [merged.name, survivor.name],
                 "merged_id": [merged.id, None], "fields": [None, sorted(before)]})  # fmt: skip
    refresh_for(survivor)
    return record


def ticket_counts(*contact_ids: int) -> dict[int, int]:
    """How many tickets each contact has (those a merge would move), deleted ones left out."""
    statement = (
        sa.select(Ticket.contact_id, sa.func.count())
        .where(Ticket.contact_id.in_(contact_ids), Ticket.deleted_at.is_(None))
        .group_by(Ticket.contact_id)
    )
    return {contact_id: 0 for contact_id in contact_ids} | dict(db.session.execute(statement).all())


def _merged_values(survivor: Contact, merged: Contact, picks: dict[str, int]) -> dict:
    data = {}
    for field in FIELDS:
        mine, theirs = getattr(survivor, field), getattr(merged, field)
        take_theirs = picks.get(field) == merged.id or (field not in picks and mine in (None, "") and theirs)
        if take_theirs and theirs != mine:
            data[field] = theirs
    custom = dict(survivor.custom or {})
    for key, theirs in (merged.custom or {}).items():
        pick = picks.get(f"cf:{key}")
        if pick == merged.id or (pick is None and custom.get(key) in (None, "", [])):
            custom[key] = theirs
    if custom != (survivor.custom or {}):
        data["custom"] = custom
    emails = _union(survivor.emails, merged.emails)
    if emails != survivor.emails:
        data["emails"] = emails
    phones = _union(survivor.phones, merged.phones)
    if phones != survivor.phones:
        data["phones"] = phones
    tags = _union([tag.name for tag in survivor.tags], [tag.name for tag in merged.tags])
    if len(tags) != len(survivor.tags):
        data["tags"] = tags
    return data


def _with_custom_audit(contact: Contact, data: dict) -> dict:
    """``data`` with the audit changes of its custom values, so the contact's history names them
    as an edit does (the contact form's own are worked out by crm.custom_fields.service.merged)."""
    if "custom" not in data:
        return data
    fields = custom_fields.definitions(db.session.get(Workspace, contact.workspace_id), "contact")
    return {**data, "custom_audit": custom_fields.changes_between(fields, contact.custom, data["custom"])}


def _union(first: list, second: list) -> list:
    return list(dict.fromkeys([*first, *second]))


def _values(contact: Contact, data: dict) -> dict:
    """The contact's current values of the keys in ``data``, as JSON."""
    values = {}
    for key in data:
        if key == "tags":
            values[key] = [tag.name for tag in contact.tags]
        elif key == "custom":
            values[key] = dict(contact.custom or {})
        else:
            values[key] = _iso(getattr(contact, key))
    return values


def _iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _reclassify(contact: Contact) -> None:
    workspace = db.session.get(Workspace, contact.workspace_id)
    rules, today = classification.rules_of(workspace), classification.today_in(workspace)
    classification.reclassify(contact, rules, today, workspace.timezone)


def undo_deadline(record: ContactMerge):
    return record.created_at + timedelta(days=UNDO_DAYS)


def can_undo(record: ContactMerge) -> bool:
    return record.undone_at is None and utcnow() < undo_deadline(record)


def _custom_before(survivor: Contact, merged: Contact, before: dict) -> dict:
    """The survivor's custom values with those the merge took from ``merged`` put back as they were
    (``before``: all of them at the merge), where they still hold what the merge gave: a value changed
    since is kept, as are fields the merge did not touch, and a field deleted since (or made again
    with its key) gets nothing back."""
    keys = {field.key for field in custom_fields.definitions(db.session.get(Workspace, survivor.workspace_id),
                                                             "contact")}  # fmt: skip
    custom = dict(survivor.custom or {})
    for key, theirs in (merged.custom or {}).items():
        if key not in keys or theirs is None or before.get(key) == theirs or custom.get(key) != theirs:
            continue
        if before.get(key) is None:
            custom.pop(key, None)
        else:
            custom[key] = before[key]
    return custom


def undo(record: ContactMerge) -> None:
    """Puts both contacts back as they were before the merge: the survivor's replaced values, the
    rows that moved (those still on the survivor), and the merged contact out of the trash."""
    if not can_undo(record):
        raise TooLate
    survivor = db.session.get(Contact, record.survivor_id)
    merged = db.session.get(Contact, record.merged_id)
    # The merged contact comes back as a live one: the plan must have room (a merge frees a place,
    # so merge, add and undo would otherwise grow a workspace past its limit).
    limits.check_contacts(db.session.get(Workspace, survivor.workspace_id), 1)
    before = dict(record.before)
    last_activity_at = before.pop("last_activity_at", None)
    if (level_pin := before.pop("level_pin", None)) is not None:  # the level the survivor had by the rules
        survivor.level, survivor.level_pinned = level_pin
    if before.get("birthday"):
        before["birthday"] = date.fromisoformat(before["birthday"])
    if "custom" in before:
        before["custom"] = _custom_before(survivor, merged, before["custom"])
    contacts.update_contact(survivor, _with_custom_audit(survivor, before))
    for key, ids in record.moved.items():
        if ids:
            model = MOVED[key]
            db.session.execute(
                sa.update(model).where(model.id.in_(ids), model.contact_id == survivor.id).values(contact_id=merged.id)
            )
    survivor.last_activity_at = _from_iso(last_activity_at)
    merged.deleted_at = None
    record.undone_at = utcnow()
    _reclassify(survivor)
    _reclassify(merged)
    db.session.flush()
    audit.record("contact.merge_undone", "contact", survivor.id, {"merged": [survivor.name, merged.name],
                 "merged_id": [None, merged.id]})  # fmt: skip
    refresh_for(survivor)
    refresh_for(merged)


def _from_iso(text):
    return datetime.fromisoformat(text) if text else None
