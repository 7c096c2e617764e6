"""Import speed (DESIGN §6: at least 5,000 rows a second on PostgreSQL, in constant memory).

Writes a seeded contacts CSV (English and Chinese names, emails, phones written as people type
them, companies, tags, birthdays) with 5% invalid rows and 3% rows repeating an earlier row's
email, then runs the real job code (dry run, then import) into a new workspace of a fresh
database, and prints rows per second, the counts and the peak RSS. Run it at two sizes to see
that memory stays flat:

    .venv/bin/python -m bench.imports --rows 100000 --db postgresql

With ``--update`` the same file is then imported again changed, in mode "update" (matched by email):
every title, half the phones (one added to the contact's), a new tag and an owner column, as the
changed file of bench/README.md's "an import's history" was; its rows per second are printed as the
first import's are.
"""

import argparse
import csv
import os
import platform
import random
import resource
import subprocess
import time
from pathlib import Path

import sqlalchemy as sa
from crm import create_app
from crm.config import INSTANCE_DIR
from crm.extensions import db
from crm.imports import runner
from crm.imports.fields import guess
from crm.imports.models import Import
from crm.imports.reader import layout_of
from crm.tenancy import workspace_scope
from crm.workspaces.service import sign_up

from bench import values
from bench.common import PG_SUPERUSER_URL
from bench.data import rng_for, run_flask

PG_DATABASE = "kehu_bench_import"
SQLITE_PATH = INSTANCE_DIR / "bench-import.sqlite3"
HEADER = ["姓名", "Email", "手机", "Company", "Tags", "Birthday", "Title"]
BAD_SHARE, REPEAT_SHARE = 0.05, 0.03
OWNER_EMAIL = "owner@bench-import.example.com"
NEW_TAG, NEW_TITLE = "reimported", "Senior buyer"


def database(db: str, name: str = PG_DATABASE) -> tuple[str, str]:
    """(app url, owner url) of a freshly made and migrated bench database."""
    if db == "postgresql":
        run_flask("crm", "pg-setup", "--superuser-url", PG_SUPERUSER_URL, "--database", name, "--drop", env={})
        urls = (f"postgresql://kehu_app@127.0.0.1:5432/{name}", f"postgresql://kehu_owner@127.0.0.1:5432/{name}")
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
        urls = (f"sqlite:///{SQLITE_PATH}",) * 2
    run_flask("db", "upgrade", env={"DATABASE_URL": urls[0], "MIGRATION_DATABASE_URL": urls[1]})
    return urls


def write_csv(path: Path, rows: int, changed: bool = False) -> dict:
    """The file, and how many rows of each kind it holds. ``changed``: the same rows (the same
    draws of the same generator) as the update import's file: another title, a new phone on every
    second row, one more tag and an owner column."""
    rng = rng_for("import", rows)
    other = random.Random(f"{rows}:changed")  # the changes' own draws: the rows stay the same
    made = {"good": 0, "bad": 0, "repeated": 0}
    emails = []
    with path.open("w", encoding="utf-8", newline="") as stream:
        out = csv.writer(stream)
        out.writerow([*HEADER, "Owner"] if changed else HEADER)
        for number in range(rows):
            name, handle, chinese = values.person(rng)
            email = f"{handle}.{number}@example.com"
            phone = values.phone(rng, chinese)
            phone = f"{phone[:3]} {phone[3:6]} {phone[6:]}"  # typed with spaces
            company = values.company(rng)[0] if rng.random() < 0.6 else ""
            birthday = f"{rng.randrange(1950, 2005)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
            draw = rng.random()
            if draw < BAD_SHARE:
                kind = "bad"
                email, birthday = rng.choice([(f"{handle}-at-example", birthday), (email, "31/31/1990")])
            elif draw < BAD_SHARE + REPEAT_SHARE and emails:
                kind, email = "repeated", rng.choice(emails)
            else:
                kind = "good"
                emails.append(email)
            made[kind] += 1
            tags = values.tags(rng)
            if not changed:
                out.writerow([name, email, phone, company, ", ".join(tags), birthday, "Buyer"])
                continue
            phone = values.phone(other, chinese) if number % 2 else phone
            out.writerow([name, email, phone, company, ", ".join([*tags, NEW_TAG]), birthday, NEW_TITLE, OWNER_EMAIL])
    return made


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def backend_pid(db_kind: str) -> int | None:
    """The PostgreSQL server process of the session's connection, when it runs on this machine."""
    if db_kind != "postgresql":
        return None
    pid = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
    db.session.commit()  # the connection goes back to the pool, where the job takes it again
    return pid if Path(f"/proc/{pid}/stat").exists() else None


def cpu_times(backend: int | None) -> tuple[float, float, float]:
    """CPU seconds (user + system) of this process, of its ended children, and of ``backend``."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    server = 0.0
    if backend is not None:
        fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
        server = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime, server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--database", default=PG_DATABASE, help="the PostgreSQL database to (re)create")
    parser.add_argument("--update", action="store_true", help="then import the file again changed, mode update")
    args = parser.parse_args()

    app_url, _owner_url = database(args.db, args.database)
    upload_dir = INSTANCE_DIR / "bench-uploads"
    app = create_app({"KEHU_ENV": "development", "SQLALCHEMY_DATABASE_URI": app_url, "JOBS_INLINE": True,
                      "UPLOAD_DIR": str(upload_dir), "DEV_OUTBOX": False})  # fmt: skip
    with app.app_context():
        user, workspace = sign_up("Bench Owner", OWNER_EMAIL, "kehu-bench-password", "Import Bench Co", "UTC")
        db.session.commit()
        workspace_id, user_id = workspace.id, user.id
    # The import queues follow-up jobs (the duplicate scan); they are timed on their own, after it.
    queued = []
    runner.enqueue = lambda task, _workspace_id, *task_args: queued.append((task, task_args))
    for mode in ("create", "update") if args.update else ("create",):
        path = Path(upload_dir) / "imports" / f"{workspace_id}-bench-{mode}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        made = write_csv(path, args.rows, changed=mode == "update")
        size_mb, took = path.stat().st_size / 1e6, time.perf_counter() - started
        print(f"mode {mode}: wrote {args.rows:,} rows ({size_mb:.1f} MB) in {took:.1f} s: {made}")
        _import(app, args, path, workspace_id, user_id, mode)
        path.unlink(missing_ok=True)  # the import removed it; the dry-run-only case leaves it
    with app.app_context(), workspace_scope(workspace_id):
        started = time.perf_counter()
        for task, args_of_task in queued:
            task(*args_of_task)
        db.session.commit()
        print(f"then the jobs the imports queued ({', '.join(t.__name__ for t, _a in queued)}): "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"peak RSS {peak_rss_mb():.0f} MB; {args.db}; nproc {os.cpu_count()}; "
          f"Python {platform.python_version()}; git {git}")  # fmt: skip


def _import(app, args, path: Path, workspace_id: int, user_id: int, mode: str) -> None:
    """The dry run, then the import, of the file at ``path``, each timed (wall and CPU)."""
    with app.app_context(), workspace_scope(workspace_id):
        layout = layout_of(path, "csv")
        job = Import(user_id=user_id, filename=f"bench-{mode}.csv", stored_name=path.name, file_format="csv",
                     encoding=layout.encoding, delimiter=layout.delimiter, headers=layout.headers,
                     mapping=guess(layout.headers, []), mode=mode, match_by="email", status="checking")  # fmt: skip
        db.session.add(job)
        db.session.commit()
        import_id = job.id
    for phase, task, status in (("dry run", runner.check, "checking"), ("import", runner.run, "importing")):
        with app.app_context(), workspace_scope(workspace_id):
            db.session.get(Import, import_id).status = status
            db.session.commit()
            backend = backend_pid(args.db)
            cpu_before, process_before = cpu_times(backend), time.process_time()
            started = time.perf_counter()
            task(import_id)
            took, process = time.perf_counter() - started, time.process_time() - process_before
            cpu = [after - before for before, after in zip(cpu_before, cpu_times(backend), strict=True)]
            job = db.session.get(Import, import_id)
            counts = (job.created_count, job.updated_count, job.skipped_count, job.invalid_count, job.status)
        print(f"{mode} {phase}: {took:.1f} s, {args.rows / took:,.0f} rows/s ({args.rows / process:,.0f} rows per "
              f"CPU second of the job's process); created, updated, skipped, invalid, status = {counts}")  # fmt: skip
        print(f"  CPU: this process {process:.2f} s (time.process_time), its child processes (the parser) "
              f"{cpu[1]:.1f} s, the PostgreSQL backend {'n/a' if backend is None else f'{cpu[2]:.1f} s'}")  # fmt: skip


if __name__ == "__main__":
    main()
