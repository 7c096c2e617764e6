"""Team notes on the workspace home."""

from crm.extensions import db
from crm.notes.models import Note
from crm.workspaces.models import Membership


class NotAllowed(PermissionError):
    pass


def create_note(author: Membership, body: str) -> Note:
    note = Note(author=author, body=body.strip())
    db.session.add(note)
    db.session.flush()
    return note


def can_change(note: Note, member: Membership) -> bool:
    return note.author_id == member.id or member.role == "owner"


def update_note(note: Note, member: Membership, body: str) -> None:
    if not can_change(note, member):
        raise NotAllowed
    note.body = body.strip()


def delete_note(note: Note, member: Membership) -> None:
    if not can_change(note, member):
        raise NotAllowed
    db.session.delete(note)
