"""Changes to many contacts or companies at once, for the bulk bars and the trash: a batch of ids
per statement (read what changes, one UPDATE or INSERT, the audit entries added together) rather
than a record at a time, so that "all matching" on a large workspace finishes within a request.
Each changed record still gets its own audit entry, as a single edit would. The caller commits."""

from collections import defaultdict
from collections.abc import Callable, Iterator

import sqlalchemy as sa

from crm.audit import service as audit
from crm.contacts.models import Contact, ContactTag, Tag
from crm.db import utcnow
from crm.extensions import db

BATCH = 1000


# Told (records done, records in all) as a bulk change goes: a background job commits each batch
# and shows how far it has got (crm/contacts/bulk_jobs.py).
Progress = Callable[[int, int], None]


def id_batches(model, statement: sa.Select, progress: Progress | None = None) -> Iterator[list[int]]:
    """The ids ``statement`` (a select of ``model``) selects, a batch at a time, read up front (so
    that a change which takes a record out of the selection does not move the batches). ``progress``
    is told (done, total) when the ids are read and after each batch is done."""
    ids = list(db.session.scalars(statement.with_only_columns(model.id).order_by(model.id)))
    if progress is not None:
        progress(0, len(ids))
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]
        if progress is not None:
            progress(min(start + BATCH, len(ids)), len(ids))


def _kind(model) -> str:
    return "contact" if model is Contact else "company"


def _update(model, ids: list[int], **values) -> None:
    statement = sa.update(model).where(model.id.in_(ids)).values(**values)
    db.session.execute(statement.execution_options(synchronize_session=False))


def _audit(action: str, model, changes: dict[int, dict]) -> None:
    audit.record_many(action, _kind(model), changes)


def set_owner(model, ids: list[int], owner_id: int | None) -> int:
    rows = db.session.execute(
        sa.select(model.id, model.owner_id).where(model.id.in_(ids), model.owner_id.is_distinct_from(owner_id))
    ).all()
    if rows:
        _update(model, [row.id for row in rows], owner_id=owner_id)
        _audit(f"{_kind(model)}.updated", model, {row.id: {"owner_id": [row.owner_id, owner_id]} for row in rows})
    return len(rows)


def trash(model, ids: list[int]) -> int:
    rows = db.session.execute(sa.select(model.id, model.name).where(model.id.in_(ids), model.deleted_at.is_(None)))
    rows = rows.all()
    if rows:
        _update(model, [row.id for row in rows], deleted_at=utcnow())
        _audit(f"{_kind(model)}.deleted", model, {row.id: {"name": [row.name, None]} for row in rows})
    return len(rows)


def restore(model, ids: list[int]) -> list[int]:
    """Out of the trash; returns the ids restored. The caller has checked the restore window and the
    plan's limit."""
    rows = db.session.execute(sa.select(model.id, model.name).where(model.id.in_(ids), model.deleted_at.isnot(None)))
    rows = rows.all()
    if rows:
        _update(model, [row.id for row in rows], deleted_at=None)
        _audit(f"{_kind(model)}.restored", model, {row.id: {"name": [None, row.name]} for row in rows})
    return [row.id for row in rows]


def _tags_of(ids: list[int]) -> dict[int, list[str]]:
    statement = sa.select(ContactTag.contact_id, Tag.name).join(Tag, Tag.id == ContactTag.tag_id)
    tags = defaultdict(list)
    for contact_id, name in db.session.execute(statement.where(ContactTag.contact_id.in_(ids))):
        tags[contact_id].append(name)
    return {contact_id: sorted(names) for contact_id, names in tags.items()}


def tags_named(names: list[str], create: bool) -> list[Tag]:
    """The tags of these names, in the order given; the missing ones made when ``create``."""
    found = {tag.name: tag for tag in db.session.scalars(sa.select(Tag).where(Tag.name.in_(names)))}
    if create and len(found) < len(names):
        for name in names:
            if name not in found:
                found[name] = Tag(name=name)
                db.session.add(found[name])
        db.session.flush()
    return [found[name] for name in names if name in found]


def add_tags(ids: list[int], tags: list[Tag]) -> int:
    """Gives each contact of ``ids`` the ``tags`` it lacks; one audit entry for each contact changed."""
    before = _tags_of(ids)
    after = {}
    links = []
    for contact_id in ids:
        has = before.get(contact_id, [])
        adding = [tag for tag in tags if tag.name not in has]
        if adding:
            links += [ContactTag(contact_id=contact_id, tag_id=tag.id) for tag in adding]
            after[contact_id] = {"tags": [has, sorted([*has, *(tag.name for tag in adding)])]}
    db.session.add_all(links)
    _audit("contact.updated", Contact, after)
    return len(after)


def remove_tags(ids: list[int], tags: list[Tag]) -> int:
    """Takes ``tags`` from the contacts of ``ids`` that have them; one audit entry for each contact changed."""
    before = _tags_of(ids)
    names = {tag.name for tag in tags}
    removing = [contact_id for contact_id in ids if names & set(before.get(contact_id, []))]
    if removing:
        db.session.execute(
            sa.delete(ContactTag)
            .where(ContactTag.tag_id.in_([tag.id for tag in tags]), ContactTag.contact_id.in_(removing))
            .execution_options(synchronize_session=False)
        )  # fmt: skip
    _audit("contact.updated", Contact, {
        contact_id: {"tags": [before[contact_id], [name for name in before[contact_id] if name not in names]]}
        for contact_id in removing
    })  # fmt: skip
    return len(removing)


def pin_level(ids: list[int], level: str) -> int:
    rows = db.session.execute(
        sa.select(Contact.id, Contact.level)
        .where(Contact.id.in_(ids), sa.or_(Contact.level != level, Contact.level_pinned.is_(False)))
    ).all()  # fmt: skip
    if rows:
        _update(Contact, [row.id for row in rows], level=level, level_pinned=True)
        _audit("contact.updated", Contact, {row.id: {"level": [row.level, level]} for row in rows})
    return len(rows)
