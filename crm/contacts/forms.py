import re
from datetime import date
from urllib.parse import urlsplit

from babel import Locale
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from crm.auth.service import normalize_email
from crm.contacts import phones
from crm.contacts.models import LIFECYCLES
from crm.contacts.service import SENSITIVE_FIELDS
from crm.contacts.tags import TagError, read_tags
from crm.form_fields import PastDay, SelectField, TrimsText
from crm.i18n import lazy_gettext as _l
from crm.security import BIGINT_MAX

MAX_EMAILS = MAX_PHONES = 10

GENDER_LABELS = {"": _l("Not given"), "female": _l("Female"), "male": _l("Male"), "other": _l("Other")}
LIFECYCLE_LABELS = {
    "lead": _l("Lead"),
    "new": _l("New customer"),
    "active": _l("Active"),
    "dormant": _l("Dormant"),
    "churned": _l("Churned"),
}
LEVEL_LABELS = {"ordinary": _l("Ordinary"), "potential": _l("Potential"), "vip": _l("VIP")}
SIZE_LABELS = {"": _l("Unknown"), **{size: size for size in ("1-10", "11-50", "51-200", "201-1000", "1000+")}}


def is_web_address(text: str) -> bool:
    """A site's address, with or without http(s)://: a host of two or more labels (international
    names too, as their IDNA form shows), and any port, path or query; no user name (in
    ``javascript:alert(1)@example.com`` everything before the @ would be one)."""
    if not text or any(character.isspace() for character in text):
        return False
    parts = urlsplit(text if re.match(r"https?://", text, re.I) else f"http://{text}")
    if "@" in parts.netloc:
        return False
    try:
        parts.port  # noqa: B018  (raises ValueError for a port that is not one)
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        return False
    labels = host.split(".")
    return (
        len(labels) >= 2
        and all(re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", label) for label in labels)
        and not labels[-1].isdigit()
    )


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def optional_id(value):
    """A select's id, None for its empty choice; a number beyond any id is refused as a word is
    (ValueError: the field says it is no valid choice), before a query would fail on it."""
    if value in (None, "", "None"):
        return None
    number = int(value)
    if not 0 <= number <= BIGINT_MAX:
        raise ValueError("no id")
    return number


def _split(raw: str | None) -> list[str]:
    return [part.strip() for part in re.split(r"[,;\n]+", raw or "") if part.strip()]


# ISO 3166 countries and territories as CLDR names them, without its groupings and "unknown" (ZZ).
COUNTRIES = frozenset(code for code in Locale("en").territories if re.fullmatch(r"[A-Z]{2}", code)) - {
    "EU", "EZ", "QO", "UN", "XA", "XB", "ZZ"}  # fmt: skip


# The first day a record's date may be (a birthday, a company's "customer since", a purchase): an
# earlier one is a year mistyped (0001, 1024), and would sort first in every history and report.
EARLIEST_DAY = EARLIEST_BIRTHDAY = date(1900, 1, 1)


class _RecordForm(FlaskForm):
    Meta = TrimsText  # " cn" is a country code, as saved
    seen = HiddenField()  # what each field showed when the form was opened: crm/contacts/edit_clash.py
    opened_at = HiddenField()  # and when
    owner_id = SelectField(_l("Owner"), coerce=optional_id, validate_choice=True)
    street = StringField(_l("Street"), validators=[Optional(), Length(max=200)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=100)])
    region = StringField(_l("Region or state"), validators=[Optional(), Length(max=100)])
    postal_code = StringField(_l("Postal code"), validators=[Optional(), Length(max=20)])
    country = StringField(
        _l("Country"),
        description=_l("Two-letter code, such as CN or US."),
        validators=[Optional(), Length(min=2, max=2)],
    )

    def __init__(self, *args, owners=(), region: str = "US", **kwargs):
        super().__init__(*args, **kwargs)
        self.phone_region = region
        self.owner_id.choices = choices([("", _l("Nobody")), *owners])

    def validate_country(self, field):
        if field.data and field.data.strip().upper() not in COUNTRIES:
            raise ValidationError(_l("Not a country code: use two letters such as CN, FI or US."))

    def service_data(self) -> dict:
        """The submitted fields (a form with fields removed sends only the rest), empty text as None."""
        data = {}
        for field in self:
            if field.type in ("CSRFTokenField", "HiddenField") or field.name.startswith("cf_"):
                continue  # custom fields: crm.custom_fields.forms.custom_payload
            value = field.data
            if isinstance(value, str):
                value = value.strip() or None
            data[field.name] = value
        if data.get("country"):
            data["country"] = data["country"].upper()
        return data


class ContactForm(_RecordForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)])
    emails = TextAreaField(_l("Email addresses"), description=_l("One per line."))
    phones = TextAreaField(
        _l("Phone numbers"), description=_l("One per line; without a country code, the workspace's region is assumed.")
    )
    company_id = SelectField(_l("Company"), coerce=optional_id, validate_choice=True)
    title = StringField(_l("Job title"), validators=[Optional(), Length(max=120)])
    gender = SelectField(_l("Gender"), choices=choices(GENDER_LABELS.items()), default="")
    birthday = DateField(
        _l("Birthday"),
        validators=[
            Optional(),
            PastDay(  # before 1900: a year mistyped (0001, 1024)
                EARLIEST_BIRTHDAY,
                too_early=_l("Enter a birthday from 1900 on."),
                in_future=_l("A birthday cannot be in the future."),
            ),
        ],
    )
    source = StringField(_l("Source"), description=_l("Where they came from: a fair, the website, a referral..."),
                         validators=[Optional(), Length(max=60)])  # fmt: skip
    level = SelectField(
        _l("Customer level"),
        description=_l("Automatic follows the customer tier rules; any other choice is kept until changed."),
        choices=choices([("", _l("Automatic")), *LEVEL_LABELS.items()]),
        default="",
    )
    lifecycle = SelectField(
        _l("Lifecycle"), choices=choices((key, LIFECYCLE_LABELS[key]) for key in LIFECYCLES), default="lead"
    )
    tags = StringField(_l("Tags"), description=_l("Separated by commas."), validators=[Optional(), Length(max=500)])
    about = TextAreaField(_l("About"), validators=[Optional(), Length(max=5000)])

    def __init__(self, *args, companies=(), sensitive: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.company_id.choices = choices([("", _l("None")), *companies])
        if not sensitive:
            for name in SENSITIVE_FIELDS:
                delattr(self, name)

    def validate_emails(self, field):
        emails = []
        for raw in _split(field.data):
            try:
                emails.append(normalize_email(raw))
            except ValueError as error:
                raise ValidationError(_l("%(address)s: %(reason)s", address=raw, reason=str(error))) from error
        if len(emails) > MAX_EMAILS:
            raise ValidationError(_l("At most %(count)d addresses.", count=MAX_EMAILS))
        field.parsed = list(dict.fromkeys(emails))

    def validate_tags(self, field):
        try:
            field.parsed = read_tags(field.data)
        except TagError as error:
            raise ValidationError(str(error)) from error

    def validate_phones(self, field):
        numbers = []
        for raw in _split(field.data):
            try:
                numbers.append(phones.to_e164(raw, self.phone_region))
            except ValueError as error:
                raise ValidationError(str(error)) from error
        if len(numbers) > MAX_PHONES:
            raise ValidationError(_l("At most %(count)d numbers.", count=MAX_PHONES))
        field.parsed = list(dict.fromkeys(numbers))

    def service_data(self) -> dict:
        data = super().service_data()
        data["emails"] = getattr(self.emails, "parsed", [])
        if "phones" in data:
            data["phones"] = getattr(self.phones, "parsed", [])
        data["tags"] = getattr(self.tags, "parsed", [])
        data["gender"] = data.get("gender") or None
        data["level"] = data.get("level") or ""  # "" is automatic
        return data

    def fill_from(self, contact) -> None:
        """Shows a stored contact in the form (lists as one per line, tags comma-separated)."""
        self.emails.data = "\n".join(contact.emails)
        if "phones" in self:
            self.phones.data = "\n".join(phones.display(p, self.phone_region) for p in contact.phones)
        self.tags.data = ", ".join(tag.name for tag in contact.tags)
        self.level.data = contact.level if contact.level_pinned else ""


class CompanyForm(_RecordForm):
    name = StringField(_l("Company name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)])
    industry = StringField(_l("Industry"), validators=[Optional(), Length(max=100)])
    size = SelectField(_l("Size (staff)"), choices=choices(SIZE_LABELS.items()), default="")
    website = StringField(_l("Website"), validators=[Optional(), Length(max=255)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    customer_since = DateField(
        _l("Customer since"),
        validators=[
            Optional(),
            # The day it became a customer has come: a day to come is a mistyped year (2052 for 2025).
            PastDay(
                EARLIEST_DAY,
                too_early=_l("Enter a “customer since” date from 1900 on."),
                in_future=_l("A “customer since” date cannot be in the future."),
            ),
        ],
    )
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])

    def validate_website(self, field):
        if field.data and not is_web_address(field.data.strip()):
            raise ValidationError(_l("Enter a web address such as example.com."))

    def validate_phone(self, field):
        if field.data and field.data.strip():
            try:
                field.parsed = phones.to_e164(field.data.strip(), self.phone_region)
            except ValueError as error:
                raise ValidationError(str(error)) from error
        else:
            field.parsed = None

    def service_data(self) -> dict:
        data = super().service_data()
        data["phone"] = getattr(self.phone, "parsed", None)  # not set when left empty
        data["size"] = data.get("size") or None
        return data

    def fill_from(self, company) -> None:
        self.phone.data = phones.display(company.phone, self.phone_region) if company.phone else ""
