"""Bulk changes on the whale workspace: how long the bulk bar's set-based changes (crm/contacts/batch.py)
take for 1,000, 20,000 (bulk.MAX_AT_ONCE, the most one request changes) and 50,000 contacts (as a
background job does them, a batch at a time), each run in a transaction that is rolled back, so the
bench data stays as it was:

    .venv/bin/python -m bench.bulk --db postgresql|sqlite
"""

import argparse
import time

import sqlalchemy as sa
from flask import g

from bench.queries import make_app
from bench.target import find_target

SIZES = (1_000, 20_000, 50_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    args = parser.parse_args()
    target, app = find_target(args.db), make_app(args.db)
    from crm.contacts import batch, bulk, trash
    from crm.contacts.list_view import ListState
    from crm.contacts.models import Contact
    from crm.contacts.queries import matching_contacts
    from crm.extensions import db
    from crm.tenancy import workspace_scope
    from crm.workspaces.models import Membership, Workspace

    with app.test_request_context(), workspace_scope(target.workspace_id):
        g.workspace = db.session.get(Workspace, target.workspace_id)
        owner, other = db.session.scalars(sa.select(Membership).order_by(Membership.id).limit(2)).all()
        g.membership = owner
        live = matching_contacts(ListState(), owner)
        ids = list(db.session.scalars(live.with_only_columns(Contact.id).order_by(Contact.id).limit(max(SIZES))))
        print(f"{args.db}: whale workspace, {target.contacts:,} live contacts")
        print("ms for the whole change (µs per contact changed, how many changed)")
        for size in [size for size in SIZES if size <= len(ids)]:  # size S has fewer
            chosen = live.where(Contact.id.between(ids[0], ids[size - 1]))
            timings = []
            for label, change in (
                ("assign owner", lambda chosen=chosen: bulk.apply("owner", chosen, other.id)),
                ("add tag", lambda chosen=chosen: bulk.apply("add_tag", chosen, "bench bulk")),
                ("move to trash", lambda chosen=chosen: bulk.apply("delete", chosen, None)),
                ("restore all", lambda: trash.restore(Contact, trash.in_trash(Contact, owner), g.workspace)),
            ):
                started = time.perf_counter()
                changed = change()
                db.session.flush()
                elapsed = (time.perf_counter() - started) * 1000
                timings.append(f"{label} {elapsed:,.0f} ({elapsed * 1000 / max(changed, 1):.0f}, {changed:,})")
            db.session.rollback()
            print(f"{size:>7,} contacts: " + "; ".join(timings))
        print(f"batch of {batch.BATCH:,} ids per statement; at most {bulk.MAX_AT_ONCE:,} per request")


if __name__ == "__main__":
    main()
