"""Backing up a whole workspace to a ZIP, and restoring such a ZIP into a new, empty workspace.

The backup (``backup_chunks``) is a generator that runs while the response streams: every table
of ``crm.backup.schema.plan()`` as ``data/<table>.jsonl``, read by id a batch at a time in one
snapshot (REPEATABLE READ on PostgreSQL, one read transaction on SQLite), so rows of different
tables agree with each other; then the workspace's settings, the accounts its rows name (id, email
and name only: never a password or a second factor), spreadsheets for people, the uploaded files
still on disk and ``manifest.json``. Memory stays at a batch of rows, whatever the size.

The restore (``restore``) writes the backup's rows into the bound workspace, which must be new
and empty, in one transaction: all of it or nothing. Each table is inserted after the tables it
points at, with new ids; every reference is rewritten through a map of old to new ids kept per
table (two arrays, 16 bytes a row). Accounts are global and are matched by email:

* the restoring member stands for their own old membership (they keep their Owner role);
* a member whose account exists on this server gets their membership back, with their role, but
  disabled if it was active: nobody gets into a copy of the data without the Owner enabling them
  (Members page), and nobody finds a workspace in their switcher that they never agreed to join;
* a member with no account here is not restored: the rows that named them (owner, author,
  assignee...) name the restoring member instead, and the report lists their email addresses
  (invite them, then hand their records back);
* built-in roles are matched by their key and take the backup's name and permissions (the Owner
  role keeps everything); other roles are created.

A backup restores only into the schema version that wrote it (the Alembic head): its tables and
columns are exactly this version's, and rows are refused otherwise. To move a backup across
versions, restore it on a server of its version and upgrade that server.
"""

import json
import re
import secrets
import shutil
import zipfile
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from crm.audit import service as audit
from crm.audit.models import AuditEntry
from crm.auth.models import User
from crm.backup import people
from crm.backup.archive import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    USERS_FILE,
    WORKSPACE,
    InvalidBackup,
    Pipe,
    data_file,
    decoder,
    encode,
    file_entry,
    json_line,
    json_lines,
    open_backup,
    read_member,
)
from crm.backup.schema import (
    CUSTOM_VALUES,
    EXCLUDED,
    FILES,
    IDS_BY_TABLE,
    KEYED_IDS,
    QUERY_IDS,
    RECORD_TYPE,
    USERS,
    WORKSPACES,
    TablePlan,
    id_keys,
    plan,
    record_tables,
)
from crm.billing import limits
from crm.billing.plans import current_plan
from crm.db import plans_kept, utcnow
from crm.deals import lost_reasons
from crm.deals.service import remove_pipelines
from crm.extensions import db
from crm.permissions import BUILTIN_ROLES, OWNER, PERMISSIONS
from crm.portal import branding
from crm.secrets import decrypt, encrypt
from crm.tenancy import bind_workspace
from crm.tickets import service as tickets
from crm.workspaces.models import Membership, Role, Workspace
from crm.workspaces.service import LOGO_MAX_BYTES, LOGO_TYPES, sniff_image_type

APP_NAME = "Kehu CRM"
BATCH = 1000
FILE_CHUNK = 1024 * 1024
# A restore refuses a ZIP that unpacks to more than this many times the upload limit.
UNPACK_RATIO = 25
# Settings of the workspace row that a restore leaves as they are: the new workspace keeps the
# name and address it was created with, and this server's plan limits.
KEPT_SETTINGS = {"id", "name", "slug", "seat_limit", "custom_fields_version", "created_at", "updated_at"}
# The restored workspace keeps its own plan and subscription: the backup's belong to the original.
KEPT_SETTINGS |= {"plan", "billing_status", "trial_ends_at", "stripe_customer_id", "stripe_subscription_id",
                  "current_period_end", "cancel_at_period_end", "past_due_since", "billing_synced_at"}  # fmt: skip
ADMIN_PERMISSIONS = BUILTIN_ROLES["admin"][1]


class NotEmpty(Exception):
    """The workspace already has records of its own; a restore goes into a new, empty one."""


def may_back_up(member: Membership) -> bool:
    """A backup holds every record in clear, sensitive ones too: only the Owner, or a member whose
    role has every permission of the built-in Admin role and sees all records, may download one or
    restore one."""
    if member.is_owner:
        return True
    return member.role.record_scope == "all" and all(member.can(p) for p in ADMIN_PERMISSIONS)


@cache
def schema_version() -> str:
    """The Alembic head revision of this code: the database schema its backups are written in."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", current_app.extensions["migrate"].directory)
    return ",".join(sorted(ScriptDirectory.from_config(config).get_heads()))


def backup_filename(workspace: Workspace) -> str:
    return f"kehu-backup-{workspace.slug}-{utcnow():%Y%m%d-%H%M%S}.zip"


# --- backup --------------------------------------------------------------------------------------


def backup_chunks(workspace_id: int, exported_by: str, texts: dict) -> Iterator[bytes]:
    """The ZIP, a batch of rows at a time. Runs while the response streams, so it binds the
    workspace again; the snapshot transaction ends with it (also when the download is cancelled)."""
    bind_workspace(workspace_id)
    db.session.rollback()
    _begin_snapshot()
    try:
        yield from _write_backup(db.session.get(Workspace, workspace_id), exported_by, texts)
    finally:
        db.session.rollback()


def _begin_snapshot() -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    else:
        # pysqlite starts no transaction for reads: without one, each query sees the latest writes.
        db.session.execute(sa.text("BEGIN"))


def _write_backup(workspace: Workspace, exported_by: str, texts: dict) -> Iterator[bytes]:
    pipe = Pipe()
    tables, user_ids = {}, set()
    sensitive = _sensitive_keys(workspace.id)
    with zipfile.ZipFile(pipe, "w", zipfile.ZIP_DEFLATED) as archive:
        for table_plan in plan():
            user_columns = [r.column for r in table_plan.references if r.table == USERS]
            count = 0
            with archive.open(data_file(table_plan.name), "w", force_zip64=True) as entry:
                for rows in _batches(table_plan.table, workspace.id):
                    for row in rows:
                        values = {column: encode(row[column]) for column in table_plan.columns}
                        _convert_custom(table_plan.name, values, sensitive, _reveal)
                        entry.write(json_line(values))
                        user_ids.update(row[column] for column in user_columns if row[column] is not None)
                    count += len(rows)
                    yield pipe.drain()
            tables[table_plan.name] = {"file": data_file(table_plan.name), "rows": count}
        archive.writestr(WORKSPACE, json.dumps(_workspace_settings(workspace.id), ensure_ascii=False, indent=2))
        users = yield from _write_users(archive, pipe, sorted(user_ids))
        yield from _write_text(archive, pipe, people.CONTACTS, people.contact_lines(workspace, texts))
        yield from _write_text(archive, pipe, people.COMPANIES, people.company_lines(workspace, texts))
        files = yield from _write_files(archive, pipe, workspace.id)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "app": APP_NAME,
            "schema_version": schema_version(),
            "exported_at": utcnow().isoformat(timespec="seconds"),
            "exported_by": exported_by,
            "workspace": {"id": workspace.id, "name": workspace.name, "slug": workspace.slug},
            "tables": tables,
            "users": {"file": USERS_FILE, "rows": users},
            "files": files,
            "people": [people.CONTACTS, people.COMPANIES],
            "excluded": EXCLUDED,
        }
        archive.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2))
    yield pipe.drain()


def _batches(table: sa.Table, workspace_id: int, size: int = BATCH):
    """Rows of ``table`` by ascending id, ``size`` at a time (keyset, never OFFSET). Core queries
    name the workspace themselves: the ORM wall filters mapped classes, not tables."""
    after = None
    while True:
        statement = sa.select(table).where(table.c.workspace_id == workspace_id)
        if after is not None:
            statement = statement.where(table.c.id > after)
        rows = db.session.execute(statement.order_by(table.c.id).limit(size)).mappings().all()
        if not rows:
            return
        yield rows
        after = rows[-1]["id"]


def _workspace_settings(workspace_id: int) -> dict:
    table = Workspace.__table__
    row = db.session.execute(sa.select(table).where(table.c.id == workspace_id)).mappings().one()
    return {column: encode(value) for column, value in row.items()}


def _write_users(archive: zipfile.ZipFile, pipe: Pipe, user_ids: list[int]):
    with archive.open(USERS_FILE, "w") as entry:
        for start in range(0, len(user_ids), BATCH):
            chunk = user_ids[start : start + BATCH]
            rows = db.session.execute(sa.select(User.id, User.email, User.name).where(User.id.in_(chunk)))
            for user_id, email, name in rows:
                entry.write(json_line({"id": user_id, "email": email, "name": name}))
            yield pipe.drain()
    return len(user_ids)


def _write_text(archive: zipfile.ZipFile, pipe: Pipe, name: str, lines: Iterator[str]):
    with archive.open(name, "w", force_zip64=True) as entry:
        for number, line in enumerate(lines, start=1):
            entry.write(line.encode())
            if number % BATCH == 0:
                yield pipe.drain()
    yield pipe.drain()


def _upload_folder(folder: str) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / folder


def _write_files(archive: zipfile.ZipFile, pipe: Pipe, workspace_id: int):
    """The uploaded files that rows still name and that are still on disk (an import's file is
    removed once it has run)."""
    counts = {}
    for (table_name, column), folder in FILES.items():
        table = db.Model.metadata.tables[table_name]
        counts[folder] = 0
        for rows in _batches(table, workspace_id):
            for name in (row[column] for row in rows):
                path = _upload_folder(folder) / name
                if not _plain_name(name) or not path.is_file():
                    continue
                with path.open("rb") as source, archive.open(file_entry(folder, name), "w", force_zip64=True) as entry:
                    while chunk := source.read(FILE_CHUNK):
                        entry.write(chunk)
                        yield pipe.drain()
                counts[folder] += 1
    return counts


def _plain_name(name) -> bool:
    return isinstance(name, str) and re.fullmatch(r"[\w][\w.-]{0,254}", name) is not None and ".." not in name


# --- custom field values -------------------------------------------------------------------------


def _sensitive_keys(workspace_id: int) -> dict[str, set[str]]:
    table = db.Model.metadata.tables["custom_fields"]
    rows = db.session.execute(
        sa.select(table.c.entity, table.c.key).where(table.c.workspace_id == workspace_id, table.c.sensitive)
    )
    keys: dict[str, set[str]] = {}
    for entity, key in rows:
        keys.setdefault(entity, set()).add(key)
    return keys


def _reveal(stored):
    return json.loads(decrypt(stored))


def _seal(value):
    return encrypt(json.dumps(value))


def _convert_custom(table: str, values: dict, sensitive: dict[str, set[str]], convert) -> None:
    """Applies ``convert`` (decrypt for a backup, encrypt for a restore) to the sensitive custom
    field values that the row holds."""
    for (owner, column), (entity, inner) in CUSTOM_VALUES.items():
        if owner != table or not sensitive.get(entity):
            continue
        holder = values.get(column)
        custom = holder.get(inner) if inner and isinstance(holder, dict) else holder
        if not isinstance(custom, dict):
            continue
        converted = {k: convert(v) if k in sensitive[entity] and v is not None else v for k, v in custom.items()}
        values[column] = {**holder, inner: converted} if inner else converted


# --- restore -------------------------------------------------------------------------------------


@dataclass
class RestoreReport:
    source: dict
    exported_at: str
    rows: int = 0
    tables: dict[str, int] = field(default_factory=dict)
    members_not_restored: list[str] = field(default_factory=list)
    files: int = 0


class IdMap:
    """Old id -> new id for one table. Rows are restored in ascending old id (the order a backup
    writes them), so two arrays and a binary search do, at 16 bytes a row."""

    def __init__(self, entry: str):
        self.entry = entry
        self.old, self.new = array("q"), array("q")

    def add(self, old: int, new: int) -> None:
        if self.old and old <= self.old[-1]:
            raise InvalidBackup(
                _("The backup is damaged: %(entry)s is not in the order Kehu writes.", entry=self.entry)
            )
        self.old.append(old)
        self.new.append(new)

    def get(self, old: int) -> int | None:
        index = bisect_left(self.old, old)
        return self.new[index] if index < len(self.old) and self.old[index] == old else None


# What a new workspace starts with besides its roles, Owner and audit log: its default pipeline and
# lost reasons and ticket categories, which a restore replaces with the backup's.
REPLACED = ("pipelines", "stages", "lost_reasons", "ticket_categories")


def tables_with_records(workspace_id: int, member_id: int) -> list[str]:
    """The tables a restore writes that already have rows of the workspace, beyond what a new
    workspace starts with (its built-in roles, its creator's membership, its audit log, its
    pipelines)."""
    found = []
    for table_plan in plan():
        table = table_plan.table
        if table_plan.name in ("audit_log", *REPLACED):
            continue
        statement = sa.select(table.c.id).where(table.c.workspace_id == workspace_id)
        if table_plan.name == "roles":
            statement = statement.where(table.c.builtin.is_(None))
        elif table_plan.name == "memberships":
            statement = statement.where(table.c.id != member_id)
        if db.session.execute(statement.limit(1)).first() is not None:
            found.append(table_plan.name)
    return found


def last_restore() -> AuditEntry | None:
    """The bound workspace's latest restore, with its report, from the audit log."""
    return db.session.scalar(
        sa.select(AuditEntry)
        .where(AuditEntry.action == "workspace.restored")
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(1)
    )


def check_empty(workspace: Workspace, member: Membership) -> None:
    found = tables_with_records(workspace.id, member.id)
    if found:
        raise NotEmpty(
            _("A backup is restored into a new, empty workspace, and this one already has records (%(tables)s). "
              "Create a new workspace and restore the backup there.", tables=", ".join(found))
        )  # fmt: skip


def restore(stream: IO[bytes], workspace: Workspace, member: Membership, max_unpacked: int | None) -> RestoreReport:
    """Restores the backup in ``stream`` into the bound, empty ``workspace`` for ``member`` (its
    Owner); raises NotEmpty or InvalidBackup, and then the caller rolls back (the files it had
    written are removed already). The caller commits."""
    check_empty(workspace, member)
    archive, manifest = open_backup(stream, max_unpacked)
    if manifest.get("schema_version") != schema_version():
        raise InvalidBackup(
            _("This backup was made by another version of Kehu (database schema %(theirs)s; this server has "
              "%(ours)s). Restore it on a server of its version, or take a new backup after upgrading that one.",
              theirs=str(manifest.get("schema_version")), ours=schema_version())
        )  # fmt: skip
    tables = plan()
    if set(manifest["tables"]) != {t.name for t in tables}:
        raise InvalidBackup(_("The tables of this backup are not those of this version of Kehu."))
    remove_pipelines()  # the backup brings its own (REPLACED)
    lost_reasons.remove_all()
    tickets.remove_all_categories()
    restoring = Restoring(archive, manifest, workspace, member)
    try:
        restoring.run(tables)
    except BaseException:
        restoring.discard_files()
        raise
    return restoring.report


class Restoring:
    """One restore: the id maps, the accounts found here, the files written."""

    def __init__(self, archive: zipfile.ZipFile, manifest: dict, workspace: Workspace, member: Membership):
        self.archive, self.workspace, self.member = archive, workspace, member
        source = manifest["workspace"] if isinstance(manifest.get("workspace"), dict) else {}
        self.report = RestoreReport(source, str(manifest.get("exported_at", "")))
        self.listed = manifest["tables"]
        self.maps: dict = {WORKSPACES: {source.get("id"): workspace.id}}
        self.written: list[Path] = []
        self.keys = id_keys()
        self.record_tables = record_tables()

    def run(self, tables: tuple[TablePlan, ...]) -> None:
        self.old_emails = self._old_users()
        self.maps[USERS] = self._users_here()
        self.sensitive = self._sensitive_keys()
        special = {"roles": self._roles, "memberships": self._memberships}
        for table_plan in tables:
            if table_plan.name in special:
                special[table_plan.name](table_plan)
                continue
            self._rows(table_plan)
            if self.report.tables.get(table_plan.name, 0) != self._rows_listed(table_plan):
                raise InvalidBackup(
                    _("The backup is incomplete: %(entry)s has fewer or more records than its manifest lists.",
                      entry=data_file(table_plan.name))
                )  # fmt: skip
        self._settings()
        self._check_plan()
        audit.record("workspace.restored", "workspace", self.workspace.id, self.audit_changes(), actor=self.member.user)
        db.session.flush()

    def _check_plan(self) -> None:
        """The restored live contacts must fit the plan, as an import's must: a backup is a file the
        owner can edit, so restoring is no way around the limit. (The workspace was empty.)"""
        plan = current_plan(self.workspace)
        live = limits.contacts_used()
        if plan is not None and plan.max_contacts is not None and live > plan.max_contacts:
            raise InvalidBackup(str(limits.LimitError(limits.CONTACTS, plan, plan.max_contacts, 0, live)))

    def _rows_listed(self, table_plan: TablePlan):
        listed = self.listed.get(table_plan.name)
        return listed.get("rows") if isinstance(listed, dict) else None

    def discard_files(self) -> None:
        for path in self.written:
            path.unlink(missing_ok=True)

    def audit_changes(self) -> dict:
        source, report = self.report.source, self.report
        changes = {
            "backup": [None, f"{source.get('name', '')} ({source.get('slug', '')}), {report.exported_at}"],
            "records": [None, report.rows],
        }
        if report.members_not_restored:
            changes["members_not_restored"] = [None, ", ".join(report.members_not_restored)]
        return changes

    # accounts

    def _old_users(self) -> dict[int, str]:
        emails = {}
        for _line, row in json_lines(self.archive, USERS_FILE):
            if not isinstance(row.get("id"), int) or not isinstance(row.get("email"), str):
                raise InvalidBackup(_("The backup is damaged: %(entry)s is not a list of accounts.", entry=USERS_FILE))
            emails[row["id"]] = row["email"].strip().lower()
        return emails

    def _users_here(self) -> dict[int, int]:
        """Old user id -> the restorer's account, for the restorer's own old id only: references to
        other accounts (who ran an import, who did what in the audit log, whose text stays) are
        cleared, so a file can neither point at nor probe other accounts of this server."""
        mine = self.member.user.email.lower()
        return {old: self.member.user_id for old, email in self.old_emails.items() if email == mine}

    def _sensitive_keys(self) -> dict[str, set[str]]:
        keys: dict[str, set[str]] = {}
        for _line, row in json_lines(self.archive, data_file("custom_fields")):
            if row.get("sensitive") is True and isinstance(row.get("entity"), str) and isinstance(row.get("key"), str):
                keys.setdefault(row["entity"], set()).add(row["key"])
        return keys

    # rows

    def _read(self, table_plan: TablePlan) -> Iterator[tuple[int, int, dict]]:
        """(line, old id, values decoded for the database) of each row of the table's file."""
        entry = data_file(table_plan.name)
        decoders = {name: decoder(table_plan.table.c[name]) for name in table_plan.columns}
        expected = set(table_plan.columns)
        for line, row in json_lines(self.archive, entry):
            if set(row) != expected:
                raise InvalidBackup(
                    _("The backup does not match this version of Kehu: line %(line)d of %(entry)s has other columns.",
                      line=line, entry=entry)
                )  # fmt: skip
            try:
                values = {name: decoders[name](value) for name, value in row.items()}
            except (TypeError, ValueError):
                raise InvalidBackup(
                    _("The backup is damaged: line %(line)d of %(entry)s holds a value that cannot be read.",
                      line=line, entry=entry)
                ) from None  # fmt: skip
            if values["id"] is None:
                raise InvalidBackup(_("The backup is damaged: line %(line)d of %(entry)s has no id.", line=line,
                                      entry=entry))  # fmt: skip
            yield line, values.pop("id"), values

    def _rewrite(self, table_plan: TablePlan, line: int, values: dict) -> dict:
        """The row with this workspace's id and every reference pointing at the new rows."""
        name = table_plan.name
        values["workspace_id"] = self.workspace.id
        for reference in table_plan.references:
            old = values[reference.column]
            if old is None:
                continue
            if reference.table == RECORD_TYPE:
                values[reference.column] = self._record_id(values.get("record_type"), old)
                continue
            new = self.maps[reference.table].get(old) if reference.table in self.maps else None
            if new is None and reference.table != USERS and self._is_foreign_key(table_plan, reference.column):
                raise InvalidBackup(
                    _("The backup is damaged: line %(line)d of %(entry)s points at a record that is not in it.",
                      line=line, entry=data_file(name))
                )  # fmt: skip
            values[reference.column] = new  # an account not on this server, or a soft reference gone
        for owner, column in KEYED_IDS:
            if owner == name:
                values[column] = self._keyed_ids(values[column])
        for owner, column in IDS_BY_TABLE:
            if owner == name and isinstance(values[column], dict):
                values[column] = {
                    key: self._ids(ids, self.maps[key]) if key in self.maps else ids
                    for key, ids in values[column].items()
                }
        for (owner, column), arguments in QUERY_IDS.items():
            if owner == name and isinstance(values[column], str):
                values[column] = self._query_ids(values[column], arguments)
        _convert_custom(name, values, self.sensitive, _seal)
        for (owner, column), folder in FILES.items():
            if owner == name:
                values[column] = self._file(folder, values[column])
        return values

    @staticmethod
    def _is_foreign_key(table_plan: TablePlan, column: str) -> bool:
        return any(
            element.parent.name == column
            for constraint in table_plan.table.foreign_key_constraints
            for element in constraint.elements
        )

    def _record_id(self, record_type, old: int) -> int | None:
        table = self.record_tables.get(record_type) if isinstance(record_type, str) else None
        mapping = self.maps.get(table)
        return mapping.get(old) if mapping is not None else None

    def _ids(self, value, mapping):
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return mapping.get(value)
        if isinstance(value, list):
            return [self._ids(item, mapping) for item in value]
        return value

    def _keyed_ids(self, value):
        if not isinstance(value, dict):
            return value
        return {
            key: self._ids(item, self.maps[self.keys[key]]) if self.keys.get(key) in self.maps else item
            for key, item in value.items()
        }

    def _query_ids(self, query: str, arguments: dict[str, str]) -> str:
        def swap(match: re.Match) -> str:
            new = self.maps[arguments[match.group(2)]].get(int(match.group(3)))
            return f"{match.group(1)}{match.group(2)}={'' if new is None else new}"

        pattern = rf"(^|&)({'|'.join(map(re.escape, arguments))})=(\d+)(?=&|$)"
        return re.sub(pattern, swap, query)

    def _file(self, folder: str, old_name):
        """A new name for the file (never the backup's: it must not choose a path, nor name
        another workspace's file), with the file's content when the backup has it."""
        if not isinstance(old_name, str):
            return old_name
        suffix = Path(old_name).suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,5}", Path(old_name).suffix) else ""
        new_name = f"{self.workspace.id}-{secrets.token_hex(16)}{suffix}"
        try:
            source = self.archive.open(file_entry(folder, old_name))
        except KeyError:
            return new_name
        target = _upload_folder(folder) / new_name
        target.parent.mkdir(parents=True, exist_ok=True)
        self.written.append(target)
        try:
            with source, target.open("wb") as out:
                shutil.copyfileobj(source, out, FILE_CHUNK)
        except (zipfile.BadZipFile, OSError, EOFError):
            raise InvalidBackup(
                _("The backup is damaged: %(entry)s cannot be read.", entry=file_entry(folder, old_name))
            ) from None
        self.report.files += 1
        return new_name

    def _rows(self, table_plan: TablePlan) -> None:
        mapping = self.maps[table_plan.name] = IdMap(data_file(table_plan.name))
        own = [r.column for r in table_plan.references if r.table == table_plan.name]  # tickets.merged_into_id
        later: list[tuple[int, str, int, int]] = []  # (line, column, old id, old id it points at)
        batch: list[tuple[int, dict]] = []
        for line, old_id, values in self._read(table_plan):
            pointing = {column: values[column] for column in own if values[column] is not None}
            later += [(line, column, old_id, target) for column, target in pointing.items()]
            values.update(dict.fromkeys(pointing))  # the row it points at may come later in the file
            batch.append((old_id, self._rewrite(table_plan, line, values)))
            if len(batch) >= BATCH:
                self._insert(table_plan, batch, mapping)
                batch = []
        self._insert(table_plan, batch, mapping)
        self._point_within(table_plan, later, mapping)

    def _point_within(self, table_plan: TablePlan, later: list[tuple[int, str, int, int]], mapping) -> None:
        """References of a table to its own rows, set once all of its rows are in."""
        table = table_plan.table
        for line, column, old_id, target in later:
            new_target = mapping.get(target)
            if new_target is None:
                raise InvalidBackup(
                    _("The backup is damaged: line %(line)d of %(entry)s points at a record that is not in it.",
                      line=line, entry=data_file(table_plan.name))
                )  # fmt: skip
            kept = {"updated_at": table.c.updated_at} if "updated_at" in table.c else {}  # not "now" (onupdate)
            statement = sa.update(table).where(
                table.c.workspace_id == self.workspace.id, table.c.id == mapping.get(old_id)
            )
            db.session.execute(statement.values({column: new_target, **kept}))

    def _insert(self, table_plan: TablePlan, batch: list[tuple[int, dict]], mapping) -> None:
        if not batch:
            return
        table = table_plan.table
        statement = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
        try:
            with plans_kept(db.session.connection()):
                new_ids = db.session.execute(statement, [values for _old, values in batch]).scalars().all()
        except sa.exc.DBAPIError as error:
            raise InvalidBackup(
                _("The backup cannot be restored: the database refused a record of %(entry)s.",
                  entry=data_file(table_plan.name))
            ) from error  # fmt: skip
        for (old_id, _values), new_id in zip(batch, new_ids, strict=True):
            mapping.add(old_id, new_id)
        self.report.rows += len(batch)
        self.report.tables[table_plan.name] = self.report.tables.get(table_plan.name, 0) + len(batch)

    # roles and memberships: the new workspace has its built-in roles and its Owner already

    def _roles(self, table_plan: TablePlan) -> None:
        mapping = self.maps["roles"] = {}
        builtin = {role.builtin: role for role in db.session.scalars(sa.select(Role).where(Role.builtin.is_not(None)))}
        matched, created = [], []
        for line, old_id, values in self._read(table_plan):
            role = builtin.pop(values["builtin"], None) if values["builtin"] else None
            if role is None:
                created.append((old_id, self._rewrite(table_plan, line, values)))
            else:
                matched.append((role, old_id, values))
        for role, _old_id, _values in matched:  # names are unique: free them all before taking new ones
            role.name = f"~{role.id}"
        db.session.flush()
        for role, old_id, values in matched:
            for name, value in values.items():
                if name not in ("builtin", "workspace_id"):
                    setattr(role, name, value)
            if role.builtin == OWNER:  # the Owner role is fixed: it always has everything
                role.permissions, role.record_scope = list(PERMISSIONS), "all"
            mapping[old_id] = role.id
        db.session.flush()
        self.report.rows += len(matched)
        self.report.tables["roles"] = len(matched)
        self._insert_small(table_plan, created, mapping)

    def _memberships(self, table_plan: TablePlan) -> None:
        """Only the restorer's membership comes back (theirs is this workspace's). Nobody else is
        put into a workspace by a file: a crafted backup could name any account of the server, and
        telling which addresses have one would list them. Their records become the restorer's; the
        report names them, to be invited again."""
        mapping = self.maps["memberships"] = {}
        mine = self.member.user.email.lower()
        for line, old_id, values in self._read(table_plan):
            email = self.old_emails.get(values["user_id"])
            if email is None:
                raise InvalidBackup(
                    _("The backup is damaged: line %(line)d of %(entry)s names an account it does not list.",
                      line=line, entry=data_file("memberships"))
                )  # fmt: skip
            mapping[old_id] = self.member.id
            if email != mine:
                self.report.members_not_restored.append(email)

    def _insert_small(self, table_plan: TablePlan, rows: list[tuple[int, dict]], mapping: dict) -> None:
        collected = IdMap(data_file(table_plan.name))
        self._insert(table_plan, rows, collected)
        mapping.update(zip(collected.old, collected.new, strict=True))

    def _settings(self) -> None:
        """The workspace's settings (time zone, currency, customer rules, logo...) from the backup."""
        try:
            settings = json.loads(read_member(self.archive, WORKSPACE))
        except (KeyError, ValueError):
            raise InvalidBackup(_("The backup is incomplete: %(entry)s is missing.", entry=WORKSPACE)) from None
        table = Workspace.__table__
        if not isinstance(settings, dict) or set(settings) != {column.name for column in table.columns}:
            raise InvalidBackup(_("The backup does not match this version of Kehu: %(entry)s has other settings.",
                                  entry=WORKSPACE))  # fmt: skip
        for name, value in settings.items():
            if name in KEPT_SETTINGS:
                continue
            try:
                setattr(self.workspace, name, decoder(table.c[name])(value))
            except (TypeError, ValueError):
                raise InvalidBackup(_("The backup is damaged: %(entry)s holds a value that cannot be read.",
                                      entry=WORKSPACE)) from None  # fmt: skip
        self._check_logo()
        self.workspace.brand_color = branding.normalize(self.workspace.brand_color)  # as its settings form would
        # Its custom field definitions changed: the per-process caches key on this.
        self.workspace.custom_fields_version = (self.workspace.custom_fields_version or 0) + 1

    def _check_logo(self) -> None:
        """A logo is kept only if it passes the checks of an upload (size, a real PNG, JPEG or WebP)."""
        logo = self.workspace.logo
        if logo is None and self.workspace.logo_type is None:
            return
        if not logo or len(logo) > LOGO_MAX_BYTES or sniff_image_type(logo) not in LOGO_TYPES:
            raise InvalidBackup(_("The backup is damaged: %(entry)s holds a logo that is not an image.",
                                  entry=WORKSPACE))  # fmt: skip
        self.workspace.logo_type = sniff_image_type(logo)
