"""Substring search over a record's stored, normalised ``search_text`` that stays indexed.

Words of three characters or more match anywhere: on PostgreSQL through a pg_trgm GIN index on
``search_text``; on SQLite through an FTS5 trigram table kept in step by triggers, asked in the
``id IN (SELECT rowid ...)`` form (a join with it is orders of magnitude slower, see BENCH.md).
Shorter words cannot use a trigram index. One Latin letter alone matches the start of the name, served
on PostgreSQL by a ``(workspace_id, lower(name) text_pattern_ops)`` index; beside a longer word (which
the index narrows) it matches the start of any word, as typing "Liisa V" expects. Two letters match the
start of any word of the search text; those read the workspace's rows newest first until a page is
found, quick for common ones and a scan for rare ones. One or two Chinese, Japanese or Korean characters
match anywhere in a run of them (they make a whole given name or word there: 伟 of 张伟, 小明, 贸易), and
through the index: the search text carries each character and pair of its CJK runs as a word of its own
between bars (``with_cjk_grams``: |伟| |张伟|), which has trigrams where "伟" inside "张伟" has none.

The search text and the query are both folded (``fold``): lower case, single spaces, and Latin letters
without their accents, so "muller" finds Müller and "müller" finds Muller; Chinese, Japanese and
Korean are left as they are. German writes ä, ö and ü as ae, oe and ue when it cannot type them
("Mueller", "Goethe"), so a stored text holding them carries that spelling too (``searchable``:
"müller mueller"), which "mueller" finds; a query word holding them also matches that spelling
("Müller" finds a stored Mueller; ``search_terms``). "mueller" does not find a stored Muller: ue is
as often no umlaut at all (Samuel, Manuel, blue). Deal titles and products have search texts of
their own, made and searched the same way (without the phone-number reading of a query: "2024-01"
is a word of a title or a SKU there).

The name is not folded, so one letter that has accented forms ("e", "é") matches a name whose first
letter is any of them (``initial_variants``), one check a row rather than the prefix index (which
serves ``lower(name) LIKE`` only); it reads the workspace newest first until a page is found, as two
letters do.

Migrations create these structures (``search_index_ddl``); models do not declare them. On SQLite a
batch migration that recreates a searchable table drops its triggers: run the DDL again after it.
"""

import re
import unicodedata
from functools import cache

import phonenumbers
import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

TRIGRAM = 3
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+")
GRAM_MARK = "|"


def normalize(text: str) -> str:
    """Lower case and single spaces (tag names; a search text is ``fold``-ed as well)."""
    return " ".join(text.lower().split())


def lower_as_postgresql(value):
    """SQLite's ``unicode_lower(value)`` (registered on each connection), for what PostgreSQL's
    lower() matches and SQLite's, which knows ASCII letters only, does not: every letter lowered
    on its own ("ÄRZTE" -> "ärzte", Cyrillic and Greek alike), as PostgreSQL does in a UTF-8 locale.
    Not Python's str.lower() as it stands: that writes a capital sigma ending a word as the final
    sigma and İ as i and a dot, where PostgreSQL gives the plain sigma and i, and neither database
    would then find what the other finds.
    Numbers come back as text, as from lower(); NULL stays NULL."""
    if value is None or isinstance(value, bytes):
        return value
    text = value if isinstance(value, str) else str(value)
    if text.isascii() or ("Σ" not in text and "\u0130" not in text):
        return text.lower()
    return "".join("i" if char == "\u0130" else char.lower() for char in text)


class any_case(sa.sql.functions.GenericFunction):
    """``any_case(x) == any_case(y)``: the two texts alike in upper or lower case, every letter folded
    by the database as PostgreSQL's lower() folds it: lower() there, ``unicode_lower`` on SQLite."""

    type = sa.String()
    inherit_cache = True


@compiles(any_case)
def _lower(element, compiler, **kw):
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(any_case, "sqlite")
def _unicode_lower(element, compiler, **kw):
    return f"unicode_lower({compiler.process(element.clauses, **kw)})"


# Latin letters that do not decompose into a letter and accents, written as people type them without
# (U+0131 is the dotless i of Turkish).
LETTERS = {"ß": "ss", "æ": "ae", "œ": "oe", "þ": "th", "ð": "d", "\u0131": "i", "ĸ": "k", "ŋ": "n"}
# The blocks of accented Latin letters: Latin-1 Supplement, Extended-A and -B, Extended Additional
# (Vietnamese), Extended-C and -D, and the Latin ligatures (ﬁ).
LATIN_BLOCKS = ((0x00C0, 0x024F), (0x1E00, 0x1EFF), (0x2C60, 0x2C7F), (0xA720, 0xA7FF), (0xFB00, 0xFB06))
# Full-width ASCII forms (typed with Chinese and Japanese input methods), read as the ASCII ones.
FULL_WIDTH_ASCII = (0xFF01, 0xFF5E)
# Accents typed as separate combining marks (macOS and some imports decompose: "u" + U+0308).
MARKS_AFTER_LATIN = re.compile(r"(?<=[a-z])[\u0300-\u036f]+")


def _plain_latin(letter: str) -> str | None:
    """A Latin letter as it is typed without accents: "é" -> "e", "ø" -> "o", "ß" -> "ss"."""
    lower = letter.lower()
    if lower in LETTERS:
        return LETTERS[lower]
    plain = "".join(char for char in unicodedata.normalize("NFKD", lower) if not unicodedata.combining(char))
    if plain.isascii():
        return plain
    # Letters with a stroke or hook do not decompose (ø, đ, ł, ħ): their name says the letter.
    named = re.fullmatch(r"LATIN (?:SMALL|CAPITAL) LETTER ([A-Z]) WITH .+", unicodedata.name(letter, ""))
    return named.group(1).lower() if named else None


@cache
def _fold_table() -> dict[int, str]:
    table = {}
    for first, last in LATIN_BLOCKS:
        for point in range(first, last + 1):
            char = chr(point)
            if unicodedata.category(char).startswith("L") and unicodedata.name(char, "").startswith("LATIN"):
                plain = _plain_latin(char)
                if plain is not None and plain != char:
                    table[point] = plain
    for point in range(FULL_WIDTH_ASCII[0], FULL_WIDTH_ASCII[1] + 1):
        table[point] = chr(point - 0xFEE0).lower()
    return table


def fold(text: str) -> str:
    """What search compares: lower case, single spaces, Latin letters without accents ("São Paulo"
    -> "sao paulo", "Straße" -> "strasse", "Łódź" -> "lodz") and full-width letters and digits as
    ASCII. Chinese, Japanese and Korean are left as they are (kana keep their dakuten, hangul its
    syllables). fold(normalize(text)) == fold(text), so a normalised text is folded as it stands."""
    lower = text.lower()
    if lower.isascii():  # most text, as an import writes it: nothing to fold
        return " ".join(lower.split())
    return " ".join(MARKS_AFTER_LATIN.sub("", lower.translate(_fold_table())).split())


# ä, ö and ü as German spells them without the dots (any case, composed or typed as a letter and a
# combining diaeresis: text is put in NFC first).
GERMAN = {"ä": "ae", "ö": "oe", "ü": "ue"}
UMLAUT = re.compile("[äöü]")


def german_spelling(word: str) -> str | None:
    """A word with ä, ö or ü as it is written without them in German, folded ("Müßig" -> "muessig");
    None when it holds none."""
    lower = unicodedata.normalize("NFC", word.lower())
    if not UMLAUT.search(lower):
        return None
    return fold(UMLAUT.sub(lambda found: GERMAN[found.group()], lower))


def searchable(text: str) -> str:
    """The stored search text of ``text``: ``fold``-ed, then the German spelling of each word that
    holds ä, ö or ü which is not a word already ("Jürgen Müller" -> "jurgen muller juergen mueller"),
    so that both "muller" and "mueller" find it, then the Chinese, Japanese and Korean grams
    (``with_cjk_grams``)."""
    folded = fold(text)
    if text.isascii():
        return folded
    return with_cjk_grams(with_german_spellings(folded, text))


def cjk_gram(word: str) -> str:
    """One or two Chinese, Japanese or Korean characters as the search text stores them: between two
    bars, which pg_trgm and FTS5 read as a word of its own, so ``LIKE '%|伟|%'`` has trigrams to find."""
    return f"{GRAM_MARK}{word}{GRAM_MARK}"


def with_cjk_grams(folded: str) -> str:
    """``folded`` (a search text) with every character and pair of characters of its Chinese, Japanese
    and Korean runs as a ``cjk_gram`` ("王小明" adds |王| |小| |明| |王小| |小明|): one or two of them make
    a whole given name or word (伟 of 张伟, 小明, 贸易), too short for a trigram index to find inside a
    word. Idempotent: the grams of a text that has them are not added again."""
    words = folded.split()
    present = set(words)
    for run in CJK_RUN.findall(" ".join(word for word in words if not word.startswith(GRAM_MARK))):
        for size in (1, 2):
            for start in range(len(run) - size + 1):
                gram = cjk_gram(run[start : start + size])
                if gram not in present:
                    words.append(gram)
                    present.add(gram)
    return " ".join(words)


def with_german_spellings(folded: str, source: str) -> str:
    """``folded`` (a search text) with the German spelling of each word of ``source`` that has one,
    whose plain fold is a word of ``folded`` and the spelling is not yet (migrations add them to
    search texts stored before, from the columns the text was made of)."""
    words = folded.split()
    present = set(words)
    for word in source.split():
        spelling = german_spelling(word)
        if spelling and spelling not in present and fold(word) in present:
            words.append(spelling)
            present.add(spelling)
    return " ".join(words)


@cache
def initial_variants(letter: str) -> tuple[str, ...]:
    """The letters a name may start with that fold to one starting with ``letter`` ("e": é, è, ê...;
    "s": ß, š...), in both cases (SQLite's lower() and LIKE know only ASCII), from the Latin letters of
    Western, Northern and Central Europe and Latin America (Latin-1 Supplement and Extended-A, a
    short list to check each row against)."""
    found = [letter]
    for point in range(0x00C0, 0x0180):
        char = chr(point)
        plain = _fold_table().get(point)
        if plain and plain.startswith(letter) and char.islower():
            found += [char] + ([char.upper()] if len(char.upper()) == 1 and not char.upper().isascii() else [])
    return tuple(dict.fromkeys(found))


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def fts_table(table: str) -> str:
    return f"{table}_fts"


def is_search_index(name: str, type_: str) -> bool:
    """The dialect-specific structures that migrations make and models do not declare: the search
    indexes, and expression indexes Alembic cannot compare (its autogenerate is told to leave them
    alone)."""
    if type_ == "table":
        return re.fullmatch(r"\w+_fts(_\w+)?", name) is not None
    expression_index = r"ix_\w+_(trigram|name_prefix|custom_lower_gin|last_touch|name_order)"
    return type_ == "index" and re.fullmatch(expression_index, name) is not None


def search_index_ddl(table: str, dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [
            f"CREATE INDEX ix_{table}_trigram ON {table} USING gin (search_text gin_trgm_ops)",
            f"CREATE INDEX ix_{table}_name_prefix ON {table} (workspace_id, lower(name) text_pattern_ops)",
        ]
    return sqlite_fts_ddl(table)


def drop_search_index_ddl(table: str, dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [f"DROP INDEX IF EXISTS ix_{table}_trigram", f"DROP INDEX IF EXISTS ix_{table}_name_prefix"]
    return [f"DROP TABLE IF EXISTS {fts_table(table)}"]  # its triggers go with the content table


def sqlite_fts_ddl(table: str) -> list[str]:
    """An external-content FTS5 trigram index of ``table.search_text`` and the triggers that keep it."""
    fts = fts_table(table)
    insert = f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text);"
    delete = f"INSERT INTO {fts}({fts}, rowid, search_text) VALUES ('delete', old.id, old.search_text);"
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5(search_text, content='{table}', content_rowid='id', "
        "tokenize='trigram')",
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN {insert} END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN {delete} END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF search_text ON {table} BEGIN {delete} {insert} END",
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
    ]


def like_pattern(term: str, prefix_only: bool = False) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%" if prefix_only else f"%{escaped}%"


def _short_word_condition(model, word: str, narrowed: bool):
    # One or two Chinese, Japanese or Korean characters come as a ``cjk_gram`` (search_terms); a short
    # word mixing them with other letters matches anywhere, without an index.
    if CJK.search(word):
        return model.search_text.like(like_pattern(word), escape="\\")
    # Alone, one letter is the start of the name (indexed); beside a longer word, whose index
    # already narrows the rows, it is the start of any word ("Liisa V" finds Liisa Virtanen).
    if len(word) == 1 and hasattr(model, "name") and not narrowed:
        variants = initial_variants(word)
        if len(variants) > 1:  # "e" or "é": the name starts with e, é, è... (one check, not a LIKE each)
            return sa.func.lower(sa.func.substr(model.name, 1, 1)).in_(variants)
        return sa.func.lower(model.name).like(like_pattern(word, prefix_only=True), escape="\\")
    return sa.or_(
        model.search_text.like(like_pattern(word, prefix_only=True), escape="\\"),
        model.search_text.like("% " + like_pattern(word, prefix_only=True), escape="\\"),
    )


def _fts_rowids(model, word: str) -> sa.Select:
    fts = sa.table(fts_table(model.__tablename__), sa.column("rowid"), sa.column("search_text"))
    # FTS5 serves LIKE from its trigram index only without ESCAPE; a word holding a wildcard
    # character is rare and pays for a scan of the index instead.
    if any(char in word for char in "%_\\"):
        return sa.select(fts.c.rowid).where(fts.c.search_text.like(like_pattern(word), escape="\\"))
    return sa.select(fts.c.rowid).where(fts.c.search_text.like(f"%{word}%"))


def _word_condition(model, word: str, dialect: str, narrowed: bool = False):
    if len(word) < TRIGRAM:
        return _short_word_condition(model, word, narrowed)
    if dialect == "sqlite":
        return model.id.in_(_fts_rowids(model, word))
    return model.search_text.like(like_pattern(word), escape="\\")


def _term_condition(model, forms: tuple[str, ...], dialect: str, narrowed: bool):
    """A word in any of its spellings (the typed one first). A word shorter than a trigram is the start
    of a word in each spelling ("mü": mu... or mue..., not Samuel). On SQLite the spellings the FTS5
    index serves are one ``id IN (... UNION ...)``: SQLite then reads each from the index, where an OR
    of two IN lists has it walk the workspace checking every row against both."""
    if len(forms[0]) < TRIGRAM:
        conditions = [_short_word_condition(model, form, narrowed) for form in forms]
    elif dialect == "sqlite" and len(forms) > 1:
        return model.id.in_(sa.union(*(_fts_rowids(model, form) for form in forms)))
    else:
        conditions = [_word_condition(model, form, dialect, narrowed) for form in forms]
    return conditions[0] if len(conditions) == 1 else sa.or_(*conditions)


def search_order(q: str, dialect: str, columns: list, descending: bool) -> list | None:
    """The ORDER BY of a list searched on SQLite through the FTS5 index (None: the usual one).

    The list's sort index (workspace_id, created_at) also serves the workspace condition, so SQLite
    walks the whole workspace checking each row against the search's rowids: 22 ms for a rare word in
    a 200,000-contact workspace. A unary ``+`` on the first sort column keeps that index out of the
    ORDER BY, and SQLite fetches the matching rowids and sorts them instead: 0.6 ms."""
    if dialect != "sqlite" or not any(len(word) >= TRIGRAM for word in search_words(q)):
        return None
    first = UnaryExpression(columns[0].expression, operator=operators.custom_op("+"), type_=columns[0].type)
    return [column.desc() if descending else column.asc() for column in (first, *columns[1:])]


def phone_forms(typed: str, region: str | None) -> tuple[str, ...]:
    """The digits of a query that looks like a phone number, as a stored number may hold them: as
    typed, and, for a number typed as it is dialled in the workspace's ``region``, in the
    international form the search text stores (E.164's digits): the national prefix of the region
    taken for its country code ("020 7183 8750" in Britain: 44 20 7183 8750, as the list shows it
    without the code), or the international dialling prefix dropped ("0044 20...", "011 1 650...")."""
    numbers = digits(typed)
    forms = [numbers]
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper()) if region else None
    if metadata is None or typed.lstrip().startswith("+"):
        return (numbers,)
    national = metadata.national_prefix
    if national and numbers.startswith(national) and len(numbers) - len(national) >= TRIGRAM:
        forms.append(f"{metadata.country_code}{numbers[len(national) :]}")
    dialled = re.match(f"(?:{metadata.international_prefix})", numbers) if metadata.international_prefix else None
    if dialled and len(numbers) - dialled.end() >= TRIGRAM:
        forms.append(numbers[dialled.end() :])
    return tuple(dict.fromkeys(forms))


def search_words(q: str, phone_digits: bool = True) -> list[str]:
    """The words of a query, folded; a query that looks like a phone number is one word of its digits
    (unless ``phone_digits`` is False: the search text holds none), so "650 253-00" finds
    +16502530000 however it was typed."""
    return [forms[0] for forms in search_terms(q, phone_digits)]


def search_terms(q: str, phone_digits: bool = True, phone_region: str | None = None) -> list[tuple[str, ...]]:
    """Each word of a query as the spellings it may be stored in: folded, and for a word of two
    letters or more holding ä, ö or ü also its German spelling (("muller", "mueller") for "Müller");
    a word with an apostrophe with both ways of writing it (``apostrophe_spellings``).
    One letter stays the start of a name ("ü": Ü or U, ``initial_variants``). A query that looks like
    a phone number is one word, its digits in the forms ``phone_forms`` gives for ``phone_region``."""
    text = fold(q)
    if phone_digits and re.fullmatch(r"[\d+()\-./ ]+", text) and len(digits(text)) >= TRIGRAM:
        return [phone_forms(text, phone_region)]
    terms = []
    for word in q.split():
        plain = fold(word)
        if not plain:
            continue
        if len(plain) < TRIGRAM and CJK_RUN.fullmatch(plain):
            terms.append((cjk_gram(plain),))  # a word of its own in the search text, so indexed
            continue
        spelling = german_spelling(word) if len(plain) > 1 else None
        forms = (plain, spelling) if spelling and spelling != plain else (plain,)
        terms.append(tuple(dict.fromkeys(variant for form in forms for variant in (form, *apostrophe_spellings(form)))))
    return terms


# The apostrophe as it is typed (') and as phones, word processors and imports write it (U+2019, U+2018
# and U+02BC): a name is stored as it came, so "O'Brien" must find it stored with U+2019, and the
# other way round.
APOSTROPHES = re.compile("['\u2018\u2019\u02bc]")


def apostrophe_spellings(word: str) -> tuple[str, ...]:
    """``word`` with its apostrophes written as ' and as U+2019 (none when it holds none)."""
    if not APOSTROPHES.search(word):
        return ()
    return tuple(APOSTROPHES.sub(apostrophe, word) for apostrophe in ("'", "\u2019"))


def matching(
    statement: sa.Select, model, q: str, dialect: str, phone_digits: bool = True, phone_region: str | None = None
) -> sa.Select:
    """Rows whose search text holds every word of ``q`` (in one of its spellings, ``search_terms``);
    ``phone_region``: the workspace's, in which a phone number may be typed as it is dialled there."""
    terms = search_terms(q, phone_digits, phone_region)
    narrowed = any(len(forms[0]) >= TRIGRAM for forms in terms)
    for forms in terms:
        statement = statement.where(_term_condition(model, forms, dialect, narrowed))
    return statement
