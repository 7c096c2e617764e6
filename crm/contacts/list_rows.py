"""The contacts list's rows as plain values, built once per page.

The list is the busiest page of the product, so its rows skip the ORM's objects: one query selects
only the columns the member chose (company and owner names joined in), and each cell is formatted
here once (links routed once per page, labels translated once, money through crm.i18n.money_writer);
``rows_html`` then writes the rows. Filters, sort and keyset paging are those of the list
(crm/contacts/queries.py).
"""

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import g, url_for
from flask_babel import format_date, format_datetime, gettext
from markupsafe import Markup

from crm.auth.models import User
from crm.contacts import phones, queries
from crm.contacts.forms import LEVEL_LABELS, LIFECYCLE_LABELS
from crm.contacts.list_view import ListState
from crm.contacts.models import Company, Contact
from crm.custom_fields import service as custom_fields
from crm.custom_fields.service import FieldDef
from crm.extensions import db
from crm.html_text import escape
from crm.i18n import money_writer
from crm.pagination import Page, keyset, row_column
from crm.permissions import own_records_only
from crm.search import search_order
from crm.workspaces.models import Membership

NUMBER_COLUMNS = frozenset({"value", "value_12m"})


@dataclass(frozen=True, slots=True)
class ListRow:
    id: int
    name: str
    title: str | None
    cells: tuple  # one per shown column: text, or Markup for a link


# What each built-in column reads from the database.
SELECTED = {
    # Its trash time and owner too: the link is drawn only to a company page the member may open.
    "company": (
        Contact.company_id,
        Company.name.label("company_name"),
        Company.deleted_at.label("company_deleted_at"),
        Company.owner_id.label("company_owner_id"),
    ),
    # The first address and number only, read as text: decoding the JSON lists cost more.
    "email": (Contact.emails[0].as_string().label("first_email"),),
    "phone": (Contact.phones[0].as_string().label("first_phone"),),
    "owner": (User.name.label("owner_name"),),
    "lifecycle": (Contact.lifecycle,),
    "tier": (Contact.tier,),
    "level": (Contact.level,),
    "value": (Contact.lifetime_value,),
    "value_12m": (Contact.value_12m,),
    "last_activity": (Contact.last_activity_at,),
    "source": (Contact.source,),
    "created": (Contact.created_at,),
}


def contact_rows(state: ListState, after: str | None, member: Membership, shown: list[str], custom: dict) -> Page:
    """One page of the list as ``ListRow``s with a cell per ``shown`` column (custom ones in ``custom``)."""
    sort_columns, descending = queries.sort_columns(state.sort)
    statement = _select(shown, custom, sort_columns)
    statement = queries.matching_contacts(state, member, statement)
    order = search_order(state.q, db.engine.dialect.name, sort_columns, descending)
    page = keyset(db.session, statement, sort_columns, after, queries.PER_PAGE, descending, scalars=False, order=order)
    cell = _cell_makers(shown, custom, member)
    page.items = [ListRow(row.id, row.name, row.title, tuple(make(row) for make in cell)) for row in page.items]
    return page


def rows_html(rows: list[ListRow], number_cells: list[bool], selectable: bool, focus_first: bool = False) -> Markup:
    """The ``<tr>`` of each row, written here rather than in a Jinja loop: there each of a row's ~15
    values cost an attribute lookup, an escape into a new Markup and a join. Every text is escaped
    once (crm/html_text.py); cells that are Markup (links) are already safe. ``focus_first``: the
    first row's link takes the focus (rows added by "Load more", which took the focus with it)."""
    contact_url = url_for("ws.contacts.show", contact_id=0)[:-1]
    select_text = escape(gettext("Select"))
    opening = ['<td class="number">' if number else "<td>" for number in number_cells]

    def row(item: ListRow, focus: bool) -> str:
        name, key = escape(item.name), item.id
        pick = (
            f'<td class="select"><input type="checkbox" id="select-{key}" name="ids" value="{key}" form="bulk-form">'
            f'<label for="select-{key}" class="visually-hidden">{select_text} {name}</label></td>'
            if selectable
            else ""
        )
        title = f'<br><span class="hint">{escape(item.title)}</span>' if item.title else ""
        cells = "".join(
            f"{start}{cell if isinstance(cell, Markup) else escape(cell)}</td>"
            for start, cell in zip(opening, item.cells, strict=True)
        )
        link = f'<a href="{contact_url}{key}"{" autofocus" if focus else ""}>{name}</a>'
        return f'<tr id="contact-{key}">{pick}<th scope="row">{link}{title}</th>{cells}</tr>\n'

    return Markup("".join(row(item, focus_first and index == 0) for index, item in enumerate(rows)))  # noqa: S704  (every value is escaped in row())


def _select(shown: list[str], custom: dict, sort_columns: list) -> sa.Select:
    # By key: a collated sort column's own column is the name selected already (crm.pagination.row_column).
    read = (Contact.id, Contact.name, Contact.title, *map(row_column, sort_columns))
    columns = {column.key: column for column in read}
    for key in shown:
        columns.update({column.key: column for column in SELECTED.get(key, ())})
    if custom.keys() & set(shown):
        columns["custom"] = Contact.custom
    statement = sa.select(*(columns[key] for key in sorted(columns)))
    if "company" in shown:
        statement = statement.outerjoin(
            Company, sa.and_(Company.workspace_id == Contact.workspace_id, Company.id == Contact.company_id)
        )
    if "owner" in shown:
        statement = statement.outerjoin(
            Membership, sa.and_(Membership.workspace_id == Contact.workspace_id, Membership.id == Contact.owner_id)
        ).outerjoin(User, User.id == Membership.user_id)
    return statement


def _cell_makers(shown: list[str], custom: dict, member: Membership) -> list[Callable]:
    """One function per shown column turning a row into that cell's text."""
    makers = {
        "company": _company_cell(member),
        "email": lambda row: row.first_email or "",
        "phone": _phone_cell(g.workspace.phone_region),
        "owner": lambda row: row.owner_name or "",
        "lifecycle": _label_cell("lifecycle", LIFECYCLE_LABELS),
        "tier": lambda row: row.tier or "",
        "level": _label_cell("level", LEVEL_LABELS),
        "value": _money_cell("lifetime_value", g.workspace.currency),
        "value_12m": _money_cell("value_12m", g.workspace.currency),
        "last_activity": lambda row: format_datetime(row.last_activity_at, "short") if row.last_activity_at else "",
        "source": lambda row: row.source or "",
        "created": lambda row: format_date(row.created_at),  # the day where the workspace is
    }
    return [makers[key] if key in makers else _custom_cell(custom[key]) for key in shown]


def _company_cell(member: Membership) -> Callable:
    """The company's name, a link to its page when the member may open it (as the contact's page
    links it, crm.contacts.routes.record_visible): not when it is in the trash (which it says), nor
    under "own records" when it is a colleague's."""
    link = url_for("ws.companies.show", company_id=0)[:-1]
    in_the_trash = gettext("in the trash")
    only_own = own_records_only(member)

    def cell(row) -> str:
        if row.company_id is None:
            return ""
        if row.company_deleted_at is not None:
            return f"{row.company_name} ({in_the_trash})"
        if only_own and row.company_owner_id != member.id:
            return row.company_name
        return Markup(f'<a href="{link}{row.company_id}">{escape(row.company_name)}</a>')  # noqa: S704  (escaped)

    return cell


def _phone_cell(region: str) -> Callable:
    return lambda row: phones.display(row.first_phone, region) if row.first_phone else ""


def _label_cell(column: str, labels: dict) -> Callable:
    texts = {key: str(label) for key, label in labels.items()}
    return lambda row: texts.get(getattr(row, column), getattr(row, column))


def _money_cell(column: str, currency: str) -> Callable:
    money = money_writer()
    return lambda row: money(getattr(row, column), currency)


def _custom_cell(field: FieldDef) -> Callable:
    return lambda row: custom_fields.page_text(field, (row.custom or {}).get(field.key))
