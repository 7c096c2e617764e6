"""Tasks the job tests enqueue; module-level so an RQ worker can import them by path."""

from crm.extensions import db
from crm.notes.models import Note


def add_note(author_id: int, body: str) -> None:
    """Writes into whatever workspace the job runner bound: proves the binding reached the job."""
    db.session.add(Note(author_id=author_id, body=body))
