"""The state of the contacts list, all of it in the URL: search, filters, sort and columns.

``ListState.from_args`` reads a query string (unknown or malformed values are dropped, so a
shared or old link still opens); ``as_args`` writes it back for "load more", saved views and
exports."""

import re
from dataclasses import dataclass, field, fields
from datetime import date

from crm.contacts.models import LEVELS, LIFECYCLES, TIERS
from crm.contacts.tags import split_tags
from crm.i18n import lazy_gettext as _l
from crm.security import digits

SORTS = {
    "newest": _l("Newest first"),
    "oldest": _l("Oldest first"),
    "name": _l("Name, A to Z"),
    # Tiers are bands of the 12-month value (crm/contacts/classification.py), so this is tier order too.
    "value_12m": _l("Highest value in the last 12 months (tier A first)"),
    "value": _l("Highest lifetime value"),
    "active": _l("In touch most recently"),
    "quiet": _l("Longest out of touch"),
}
COLUMNS = {
    "company": _l("Company"),
    "email": _l("Email"),
    "phone": _l("Phone"),
    "owner": _l("Owner"),
    "lifecycle": _l("Lifecycle"),
    "tier": _l("Tier"),
    "level": _l("Customer level"),
    "value": _l("Lifetime value"),
    "value_12m": _l("Value, last 12 months"),
    "last_activity": _l("Last activity"),
    "source": _l("Source"),
    "created": _l("Added"),
}
DEFAULT_COLUMNS = ("company", "email", "phone", "owner", "lifecycle")
# ``cols=none``, which the Columns fieldset sends when no box is ticked (static/app.js drops it from
# the address otherwise; without JavaScript it comes with the ticked ones and is ignored): a choice
# was made, so the list shows the name alone, where no ``cols`` at all gives the defaults.
NO_COLUMNS = "none"
SENSITIVE_COLUMNS = ("phone",)
DATE_FILTERS = ("created_from", "created_to", "active_from", "active_to")
# The day filters as the lists' filter panels name them (the companies' list has the first two).
DATE_LABELS = {
    "created_from": _l("Added from"),
    "created_to": _l("Added until"),
    "active_from": _l("Last activity from"),
    "active_to": _l("Last activity until"),
}
CUSTOM_NAME = re.compile(r"cf_[a-z0-9_]{1,40}")
MAX_TAGS = 10  # a tag filter's tags; more match nothing, with a notice (a shorter list would change its meaning)
TAG_MATCHES = ("any", "all")


def tag_args(args) -> tuple[str, ...]:
    """The tags of a list's tag filter: repeated ``tag`` arguments, each of which may hold several
    separated as the contact form separates them (commas, full-width ones too: a tag never holds a
    separator, crm/contacts/tags.py), as stored (lower case), each once. One more than the most a
    filter takes is kept, for the list to say there are too many. A name longer than a tag may be
    is kept whole, so it matches nothing (cut, it could match another tag)."""
    names: dict[str, None] = {}
    for value in args.getlist("tag"):
        names.update(dict.fromkeys(split_tags(value)))
    return tuple(names)[: MAX_TAGS + 1]


def unreadable_days(args, names) -> tuple[tuple[str, str], ...]:
    """(name, text) of each day filter among ``names`` whose text is not a day ``day_arg`` takes:
    such a filter is left out, and the list says so."""
    return tuple((name, args.get(name, "").strip()[:40]) for name in names
                 if args.get(name, "").strip() and day_arg(args.get(name, "")) is None)  # fmt: skip


def day_arg(text: str) -> date | None:
    """A day typed in a list's date filter; None when it is not one. The first and last days of the
    calendar are not taken either: a range's bounds need the day after it, and a zone's shift."""
    try:
        day = date.fromisoformat(text) if text else None
    except ValueError:
        return None
    return day if day is not None and date.min < day < date.max else None


NOT_NARROWING = ("sort", "columns", "tag_match", "unreadable")


@dataclass
class ListState:
    q: str = ""
    owner: str = ""  # "me", "none" or a membership id
    tags: tuple = ()  # names, as stored
    tag_match: str = "any"  # "any" or "all" of the tags
    lifecycle: str = ""
    tier: str = ""
    level: str = ""
    source: str = ""
    company: int | None = None
    created_from: date | None = None
    created_to: date | None = None
    active_from: date | None = None
    active_to: date | None = None
    sort: str = "newest"
    columns: tuple = field(default=DEFAULT_COLUMNS)
    custom: tuple = ()  # (key, value) filters on custom fields, from cf_<key> arguments
    unreadable: tuple = ()  # (name, text) of day filters left out: not days (unreadable_days)

    @classmethod
    def from_args(cls, args) -> "ListState":
        def one_of(name: str, allowed) -> str:
            value = args.get(name, "")
            return value if value in allowed else ""

        owner = args.get("owner", "")
        asked = args.getlist("cols")
        columns = tuple(c for c in COLUMNS if c in asked) + tuple(
            dict.fromkeys(c for c in asked if CUSTOM_NAME.fullmatch(c))
        )
        if not columns and NO_COLUMNS not in asked:  # no choice made (or only columns gone since): the defaults
            columns = DEFAULT_COLUMNS
        custom = tuple(
            (name[3:], value.strip()[:100])
            for name, value in args.items()
            if CUSTOM_NAME.fullmatch(name) and value.strip()
        )
        return cls(
            q=args.get("q", "").strip()[:100],
            owner=owner if owner in ("me", "none") or digits(owner) is not None else "",
            tags=tag_args(args),
            tag_match=one_of("tag_match", TAG_MATCHES) or "any",
            lifecycle=one_of("lifecycle", LIFECYCLES),
            tier=one_of("tier", TIERS),
            level=one_of("level", LEVELS),
            source=args.get("source", "").strip()[:60],
            company=digits(args.get("company")),
            **{name: day_arg(args.get(name, "")) for name in DATE_FILTERS},
            sort=one_of("sort", SORTS) or "newest",
            columns=columns,
            custom=custom,
            unreadable=unreadable_days(args, DATE_FILTERS),
        )

    @property
    def active(self) -> bool:
        """Whether anything narrows the list (sort and columns do not)."""
        return any(getattr(self, f.name) for f in fields(self) if f.name not in NOT_NARROWING)

    @property
    def filter_count(self) -> int:
        """How many fields of the list's filter panel narrow it, for its summary: not the search
        box, always in sight, nor a company's link to its contacts, which has no field there."""
        panel = ("owner", "tags", "lifecycle", "tier", "level", "source", *DATE_FILTERS)
        return sum(1 for name in panel if getattr(self, name)) + len(self.custom)

    def as_args(self) -> dict:
        """The non-default state as query arguments."""
        args = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "columns":
                if value != DEFAULT_COLUMNS:
                    args["cols"] = list(value) or [NO_COLUMNS]
            elif f.name == "custom":
                args.update({f"cf_{key}": text for key, text in value})
            elif f.name == "sort":
                if value != "newest":
                    args["sort"] = value
            elif f.name == "tags":
                if value:
                    args["tag"] = list(value)
            elif f.name == "tag_match":
                if value != "any" and self.tags:
                    args["tag_match"] = value
            elif f.name == "unreadable":
                continue  # left out: the list said so
            elif value:
                args[f.name] = value.isoformat() if isinstance(value, date) else value
        return args

    @property
    def too_many_tags(self) -> bool:
        return len(self.tags) > MAX_TAGS

    def shown(self, sensitive: bool, custom_columns: dict) -> list[str]:
        """The chosen columns this member may see, custom ones only while their field exists."""
        return [
            c
            for c in self.columns
            if (c in COLUMNS and (sensitive or c not in SENSITIVE_COLUMNS)) or c in custom_columns
        ]

    def custom_value(self, key: str) -> str:
        return dict(self.custom).get(key, "")
