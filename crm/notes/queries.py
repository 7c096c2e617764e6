import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.extensions import db
from crm.notes.models import Note
from crm.pagination import Page, newest_first
from crm.workspaces.models import Membership

PER_PAGE = 20


def notes_page(after: str | None, per_page: int = PER_PAGE) -> Page:
    """A page of the workspace's notes with their authors, newest first, in one query."""
    statement = sa.select(Note).options(so.joinedload(Note.author).joinedload(Membership.user))
    return newest_first(db.session, statement, Note, after, per_page)
