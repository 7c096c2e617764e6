"""Phone numbers: parsed with the workspace's default region, stored E.164, shown national or
international (phonenumbers, Google's libphonenumber metadata)."""

from functools import lru_cache

import phonenumbers

from crm.i18n import lazy_gettext as _l


def to_e164(raw: str, region: str) -> str:
    """E.164 form of ``raw``; raises ValueError with a user-facing message (a lazy text: an import
    keeps it untranslated, crm/imports/reasons.py)."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as error:
        raise ValueError(_l("%(number)s is not a phone number.", number=raw)) from error
    if not phonenumbers.is_valid_number(number):
        raise ValueError(_l("%(number)s is not a valid phone number.", number=raw))
    if number.extension:  # E.164 has no place for it: refused rather than dropped without a word
        raise ValueError(_l("%(number)s has an extension, which is not kept with a number: enter the number "
                           "without it, and the extension in the notes.", number=raw))  # fmt: skip
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=4096)
def display(e164: str, region: str) -> str:
    """National format for numbers of the workspace's region, international for the rest
    (cached: parsing costs more than rendering a whole list row)."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(number) == region:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
