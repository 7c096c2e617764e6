"""A tag's name never holds a separator: the bulk bar's "Add tag" stored "a,b" (or "北京，上海") as one
tag, which the list's tag filter could never select (it reads "a,b" as two tags) and the next edit
of the contact split. Each stored tag whose name holds a separator of crm/contacts/tags.py (commas
and semicolons, full-width ones too, the enumeration comma, a vertical bar, a line break) is split:
its contacts get each of its parts as a tag (an existing tag of that name, or a new one), then it is
deleted. A name that is only separators leaves nothing to give, and goes. Saved views and links with
"?tag=a,b" read it as the two tags, which the contacts now have.

Each workspace it changes gets one audit entry, "tags.split", by no one (Kehu itself): the tags it
split, their parts and how many contacts had them. (Databases upgraded past 0042 before the entry
was added to it have none: what it split left no trace to write one from afterwards; README.)

The separators are copied here, not imported: this revision splits what was stored by then.
Downgrading leaves the tags split.

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-09
"""

import re
from collections import defaultdict
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from crm.pg import row_security_relaxed
from crm.search import normalize

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None

# , ; U+FF0C (full-width comma) U+FF1B (full-width semicolon) U+3001 (enumeration comma) | CR LF
CHARACTERS = ",;\uff0c\uff1b\u3001|\r\n"
SEPARATORS = re.compile(f"[{re.escape(CHARACTERS)}]+")
AUDIT_LOG = sa.table(
    "audit_log", sa.column("workspace_id"), sa.column("actor_id"), sa.column("actor_label"), sa.column("action"),
    sa.column("record_type"), sa.column("record_id"), sa.column("changes", sa.JSON),
    sa.column("created_at", sa.DateTime(timezone=True)),
)  # fmt: skip


def upgrade():
    connection = op.get_bind()
    with row_security_relaxed("tags", "contact_tags", "audit_log"):
        holding = " OR ".join(f"name LIKE :s{index}" for index in range(len(CHARACTERS)))
        marks = {f"s{index}": f"%{char}%" for index, char in enumerate(CHARACTERS)}
        found = connection.execute(
            sa.text(f"SELECT id, workspace_id, name FROM tags WHERE {holding} ORDER BY id"), marks
        ).all()
        done = defaultdict(lambda: {"split": [], "parts": set(), "contacts": set()})  # by workspace
        for tag_id, workspace_id, name in found:
            if SEPARATORS.search(name):
                _split(connection, tag_id, workspace_id, name, done[workspace_id])
        for workspace_id, split in done.items():
            changes = {"tags": [sorted(split["split"]), sorted(split["parts"])], "contacts": len(split["contacts"])}
            connection.execute(sa.insert(AUDIT_LOG).values(
                workspace_id=workspace_id, actor_id=None, actor_label="", action="tags.split", record_type=None,
                record_id=None, changes=changes, created_at=datetime.now(UTC),
            ))  # fmt: skip


def _split(connection, tag_id: int, workspace_id: int, name: str, done: dict) -> None:
    parts = dict.fromkeys(normalize(part) for part in SEPARATORS.split(name))
    done["split"].append(name)
    done["contacts"].update(connection.execute(
        sa.text("SELECT contact_id FROM contact_tags WHERE workspace_id = :ws AND tag_id = :old"),
        {"ws": workspace_id, "old": tag_id},
    ).scalars())  # fmt: skip
    for part in (part for part in parts if part):
        done["parts"].add(part[:50])
        ids = {"ws": workspace_id, "old": tag_id, "name": part[:50]}
        find = sa.text("SELECT id FROM tags WHERE workspace_id = :ws AND name = :name")
        ids["new"] = connection.execute(find, ids).scalar()
        if ids["new"] is None:
            connection.execute(sa.text("INSERT INTO tags (workspace_id, name) VALUES (:ws, :name)"), ids)
            ids["new"] = connection.execute(find, ids).scalar_one()
        connection.execute(
            sa.text(
                "INSERT INTO contact_tags (workspace_id, contact_id, tag_id)"
                " SELECT workspace_id, contact_id, :new FROM contact_tags AS had"
                " WHERE had.workspace_id = :ws AND had.tag_id = :old AND NOT EXISTS ("
                " SELECT 1 FROM contact_tags AS has WHERE has.workspace_id = :ws AND has.tag_id = :new"
                " AND has.contact_id = had.contact_id)"
            ),
            ids,
        )
    connection.execute(sa.text("DELETE FROM contact_tags WHERE workspace_id = :ws AND tag_id = :old"),
                       {"ws": workspace_id, "old": tag_id})  # fmt: skip
    connection.execute(sa.text("DELETE FROM tags WHERE workspace_id = :ws AND id = :old"),
                       {"ws": workspace_id, "old": tag_id})  # fmt: skip


def downgrade():
    pass
