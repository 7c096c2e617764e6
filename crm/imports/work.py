"""What a pass over an import file does whatever it holds: rows are parsed, the invalid and
skipped ones kept as problems with their reason, the counts kept on the job."""

import json
from abc import ABC, abstractmethod
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects.postgresql import ARRAY

from crm.db import plans_kept
from crm.extensions import db
from crm.i18n import lazy_gettext as _l
from crm.imports.models import Import, ImportProblem
from crm.imports.reasons import stored
from crm.tenancy import CrossWorkspaceWrite, NoWorkspace, bound_workspace_id


def _stamped(rows: list[dict], same: dict) -> None:
    """Wall 2 for these Core INSERTs, which the ORM's flush check never sees: every row must be
    of the bound workspace (row-level security checks it again on PostgreSQL)."""
    bound = bound_workspace_id()
    if bound is None:
        raise NoWorkspace("bulk insert with no workspace bound")
    stamps = {same["workspace_id"]} if "workspace_id" in same else {row["workspace_id"] for row in rows}
    if stamps != {bound}:
        raise CrossWorkspaceWrite("bulk insert of rows of another workspace")


def among(column: sa.ColumnElement, values: list) -> sa.ColumnElement:
    """``column IN values``; on PostgreSQL ``column = ANY(<one array>)``: a batch's thousand ids go as
    one parameter, where an IN is a thousand placeholders that SQLAlchemy renders and psycopg parses
    again for every statement (too long for its cache)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def insert_rows(model, rows: list[dict], same: dict | None = None) -> None:
    """INSERTs ``rows`` (all with the same keys) in multi-row statements; their ids are not needed.
    ``same``: the values of the columns every row has alike (workspace_id...), sent once."""
    if not rows:
        return
    same = same or {}
    _stamped(rows, same)
    table = model.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        _json_insert(table, rows, same, ids=None)
    else:
        db.session.execute(table.insert(), [{**row, **same} for row in rows])


def insert_returning_ids(model, rows: list[dict], same: dict | None = None) -> list[int]:
    """Inserts ``rows`` (each with the same keys; workspace_id in them or in ``same``: row-level
    security checks it) and returns their ids in order. On PostgreSQL the ids are drawn from the
    sequence first and the rows go as one JSON parameter of an ``INSERT ... SELECT FROM
    json_to_recordset``: a thousand rows are one short statement. Elsewhere a Core INSERT with
    RETURNING, which SQLAlchemy sends as multi-row statements."""
    if not rows:
        return []
    same = same or {}
    _stamped(rows, same)
    table = model.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        sequence = sa.func.nextval(sa.func.pg_get_serial_sequence(table.name, "id"))
        ids = list(db.session.scalars(sa.select(sequence).select_from(sa.func.generate_series(1, len(rows)))))
        _json_insert(table, rows, same, ids)
        return ids
    statement = table.insert().returning(table.c.id, sort_by_parameter_order=True)
    return list(db.session.execute(statement, [{**row, **same} for row in rows]).scalars())


def update_rows(model, rows: list[dict]) -> None:
    """UPDATEs rows of the bound workspace by primary key: each of ``rows`` is a dict of a row's
    ``id`` and the values to set on it. Rows setting the same columns go together: one statement
    for them all, whatever their number (an ``UPDATE ... FROM json_to_recordset`` on PostgreSQL, as
    ``insert_rows``; elsewhere an executemany). Only the columns a row sets are written, as an ORM
    flush would: an edit saved meanwhile to another column stays. Every statement is limited to the
    bound workspace (the ORM's wall does not add it to these) and goes through the session, which
    sends row-level security its settings first. A row not found (another workspace's, or deleted
    meanwhile) fails the whole as the ORM's flush would (``StaleDataError``)."""
    if not rows:
        return
    bound = bound_workspace_id()
    if bound is None:
        raise NoWorkspace("bulk update with no workspace bound")
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    table = model.__table__
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    for names, group in groups.items():
        columns = [name for name in names if name != "id"]
        if postgresql:
            matched = _json_update(table, columns, group, bound)
        else:
            statement = table.update().where(table.c.workspace_id == bound, table.c.id == sa.bindparam("row_id"))
            new = {name: sa.bindparam(f"new_{name}", type_=table.c[name].type) for name in columns}
            parameters = [{"row_id": row["id"], **{f"new_{name}": row[name] for name in columns}} for row in group]
            matched = db.session.execute(statement.values(new), parameters).rowcount
        if matched != len(group):
            raise so.exc.StaleDataError(f"UPDATE of {table.name} expected {len(group)} rows; {matched} were matched")


def _json_update(table: sa.Table, columns: list[str], rows: list[dict], workspace_id: int) -> int:
    """``UPDATE <table> SET <column> = v.<column>, ... FROM json_to_recordset(<the rows as one JSON
    array>) AS v(...) WHERE workspace_id = <bound> AND id = v.id`` (why JSON: ``_json_insert``)."""
    dialect = db.session.get_bind().dialect
    quote = dialect.identifier_preparer.quote
    names = ["id", *columns]
    typed = ", ".join(f"{quote(name)} {table.c[name].type.dialect_impl(dialect).compile(dialect=dialect)}"
                      for name in names)  # fmt: skip
    sets = ", ".join(f"{quote(name)} = v.{quote(name)}" for name in columns)
    sql = (f"UPDATE {quote(table.name)} SET {sets} FROM json_to_recordset(CAST(:rows AS json)) AS v({typed})"
           f" WHERE {quote(table.name)}.workspace_id = :workspace_id AND {quote(table.name)}.id = v.id")  # fmt: skip
    parameters = {"rows": json.dumps([{name: row[name] for name in names} for row in rows], default=_json_value),
                  "workspace_id": workspace_id}  # fmt: skip
    with plans_kept(db.session.connection()):  # a changed owner or company is checked against its table
        return db.session.execute(sa.text(sql), parameters).rowcount


def _json_insert(table: sa.Table, rows: list[dict], same: dict, ids: list[int] | None) -> None:
    """``INSERT ... SELECT <columns>, <same values> FROM json_to_recordset(<the rows as one JSON
    array>)``; ``ids`` given, or the default. psycopg adapts a list parameter value by value in
    Python, which cost more than the database's own work for some tables (an array per column:
    0.05 s of CPU for 1,000 contacts, where ``json.dumps`` of the same rows takes 0.015 s);
    PostgreSQL reads the JSON as fast as the arrays. Each value is read as its column's type (a
    JSON column takes the nested value as it is)."""
    dialect = db.session.get_bind().dialect
    quote = dialect.identifier_preparer.quote

    def type_of(name: str) -> str:
        return table.c[name].type.dialect_impl(dialect).compile(dialect=dialect)

    names = [name for name in rows[0] if name != "id"]
    if ids is not None:
        names.insert(0, "id")
        rows = [{**row, "id": row_id} for row, row_id in zip(rows, ids, strict=True)]
    # json.dumps as SQLAlchemy's JSON type calls it: a JSON column keeps the very text the ORM would write.
    parameters = {"rows": json.dumps(rows, default=_json_value)}
    selected = [f"t.{quote(name)}" for name in names]
    for index, (name, value) in enumerate(same.items()):
        is_json = isinstance(table.c[name].type.dialect_impl(dialect), sa.JSON)
        parameters[f"s{index}"] = json.dumps(value, default=_json_value) if is_json else value
        selected.append(f"%(s{index})s::{type_of(name)}")
    columns = ", ".join(quote(name) for name in [*names, *same])
    typed = ", ".join(f"{quote(name)} {type_of(name)}" for name in names)
    sql = (f"INSERT INTO {quote(table.name)} ({columns}) SELECT {', '.join(selected)}"
           f" FROM json_to_recordset(%(rows)s::json) AS t({typed})")  # fmt: skip
    connection = db.session.connection()
    with plans_kept(connection):
        connection.exec_driver_sql(sql, parameters)


def _json_value(value):
    """What ``json`` cannot write itself: dates and times (ISO, which PostgreSQL reads; a naive
    time is refused, as the UTC columns refuse it) and decimals (as text: no float rounding)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class RowWork(ABC):
    """Subclasses implement ``parse(batch)`` and ``take(parsed)`` for one kind of file (contacts,
    companies, purchases)."""

    def __init__(self, job: Import, write: bool):
        self.job, self.write = job, write
        # Read once: an ORM attribute costs a few microseconds a read, and rows are many.
        self.workspace_id, self.import_id = job.workspace_id, job.id
        self.problems: list[dict] = []

    @abstractmethod
    def parse(self, batch: list[tuple[int, list[str]]]) -> list:
        """One batch of (row number, cells) read, validated and normalised. No database work and no
        change to ``self``: it may run in a forked process (crm/imports/parsing.py)."""

    @abstractmethod
    def take(self, parsed: list) -> None:
        """Checks and (when writing) saves one batch of parsed rows."""

    def finish(self) -> None:  # noqa: B027 (a hook: most kinds of file have nothing to finish)
        """After the last batch (the purchases' customers are classified again here)."""

    def problem(self, row, kind: str, column, reason) -> None:
        """``reason`` (and ``column``, when it is no header of the file) a lazy text: kept as the
        message and its values too, translated for each reader (crm/imports/reasons.py)."""
        message = {"reason": stored(reason), "column": stored(column)}
        # A heading may be longer than the column's 200 characters (a template's instructions in it); the
        # message keeps it whole.
        self.problems.append({"line": row.line, "kind": kind, "column": None if column is None else str(column)[:200],
                              "reason": str(reason)[:500], "message": message if message["reason"] else None,
                              "cells": row.cells})  # fmt: skip

    def skip(self, row, reason) -> None:
        self.job.skipped_count += 1
        self.problem(row, "skipped", None, reason)

    def valid(self, row) -> bool:
        """Records the row's problems; a row with any is invalid."""
        if not row.problems:
            return True
        for column, reason in row.problems:
            self.problem(row, "invalid", column, reason)
        self.job.invalid_count += 1
        return False

    def complete(self, row, required: list) -> bool:
        """A new record needs every required custom field (``required``: their definitions)."""
        missing = [definition for definition in required if row.custom.get(definition.key) is None]
        if not missing:
            return True
        for definition in missing:
            self.problem(row, "invalid", definition.label, _l("%(label)s is required.", label=definition.label))
        self.job.invalid_count += 1
        return False

    def save_problems(self) -> None:
        if self.problems:
            insert_rows(ImportProblem, self.problems, {"workspace_id": self.workspace_id, "import_id": self.import_id})
            self.problems = []
