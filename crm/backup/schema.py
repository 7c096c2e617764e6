"""Which tables a workspace backup holds, in which order, and how their references are found.

The plan is read from the models' metadata, not listed by hand: every table with a
``workspace_id`` is backed up (``crm.tenancy.scoped_tables``), and the composite foreign keys
``(workspace_id, x_id) -> other (workspace_id, id)`` say which column points at which table. So a
table that a later feature adds is backed up and restored without a change here, as long as its
references are foreign keys.

What the foreign keys cannot say is written down below, each with its reason, and
tests/test_backup.py fails when a table gains an ``*_id`` column or a JSON column that is none of
a foreign key, a registered reference or a registered plain value: teach it here.
"""

import re
from dataclasses import dataclass, field
from functools import cache

import sqlalchemy as sa

from crm.tenancy import scoped_tables

# Tables of a workspace that a backup leaves out, and why (shown in the manifest too).
EXCLUDED = {
    "workspace_slugs": "former addresses of the original workspace; they keep redirecting to it, not to a copy",
    "invitations": "open seats tied to emailed links of the original workspace; invite people again after a restore",
    "portal_sign_ins": "single-use links of 30 minutes to the original workspace's portal",
    "assignment_rotations": "who takes turns on ticket queues names members, and a restore brings only the restorer;"
    " choose them again in Settings -> Ticket assignment",
    "invoices": "the original workspace's Stripe invoices; they stay on its Stripe account and billing page",
    "bulk_jobs": "how far the original workspace's background bulk changes got; their changes are in the records",
    "classification_runs": "how far classifying the original workspace's customers got; the classes are in the records"
    " and the cut-offs on the workspace",
    "ticket_breach_notices": "which managers of the original workspace had a late-ticket mail while another's was"
    " refused; a restore brings only the restorer, who is mailed about such a ticket at the next check",
}

USERS = "users"  # global: referenced by email, never copied
WORKSPACES = "workspaces"

# Columns that hold the id of another table without a foreign key.
# table -> {column: referenced table, or RECORD_TYPE (the table named by the row's record_type)}
RECORD_TYPE = "record_type"
SOFT_REFERENCES = {
    "contacts": {"import_id": "imports"},  # kept after the import is deleted, for its undo
    "companies": {"import_id": "imports"},
    "purchases": {"import_id": "imports", "deal_id": "deals"},  # the deal's win that recorded it
    "audit_log": {"record_id": RECORD_TYPE},  # any kind of record, named by record_type
    "duplicate_pairs": {"group_id": "contacts"},  # the lowest contact id of the group
}
# Integer ``*_id`` columns that are not references to a row.
NOT_REFERENCES: dict[str, set[str]] = {}

# JSON columns holding ids, remapped on restore:
# - KEYED_IDS: {"owner_id": ..., "company_id": [before, after]}: a key named after a reference
#   column (or after a kind of record, like "purchase") whose integer values are ids of that table;
# - IDS_BY_TABLE: {"activities": [1, 2]}: lists of ids keyed by table name.
KEYED_IDS = {("audit_log", "changes"), ("import_changes", "before"), ("import_changes", "after"),
             ("contact_merges", "before")}  # fmt: skip
# Keys of those that hold ids without being named after a reference column.
OTHER_ID_KEYS = {"not_duplicate_of": "contacts"}  # "duplicates.dismissed" entries
IDS_BY_TABLE = {("contact_merges", "moved")}
# JSON columns holding custom field values, whose sensitive values are encrypted at rest (with this
# server's ENCRYPTION_KEYS): a backup holds them decrypted, a restore encrypts them with its own keys.
# (table, column) -> (entity of the custom fields, key inside the JSON holding the values or None)
CUSTOM_VALUES = {
    ("contacts", "custom"): ("contact", None),
    ("companies", "custom"): ("company", None),
    ("deals", "custom"): ("deal", None),
    ("import_changes", "before"): ("contact", "custom"),
    ("import_changes", "after"): ("contact", "custom"),
    ("contact_merges", "before"): ("contact", "custom"),
}
# JSON columns with no ids and no secrets in them.
PLAIN_JSON = {
    ("contacts", "emails"), ("contacts", "phones"), ("custom_fields", "options"), ("roles", "permissions"),
    ("imports", "headers"), ("imports", "mapping"), ("imports", "failure_message"), ("import_problems", "cells"),
    ("import_problems", "message"), ("import_mappings", "columns"), ("data_quality_runs", "counts"),
}  # fmt: skip
# Text columns holding a query string whose arguments name ids: (table, column) -> {argument: table}.
QUERY_IDS = {("saved_views", "query"): {"owner": "memberships", "company": "companies"}}
# Columns naming a file under UPLOAD_DIR: the file travels in the backup under files/<table>/, and a
# restore gives it a new name (a backup never chooses where a file is written, or which it reads).
FILES = {("imports", "stored_name"): "imports", ("ticket_attachments", "stored_name"): "ticket_attachments"}


class SchemaError(RuntimeError):
    """The tables cannot be ordered for a restore (a cycle of references)."""


@dataclass(frozen=True)
class Reference:
    column: str
    table: str  # the referenced table, USERS, WORKSPACES or RECORD_TYPE


@dataclass(frozen=True)
class TablePlan:
    table: sa.Table
    references: tuple[Reference, ...]
    columns: tuple[str, ...] = field(default=())  # every column but workspace_id, id first

    @property
    def name(self) -> str:
        return self.table.name


def _metadata() -> sa.MetaData:
    from crm.extensions import db

    return db.Model.metadata


def references_of(table: sa.Table) -> list[Reference]:
    """Foreign keys (the ``x_id`` of a composite ``(workspace_id, x_id)`` one, or a single column to
    a global table), then the soft references registered above."""
    found = []
    for constraint in table.foreign_key_constraints:
        target = constraint.referred_table.name
        for element in constraint.elements:
            if element.parent.name == "workspace_id":  # the tenancy column, not a reference
                continue
            if element.column.name != "id":  # e.g. deals' (workspace, pipeline, stage) key: pipeline_id
                continue  # names the stage's pipeline; its own foreign key says which table it points at
            found.append(Reference(element.parent.name, target))
    found += [Reference(column, target) for column, target in SOFT_REFERENCES.get(table.name, {}).items()]
    return found


@cache
def _plan_for(names: frozenset[str]) -> tuple[TablePlan, ...]:
    tables = {name: _metadata().tables[name] for name in names}
    plans = {}
    depends: dict[str, set[str]] = {}
    for name, table in tables.items():
        references = references_of(table)
        columns = ("id", *(c.name for c in table.columns if c.name not in ("id", "workspace_id")))
        plans[name] = TablePlan(table, tuple(references), columns)
        wanted = {r.table for r in references if r.table in tables and r.table != name}
        if any(r.table == RECORD_TYPE for r in references) or any(owner == name for owner, _ in IDS_BY_TABLE):
            wanted = {"*"}  # may name a row of any table: restored after all the others
        wanted |= {t for (owner, _col), args in QUERY_IDS.items() if owner == name for t in args.values()}
        depends[name] = wanted
    return tuple(plans[name] for name in _ordered(depends))


def _ordered(depends: dict[str, set[str]]) -> list[str]:
    """Parents before children (Kahn's algorithm, alphabetical among equals for a stable file);
    the tables that may name any row come last."""
    last = sorted(name for name, wanted in depends.items() if "*" in wanted)
    pending = {name: set(wanted) for name, wanted in depends.items() if name not in last}
    order = []
    while pending:
        ready = sorted(name for name, wanted in pending.items() if not wanted - set(order))
        if not ready:
            raise SchemaError(f"cannot order these tables for a restore (a cycle of references): {sorted(pending)}")
        order += ready
        for name in ready:
            del pending[name]
    return order + last


def plan() -> tuple[TablePlan, ...]:
    """Every backed-up table in restore order: each after the tables its rows point at."""
    return _plan_for(frozenset(scoped_tables() - EXCLUDED.keys()))


def record_tables() -> dict[str, str]:
    """Audit record types (``contact``, ``custom_field``...) -> table: a record type is the model's
    class name in snake case, as every feature writes it."""
    from crm.extensions import db

    return {
        re.sub(r"(?<!^)(?=[A-Z])", "_", mapper.class_.__name__).lower(): mapper.local_table.name
        for mapper in db.Model.registry.mappers
    }


def id_keys() -> dict[str, str]:
    """Keys of KEYED_IDS JSON that hold ids -> their table: every reference column name that points
    at one table only wherever it appears (``owner_id`` -> memberships), and every record type."""
    targets: dict[str, set[str]] = {}
    for table_name in scoped_tables():
        for reference in references_of(_metadata().tables[table_name]):
            if reference.table != RECORD_TYPE:
                targets.setdefault(reference.column, set()).add(reference.table)
    keys = {column: tables.pop() for column, tables in targets.items() if len(tables) == 1}
    return {**record_tables(), **keys, **OTHER_ID_KEYS}
