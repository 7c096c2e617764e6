"""The project's WTForms speed-ups write the same markup as WTForms' own, names and values escaped."""

import time

import wtforms
from markupsafe import Markup
from wtforms import widgets
from wtforms.widgets import core

from crm.contacts.forms import choices
from crm.form_fields import WTFORMS_HTML_PARAMS, AmountField, SelectField, SelectMultipleField, html_params

CHOICES = choices([("1", "Ann <b>Lee</b>"), ("2", 'Bo "Tea" & Co'), (True, "Yes"), ("", "— nobody —")])


class Ours(wtforms.Form):
    one = SelectField(choices=CHOICES, default="2")
    many = SelectMultipleField(choices=CHOICES, default=["1", ""])


class Theirs(wtforms.Form):
    one = wtforms.SelectField(choices=CHOICES, default="2")
    many = wtforms.SelectMultipleField(choices=CHOICES, default=["1", ""])


def test_selects_are_written_as_wtforms_writes_them_with_every_text_escaped():
    ours, theirs = Ours(), Theirs()
    assert ours.one() == theirs.one() and ours.many() == theirs.many()
    assert ours.one(class_="wide", disabled=True) == theirs.one(class_="wide", disabled=True)
    html = ours.one()
    assert '<option value="1">Ann &lt;b&gt;Lee&lt;/b&gt;</option>' in html
    assert '<option selected value="2">Bo &#34;Tea&#34; &amp; Co</option>' in html and "<b>" not in html
    assert ours.many().count("selected") == 2


def test_attributes_are_written_as_wtforms_writes_them(app):
    cases = [
        {"name": "q", "id": "q", "value": 'Tea "&" <cups>', "required": True, "disabled": False},
        {"class_": "wide", "data_hx_get": "/x?a=1&b=2", "aria_describedby": "q-hint", "value": Markup('a "b"')},
        {"value": 0, "min": 1.5, "autofocus": True},
    ]
    for case in cases:
        assert html_params(**case) == WTFORMS_HTML_PARAMS(**case)
    # What the app's widgets, labels, inputs and buttons use (crm.form_fields.install).
    assert core.html_params is widgets.html_params is core.Input.html_params is core.Button.html_params is html_params


def test_the_amount_patterns_read_a_long_text_in_linear_time():
    """Digits, an optional point and digits again could split a run of digits at any point: 20,000
    digits and an "x" took seconds of CPU to refuse. The field refuses text that long before reading
    it; the patterns are safe anyway."""
    started = time.process_time()
    assert not AmountField.PLAIN.fullmatch("1" * 20000 + "x")
    assert not AmountField.GROUPED.fullmatch("1" + ",111" * 5000 + "x")
    assert time.process_time() - started < 0.5
    assert AmountField.GROUPED.fullmatch("1,234.5") and AmountField.PLAIN.fullmatch("-1234.")
    assert AmountField.PLAIN.fullmatch(".5") and not AmountField.PLAIN.fullmatch(".")
