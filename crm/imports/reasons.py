"""Why an import did not take a row, kept untranslated: the message id and its values, so that
each person reading the import (the page, the downloaded Error column) reads it in their own
language, not in that of whoever ran the check. The parsers give their reasons as lazy texts
(``lazy_gettext``, which holds its message id and values); ``stored`` turns one into JSON for
``import_problems.message`` and ``shown`` translates it back. A reason that is no message of ours
(none now; problems written before migration 0042) shows as the text stored with it."""

from flask_babel.speaklater import LazyString

from crm.i18n import _message

# A message id may come back from a restored backup: a text that does not format is shown as stored.
UNFORMATTABLE = (KeyError, ValueError, TypeError, IndexError)


def lowered(text: LazyString) -> LazyString:
    """``text`` in lower case when shown (a label as a word within a sentence)."""
    return LazyString(_lowered, *text._args, **text._kwargs)


def _lowered(msgid: str, **values) -> str:
    return _message(msgid, **values).lower()


def stored(text) -> dict | None:
    """{"msgid", "values" (nested messages as dicts), "lower" when shown in lower case} of a lazy
    text, or None for any other value (a header of the file, a field's label: shown as it is)."""
    if not isinstance(text, LazyString) or text._func not in (_message, _lowered) or len(text._args) != 1:
        return None
    values = {}
    for name, value in text._kwargs.items():
        nested = stored(value)
        values[name] = nested if nested is not None else (value if isinstance(value, int | float) else str(value))
    message = {"msgid": text._args[0], "values": values}
    if text._func is _lowered:
        message["lower"] = True
    return message


def shown(message: dict | None, as_stored: str | None) -> str | None:
    """``message`` (as ``stored`` wrote it) in the current language; ``as_stored`` without one, or
    when it does not format."""
    if not message:
        return as_stored
    try:
        return _translated(message)
    except UNFORMATTABLE:
        return as_stored


def _translated(message: dict) -> str:
    values = {
        name: _translated(value) if isinstance(value, dict) else value
        for name, value in (message.get("values") or {}).items()
    }
    text = _message(str(message["msgid"]), **values)
    return text.lower() if message.get("lower") else text
