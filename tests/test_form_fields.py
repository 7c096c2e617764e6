"""The project's select fields write the same markup as WTForms' own, names and values escaped."""

import wtforms

from crm.contacts.forms import choices
from crm.form_fields import SelectField, SelectMultipleField

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
