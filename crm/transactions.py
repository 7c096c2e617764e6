"""How a request's transaction ends.

Closing the session after a request rolls its transaction back. To PostgreSQL, rolling back a
transaction that only read is the same as committing it, but psycopg forgets every prepared
statement of the connection on a ROLLBACK (it cannot know what the rollback undid), so every
query of every page was parsed and planned again: 1-7 ms of PostgreSQL's CPU a page. A request
that only read therefore ends with COMMIT. Anything written and not committed (a flush, an
INSERT/UPDATE/DELETE through the session, an object still pending) is rolled back as before.
"""

import logging

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy import event

from crm.extensions import db

log = logging.getLogger(__name__)
WROTE = "kehu.wrote"  # session.info: the transaction changed something


@event.listens_for(so.Session, "after_flush")
def _flushed(session: so.Session, flush_context) -> None:
    session.info[WROTE] = True


@event.listens_for(so.Session, "do_orm_execute")
def _writing(state: so.ORMExecuteState) -> None:
    if not state.is_select:  # INSERT, UPDATE, DELETE, or text() that may be any of them
        state.session.info[WROTE] = True


@event.listens_for(so.Session, "after_transaction_end")
def _ended(session: so.Session, transaction: so.SessionTransaction) -> None:
    if transaction.parent is None:
        session.info[WROTE] = False


def end_read_only_transaction(error: BaseException | None) -> None:
    """teardown_request: commit the request's transaction if it only read."""
    if error is not None or not db.session.registry.has():
        return
    session = db.session()
    if not session.in_transaction() or session.info.get(WROTE) or session.new or session.dirty or session.deleted:
        return
    expire, session.expire_on_commit = session.expire_on_commit, False  # nothing changed; loaded objects stay
    try:
        session.commit()
    except sa.exc.SQLAlchemyError:  # the database went away: the response is already made
        log.warning("could not end a read-only transaction", exc_info=True)
        session.rollback()
    finally:
        session.expire_on_commit = expire
