"""Import speed (DESIGN §6: at least 5,000 rows a second on PostgreSQL, in constant memory).

Writes a seeded contacts CSV (English and Chinese names, emails, phones written as people type
them, companies, tags, birthdays) with 5% invalid rows and 3% rows repeating an earlier row's
email, then runs the real job code (dry run, then import) into a new workspace of a fresh
database, and prints rows per second, the counts and the peak RSS. Run it at two sizes to see
that memory stays flat:

    .venv/bin/python -m bench.imports --rows 100000 --db postgresql
"""

import argparse
import csv
import os
import platform
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


def write_csv(path: Path, rows: int) -> dict:
    """The file, and how many rows of each kind it holds."""
    rng = rng_for("import", rows)
    made = {"good": 0, "bad": 0, "repeated": 0}
    emails = []
    with path.open("w", encoding="utf-8", newline="") as stream:
        out = csv.writer(stream)
        out.writerow(HEADER)
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
            out.writerow([name, email, phone, company, ", ".join(values.tags(rng)), birthday, "Buyer"])
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
    args = parser.parse_args()

    app_url, _owner_url = database(args.db, args.database)
    upload_dir = INSTANCE_DIR / "bench-uploads"
    app = create_app({"KEHU_ENV": "development", "SQLALCHEMY_DATABASE_URI": app_url, "JOBS_INLINE": True,
                      "UPLOAD_DIR": str(upload_dir), "DEV_OUTBOX": False})  # fmt: skip
    with app.app_context():
        user, workspace = sign_up("Bench Owner", "owner@bench-import.example.com", "kehu-bench-password",
                                  "Import Bench Co", "UTC")  # fmt: skip
        db.session.commit()
        workspace_id, user_id = workspace.id, user.id
    path = Path(upload_dir) / "imports" / f"{workspace_id}-bench.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    made = write_csv(path, args.rows)
    size_mb, took = path.stat().st_size / 1e6, time.perf_counter() - started
    print(f"wrote {args.rows:,} rows ({size_mb:.1f} MB) in {took:.1f} s: {made}")

    with app.app_context(), workspace_scope(workspace_id):
        layout = layout_of(path, "csv")
        job = Import(user_id=user_id, filename="bench.csv", stored_name=path.name, file_format="csv",
                     encoding=layout.encoding, delimiter=layout.delimiter, headers=layout.headers,
                     mapping=guess(layout.headers, []), status="checking")  # fmt: skip
        db.session.add(job)
        db.session.commit()
        import_id = job.id
    # The import queues follow-up jobs (the duplicate scan); they are timed on their own, after it.
    queued = []
    runner.enqueue = lambda task, _workspace_id, *task_args: queued.append((task, task_args))
    timings = {}
    for phase, task, status in (("dry run", runner.check, "checking"), ("import", runner.run, "importing")):
        with app.app_context(), workspace_scope(workspace_id):
            db.session.get(Import, import_id).status = status
            db.session.commit()
            backend = backend_pid(args.db)
            cpu_before = cpu_times(backend)
            started = time.perf_counter()
            task(import_id)
            timings[phase] = time.perf_counter() - started
            cpu = [after - before for before, after in zip(cpu_before, cpu_times(backend), strict=True)]
            job = db.session.get(Import, import_id)
            counts = (job.created_count, job.updated_count, job.skipped_count, job.invalid_count, job.status)
        print(f"{phase}: {timings[phase]:.1f} s, {args.rows / timings[phase]:,.0f} rows/s; "
              f"created, updated, skipped, invalid, status = {counts}")  # fmt: skip
        print(f"  CPU: this process {cpu[0]:.1f} s, its child processes (the parser) {cpu[1]:.1f} s, "
              f"the PostgreSQL backend {'n/a' if backend is None else f'{cpu[2]:.1f} s'}")  # fmt: skip
    with app.app_context(), workspace_scope(workspace_id):
        started = time.perf_counter()
        for task, args_of_task in queued:
            task(*args_of_task)
        db.session.commit()
        print(f"then the jobs the import queued ({', '.join(t.__name__ for t, _a in queued)}): "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    path.unlink(missing_ok=True)  # the import removed it; the dry-run-only case leaves it
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"peak RSS {peak_rss_mb():.0f} MB; {args.db}; nproc {os.cpu_count()}; "
          f"Python {platform.python_version()}; git {git}")  # fmt: skip


if __name__ == "__main__":
    main()
