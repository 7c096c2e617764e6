"""The words and figures of the board's cards, written once per board in Python: a board shows up
to 25 cards per column, and formatting each amount, date and warning in the template (a filter call, a
translation lookup and babel's formatting per card) was most of the board's time."""

from flask_babel import format_date, gettext, ngettext

from crm.deals.queries import Column
from crm.i18n import money


def write_cards(columns: list[Column]) -> None:
    """Sets each card's ``value_text``, ``close_text``, ``rotting_text`` and ``customer_text``
    (dates and warnings written once per distinct value)."""
    dates: dict = {}
    warnings: dict[int, str] = {}
    for column in columns:
        for card in column.cards:
            card.value_text = money(card.value, card.currency)
            card.customer_text = " · ".join(name for name in (card.contact_name, card.company_name) if name)
            if card.expected_close_on is not None:
                if card.expected_close_on not in dates:
                    dates[card.expected_close_on] = format_date(card.expected_close_on)
                card.close_text = dates[card.expected_close_on]
            if card.rotting_for is not None:
                if card.rotting_for not in warnings:
                    warnings[card.rotting_for] = ngettext(
                        "Stuck for %(num)d day in this stage", "Stuck for %(num)d days in this stage", card.rotting_for
                    )
                card.rotting_text = warnings[card.rotting_for]


def move_label() -> tuple[str, str]:
    """The words before and after the title in a move button's "Move <title> to", translated once."""
    before, _title, after = gettext("Move %(title)s to", title="\x00").partition("\x00")
    return before, after
