"""What a pass over an import file does whatever it holds: rows are parsed, the invalid and
skipped ones kept as problems with their reason, the counts kept on the job."""

import json
from abc import ABC, abstractmethod

import sqlalchemy as sa
from flask_babel import gettext as _

from crm.extensions import db
from crm.imports.models import Import, ImportProblem
from crm.tenancy import CrossWorkspaceWrite, NoWorkspace, bound_workspace_id


def _stamped(rows: list[dict]) -> None:
    """Wall 2 for these Core INSERTs, which the ORM's flush check never sees: every row must be
    of the bound workspace (row-level security checks it again on PostgreSQL)."""
    bound = bound_workspace_id()
    if bound is None:
        raise NoWorkspace("bulk insert with no workspace bound")
    if any(row["workspace_id"] != bound for row in rows):
        raise CrossWorkspaceWrite("bulk insert of rows of another workspace")


def insert_rows(model, rows: list[dict]) -> None:
    """INSERTs ``rows`` (all with the same keys) in multi-row statements; their ids are not needed."""
    if not rows:
        return
    _stamped(rows)
    table = model.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        _unnest_insert(table, rows, ids=None)
    else:
        db.session.execute(table.insert(), rows)


def insert_returning_ids(model, rows: list[dict]) -> list[int]:
    """Inserts ``rows`` (each with the same keys, workspace_id among them: row-level security
    checks it) and returns their ids in order. On PostgreSQL the ids are drawn from the sequence
    first and each column goes as one array parameter of an ``INSERT ... SELECT FROM unnest``:
    a thousand rows are one short statement. Elsewhere a Core INSERT with RETURNING, which
    SQLAlchemy sends as multi-row statements."""
    if not rows:
        return []
    _stamped(rows)
    table = model.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        sequence = sa.func.nextval(sa.func.pg_get_serial_sequence(table.name, "id"))
        ids = list(db.session.scalars(sa.select(sequence).select_from(sa.func.generate_series(1, len(rows)))))
        _unnest_insert(table, rows, ids)
        return ids
    statement = table.insert().returning(table.c.id, sort_by_parameter_order=True)
    return list(db.session.execute(statement, rows).scalars())


def _unnest_insert(table: sa.Table, rows: list[dict], ids: list[int] | None) -> None:
    """``INSERT ... SELECT FROM unnest(<one array per column>)``; ``ids`` given, or the default."""
    names = ([] if ids is None else ["id"]) + [name for name in rows[0] if name != "id"]
    arrays, selected = {}, []
    for index, name in enumerate(names):
        column_type = table.c[name].type.dialect_impl(db.session.get_bind().dialect)
        values = ids if name == "id" else [row[name] for row in rows]
        if isinstance(column_type, sa.JSON):  # sent as text, read back as json(b)
            arrays[f"p{index}"] = [None if value is None else json.dumps(value) for value in values]
            selected.append((f"t.c{index}::{_sql_type(column_type)}", "text[]"))
        else:
            arrays[f"p{index}"] = values
            selected.append((f"t.c{index}", f"{_sql_type(column_type)}[]"))
    unnest = ", ".join(f"%(p{index})s::{array_type}" for index, (_column, array_type) in enumerate(selected))
    aliases = ", ".join(f"c{index}" for index in range(len(names)))
    quote = db.session.get_bind().dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in names)
    values = ", ".join(column for column, _array_type in selected)
    sql = f"INSERT INTO {quote(table.name)} ({columns}) SELECT {values} FROM unnest({unnest}) AS t({aliases})"
    db.session.connection().exec_driver_sql(sql, arrays)


def _sql_type(column_type) -> str:
    return column_type.compile(dialect=db.session.get_bind().dialect)


class RowWork(ABC):
    """Subclasses implement ``take(batch)`` for one kind of file (contacts, companies, purchases)."""

    def __init__(self, job: Import, write: bool):
        self.job, self.write = job, write
        self.problems: list[dict] = []

    @abstractmethod
    def take(self, batch) -> None:
        """Parses, checks and (when writing) saves one batch of rows."""

    def finish(self) -> None:  # noqa: B027 (a hook: most kinds of file have nothing to finish)
        """After the last batch (the purchases' customers are classified again here)."""

    def problem(self, row, kind: str, column: str | None, reason: str) -> None:
        column = None if column is None else str(column)  # a lazy header name
        self.problems.append({"workspace_id": self.job.workspace_id, "import_id": self.job.id, "line": row.line,
                              "kind": kind, "column": column, "reason": reason[:500], "cells": row.cells})  # fmt: skip

    def skip(self, row, reason: str) -> None:
        self.job.skipped_count += 1
        self.problem(row, "skipped", None, reason)

    def valid(self, row) -> bool:
        """Records the row's problems; a row with any is invalid."""
        for column, reason in row.problems:
            self.problem(row, "invalid", column, reason)
        self.job.invalid_count += bool(row.problems)
        return not row.problems

    def complete(self, row, required: list) -> bool:
        """A new record needs every required custom field (``required``: their definitions)."""
        missing = [definition for definition in required if row.custom.get(definition.key) is None]
        for definition in missing:
            self.problem(row, "invalid", definition.label, _("%(label)s is required.", label=definition.label))
        self.job.invalid_count += bool(missing)
        return not missing

    def save_problems(self) -> None:
        if self.problems:
            insert_rows(ImportProblem, self.problems)
            self.problems = []
