"""`flask crm backup` and `flask crm restore-backup`: the same backup and restore as Settings →
Backup, without a request's time limit (gunicorn's timeout) or upload size limit, for big
workspaces. Both are audited in the workspace like the page's."""

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from crm.extensions import db


def _workspace_and_member(slug: str, email: str | None):
    from crm.auth.models import User
    from crm.tenancy import bind_workspace
    from crm.workspaces.models import Membership, Workspace

    workspace = db.session.scalar(sa.select(Workspace).where(Workspace.slug == slug))
    if workspace is None:
        raise click.ClickException(f"no workspace at {slug!r}")
    bind_workspace(workspace.id)
    if email is None:
        return workspace, None
    member = db.session.scalar(
        sa.select(Membership).join(User, User.id == Membership.user_id).where(User.email == email.strip().lower())
    )
    if member is None:
        raise click.ClickException(f"{email} is not a member of {slug}")
    return workspace, member


@click.command("backup")
@click.argument("slug")
@click.argument("output", type=click.File("wb"))
@with_appcontext
def backup(slug, output):
    """Write a backup ZIP of the workspace at SLUG to OUTPUT (a file name, or - for stdout)."""
    from crm.audit import service as audit
    from crm.backup import people, service

    workspace, _member = _workspace_and_member(slug, None)
    audit.record("workspace.backup_downloaded", "workspace", workspace.id, {"by": [None, "flask crm backup"]})
    db.session.commit()
    for chunk in service.backup_chunks(workspace.id, "flask crm backup", people.texts()):
        output.write(chunk)
    click.echo(f"Backup of {slug} written.", err=True)


@click.command("restore-backup")
@click.argument("archive", type=click.File("rb"))
@click.argument("slug")
@click.option("--user", "email", required=True, help="Email of the Owner who restores (their records' stand-in).")
@with_appcontext
def restore_backup(archive, slug, email):
    """Restore the backup ZIP ARCHIVE into the new, empty workspace at SLUG."""
    from crm.backup import service
    from crm.backup.archive import InvalidBackup

    workspace, member = _workspace_and_member(slug, email)
    if not service.may_back_up(member):
        raise click.ClickException(f"{email} may not restore backups in {slug} (Owner, or every Admin permission)")
    try:
        report = service.restore(archive, workspace, member, max_unpacked=None)
        db.session.commit()
    except (service.NotEmpty, InvalidBackup) as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    click.echo(f"Restored {report.rows} records of {report.source.get('name', '')} into {slug}.")
    if report.members_not_restored:
        click.echo(f"Members not restored, their records are now {email}'s: {', '.join(report.members_not_restored)}")
