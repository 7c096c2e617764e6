"""`flask crm ...`: database set-up, demo data, key rotation, the job worker."""

import click
from flask import current_app
from flask.cli import AppGroup

from crm.backup.cli import backup, restore_backup

crm_cli = AppGroup("crm", help="Kehu CRM administration.")
crm_cli.add_command(backup)
crm_cli.add_command(restore_backup)

DEMO_EMAIL = "owner@demo-co.example.com"
DEMO_PASSWORD = "kehu-demo-password"


@crm_cli.command("pg-setup")
@click.option("--superuser-url", default="postgresql://postgres@127.0.0.1:5432/postgres", show_default=True)
@click.option("--database", default="kehu", show_default=True)
@click.option("--owner", default="kehu_owner", show_default=True, help="Owns the tables; runs migrations.")
@click.option("--app-role", default="kehu_app", show_default=True, help="What the app connects as; RLS binds it.")
@click.option("--owner-password", envvar="PG_OWNER_PASSWORD", default=None)
@click.option("--app-password", envvar="PG_APP_PASSWORD", default=None)
@click.option("--drop", is_flag=True, help="Drop and recreate the database (tests, CI).")
def pg_setup(superuser_url, database, owner, app_role, owner_password, app_password, drop):
    """Create the owner and app roles and the database, from a superuser URL."""
    from sqlalchemy.engine import make_url

    from crm.pg import setup

    setup(superuser_url, database, owner, app_role, {owner: owner_password, app_role: app_password}, drop)
    base = make_url(superuser_url).set(database=database, password=None)
    click.echo("PostgreSQL is ready. Put these in your environment (.env):")
    click.echo(f"DATABASE_URL={base.set(username=app_role).render_as_string(hide_password=False)}")
    click.echo(f"MIGRATION_DATABASE_URL={base.set(username=owner).render_as_string(hide_password=False)}")


@crm_cli.command("seed-demo")
@click.option("--force", is_flag=True, help="Allow outside development.")
def seed_demo(force):
    """Load the demo workspace "Demo Co" once, and print how to sign in."""
    if current_app.config["KEHU_ENV"] == "production" and not force:
        raise click.ClickException("refusing to load demo data in production (use --force)")
    from crm.workspaces.demo import load_demo

    created = load_demo(DEMO_EMAIL, DEMO_PASSWORD)
    click.echo("Demo data loaded." if created else "Demo data already present.")
    click.echo(f"Sign in at http://127.0.0.1:5000/login as {DEMO_EMAIL} / {DEMO_PASSWORD}")


@crm_cli.command("reencrypt-secrets")
def reencrypt_secrets():
    """After putting a new key first in ENCRYPTION_KEYS: re-encrypt stored secrets with it."""
    from crm.custom_fields.service import reencrypt_sensitive_values
    from crm.secrets import reencrypt_all

    count = reencrypt_all() + reencrypt_sensitive_values()
    click.echo(f"{count} stored secret(s) now use the first key of ENCRYPTION_KEYS; the others can be removed.")


@crm_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker(burst):
    """Run background jobs from Redis (needs REDIS_URL)."""
    from rq import Worker

    from crm.jobs import queue

    url = current_app.config["REDIS_URL"]
    if not url:
        raise click.ClickException("REDIS_URL is not set: jobs run in-process, no worker needed")
    jobs = queue(url)
    Worker([jobs], connection=jobs.connection).work(burst=burst)


@crm_cli.command("recompute")
def recompute():
    """Classify every customer again from their purchases (tier, level, lifecycle), workspace by
    workspace; run daily, since the 12-month windows move with the calendar."""
    from crm.contacts.tier_runs import classify_every_workspace

    for name, changed in classify_every_workspace():
        if changed is None:
            click.echo(f"{name}: already being classified; that run starts over.")
        else:
            click.echo(f"{name}: {changed} customer(s) changed class.")


@crm_cli.command("find-duplicates")
def find_duplicates():
    """Look for duplicate contacts in every workspace again (the Duplicates page); run nightly.
    Contacts saved by hand and imports are checked as they happen; this catches the rest."""
    from crm.duplicates.service import scan_every_workspace

    for name, pairs in scan_every_workspace():
        click.echo(f"{name}: {pairs} possible duplicate pair(s).")


@crm_cli.command("send-reminders")
def send_reminders():
    """Email the assignee of every task whose reminder time has come (once each); run it every
    few minutes from cron or a scheduler. Links use SERVER_NAME and PREFERRED_URL_SCHEME."""
    from crm.activities.tasks import remind_every_workspace

    sent, failed = remind_every_workspace()
    click.echo(f"{sent} reminder(s) sent.")
    if failed:
        raise click.ClickException(
            f"some reminders of workspace(s) {', '.join(map(str, failed))} were not sent (see the log);"
            " the next run tries them again"
        )


@crm_cli.command("purge-trash")
def purge_trash():
    """Delete for good the contacts and companies in the trash for longer than its restore window
    (30 days), in every workspace, with what belongs only to them; run it nightly from cron."""
    from crm.contacts.purge import purge_every_workspace

    results = purge_every_workspace()
    for name, counts in results:
        if counts is None:
            click.echo(f"{name}: the purge failed (see the log).")
        else:
            click.echo(f"{name}: {counts['contacts']} contact(s) and {counts['companies']} company(ies) purged.")
    if any(counts is None for _name, counts in results):
        raise click.ClickException("some workspaces were not purged (see the log)")


@crm_cli.command("check-tickets")
def check_tickets():
    """Email the managers once about each ticket that missed its service level, and close tickets
    resolved more than 7 days ago; run it every few minutes from cron or a scheduler. A mail the
    mail server did not take is sent by the next run, and the command exits 1."""
    from crm.tickets.sla_jobs import check_every_workspace

    reported, closed, failed = check_every_workspace()
    click.echo(f"{reported} late ticket(s) reported, {closed} resolved ticket(s) closed.")
    if failed:
        raise click.ClickException(
            f"some late-ticket mails of workspace(s) {', '.join(map(str, failed))} were not sent, or resolved"
            " tickets not closed (see the log); the next run tries them again"
        )


@crm_cli.command("data-quality")
@click.option("--workspace", "slug", default=None, help="Check only the workspace with this slug.")
def data_quality(slug):
    """Check every workspace's contacts (invalid emails and phones, no way to reach them, stale
    records, doubtful names) and keep the report for the Data quality page; run it nightly."""
    from crm.data_quality.checks import KINDS
    from crm.data_quality.service import check_every_workspace

    results = check_every_workspace(slug)
    if slug is not None and not results:
        raise click.ClickException(f"no workspace with the slug {slug!r}")
    for name, status, counts in results:
        if status == "done":
            click.echo(f"{name}: " + "; ".join(f"{KINDS[kind]}: {count}" for kind, count in counts.items()))
        else:
            click.echo(f"{name}: {'a check was already running' if status == 'running' else 'the check failed'}.")
    if any(status == "failed" for _name, status, _counts in results):
        raise click.ClickException("some checks failed (see the log)")
