"""A company purchase's buyer as typed in the picker's text box (templates/_macros/picker.html).

Without JavaScript the picker cannot search: its hidden input keeps the choice it was drawn with, and
what the member types reaches the server only as ``TEXT_FIELD``. The server then finds the one
contact of the company that the text names (an email address, a whole name, or words of either) and
refuses none or several with a message saying so. With JavaScript the text box always names the
contact chosen in the listbox (or is empty for the company itself), so the typed text changes nothing.
"""

from dataclasses import dataclass

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from crm.contacts import queries as contact_queries
from crm.contacts.models import Company
from crm.workspaces.models import Membership

TEXT_FIELD = "buyer_text"
NAMED = 5  # the matches a refusal names


@dataclass(frozen=True)
class Typed:
    """What the typed text makes of the buyer: ``buyer`` to post ("" for the company itself, or a
    contact's id, then one of ``offered``), or ``problem`` with the ``text`` to show again."""

    buyer: str
    offered: list[tuple[int, str]]
    text: str | None = None
    problem: str | None = None


def typed_buyer(company: Company, form: MultiDict, sent: int | None, offered: list, member: Membership) -> Typed | None:
    """The buyer ``form`` names by its typed text, or None where the posted id decides: no text
    was sent (the select), it names the chosen buyer (the picker with JavaScript), or the posted id
    is not one of ``offered`` (which the field refuses: a forged id is never replaced by a name)."""
    if TEXT_FIELD not in form:
        return None
    text = " ".join(form[TEXT_FIELD].split())
    names = dict(offered)
    if form.get("buyer") and sent not in names:
        return None
    if text == " ".join(names.get(sent, "").split()):
        return None
    if not text:  # the box emptied: the company itself
        return Typed("", [])
    matches = contact_queries.company_contacts_named(company, text, member, NAMED + 1)
    if len(matches) == 1:
        return Typed(str(matches[0].id), [(matches[0].id, matches[0].name)])
    if not matches:
        problem = _("No contact of this company matches “%(text)s”: check the spelling, or type their email address.",
                    text=text)  # fmt: skip
        return Typed("", [], text, problem)
    listed = ", ".join(_described(row) for row in matches[:NAMED]) + (", …" if len(matches) > NAMED else "")
    problem = _("Several of this company's contacts match “%(text)s” (%(names)s): be more specific, type more of "
                "the name or their email address.", text=text, names=listed)  # fmt: skip
    return Typed("", [], text, problem)


def _described(row) -> str:
    """A match as a refusal names it: with its first email address, which tells namesakes apart."""
    return f"{row.name} <{row.emails[0]}>" if row.emails else row.name
