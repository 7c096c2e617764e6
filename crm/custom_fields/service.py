"""Custom field definitions (cached per process by the workspace's version) and their values:
conversion for storage (sensitive ones encrypted with the secrets key), display, masking, and
the audit of changes. The caller commits."""

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import format_date, gettext
from slugify import slugify
from sqlalchemy.dialects.postgresql import JSONB

from crm.audit import service as audit
from crm.custom_fields import reserved
from crm.custom_fields.models import RANGED, WITH_OPTIONS, CustomField
from crm.extensions import db
from crm.secrets import decrypt, encrypt

MASK = "••••••"
_cache: dict[tuple, tuple] = {}


@dataclass(frozen=True)
class FieldDef:
    """A detached snapshot of a definition, safe to keep between requests."""

    id: int
    entity: str
    key: str
    label: str
    kind: str
    options: tuple
    required: bool
    sensitive: bool

    @property
    def name(self) -> str:
        """Its form field and query argument name."""
        return f"cf_{self.key}"

    @property
    def filterable(self) -> bool:
        return self.kind in ("text", "select", "multi_select", "checkbox", "url") and not self.sensitive

    @property
    def ranged(self) -> bool:
        """Filtered by a range (``cf_<key>_from`` and ``cf_<key>_to``) rather than a value."""
        return self.kind in RANGED and not self.sensitive


def forget_definitions() -> None:
    """For tests, whose database is emptied between them while the process lives on."""
    _cache.clear()


def definitions(workspace, entity: str) -> list[FieldDef]:
    """The workspace's fields for ``entity`` in order; no query while its version is unchanged.
    The creation time is in the key because a deleted workspace's id can come back (SQLite)."""
    cache_key = (workspace.id, workspace.created_at, workspace.custom_fields_version)
    if cache_key not in _cache:
        rows = db.session.scalars(sa.select(CustomField).order_by(CustomField.position, CustomField.id))
        snapshot = tuple(
            FieldDef(f.id, f.entity, f.key, f.label, f.kind, tuple(f.options or ()), f.required, f.sensitive)
            for f in rows
        )
        for old in [key for key in _cache if key[0] == workspace.id]:
            del _cache[old]
        _cache[cache_key] = snapshot
    return [field for field in _cache[cache_key] if field.entity == entity]


def _changed(workspace) -> None:
    """A new version, counted by the database from the one stored: not from the one this request
    read, which another admin's change may have raised meanwhile (both would then write the same
    version, and a worker that cached it with one of the two fields would never see the other)."""
    table = type(workspace)
    bump = sa.update(table).where(table.id == workspace.id)
    db.session.execute(bump.values(custom_fields_version=sa.func.coalesce(table.custom_fields_version, 0) + 1),
                       execution_options={"synchronize_session": False})  # fmt: skip
    db.session.expire(workspace, ["custom_fields_version"])


# --- definitions -------------------------------------------------------------------------------


def _unique_key(entity: str, label: str, kind: str) -> str:
    """A key made from the label that no other field of ``entity`` has. It names the field's filter
    (``cf_<key>``), and a number or date field's filter takes ``cf_<key>_from`` and ``cf_<key>_to``
    as well: so no key is another field's range end, nor has ends that are another field's key
    (a date field "Start" and a text field "Start from" gave two inputs named ``cf_start_from``)."""
    base = slugify(label, separator="_", max_length=30) or "field"
    others = db.session.execute(sa.select(CustomField.key, CustomField.kind).where(CustomField.entity == entity)).all()
    keys = {key for key, _kind in others}
    taken = keys | {end for key, other_kind in others if other_kind in RANGED for end in range_ends(key)}
    key, n = base, 1
    while key in taken or (kind in RANGED and not keys.isdisjoint(range_ends(key))):
        n += 1
        key = f"{base}_{n}"
    return key


def range_ends(key: str) -> tuple[str, str]:
    """The keys a number or date field's range filter takes (``cf_`` before each)."""
    return f"{key}_from", f"{key}_to"


def create_field(workspace, entity: str, label: str, kind: str, options: list[str], required: bool,
                 sensitive: bool) -> CustomField:  # fmt: skip
    last = db.session.scalar(sa.select(sa.func.max(CustomField.position)).where(CustomField.entity == entity))
    field = CustomField(entity=entity, key=_unique_key(entity, label, kind), label=label, kind=kind,
                        options=options if kind in WITH_OPTIONS else [], required=required, sensitive=sensitive,
                        position=(last or 0) + 1)  # fmt: skip
    db.session.add(field)
    db.session.flush()
    audit.record("custom_field.created", "custom_field", field.id, {"label": [None, label], "kind": [None, kind]})
    _changed(workspace)
    return field


def update_field(workspace, field: CustomField, label: str, options: list[str], required: bool) -> None:
    """Label, options and the required flag change; the key, kind and sensitivity do not (values
    already stored depend on them)."""
    field.label, field.required = label, required
    if field.kind in WITH_OPTIONS:
        field.options = options
    changes = audit.changes_of(field, ("label", "options", "required"))
    if changes:
        audit.record("custom_field.updated", "custom_field", field.id, changes)
        _changed(workspace)


def rename_option(workspace, field: CustomField, old: str, new: str) -> int:
    """Renames the choice ``old`` of a list field to ``new`` in its definition and on every record
    that holds it (the trash too), in one UPDATE where the values are plain JSON; returns how many
    records changed. Editing the list of choices instead removes one and adds another: records keep
    the old one, marked "no longer offered" on their form. A multi-select record may already hold
    ``new`` as such a retired choice: it then holds it once, where the first of the two stood."""
    field.options = [new if option == old else option for option in field.options]
    model = model_of(field.entity)
    if field.sensitive:
        count = _rename_encrypted(model, field, old, new)
    else:
        among = field.kind == "multi_select"
        holding = sa.and_(model.workspace_id == workspace.id, _holding(model, among))  # RLS and the scope as well
        statement = sa.update(model).where(holding).values(custom=_renamed(model, among))
        params = {"old": old, "new": new, "key": field.key, "path": f'$."{field.key}"'}
        count = db.session.execute(statement, params, execution_options={"synchronize_session": False}).rowcount
    audit.record("custom_field.option_renamed", "custom_field", field.id,
                 {"label": field.label, "choice": [old, new], "records": count})  # fmt: skip
    _changed(workspace)
    return count


def _holding(model, among: bool):
    """``model``'s row holds the choice ``:old`` under ``:key`` (among its choices, when ``among``);
    ``:path`` is the key's JSON path on SQLite. Values are bound: a key read back from a restored
    backup is not trusted into the statement."""
    table = model.__tablename__
    if db.engine.dialect.name == "postgresql":
        if among:
            return sa.text(f"{table}.custom -> CAST(:key AS text) @> jsonb_build_array(CAST(:old AS text))")
        return sa.text(f"{table}.custom -> CAST(:key AS text) = to_jsonb(CAST(:old AS text))")
    if among:
        return sa.text(f"EXISTS (SELECT 1 FROM json_each({table}.custom, :path) WHERE value = :old)")
    return sa.text(f"json_type({table}.custom, :path) = 'text' AND json_extract({table}.custom, :path) = :old")


def _renamed(model, among: bool):
    """``model``'s custom values with ``:old`` under ``:key`` written ``:new`` (in its place among
    the choices, when ``among``, each choice kept once: at its first place, should the record hold
    ``:new`` already)."""
    table = model.__tablename__
    if db.engine.dialect.name == "postgresql":
        at = "CAST(ARRAY[CAST(:key AS text)] AS text[])"
        if not among:
            return sa.text(f"jsonb_set({table}.custom, {at}, to_jsonb(CAST(:new AS text)))")
        each = "CASE WHEN e = to_jsonb(CAST(:old AS text)) THEN to_jsonb(CAST(:new AS text)) ELSE e END"
        return sa.text(
            f"jsonb_set({table}.custom, {at}, (SELECT jsonb_agg(choice ORDER BY n) FROM (SELECT {each} AS choice,"
            f" min(n) AS n FROM jsonb_array_elements({table}.custom -> CAST(:key AS text)) WITH ORDINALITY AS t(e, n)"
            f" GROUP BY 1) AS firsts))"
        )
    if not among:
        return sa.text(f"json_set({table}.custom, :path, :new)")
    # json(): a subquery's result loses its JSON subtype, and json_set would store it as a string.
    # SQLite (before 3.44) has no ORDER BY in an aggregate: the choices are read in their order and
    # those an earlier one already gives are left out, rather than grouped (which may reorder them).
    each, earlier = (f"CASE WHEN {name}.value = :old THEN :new ELSE {name}.value END" for name in "ef")
    first = (
        f"NOT EXISTS (SELECT 1 FROM json_each({table}.custom, :path) AS f WHERE f.key < e.key AND {earlier} = {each})"
    )
    return sa.text(
        f"json_set({table}.custom, :path, json((SELECT json_group_array({each})"
        f" FROM json_each({table}.custom, :path) AS e WHERE {first})))"
    )


def _rename_encrypted(model, field: CustomField, old: str, new: str) -> int:
    """A sensitive field's values are encrypted: each is read, renamed and encrypted again."""
    count = 0
    for record in db.session.scalars(sa.select(model).where(_has_key(model, field.key))):
        value = json.loads(decrypt(record.custom[field.key]))
        renamed = (
            list(dict.fromkeys(new if each == old else each for each in value)) if isinstance(value, list) else new
        )
        if value == old or (isinstance(value, list) and old in value):
            record.custom = {**record.custom, field.key: encrypt(json.dumps(renamed))}
            count += 1
    return count


def move_field(workspace, field: CustomField, step: int) -> None:
    siblings = list(db.session.scalars(
        sa.select(CustomField).where(CustomField.entity == field.entity).order_by(CustomField.position, CustomField.id)
    ))  # fmt: skip
    index = siblings.index(field)
    other = index + step
    if 0 <= other < len(siblings):
        siblings[index], siblings[other] = siblings[other], siblings[index]
        for position, each in enumerate(siblings, start=1):
            each.position = position
        # The place among its entity's fields (1 = first), as the settings page lists them.
        audit.record("custom_field.moved", "custom_field", field.id,
                     {"label": field.label, "position": [index + 1, other + 1]})  # fmt: skip
        _changed(workspace)


def model_of(entity: str):
    """The model whose ``custom`` column holds the values of ``entity``'s fields."""
    from crm.contacts.models import Company, Contact
    from crm.deals.models import Deal

    return {"contact": Contact, "company": Company, "deal": Deal}[entity]


def records_holding(field: CustomField) -> int:
    """How many records (in the trash too) hold a value of ``field``: what deleting it deletes."""
    model = model_of(field.entity)
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(_has_key(model, field.key)))


def delete_field(workspace, field: CustomField) -> None:
    """Removes the definition and its values from every record (sensitive data does not linger)."""
    model = model_of(field.entity)
    for record in db.session.scalars(sa.select(model).where(_has_key(model, field.key))):
        record.custom = {k: v for k, v in record.custom.items() if k != field.key}
    if field.entity == "contact":
        _forget_kept_copies(field.key)
    audit.record("custom_field.deleted", "custom_field", field.id, {"label": [field.label, None]})
    db.session.delete(field)
    _changed(workspace)


def _forget_kept_copies(key: str) -> None:
    """Removes a deleted contact field's values from the copies kept for undoing an import or a
    merge: a field made again with its key (to change its type) would otherwise read them, as a
    number or a day they are not (the contact's page failed), or get them back on an undo."""
    from crm.duplicates.models import ContactMerge
    from crm.imports.models import ImportChange

    for column in (ImportChange.before, ImportChange.after, ContactMerge.before):
        if db.engine.dialect.name == "postgresql":
            holding = sa.cast(column, JSONB)["custom"].has_key(key)
        else:
            holding = sa.func.json_type(column, f'$.custom."{key}"').isnot(None)
        for row in db.session.scalars(sa.select(column.class_).where(holding)):
            kept = getattr(row, column.key)
            setattr(row, column.key, {**kept, "custom": {k: v for k, v in kept["custom"].items() if k != key}})


def _has_key(model, key: str):
    if db.engine.dialect.name == "postgresql":
        return sa.type_coerce(model.custom, JSONB).has_key(key)
    return sa.func.json_type(model.custom, f'$."{key}"').isnot(None)


# --- values ------------------------------------------------------------------------------------


def _plain(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def to_storage(field: FieldDef, value):
    """The JSON value kept on the record (None: not stored)."""
    if value in (None, "", []) or (field.kind == "checkbox" and value is False):
        return None
    value = _plain(value)
    return encrypt(json.dumps(value)) if field.sensitive else value


def from_storage(field: FieldDef, stored):
    if stored is None:
        return None
    value = json.loads(decrypt(stored)) if field.sensitive else stored
    if field.kind == "date" and value:
        return date.fromisoformat(value)
    if field.kind == "number" and value is not None:
        return Decimal(str(value))
    return value


def filter_choices(field: FieldDef, value: str) -> tuple[list[tuple[str, str]], str]:
    """A list field's filter choices, (value, label), and the one ``value`` (from a link or a saved
    view) chooses: its option in whatever case, or, when no option is that any more (renamed or
    removed since), itself, marked "no longer offered", so that the panel shows the filter that
    is on and sending the panel again keeps it."""
    choices = [(option, option) for option in field.options]
    if not value:
        return choices, ""
    chosen = next((option for option in field.options if option.casefold() == value.casefold()), None)
    if chosen is not None:
        return choices, chosen
    return [*choices, (value, gettext("%(option)s (no longer offered)", option=value))], value


def display(field: FieldDef, stored, reveal: bool = False) -> str:
    """Plain text, the same in every language (a date as 2026-03-01): for the audit log, backups and
    comparisons; a sensitive value shows as a mask unless ``reveal``. Pages use ``page_text``."""
    if stored is None:
        return ""
    if field.sensitive and not reveal:
        return MASK
    value = from_storage(field, stored)
    if field.kind == "multi_select":
        return ", ".join(value)
    if field.kind == "checkbox":
        return "✓" if value else ""
    if field.kind == "date":
        return value.isoformat()
    if field.kind == "number":
        return number_text(value)
    return str(value)


def readable_values(fields: list[FieldDef], custom: dict) -> dict:
    """A record's custom values as its person reads them (a privacy copy): under each field's label,
    sensitive ones decrypted, as JSON values (a day as 2026-03-01, a number as the text it was
    typed as, a list field's choices as a list, a ticked box as true)."""
    values = {}
    for field in fields:
        value = from_storage(field, (custom or {}).get(field.key))
        if value is None:
            continue
        if field.kind == "number":
            value = number_text(value)
        elif field.kind == "date":
            value = value.isoformat()
        values[field.label] = value
    return values


def page_text(field: FieldDef, stored, reveal: bool = False) -> str:
    """``display`` as a page shows it to the member: a date in their language ("Mar 1, 2026",
    "2026年3月1日"), as the record's page and the lists write every other day."""
    if field.kind == "date" and stored is not None and (reveal or not field.sensitive):
        return format_date(from_storage(field, stored))
    return display(field, stored, reveal)


def export_value(field: FieldDef, stored, reveal: bool = False):
    """A cell of the contacts and companies exports: a number as a Decimal and a day as a date, as
    the built-in amounts are (an XLSX file holds a number and a date; CSV writes 25000.5 and
    2026-03-01), anything else, and a masked value, as ``display``'s text."""
    if stored is None or field.kind not in ("number", "date") or (field.sensitive and not reveal):
        return display(field, stored, reveal)
    value = from_storage(field, stored)
    return Decimal(number_text(value)) if field.kind == "number" else value


def number_text(value: Decimal) -> str:
    """A stored number as it was meant: 100 not "100.0", 12.5 not "1.25E+1", 0 not "-0.0"."""
    if value == 0:
        return "0"
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def merged(fields: list[FieldDef], current: dict, submitted: dict) -> tuple[dict, dict]:
    """The record's new ``custom`` dict (fields not submitted are kept) and the audit changes,
    sensitive ones masked, each under the field's label (``reserved.audit_name``)."""
    new, changes = dict(current or {}), {}
    for field in fields:
        if field.key not in submitted:
            continue
        stored = to_storage(field, submitted[field.key])
        before = new.get(field.key)
        if from_storage(field, before) == from_storage(field, stored):
            continue
        if stored is None:
            new.pop(field.key, None)
        else:
            new[field.key] = stored
        changes[reserved.audit_name(field)] = [_audit_text(field, before), _audit_text(field, stored)]
    return new, changes


def changes_between(fields: list[FieldDef], before: dict, after: dict) -> dict:
    """The audit changes from one stored ``custom`` dict to another (a merge's, its undo's), as
    ``merged`` logs them: by label, sensitive values masked, compared decrypted."""
    changes = {}
    for field in fields:
        old, new = (before or {}).get(field.key), (after or {}).get(field.key)
        if from_storage(field, old) != from_storage(field, new):
            changes[reserved.audit_name(field)] = [_audit_text(field, old), _audit_text(field, new)]
    return changes


def _audit_text(field: FieldDef, stored):
    if stored is None:
        return None
    return MASK if field.sensitive else display(field, stored, reveal=True)


def reencrypt_sensitive_values() -> int:
    """``flask crm reencrypt-secrets``: every sensitive custom value, workspace by workspace (each
    in its own transaction), moved to the first key of ENCRYPTION_KEYS."""
    from crm.secrets import reencrypt
    from crm.tenancy import ALL_WORKSPACES, workspace_scope
    from crm.workspaces.models import Workspace

    count = 0
    for workspace_id in db.session.scalars(sa.select(Workspace.id).execution_options(**ALL_WORKSPACES)).all():
        with workspace_scope(workspace_id):
            sensitive = db.session.execute(sa.select(CustomField.entity, CustomField.key).where(CustomField.sensitive))
            for entity, key in sensitive.all():
                model = model_of(entity)
                for record in db.session.scalars(sa.select(model).where(_has_key(model, key))):
                    record.custom = {**record.custom, key: reencrypt(record.custom[key])}
                    count += 1
            db.session.commit()
    return count
