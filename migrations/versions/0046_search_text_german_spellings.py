"""Search finds ä, ö and ü written the German way without them ("mueller" finds Müller): a stored
search text of a contact, company or ticket whose words hold them carries their German spelling
too (crm.search.searchable). The folded text 0038 left has lost the dots, so the spellings are
worked out from the columns it is made of (name, emails and company name; name and website;
subject and requester) and added only for words the text holds: an erased contact, whose text
leaves its company out, stays without the company's words. Rows are read a batch at a time and
only those that change are written, with bound values; on SQLite the FTS5 triggers (UPDATE OF
search_text) keep the trigram tables in step.

Downgrading leaves the added spellings: the older code finds the records as before, and by
"mueller" too.

Revision ID: 0046
Revises: 0045
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

from crm.pg import row_security_relaxed
from crm.search import with_german_spellings

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None

BATCH = 5000
# Each table's search text and the text columns it was made of (phone digits have no umlauts).
READS = {
    "contacts": "SELECT c.id, c.search_text, c.name, c.emails, co.name AS company_name FROM contacts c"
    " LEFT JOIN companies co ON co.workspace_id = c.workspace_id AND co.id = c.company_id"
    " WHERE c.id > :after ORDER BY c.id LIMIT :batch",
    "companies": "SELECT id, search_text, name, website FROM companies WHERE id > :after ORDER BY id LIMIT :batch",
    "tickets": "SELECT id, search_text, subject, requester_name, requester_email FROM tickets"
    " WHERE id > :after ORDER BY id LIMIT :batch",
}


def upgrade():
    with row_security_relaxed(*READS):
        for table, read in READS.items():
            _add_german_spellings(table, read)


def _sources(table: str, row) -> list[str | None]:
    if table == "contacts":
        return [row.name, *(row.emails or []), row.company_name]
    if table == "companies":
        return [row.name, row.website]
    return [row.subject, row.requester_name, row.requester_email]


def _add_german_spellings(table: str, read: str) -> None:
    # crm.search itself, not a copy: the spellings are what the app writes now.
    connection = op.get_bind()
    select = sa.text(read).columns(emails=sa.JSON) if table == "contacts" else sa.text(read)
    write = sa.text(f"UPDATE {table} SET search_text = :text WHERE id = :id")
    after = 0
    while rows := connection.execute(select, {"after": after, "batch": BATCH}).all():
        changed = []
        for row in rows:
            source = " ".join(part for part in _sources(table, row) if part)
            if source.isascii():
                continue
            text = with_german_spellings(row.search_text, source)
            if text != row.search_text:
                changed.append({"id": row.id, "text": text})
        if changed:
            connection.execute(write, changed)
        after = rows[-1].id


def downgrade():
    pass
