import sqlalchemy as sa

from crm.extensions import db
from crm.notes.models import Note
from crm.pagination import Page, newest_first
from crm.permissions import visible_to_member
from crm.workspaces.models import Membership

PER_PAGE = 20


def notes_page(after: str | None, per_page: int = PER_PAGE) -> Page:
    """A page of the notes the member may see with their authors, newest first, in one query."""
    statement = sa.select(Note).options(Membership.shown_by_name(Note.author))
    return newest_first(db.session, visible_to_member(statement, Note.author_id), Note, after, per_page)


def note_or_none(note_id: int) -> Note | None:
    """A note the member may see (record scope applied), or None."""
    return db.session.scalar(visible_to_member(sa.select(Note).where(Note.id == note_id), Note.author_id))
