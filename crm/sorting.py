"""Names in the order people read them ("Name, A to Z"), not in the database's byte order.

Byte order puts "acme tea" and "Ärzte Verlag" after "Zen Tea", and Chinese names by code point. Lists
sort names through one collation, ``human``, that both databases know (``by_name``):

- PostgreSQL: an ICU collation made by migration 0055, Chinese ("zh", Han characters by pinyin) with
  Latin letters before Han ("kr-latn-hani", as the English-speaking reader expects): case and accents
  count only between names that are otherwise alike ("acme tea", "Acme Tea", "Ärzte", "Baker", "陈静",
  "李娜", "张伟"). It is deterministic (names that differ are never equal), so a keyset page's cursor
  names one place.
- SQLite: ``compare_names``, registered on each connection (crm/__init__.py): the folded name first
  (crm.search.fold: lower case, accents off), then accents, then case (lower first), then the text
  itself; Chinese characters by code point (the Unicode block's radical-and-stroke order).

The list indexes use the collation too (migration 0055: ``(workspace_id, name COLLATE human, id)``).
On SQLite such an index needs the collation on every connection that writes the table: the sqlite3
shell cannot insert into contacts or companies, nor ``VACUUM`` the database (``.backup`` works).
"""

import unicodedata
from functools import lru_cache

import sqlalchemy as sa

from crm.search import fold

HUMAN = "human"


def by_name(column: sa.ColumnElement) -> sa.ColumnElement:
    """``column COLLATE human``: the sort expression of a name (crm/pagination.py compares the cursor
    in the same collation)."""
    return column.collate(HUMAN)


@lru_cache(maxsize=65536)
def _key(text: str) -> tuple[str, str, str, str]:
    return fold(text), unicodedata.normalize("NFD", text.lower()), text.swapcase(), text


def compare_names(left: str, right: str) -> int:
    """SQLite's ``human`` collation: negative, zero or positive as ``left`` sorts before, with or
    after ``right``; zero only for the same text."""
    a, b = _key(left), _key(right)
    return (a > b) - (a < b)
