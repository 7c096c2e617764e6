"""The board's cards, written once per board in Python: a board shows up to 25 cards per column, and
formatting each amount, date and warning in the template (a filter call, a translation lookup and
babel's formatting per card) was most of the board's time; after that, Jinja's per-value work (an
attribute lookup, an escape into a new Markup and a join for each of a card's ~30 values) was half
of what was left. Every text from the database is escaped once here (crm/html_text.py)."""

from datetime import date
from functools import lru_cache

from babel.dates import format_date
from flask import url_for
from flask_babel import get_locale, gettext, ngettext
from markupsafe import Markup

from crm.deals.queries import Card, Column
from crm.html_text import escape
from crm.i18n import money_writer


def write_cards(columns: list[Column], member_names: dict[int, str]) -> None:
    """Sets each card's ``owner_name``, ``value_text``, ``close_text``, ``rotting_text`` and
    ``customer_text``; ``member_names`` names every member by membership id."""
    warnings: dict[int, str] = {}
    locale = str(get_locale())
    money = money_writer(locale)
    for column in columns:
        for card in column.cards:
            card.owner_name = member_names.get(card.owner_id)
            card.value_text = money(card.value, card.currency)
            card.customer_text = " · ".join(name for name in (card.contact_name, card.company_name) if name)
            if card.expected_close_on is not None:
                card.close_text = _date_text(card.expected_close_on, locale)
            if card.rotting_for is not None:
                if card.rotting_for not in warnings:
                    warnings[card.rotting_for] = ngettext(
                        "Stuck for %(num)d day in this stage", "Stuck for %(num)d days in this stage", card.rotting_for
                    )
                card.rotting_text = warnings[card.rotting_for]


@lru_cache(maxsize=4096)
def _date_text(day: date, locale: str) -> str:
    """A close date as format_date writes it (babel's medium format), kept per process: a board shows
    about a hundred dates, and babel takes ~15 µs for each."""
    return format_date(day, format="medium", locale=locale)


def cards_html(column: Column, moves: list[tuple[str, str, str]], can_move: bool) -> Markup:
    """The ``<li>`` of each card of a column. ``moves`` are the card's move buttons as (direction,
    the target stage's name, the query string of the move, filters included); they swap the board
    with the target their column's list gives them."""
    deal_base = url_for("ws.deals.show", deal_id=0)[:-1]
    nobody, close_label = escape(gettext("Nobody")), escape(gettext("Expected close date"))
    before, _title, after = (escape(part) for part in gettext("Move %(title)s to", title="\x00").partition("\x00"))
    moves = [(direction, escape(name), escape(query)) for direction, name, query in moves]
    # The value names the stage the card is shown in: a drag posted from a board loaded before
    # someone else moved the deal leaves it where they put it (crm.deals.routes.reorder).
    stage_input = (
        f'<input type="hidden" name="stage-{column.stage.id}" value="{{}}:{column.stage.id}">' if can_move else ""
    )

    def move_button(card_id: int, title: str, direction: str, name: str, query: str) -> str:
        url = f"{deal_base}{card_id}/move?{query}"
        words = (
            f'<span aria-hidden="true">←</span> {name}'
            if direction == "previous"
            else f'{name} <span aria-hidden="true">→</span>'
        )
        return (
            f'<button type="submit" class="small secondary" id="move-{direction}-{card_id}" formaction="{url}" '
            f'data-hx-post="{url}">'
            f'<span class="visually-hidden">{before}{title}{after} </span>{words}</button>'
        )

    def card_html(card: Card) -> str:
        title = escape(card.title)
        parts = [f'<li class="deal-card{" rotting" if card.rotting_text else ""}" id="deal-{card.id}">']
        if stage_input:
            parts.append(stage_input.format(card.id))
        parts.append(f'<a class="deal-title" href="{deal_base}{card.id}">{title}</a>')
        parts.append(f'<p class="deal-value">{escape(card.value_text)}</p>')
        if card.customer_text:
            parts.append(f'<p class="deal-customer">{escape(card.customer_text)}</p>')
        close = f' · <span title="{close_label}">{escape(card.close_text)}</span>' if card.close_text else ""
        parts.append(f'<p class="deal-meta">{escape(card.owner_name) if card.owner_name else nobody}{close}</p>')
        if card.rotting_text:
            parts.append(f'<p class="badge warning">{escape(card.rotting_text)}</p>')
        if moves:
            buttons = "".join(move_button(card.id, title, *move) for move in moves)
            parts.append(f'<div class="card-moves">{buttons}</div>')
        parts.append("</li>\n")
        return "".join(parts)

    return Markup("".join(card_html(card) for card in column.cards))  # noqa: S704  (every value is escaped above)
