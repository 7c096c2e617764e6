"""Language and time zone choice, and locale-aware formatting filters."""

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

import flask_babel
from babel import dates
from babel.numbers import format_currency, get_currency_precision
from flask import Flask, g, has_app_context, has_request_context, request, session
from flask_babel import Domain, format_datetime, format_decimal, get_locale
from flask_babel.speaklater import LazyString
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup, escape

LANGUAGES = {"en": "English", "zh_Hans": "简体中文"}


class RequestDomain(Domain):
    """Flask-Babel's message domain, with the translations kept on the request's Babel context once
    found. Flask-Babel looks them up on every gettext (the locale read from the context, written
    out as a string, then a cache lookup), about 10 µs a call; a list page makes over a hundred
    calls. ``force_locale`` and ``refresh`` empty ``babel_translations``, so a forced language (an
    email in the customer's language) still gets its own."""

    def get_translations(self):
        context = g.get("_flask_babel") if g else None
        translations = getattr(context, "babel_translations", None)
        if translations is None:
            translations = super().get_translations()
            context = g.get("_flask_babel") if g else None  # made by the lookup
            if context is not None:
                context.babel_translations = translations
        return translations


def select_locale() -> str:
    if not has_request_context():
        return "en"  # a job or command: it chooses with force_locale
    if current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    if session.get("locale") in LANGUAGES:
        return session["locale"]
    return locale_from_browser()


def locale_from_browser() -> str:
    for language, _quality in request.accept_languages:
        tag = language.lower().replace("_", "-")
        if tag.startswith("zh"):
            return "zh_Hans"
        if tag.startswith("en"):
            return "en"
    return "en"


def select_timezone() -> str:
    workspace = g.get("workspace")
    return workspace.timezone if workspace is not None else "UTC"


def in_zone(moment: datetime, zone: str) -> datetime:
    """A stored time (aware, or naive UTC as SQLite gives it back) where ``zone`` is."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(ZoneInfo(zone))


def zoned_datetime(moment: datetime, zone: str) -> str:
    """A moment for someone reading away from the app (an email): the full date and the short
    time where ``zone`` is, in the current language ("Tuesday, December 8, 2026, 9:00 AM",
    "2026年12月8日星期二 09:00"); the caller names the zone next to it. The zone is passed, not
    Flask-Babel's, which a command working through several workspaces would have kept from the first."""
    local, locale = in_zone(moment, zone), get_locale()
    return (
        dates.get_datetime_format("full", locale=locale)
        .replace("'", "")
        .replace("{0}", dates.format_time(local, "short", locale=locale))
        .replace("{1}", dates.format_date(local, "full", locale=locale))
    )


def day_start(day: date, zone: str) -> datetime:
    """Midnight at the start of ``day`` in ``zone``: lists filter by a workspace's calendar days."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(zone))


def workspace_today() -> date:
    """Today's date where the workspace is (its time zone)."""
    return datetime.now(ZoneInfo(select_timezone())).date()


def money(amount: Decimal | int | None, currency: str) -> str:
    return money_writer()(amount, currency)


def money_writer(locale: str | None = None) -> Callable[[Decimal | int | None, str], str]:
    """``money`` with the locale read once, for pages that write many amounts."""
    locale = locale or str(get_locale())

    def write(amount: Decimal | int | None, currency: str) -> str:
        if amount is None:
            return ""
        shape = _money_shape(currency, locale)
        if shape is not None and amount >= 0:
            return _shaped(shape, amount)
        return format_currency(amount, currency, locale=locale)

    return write


@lru_cache(maxsize=512)
def _money_shape(currency: str, locale: str) -> tuple[str, str, int] | None:
    """(prefix, suffix, decimals) when babel writes this currency in this locale as prefix +
    "1,234.56" + suffix, checked against babel on samples; else None (babel formats each amount).
    A board formats hundreds of amounts, and babel takes ~65 µs for each."""
    decimals = get_currency_precision(currency)
    sample = Decimal("1234567.891")
    written, number = format_currency(sample, currency, locale=locale), format(sample, f",.{decimals}f")
    if written.count(number) != 1:
        return None
    prefix, suffix = written.split(number)
    shape = (prefix, suffix, decimals)
    samples = (Decimal(0), Decimal("0.005"), Decimal("0.015"), Decimal("999.995"), Decimal("12"), Decimal("1e9"))
    if any(_shaped(shape, value) != format_currency(value, currency, locale=locale) for value in samples):
        return None
    return shape


def _shaped(shape: tuple[str, str, int], amount: Decimal | int) -> str:
    prefix, suffix, decimals = shape
    return f"{prefix}{format(Decimal(amount), f',.{decimals}f')}{suffix}"


def _translations():
    """The request's translations as RequestDomain keeps them, found with one look at ``g``:
    Flask-Babel's own path to them takes five, about 4 µs for each of a page's hundred-odd texts."""
    translations = getattr(g.get("_flask_babel"), "babel_translations", None)
    return translations if translations is not None else flask_babel.get_translations()


# Per catalogue (a locale's translations object): each message as lazy_gettext and the templates'
# _() give it.
_texts: defaultdict[object, dict[str, str]] = defaultdict(dict)
_template_texts: defaultdict[object, dict[str, tuple[Markup, bool]]] = defaultdict(dict)


def _message(string: str, **variables) -> str:
    """Flask-Babel's ``gettext`` for the labels made with ``lazy_gettext``, from a per-catalogue
    table: its own path looks up the domain, the context and the translations again for each (about
    10 µs; a list page shows some fifty labels). Outside an app context it is Flask-Babel's."""
    if not has_app_context():
        return flask_babel.gettext(string, **variables)
    translations = _translations()
    texts = _texts[translations]
    text = texts.get(string)
    if text is None:
        text = texts[string] = translations.ugettext(string)
    return text % variables if variables else text


class LazyText(LazyString):
    """Flask-Babel's LazyString, written as text in HTML. Flask-Babel's gives itself as markup
    (``__html__``), so Jinja and WTForms wrote it unescaped, and with it the values put in it: a
    custom field's label or a retired choice ("%(option)s (no longer offered)") holding markup, such
    as htmx's attributes, was live on every member's form."""

    def __html__(self) -> str:
        return escape(str(self))


def lazy_gettext(string: str, **variables) -> LazyString:
    """A text translated when shown, in the language of that moment (form labels, choices)."""
    return LazyText(_message, string, **variables)


def _plural_message(singular: str, plural: str, n: int, **variables) -> str:
    """Flask-Babel's ``ngettext`` (``num`` is ``n`` unless given) for ``lazy_ngettext``."""
    if not has_app_context():
        return flask_babel.ngettext(singular, plural, n, **variables)
    variables.setdefault("num", n)
    return _translations().ungettext(singular, plural, n) % variables


def lazy_ngettext(singular: str, plural: str, n: int, **variables) -> LazyString:
    """``lazy_gettext`` with a plural, chosen by ``n`` in the language of the moment it is shown
    (extracted as ``_nl``: ``make extract-messages``)."""
    return LazyText(_plural_message, singular, plural, n, **variables)


def _number(value: int) -> str:
    return format_decimal(value)


def lazy_number(value: int) -> LazyString:
    """``value`` written as a number is in the language of the moment it is shown (1,000)."""
    return LazyText(_number, value)


@pass_context
def template_gettext(context, string: str, **variables) -> str:
    """The templates' ``_()``: what Jinja's newstyle gettext gives (in an HTML template the
    translation as Markup, formatted with its escaped ``variables``), from a per-catalogue table.
    Jinja's own path runs three ``Context.call``s, a global lookup and a Markup format for every
    text, about 15 µs; a list page has 75 of them."""
    translations = _translations()
    if not context.eval_ctx.autoescape:  # a plain-text e-mail
        return translations.ugettext(string) % variables
    texts = _template_texts[translations]
    found = texts.get(string)
    if found is None:
        text = Markup(translations.ugettext(string))  # noqa: S704  (a message of our own catalogue)
        found = texts[string] = (text, "%" in text)
    text, formatted = found
    return text % variables if formatted else text


def machine_time(moment: date | datetime) -> str:
    """A ``<time datetime>`` value: a date, or a moment to the second (HTML allows at most three
    decimals of a second; Python would write six)."""
    return moment.isoformat(timespec="seconds") if isinstance(moment, datetime) else moment.isoformat()


def init_app(app: Flask) -> None:
    # Flask-Babel's callables with a shorter path to the translations (after babel.init_app).
    app.jinja_env.install_gettext_callables(
        gettext=lambda string: _translations().ugettext(string),
        ngettext=lambda singular, plural, n: _translations().ungettext(singular, plural, n),
        pgettext=lambda context, string: _translations().upgettext(context, string),
        npgettext=lambda context, singular, plural, n: _translations().unpgettext(context, singular, plural, n),
        newstyle=True,
    )
    app.jinja_env.globals["_"] = template_gettext
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["machine_time"] = machine_time
    app.jinja_env.filters["zoned_datetime"] = zoned_datetime
    app.jinja_env.filters["number"] = format_decimal
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["reject_keys"] = lambda mapping, *keys: {k: v for k, v in mapping.items() if k not in keys}

    @app.context_processor
    def i18n_context() -> dict:
        return {"languages": LANGUAGES, "current_locale": str(get_locale())}
