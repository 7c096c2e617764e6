"""What counts as a data quality problem of one contact. Plain functions of a contact's stored
values, so the scheduled command and the button run the very same rules.

- invalid_email: an address email-validator refuses (syntax only: no DNS or deliverability check,
  as the forms and the import check addresses).
- invalid_phone: a stored number phonenumbers does not take as a valid number (stored E.164).
- unreachable: no usable way to reach them: no valid email address and no valid phone number
  (none stored, or only invalid ones).
- stale: no activity, purchase or change for ``STALE_MONTHS`` months.
- bad_name: a name that is empty, has no letters, is an email address or a phone number (a column
  mapped wrong in an old import), or starts or ends with spaces (stored before names were trimmed;
  spacing inside a name is the user's, as the forms keep it).
- partial_name: one part of a name only: a single word ("Ann") in alphabetic scripts, or a
  single character (a family name such as 王) in Chinese, Japanese or Korean.
"""

import re
from datetime import datetime

import phonenumbers

from crm.auth.service import normalize_email
from crm.i18n import lazy_gettext as _l
from crm.search import CJK

STALE_MONTHS = 12
KINDS = {
    "invalid_email": _l("Invalid email addresses"),
    "invalid_phone": _l("Invalid phone numbers"),
    "unreachable": _l("No way to reach them"),
    "stale": _l("Stale records"),
    "bad_name": _l("Doubtful names"),
    "partial_name": _l("Incomplete names"),
}
NAME_REASONS = {
    "empty": _l("No name"),
    "no_letters": _l("The name has no letters"),
    "email": _l("The name is an email address"),
    "phone": _l("The name is a phone number"),
    "spaces": _l("Spaces before or after the name"),
}
# One way to read each text: "\S+@\S+\.\S+" could place its @ and its dot in any of n * n ways,
# seconds of CPU for a name of a few thousand "@." that is not quite an address.
EMAIL_LIKE = re.compile(r"[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)+")
PHONE_LIKE = re.compile(r"[+(]?\d[\d\s().-]{5,}")
DETAIL_MAX = 320


def email_is_valid(address: str) -> bool:
    try:
        normalize_email(address)
    except ValueError:
        return False
    return True


def phone_is_valid(number: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return False


def _texts(stored) -> list[str]:
    """A stored list of addresses or numbers as text, whatever old data put there (one value, numbers)."""
    if not stored:
        return []
    return [str(item) for item in (stored if isinstance(stored, list) else [stored])]


def name_problem(name: str) -> tuple[str, str] | None:
    """(kind, reason) of a doubtful or incomplete name, or None for a good one."""
    text = (name or "").strip()
    if not text:
        return "bad_name", "empty"
    if EMAIL_LIKE.fullmatch(text):
        return "bad_name", "email"
    if PHONE_LIKE.fullmatch(text):
        return "bad_name", "phone"
    if not any(character.isalpha() for character in text):
        return "bad_name", "no_letters"
    if text != name:
        return "bad_name", "spaces"
    single = len(text) == 1 if CJK.search(text) else " " not in text
    return ("partial_name", "") if single else None


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` earlier (the month's last day when it has fewer days)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise ValueError(moment)  # unreachable: every month has a 28th


def _detail(values: list[str]) -> str:
    return ", ".join(values)[:DETAIL_MAX]


def problems_of(row, stale_before: datetime) -> list[tuple[str, str]]:
    """Every (kind, detail) problem of a contact row (id, name, emails, phones, last_activity_at,
    last_purchase_at, updated_at)."""
    found = []
    emails, phones = _texts(row.emails), _texts(row.phones)
    bad_emails = [email for email in emails if not email_is_valid(email)]
    bad_phones = [phone for phone in phones if not phone_is_valid(phone)]
    if bad_emails:
        found.append(("invalid_email", _detail(bad_emails)))
    if bad_phones:
        found.append(("invalid_phone", _detail(bad_phones)))
    if len(bad_emails) == len(emails) and len(bad_phones) == len(phones):
        found.append(("unreachable", "invalid" if emails or phones else "none"))
    last_touch = max(moment for moment in (row.last_activity_at, row.last_purchase_at, row.updated_at) if moment)
    if last_touch < stale_before:
        found.append(("stale", last_touch.date().isoformat()))
    if problem := name_problem(row.name):
        found.append(problem)
    return found
