"""WTForms, writing less slowly. The markup is the same as WTForms' own (tests/test_form_fields.py
compares them): attributes in WTForms' order, values and labels escaped by markupsafe.

- ``SelectField`` and ``SelectMultipleField`` write a plain ``<option>`` in one f-string. WTForms
  writes each through ``html_params`` (about 28 µs an option: 0.85 ms for a list of 30 people, and a
  contact page has four selects).
- ``install`` gives WTForms' widgets a faster ``html_params``: theirs formats every attribute with
  ``Markup.format``, which goes through ``string.Formatter`` (a fifth of the time the contact page's
  two composers took to render)."""

import re
from datetime import date
from decimal import Decimal

import wtforms
from flask_babel import ngettext
from markupsafe import Markup, escape
from wtforms import widgets
from wtforms.validators import StopValidation, ValidationError
from wtforms.widgets import core

from crm.i18n import lazy_gettext as _l
from crm.i18n import workspace_today

WTFORMS_HTML_PARAMS = core.html_params  # theirs, read before install() replaces it


def html_params(**kwargs) -> Markup:
    """WTForms' ``html_params``: sorted attributes, ``True`` as a bare name, ``False`` left out,
    values escaped (and a double quote in a value that is already markup written ``&quot;``)."""
    params = []
    for key, value in sorted(kwargs.items()):
        if value is False:
            continue
        name = escape(core.clean_key(key))
        params.append(name if value is True else f'{name}="{_quoted(value)}"')
    return Markup(" ".join(params))  # noqa: S704  (every part is escaped)


def _quoted(value) -> str:
    return str(escape(value)).replace('"', "&quot;")


def install() -> None:
    """Makes WTForms' widgets and labels write their attributes with ``html_params`` above, once per
    process: most look it up in its module when they render, labels in the package, and inputs and
    buttons keep it on their class."""
    core.html_params = widgets.html_params = html_params
    core.Input.html_params = core.Button.html_params = staticmethod(html_params)


class Select(widgets.Select):
    @classmethod
    def render_option(cls, choice, **kwargs):
        if kwargs or choice.render_kw:  # extra attributes: WTForms orders and writes them
            return super().render_option(choice, **kwargs)
        value = str(choice.value) if isinstance(choice.value, bool) else choice.value
        label = escape(choice.label or choice.value)
        selected = "selected " if choice.selected else ""
        return Markup(f'<option {selected}value="{escape(value)}">{label}</option>')  # noqa: S704  (escaped)


def stripped(value):
    """A filter: text without the spaces around it (what is stored), before the length is checked."""
    return value.strip() if isinstance(value, str) else value


class TrimsText:
    """A form's ``Meta`` that trims every text field it holds (``StringField``, ``TextAreaField``, the
    custom fields' too; not a password or a hidden field) before validation: " cn" fits a two-letter
    country, a 198-letter name with spaces around fits 200. The value is what the service stores."""

    def bind_field(self, form, unbound_field, options):
        kind = unbound_field.field_class
        if issubclass(kind, wtforms.StringField) and not issubclass(kind, (wtforms.PasswordField, wtforms.HiddenField)):
            options = {**options, "filters": [stripped, *unbound_field.kwargs.get("filters", ())]}
        return super().bind_field(form, unbound_field, options)


class SelectField(wtforms.SelectField):
    widget = Select()


class SelectMultipleField(wtforms.SelectMultipleField):
    widget = Select(multiple=True)

    def pre_validate(self, form):
        """WTForms' check with a message of the app's ("'Beer' is not a valid choice for this field."
        has no translation in WTForms' catalogue, so it was English on a Chinese page)."""
        if self.process_errors or not self.validate_choice or not self.data or self.choices is None:
            return super().pre_validate(form)
        offered = {self.coerce(choice.value) for choice in self._iter_choices_normalized()}
        refused = [str(value) for value in dict.fromkeys(self.data) if value not in offered]
        if refused:
            raise ValidationError(ngettext("%(value)s is not one of this field's choices.",
                                           "%(value)s are not among this field's choices.",
                                           len(refused), value=", ".join(refused)))  # fmt: skip


class AmountField(wtforms.DecimalField):
    """A number as people type it (``amount_text``), and more decimals than ``places`` are refused
    rather than rounded away without a word. A number it cannot read gives one message, not also
    the range's."""

    MAX_LENGTH = 32
    SPACES = re.compile(r"[\s\u00a0\u202f_]")
    GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")  # "25,000" or "1,234.5", not "1,5"
    PLAIN = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")  # no exponent: "1e3" is no price, "1e9999999" no Decimal

    def process_formdata(self, valuelist):
        if valuelist and valuelist[0]:
            try:
                valuelist = [amount_text(valuelist[0])]
            except ValueError:
                self.data = None
                raise
        super().process_formdata(valuelist)
        if self.data is None:
            return
        if self.places is not None and self.data.as_tuple().exponent < -self.places:
            self.data = None
            raise ValueError(_l("Use at most %(places)d decimal places.", places=self.places))

    def pre_validate(self, form):
        # An empty field is left to Optional/InputRequired (Optional clears the parse error).
        if self.process_errors and self.raw_data and self.raw_data[0].strip():
            raise StopValidation()


# Only a number's characters: a comma among them is a decimal comma (not "¥1,234.50", which is no number).
NUMERALS = re.compile(r"-?[\d.,]+")


def amount_text(typed: str) -> str:
    """``typed`` as a number's plain text, its grouping commas and spaces taken out ("25,000",
    "1 200" give "25000", "1200"); raises ValueError with the reason for text that is no number or
    could mean two ("1,5" is not 15), as AmountField says it ("NaN", "Infinity" and exponents such
    as "1e3" are refused too). The import reads custom numbers with it.

    Text longer than any amount ("-999,999,999,999.999" is 20 characters) is refused before a pattern
    reads it, and the patterns have one way to match each text (digits, an optional point, then
    digits again could split a run of digits at any point: "1" * 20,000 + "x" cost seconds of CPU)."""
    text = AmountField.SPACES.sub("", typed)
    if len(text) > AmountField.MAX_LENGTH:
        raise ValueError(_l("Enter a number of at most %(max)d characters.", max=AmountField.MAX_LENGTH))
    if "," in text and not AmountField.GROUPED.fullmatch(text) and NUMERALS.fullmatch(text):  # 1,5 is not 15
        raise ValueError(_l("Write decimals with a point, such as 1.5."))
    text = text.replace(",", "")
    if not AmountField.PLAIN.fullmatch(text):
        raise ValueError(_l("Enter a number."))
    return text


class PlainNumber:
    """For a DecimalField: its number written without trailing zeros ("1", "2.5"), not to its places
    ("1.000" reads as a thousand where a point groups thousands). What was typed is shown as typed."""

    def _value(self):
        if not self.raw_data and isinstance(self.data, Decimal) and self.data.is_finite():
            return format(self.data.normalize(), "f")
        return super()._value()


class QuantityField(PlainNumber, AmountField):
    """A quantity: typed as an amount is, shown without trailing zeros."""


class PastDay:
    """A DateField's day from ``earliest`` to today where the workspace is, with a message for each
    side. Like WTForms' NumberRange it gives the field ``min`` and ``max`` flags, which its date input
    writes as attributes: the browser's picker offers only the days this rule takes. ``max`` is the
    function itself (WTForms calls it when the input is written), so a page shows that day's today."""

    def __init__(self, earliest: date, too_early, in_future):
        self.earliest, self.too_early, self.in_future = earliest, too_early, in_future
        self.field_flags = {"min": earliest, "max": workspace_today}

    def __call__(self, form, field):
        if not field.data:
            return
        if field.data > workspace_today():
            raise ValidationError(self.in_future)
        if field.data < self.earliest:
            raise ValidationError(self.too_early)
