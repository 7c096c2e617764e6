"""Tags as people type them: several in one field, separated by commas. A Chinese input method
types the full-width comma, and people also write the enumeration comma and semicolons, so each of
those separates tags too, in the contact form, the bulk bar, the list's tag filter (and
static/app.js, which splits the filter's field the same way) and an import's tags column. A stored
tag's name therefore never holds a separator (migration 0042 split those stored before)."""

import re

from crm.i18n import lazy_gettext as _l
from crm.search import normalize

MAX_LENGTH = 50  # Tag.name
# ASCII comma and semicolon, the full-width comma (U+FF0C) and semicolon (U+FF1B), the ideographic
# (enumeration) comma (U+3001), a vertical bar (imports have always split on it) and line breaks.
# static/app.js keeps the same list (TAG_SEPARATORS).
SEPARATORS = re.compile("[,;\uff0c\uff1b\u3001|\r\n]+")


class TagError(ValueError):
    """Typed tags that cannot be stored; the message says why."""


def split_tags(text: str | None) -> list[str]:
    """The tags in ``text`` as stored (lower case, single spaces), each once, in the order typed;
    not checked for length (a list filter with a long one simply matches nothing)."""
    names = (normalize(part) for part in SEPARATORS.split(text or ""))
    return list(dict.fromkeys(name for name in names if name))


def read_tags(text: str | None) -> list[str]:
    """The tags typed in ``text``, or TagError naming the first one longer than a tag may be (it
    used to be cut without a word)."""
    names = split_tags(text)
    for name in names:
        if len(name) > MAX_LENGTH:
            raise TagError(too_long(name))
    return names


def too_long(name: str):
    return _l("A tag has at most %(max)d characters: %(tag)s", max=MAX_LENGTH, tag=name)
