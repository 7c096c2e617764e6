"""The dry run and the import of a contacts spreadsheet, as background jobs: the file is read a
batch at a time (constant memory), each batch parsed, matched and, for the real run, written with
multi-row INSERTs and committed with the progress. Both runs go through the same steps, so the dry
run's counts are what the import will do (unless the data changes in between)."""

import gc
from collections import Counter
from contextlib import closing, contextmanager
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel.speaklater import LazyString

from crm.audit import service as audit
from crm.auth.models import User
from crm.billing import limits
from crm.billing.limits import LimitError
from crm.contacts import classification, identities
from crm.contacts.forms import MAX_EMAILS, MAX_PHONES
from crm.contacts.models import Company, Contact, ContactTag, Tag, month_day
from crm.contacts.service import company_search_text, search_text_of
from crm.db import utcnow
from crm.duplicates import service as duplicates
from crm.extensions import db
from crm.i18n import lazy_gettext as _l
from crm.imports import storage
from crm.imports.companies import CompanyWork
from crm.imports.contact_rows import Column, ContactRow, RowContext, parse
from crm.imports.fields import CUSTOM_PREFIX, allowed, custom_fields_of
from crm.imports.models import Import, ImportChange, ImportProblem, change_value
from crm.imports.parsing import parsed_batches
from crm.imports.purchases import PurchaseWork
from crm.imports.reader import UnreadableFile, count_rows
from crm.imports.work import RowWork, among, insert_returning_ids, insert_rows, update_rows
from crm.jobs import enqueue
from crm.workspaces.models import ACTIVE, Membership, Workspace

BATCH = 1000
STALLED_AFTER = timedelta(minutes=10)  # a batch of 1,000 rows takes seconds
SCALAR_FIELDS = ("name", "title", "gender", "birthday", "source", "owner_id", "about", "street", "city", "region",
                 "postal_code", "country", "external_id")  # fmt: skip
NO_FIELDS = dict.fromkeys(SCALAR_FIELDS)
READ_FIELDS = (*SCALAR_FIELDS, "company_id", "emails", "phones", "custom")  # what an update reads of a contact
KEY_LABELS = {"email": _l("email address"), "phone": _l("phone number"), "external_id": _l("ID")}
# What every new contact starts with (sent once per batch, not once per row).
NEW_CONTACT = {"lifecycle": "lead", "level": "ordinary", "level_pinned": False, "lifetime_value": 0, "value_12m": 0,
               "value_prev_12m": 0}  # fmt: skip


def check(import_id: int) -> None:
    """The dry run: counts and problems, nothing written but them."""
    _process(import_id, write=False)


def run(import_id: int) -> None:
    _process(import_id, write=True)


def _process(import_id: int, write: bool) -> None:
    job = db.session.get(Import, import_id)
    if job is None or job.status != ("importing" if write else "checking"):
        return  # cancelled or already handled
    importer = _importer(job)
    with force_locale(importer.locale if importer and importer.locale else "en"):  # the reasons it writes
        if write and not _fits_the_plan(job):
            return
        try:
            _go_through(job, write)
        except UnreadableFile as error:
            _fail(import_id, write, error.message)
        except LimitError as error:  # more new contacts than the dry run counted (the data changed since)
            _fail(import_id, write, _l("%(reason)s The rows before it were kept; undo removes them.",
                                       reason=error.reason_text))  # fmt: skip
        except Exception:
            _fail(import_id, write, _l("The import stopped unexpectedly; the rows before it were kept.")
                  if write else _l("The check stopped unexpectedly. Try again, or upload the file again."))  # fmt: skip
            raise


def _fits_the_plan(job: Import) -> bool:
    """Before writing anything: the dry run's new contacts must fit the plan's contacts limit, or
    the import goes back to "checked" with the reason, nothing written (the route checked too; the
    room may have shrunk since)."""
    if job.entity != "contacts":
        return True
    try:
        limits.check_contacts(db.session.get(Workspace, job.workspace_id), job.created_count)
    except LimitError as error:
        job.status = "checked"
        job.set_failure(_l("%(reason)s Nothing was imported.", reason=error.reason_text))
        db.session.commit()
        return False
    return True


def _importer(job: Import) -> User | None:
    return db.session.get(User, job.user_id) if job.user_id else None


def _go_through(job: Import, write: bool) -> None:
    path, layout = storage.path_of(job), storage.layout_of(job)
    db.session.execute(sa.delete(ImportProblem).where(ImportProblem.import_id == job.id))
    work = _work_for(job, write)
    # Parsing starts (in a second process, for a big file) while the rows are counted here; a
    # parser process ends with the loop, even a failed one.
    with closing(parsed_batches(work.parse, path, layout, BATCH)) as batches, _old_objects_left_alone():
        job.rows_total, job.rows_done = count_rows(path, layout), 0
        job.created_count = job.updated_count = job.skipped_count = job.invalid_count = job.companies_created = 0
        db.session.commit()
        _replan_key_checks()
        for size, parsed in batches:
            with db.session.no_autoflush:  # the job's counts go with the batch's commit, not before each query
                work.take(parsed)
            job.rows_done += size
            db.session.commit()
            _replan_key_checks()
    work.finish()
    job.status, job.finished_at = ("done" if write else "checked"), utcnow()
    if write:
        counts = {"created": job.created_count, "updated": job.updated_count, "skipped": job.skipped_count,
                  "invalid": job.invalid_count, "file": job.filename}  # fmt: skip
        audit.record("import.completed", "import", job.id, counts, actor=_importer(job))
    db.session.commit()
    if write:
        storage.remove(job)
        if job.entity == "contacts":
            enqueue(duplicates.scan_job, job.workspace_id)  # its own job: the import is done meanwhile


@contextmanager
def _old_objects_left_alone():
    """The garbage collector's full collections, which a batch's many new objects set off, walk every
    object of the process (the app's modules, SQLAlchemy's caches: 0.1 s each, 0.35 s of a 20,000-row
    import, 0.06 s without them); the objects older than the import are left out of them until it ends."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _replan_key_checks() -> None:
    """PostgreSQL plans a foreign-key check once per connection and keeps the plan until the table's
    statistics change. Importing into a young table, that plan is a sequential scan chosen when the
    table was nearly empty, and every new contact's checks then read the whole table (an import into
    a fresh database measured 300 rows a second, 1,250 with this). Statistics come from autovacuum,
    which may be late or off; forgetting the plans each batch costs a few re-plans. A table whose
    statistics lag far behind it (none at all, or taken when it held half its rows or fewer) gets
    plans that read a match's or a check's rows through an index on workspace_id alone (every row of
    the workspace, for each row looked up): such tables are analyzed again before the first batch and
    after any batch (migration 0054). An update import of 20,000 rows into a table analyzed empty took
    30 s of the database's CPU in its dry run, 0.7 s with this."""
    if db.session.get_bind().dialect.name == "postgresql":
        if db.session.scalar(sa.text("SELECT analyze_if_stale()")):
            db.session.commit()  # ANALYZE's lock goes at once
        db.session.execute(sa.text("DISCARD PLANS"))


def _fail(import_id: int, write: bool, message: LazyString) -> None:
    """A failed import keeps the batches it committed (undo removes them); a failed check goes
    back to the mapping, with the message."""
    db.session.rollback()
    job = db.session.get(Import, import_id)
    job.status = "failed" if write else "uploaded"
    job.set_failure(message)
    job.finished_at = utcnow() if write else None
    db.session.commit()


def _work_for(job: Import, write: bool) -> RowWork:
    if job.entity == "contacts":
        return Work(job, write)
    context = context_for(db.session.get(Workspace, job.workspace_id), job.entity, _sees_sensitive(job))
    work_class = CompanyWork if job.entity == "companies" else PurchaseWork
    return work_class(job, write, context, columns_of(job, context))


def _sees_sensitive(job: Import) -> bool:
    """Whether the member who started the import may see (so fill) sensitive details, now."""
    member = db.session.scalar(sa.select(Membership).where(Membership.user_id == job.user_id))
    return member is not None and member.can("contacts.sensitive")


def context_for(workspace: Workspace, entity: str = "contacts", sensitive: bool = True) -> RowContext:
    members = db.session.execute(
        sa.select(User.email, User.name, Membership.id).join(User, User.id == Membership.user_id)
        .where(Membership.status == ACTIVE)
    ).all()  # fmt: skip
    custom = {definition.key: definition for definition in custom_fields_of(workspace, entity, sensitive)}
    # An owner is named by email, or by name as Kehu's own export writes it (a name two members
    # share names neither).
    names = Counter(name.casefold() for _email, name, _id in members if name)
    by_name = {
        name.casefold(): member_id for _email, name, member_id in members if name and names[name.casefold()] == 1
    }
    by_email = {email.lower(): member_id for email, _name, member_id in members}
    return RowContext(workspace.phone_region, {**by_name, **by_email}, custom, classification.today_in(workspace),
                      sensitive, workspace.currency)  # fmt: skip


def columns_of(job: Import, context: RowContext) -> list[Column]:
    """The file's columns the job fills: a custom field deleted since the mapping, or a sensitive
    one the member may not fill, is left out."""
    known = allowed(job.entity, context.sensitive) | {CUSTOM_PREFIX + key for key in context.custom}
    return [
        Column(index, target, job.headers[index])
        for index, target in enumerate(job.mapping)
        if target and target in known  # a custom field deleted since the mapping is left out
    ]


class Work(RowWork):
    """One pass over a file of contacts: what has been seen (in-file duplicates), companies and
    tags found."""

    def __init__(self, job: Import, write: bool):
        super().__init__(job, write)
        workspace = db.session.get(Workspace, job.workspace_id)
        self.context = context_for(workspace, "contacts", _sees_sensitive(job))
        self.columns = columns_of(job, self.context)
        self.required = [field for field in self.context.custom.values() if field.required]
        # Without an owner column, new contacts are the importer's (as a contact added by hand).
        self.default_owner = db.session.scalar(sa.select(Membership.id).where(Membership.user_id == job.user_id))
        self.seen: dict[str, int] = {}  # a matching key -> the row that had it first
        self.updated: dict[int, int] = {}  # contact id -> the row that updated it
        self.companies: dict[str, int | None] = {}  # lower-case name -> id (None: to be made, dry run)
        self.tags: dict[str, int] = {}
        # New contacts the plan still has room for (None: unlimited); checked again only on overflow.
        self.room = limits.contacts_room(workspace) if write else None
        self.workspace = workspace
        self.match_by, self.mode = job.match_by, job.mode

    def parse(self, batch) -> list[ContactRow]:
        rows = [parse(line, cells, self.columns, self.context) for line, cells in batch]
        if self.write:  # a new contact's search text, worked out with the parsing (perhaps in its process)
            for row in rows:
                if not row.problems and row.nameless is None:
                    row.search_text = search_text_of(row.fields["name"], row.emails, row.phones, row.company)
        return rows

    def take(self, parsed: list[ContactRow]) -> None:
        if self.mode == "create":  # no row updates a contact: a name left blank makes a row invalid at once
            for row in parsed:
                _name_needed(row)
        fresh = [row for row in parsed if self.valid(row) and self._first_in_file(row)]
        creates, updates = self._match(fresh)
        company_ids = self._company_ids({row.company for row in creates + [row for _id, row in updates] if row.company})
        if creates:
            self._create(creates, company_ids)
        if updates:
            self._update(updates, company_ids)
        self.save_problems()

    # --- sorting the rows -------------------------------------------------------------------

    def _first_in_file(self, row: ContactRow) -> bool:
        keys = row.keys(self.match_by)
        earlier = next((self.seen[key] for key in keys if key in self.seen), None)
        if earlier is not None:
            self.skip(row, _l("Same %(what)s as row %(line)d.", what=KEY_LABELS[self.match_by], line=earlier))
            return False
        for key in keys:
            self.seen[key] = row.line
        return True

    def _existing(self, keys: list[str]) -> dict[str, int]:
        if self.match_by == "external_id":
            statement = sa.select(Contact.external_id, Contact.id).where(
                Contact.external_id.in_(set(keys)), Contact.deleted_at.is_(None)
            )
            return dict(db.session.execute(statement.order_by(Contact.id.desc())).all())
        return identities.owners_of(self.match_by, keys)

    def _match(self, fresh: list[ContactRow]) -> tuple[list[ContactRow], list[tuple[int, ContactRow]]]:
        owners = self._existing([key for row in fresh for key in row.keys(self.match_by)])
        creates, updates = [], []
        for row in fresh:
            matches = [(key, owners[key]) for key in row.keys(self.match_by) if key in owners]
            found = matches[0] if matches else None
            other = next((match for match in matches if match[1] != found[1]), None)
            if other is not None and self.mode == "update":
                self._two_contacts(row, found, other)
            elif found is None:
                if row.nameless is not None:  # a new contact, in an update: it needs the name its row lacks
                    _name_needed(row)
                    self.valid(row)
                elif self.complete(row, self.required):
                    creates.append(row)
            elif self.mode == "create":
                self.skip(row, _l("Already in Kehu: %(key)s.", key=found[0]))
            elif found[1] in self.updated:
                self.skip(row, _l("Row %(line)d updates the same contact.", line=self.updated[found[1]]))
            else:
                self.updated[found[1]] = row.line
                updates.append((found[1], row))
        return creates, updates

    def _two_contacts(self, row: ContactRow, found: tuple[str, int], other: tuple[str, int]) -> None:
        """A row whose addresses (or phones) belong to two contacts updates neither: given to the first,
        the second's would be the first's too, and the two people offered as duplicates to merge."""
        statement = sa.select(Contact.id, Contact.name).where(Contact.id.in_([found[1], other[1]]))
        names = dict(db.session.execute(statement).all())
        self.problem(row, "invalid", None, _l("%(first)s belongs to %(first_name)s and %(second)s to %(second_name)s: "
                                              "a row updates one contact. Keep only the right one in this row.",
                                              first=found[0], first_name=names.get(found[1], ""), second=other[0],
                                              second_name=names.get(other[1], "")))  # fmt: skip
        self.job.invalid_count += 1

    def _too_many(self, row: ContactRow, wanted: dict) -> bool:
        """A row that would give its contact more emails or phones than the contact's form keeps is
        a bad row (the form would refuse to save the contact afterwards)."""
        if len(wanted.get("emails", ())) > MAX_EMAILS:
            reason = _l("This row would give the contact more than %(count)d email addresses.", count=MAX_EMAILS)
        elif len(wanted.get("phones", ())) > MAX_PHONES:
            reason = _l("This row would give the contact more than %(count)d phone numbers.", count=MAX_PHONES)
        else:
            return False
        self.problem(row, "invalid", None, reason)
        self.job.invalid_count += 1
        return True

    # --- companies and tags -----------------------------------------------------------------

    def _company_ids(self, names: set[str]) -> dict[str, int | None]:
        unknown = {name.lower(): name for name in names if name.lower() not in self.companies}
        if unknown:
            found = db.session.execute(
                sa.select(Company.name, Company.id)
                .where(sa.func.lower(Company.name).in_(list(unknown)), Company.deleted_at.is_(None))
                .order_by(Company.id.desc())
            )
            self.companies.update({name.lower(): company_id for name, company_id in found})
            self._new_companies([name for key, name in unknown.items() if key not in self.companies])
        return self.companies

    def _new_companies(self, names: list[str]) -> None:
        if not names:
            return  # an INSERT given no rows would add one empty company
        self.job.companies_created += len(names)
        if not self.write:
            self.companies.update(dict.fromkeys((name.lower() for name in names), None))
            return
        now = utcnow()
        values = [{"name": name, "search_text": company_search_text(Company(name=name))} for name in names]
        same = {"workspace_id": self.workspace_id, "import_id": self.import_id, "custom": {}, "created_at": now,
                "updated_at": now}  # fmt: skip
        ids = insert_returning_ids(Company, values, same)
        self.companies.update(zip((name.lower() for name in names), ids, strict=True))

    def _tag_ids(self, names: set[str]) -> dict[str, int]:
        unknown = [name for name in names if name not in self.tags]
        if unknown:
            self.tags.update(dict(db.session.execute(sa.select(Tag.name, Tag.id).where(Tag.name.in_(unknown))).all()))
            missing = [name for name in unknown if name not in self.tags]
            if missing:
                values = [{"name": name} for name in missing]
                ids = insert_returning_ids(Tag, values, {"workspace_id": self.workspace_id})
                self.tags.update(zip(missing, ids, strict=True))
        return self.tags

    def _link_tags(self, pairs: list[tuple[int, list[str]]]) -> None:
        tag_ids = self._tag_ids({name for _id, names in pairs for name in names})
        links = [{"contact_id": contact_id, "tag_id": tag_ids[name]} for contact_id, names in pairs for name in names]
        if links:
            insert_rows(ContactTag, links, {"workspace_id": self.workspace_id})

    # --- writing ----------------------------------------------------------------------------

    def _create(self, creates: list[ContactRow], company_ids: dict) -> None:
        self.job.created_count += len(creates)
        if not self.write:
            return
        if self.room is not None and len(creates) > self.room:
            limits.check_contacts(self.workspace, len(creates))  # raises LimitError with the figures
            self.room = limits.contacts_room(self.workspace)  # contacts were deleted meanwhile: room again
        if self.room is not None:
            self.room -= len(creates)
        now = utcnow()
        same = {**NEW_CONTACT, "workspace_id": self.workspace_id, "import_id": self.import_id, "created_at": now,
                "updated_at": now}  # fmt: skip
        ids = insert_returning_ids(Contact, [self._new_contact(row, company_ids) for row in creates], same)
        found = [item for contact_id, row in zip(ids, creates, strict=True)
                 for item in identities.rows_for(contact_id, row.emails, row.phones)]  # fmt: skip
        if found:
            insert_rows(identities.ContactIdentity, found, {"workspace_id": self.workspace_id})
        self._link_tags([(contact_id, row.tags) for contact_id, row in zip(ids, creates, strict=True) if row.tags])

    def _new_contact(self, row: ContactRow, company_ids: dict) -> dict:
        values = {**NO_FIELDS, **row.fields}  # the parser sets no other field
        values["owner_id"] = values["owner_id"] or self.default_owner
        values["company_id"] = company_ids[row.company.lower()] if row.company else None
        values["birthday_md"] = month_day(values["birthday"])
        values.update(emails=row.emails, phones=row.phones, custom=row.custom, search_text=row.search_text)
        return values

    def _update(self, updates: list[tuple[int, ContactRow]], company_ids: dict) -> None:
        """The batch's matched contacts are read in two queries (their fields and company's name,
        their tags), each row's changes worked out in Python and, when writing, saved in a few
        statements whatever the batch's size: the contacts' new values by primary key (one UPDATE per
        set of columns changed), the identities of the emails and phones added (one INSERT: an update
        import adds to a contact's lists, never takes from them), the new tags and the import's
        changes (multi-row INSERTs). Changed one by one through the ORM, with a flush and an identity
        sync each, an update import took ~1.6 ms of CPU a row (bench/README.md, "update imports in
        batches")."""
        ids = [contact_id for contact_id, _row in updates]
        current, tags = _current(ids), _tag_names(ids)
        now = utcnow()
        values, added, changes, new_tags, updated = [], [], [], [], 0
        for contact_id, row in updates:
            contact, has = current[contact_id], tags.get(contact_id, [])
            wanted = _wanted(contact, has, row, company_ids)
            if not wanted:
                self.skip(row, _l("Nothing new for this contact."))
                continue
            if self._too_many(row, wanted):
                continue
            updated += 1  # counted on the job once a batch (an ORM attribute costs microseconds a write)
            if not self.write:
                continue
            before, after, columns = _change(contact, has, wanted, row.company)
            changes.append({"contact_id": contact_id, "before": before, "after": after})
            if columns:
                values.append({"id": contact_id, **columns, "updated_at": now})
            if {"emails", "phones"} & wanted.keys():
                added += identities.rows_for(contact_id, *_added(contact, wanted))
            if "tags" in wanted:
                new_tags.append((contact_id, wanted["tags"]))
        self.job.updated_count += updated
        if not self.write:
            return
        update_rows(Contact, values)
        insert_rows(identities.ContactIdentity, added, {"workspace_id": self.workspace_id})
        insert_rows(ImportChange, changes, {"workspace_id": self.workspace_id, "import_id": self.import_id})
        self._link_tags(new_tags)


def _name_needed(row: ContactRow) -> None:
    if row.nameless is not None:
        row.problems.append((row.nameless, _l("A name is needed.")))


def _current(ids: list[int]) -> dict[int, dict]:
    """Contact id -> what an update may change of it, and its company's name (its search text's)."""
    company = sa.and_(Company.workspace_id == Contact.workspace_id, Company.id == Contact.company_id)
    statement = (
        sa.select(Contact.id, *(getattr(Contact, name) for name in READ_FIELDS), Company.name.label("company_name"))
        .outerjoin(Company, company)
        .where(among(Contact.id, ids))
    )
    return {row.id: row._asdict() for row in db.session.execute(statement)}


def _tag_names(ids: list[int]) -> dict[int, list[str]]:
    """Contact id -> its tags' names, in the order of ``Contact.tags`` (by name)."""
    tag = sa.and_(Tag.workspace_id == ContactTag.workspace_id, Tag.id == ContactTag.tag_id)
    statement = (
        sa.select(ContactTag.contact_id, Tag.name).join(Tag, tag)
        .where(among(ContactTag.contact_id, ids)).order_by(ContactTag.contact_id, Tag.name)
    )  # fmt: skip
    names: dict[int, list[str]] = {}
    for contact_id, name in db.session.execute(statement):
        names.setdefault(contact_id, []).append(name)
    return names


def _wanted(contact: dict, has_tags: list[str], row: ContactRow, company_ids: dict) -> dict:
    """The values the row changes on ``contact``: filled cells overwrite, emails, phones and tags
    are added to those it has, custom values are set one by one."""
    wanted = {name: value for name, value in row.fields.items() if contact[name] != value}
    if row.company:
        company_id = company_ids[row.company.lower()]
        if company_id is None or company_id != contact["company_id"]:
            wanted["company_id"] = company_id
    for name in ("emails", "phones"):
        extra = [value for value in getattr(row, name) if value not in contact[name]]
        if extra:
            wanted[name] = [*contact[name], *extra]
    custom = {**(contact["custom"] or {}), **row.custom}
    if custom != (contact["custom"] or {}):
        wanted["custom"] = custom
    tags = [tag for tag in row.tags if tag not in has_tags]
    if tags:
        wanted["tags"] = tags
    return wanted


def _change(contact: dict, has_tags: list[str], wanted: dict, company_name: str | None) -> tuple[dict, dict, dict]:
    """What the contact had of ``wanted`` and what the import sets (kept for undo), and the columns
    to write: the values, and the month-day of a birthday and the search text that follow from them
    (none when only tags are added: the contact's row is not written, as the ORM did not write it)."""
    before = {name: change_value(contact[name]) for name in wanted if name != "tags"}
    if "tags" in wanted:
        before["tags"] = list(has_tags)
    after = {name: change_value(value) for name, value in wanted.items()}
    columns = {name: value for name, value in wanted.items() if name != "tags"}
    if "birthday" in columns:
        columns["birthday_md"] = month_day(columns["birthday"])
    if "company_id" in wanted or {"name", "emails", "phones"} & wanted.keys():
        name = company_name if "company_id" in wanted else contact["company_name"]
        now = {field: columns.get(field, contact[field]) for field in ("name", "emails", "phones")}
        columns["search_text"] = search_text_of(now["name"], now["emails"], now["phones"], name)
    return before, after, columns


def _added(contact: dict, wanted: dict) -> tuple[list[str], list[str]]:
    """The emails and phones ``wanted`` adds to the contact's (after those it has, see ``_wanted``)."""
    return tuple(wanted.get(name, contact[name])[len(contact[name]) :] for name in ("emails", "phones"))


def stalled(job: Import) -> bool:
    """A running job whose progress has not moved for STALLED_AFTER: its worker is gone (without
    Redis a job runs in a thread of the web process, which a restart ends)."""
    return job.running and job.updated_at < utcnow() - STALLED_AFTER


def give_up(job: Import) -> None:
    """Ends a stalled job as a failed one would end (the caller commits)."""
    if job.status == "checking":
        job.status = "uploaded"
        job.set_failure(_l("The check stopped before the end. Check the file again."))
    else:
        job.status, job.finished_at = "failed", utcnow()
        job.set_failure(_l("The import stopped before the end; the rows before it were kept (undo removes them)."))


def undo_deadline(job: Import) -> datetime | None:
    if job.finished_at is None:
        return None
    return job.finished_at + timedelta(days=current_app.config["IMPORT_UNDO_DAYS"])


def can_undo(job: Import) -> bool:
    """A finished (or failed) import can be undone for IMPORT_UNDO_DAYS."""
    deadline = undo_deadline(job)
    return job.status in ("done", "failed") and deadline is not None and utcnow() < deadline
