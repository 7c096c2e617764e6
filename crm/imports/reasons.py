"""Why an import did not take a row, or why it stopped, kept untranslated: the message id and its
values, so that each person reading the import (the page, the downloaded Error column) reads it in
their own language, not in that of whoever ran the check. The parsers and the runner give their
reasons as lazy texts (``lazy_gettext``, ``lazy_ngettext``, ``lazy_number``: each holds its message
id and values); ``stored`` turns one into JSON for ``import_problems.message`` and
``imports.failure_message``, and ``shown`` translates it back. A reason that is no message of ours,
or that was stored before its message was kept (problems before migration 0043, failures before
0045), shows as the text stored with it."""

from flask_babel.speaklater import LazyString

from crm.i18n import _message, _number, _plural_message

# A message id may come back from a restored backup: a text that does not format is shown as stored.
UNFORMATTABLE = (KeyError, ValueError, TypeError, IndexError, AttributeError)


def lowered(text: LazyString) -> LazyString:
    """``text`` in lower case when shown (a label as a word within a sentence)."""
    return LazyString(_lowered, *text._args, **text._kwargs)


def _lowered(msgid: str, **values) -> str:
    return _message(msgid, **values).lower()


def stored(text) -> dict | None:
    """{"msgid", "values" (nested messages as dicts), "lower" when shown in lower case} of a lazy
    text, with "plural" and "n" when its words depend on a number, or {"number"} for a lazy number;
    None for any other value (a header of the file, a field's label: shown as it is)."""
    if not isinstance(text, LazyString):
        return None
    if text._func is _number:
        return {"number": text._args[0]}
    if text._func is _plural_message and len(text._args) == 3:
        message = {"msgid": text._args[0], "plural": text._args[1], "n": text._args[2]}
    elif text._func in (_message, _lowered) and len(text._args) == 1:
        message = {"msgid": text._args[0]}
    else:
        return None
    values = {}
    for name, value in text._kwargs.items():
        nested = stored(value)
        values[name] = nested if nested is not None else (value if isinstance(value, int | float) else str(value))
    message["values"] = values
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
    if "number" in message:
        return _number(int(message["number"]))
    values = {
        name: _translated(value) if isinstance(value, dict) else value
        for name, value in (message.get("values") or {}).items()
    }
    if "plural" in message:
        return _plural_message(str(message["msgid"]), str(message["plural"]), int(message["n"]), **values)
    text = _message(str(message["msgid"]), **values)
    return text.lower() if message.get("lower") else text
