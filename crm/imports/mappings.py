"""Saved import mappings: kept by name when a mapping is checked with "save as", applied on upload
to a file whose columns one of them mostly knows, or chosen by hand."""

import sqlalchemy as sa

from crm.extensions import db
from crm.imports.fields import coverage, plain
from crm.imports.models import SavedMapping

MIN_COVERAGE = 0.5  # a saved mapping is applied by itself when it knows half the file's columns


def saved_mappings(entity: str | None = None) -> list[SavedMapping]:
    """All of them, or those for files of ``entity``."""
    statement = sa.select(SavedMapping).order_by(SavedMapping.entity, SavedMapping.name)
    if entity:
        statement = statement.where(SavedMapping.entity == entity)
    return list(db.session.scalars(statement))


def best_for(entity: str, headers: list[str]) -> SavedMapping | None:
    """The saved mapping that knows the largest share of these columns (the latest on a tie)."""
    scored = [(coverage(headers, saved.columns), saved.updated_at, saved) for saved in saved_mappings(entity)]
    scored = [item for item in scored if item[0] >= MIN_COVERAGE]
    return max(scored, key=lambda item: item[:2])[2] if scored else None


def save(entity: str, name: str, headers: list[str], mapping: list[str]) -> SavedMapping:
    """Stores (or replaces, by name) this file's choices; an existing mapping keeps the columns it
    knew that this file does not have."""
    statement = sa.select(SavedMapping).where(SavedMapping.entity == entity, SavedMapping.name == name)
    saved = db.session.scalar(statement)
    if saved is None:
        saved = SavedMapping(entity=entity, name=name, columns={})
        db.session.add(saved)
    columns = dict(saved.columns)
    for header, key in zip(headers, mapping, strict=True):
        if plain(header):
            columns[plain(header)] = key
    saved.columns = columns
    return saved
