"""Team notes on the workspace home."""

from crm.audit import service as audit
from crm.extensions import db
from crm.notes.models import Note
from crm.workspaces.models import Membership


class NotAllowed(PermissionError):
    pass


def create_note(author: Membership, body: str) -> Note:
    note = Note(author=author, body=body.strip())
    db.session.add(note)
    db.session.flush()
    audit.record("note.created", "note", note.id, {"body": [None, note.body]}, actor=author.user)
    return note


def can_change(note: Note, member: Membership) -> bool:
    """Authors change their own notes; those who manage members may tidy anyone's."""
    return member.can("notes.write") and (note.author_id == member.id or member.can("members.manage"))


def update_note(note: Note, member: Membership, body: str) -> None:
    if not can_change(note, member):
        raise NotAllowed
    note.body = body.strip()
    changes = audit.changes_of(note, ("body",))
    if changes:
        audit.record("note.updated", "note", note.id, changes)


def delete_note(note: Note, member: Membership) -> None:
    if not can_change(note, member):
        raise NotAllowed
    audit.record("note.deleted", "note", note.id, {"body": [note.body, None]})
    db.session.delete(note)
