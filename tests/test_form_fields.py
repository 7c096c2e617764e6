"""The project's WTForms speed-ups write the same markup as WTForms' own, names and values escaped."""

import wtforms
from markupsafe import Markup
from wtforms import widgets
from wtforms.widgets import core

from crm.contacts.forms import choices
from crm.form_fields import WTFORMS_HTML_PARAMS, SelectField, SelectMultipleField, html_params

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
