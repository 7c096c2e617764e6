"""The Service hours form: opening hours per weekday, holidays, and the SLA targets by customer level
and priority, as fields generated from the lists in crm.tickets.sla."""

from datetime import date, time, timedelta

from flask_babel import format_decimal
from flask_wtf import FlaskForm
from wtforms import BooleanField, DecimalField, IntegerField, TextAreaField, TimeField
from wtforms.validators import InputRequired, NumberRange, Optional, ValidationError

from crm.db import utcnow
from crm.i18n import lazy_gettext as _l
from crm.tickets.sla import (
    DEFAULT_CLOSE_AFTER_DAYS,
    DEFAULT_HOURS,
    LEVEL_KEYS,
    PRIORITY_KEYS,
    ClosedCalendar,
    add_business_time,
    calendar_of,
    targets_of,
)

WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"),
            _l("Sunday"))  # fmt: skip
LEVEL_NAMES = {"vip": _l("VIP"), "potential": _l("Potential"), "ordinary": _l("Ordinary")}
PRIORITY_NAMES = {"urgent": _l("Urgent"), "high": _l("High"), "normal": _l("Normal"), "low": _l("Low")}
MAX_HOURS = 2000


class ServiceHoursForm(FlaskForm):
    holidays = TextAreaField(
        _l("Holidays"), description=_l("One date a line, as 2026-12-25. The clocks stop on these days.")
    )

    close_after_days = IntegerField(
        _l("Close resolved tickets after (days)"),
        description=_l("A resolved ticket the customer does not answer closes by itself after this many days."),
        validators=[
            InputRequired(_l("Enter a number of days.")),
            NumberRange(min=1, max=90, message=_l("From 1 to 90 days.")),
        ],
    )

    def validate_holidays(self, field):
        for line in (field.data or "").split():
            try:
                date.fromisoformat(line)
            except ValueError:
                raise ValidationError(_l("%(value)s is not a date like 2026-12-25.", value=line)) from None

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for day in range(7):
            opened, opens, closes = (self[f"{name}_{day}"] for name in ("open", "opens", "closes"))
            if opened.data and (opens.data is None or closes.data is None):
                closes.errors.append(_l("Enter the opening and closing times."))
                valid = False
            elif opened.data and opens.data >= closes.data:
                closes.errors.append(_l("Closing comes after opening."))
                valid = False
        if valid and not any(self[f"open_{day}"].data for day in range(7)):
            self.open_0.errors.append(_l("Open at least one day a week, or the clocks never run."))
            valid = False
        for level in LEVEL_KEYS:
            for priority in PRIORITY_KEYS:
                first, resolve = self[f"first_{level}_{priority}"], self[f"resolve_{level}_{priority}"]
                if not first.errors and not resolve.errors and first.data > resolve.data:
                    resolve.errors.append(_l("Resolving cannot be due before the first response."))
                    valid = False
        return valid and self._reachable()

    def _reachable(self) -> bool:
        """Whether the longest target comes due within the years the clocks count ahead: beyond them
        no due time can be set, and no ticket could be opened."""
        settings = self.settings()
        longest = max(
            ((self[f"resolve_{level}_{priority}"], hours[1]) for level, by_priority in settings["targets"].items()
             for priority, hours in by_priority.items()),
            key=lambda pair: pair[1],
        )  # fmt: skip
        try:
            add_business_time(utcnow(), timedelta(hours=longest[1]), calendar_of(settings, "UTC"))
        except ClosedCalendar:
            longest[0].errors.append(_l("With these hours and holidays, %(hours)s open hours would take more than "
                                        "three years: open longer or set a shorter target.",
                                        hours=format_decimal(longest[1])))  # fmt: skip
            return False
        return True

    def settings(self) -> dict:
        """What the form holds, as the workspace's ``sla_settings``."""
        hours = {str(day): ([self[f"opens_{day}"].data.strftime("%H:%M"), self[f"closes_{day}"].data.strftime("%H:%M")]
                            if self[f"open_{day}"].data else None) for day in range(7)}  # fmt: skip
        targets = {level: {priority: [float(self[f"first_{level}_{priority}"].data),
                                      float(self[f"resolve_{level}_{priority}"].data)] for priority in PRIORITY_KEYS}
                   for level in LEVEL_KEYS}  # fmt: skip
        holidays = sorted({date.fromisoformat(line).isoformat() for line in (self.holidays.data or "").split()})
        return {
            "hours": hours,
            "holidays": holidays,
            "targets": targets,
            "close_after_days": self.close_after_days.data,
        }

    @classmethod
    def of(cls, settings: dict | None) -> "ServiceHoursForm":
        """The form showing saved settings (or the defaults)."""
        settings = settings or {}
        hours = settings.get("hours") or DEFAULT_HOURS
        data = {"holidays": "\n".join(settings.get("holidays") or []),
                "close_after_days": settings.get("close_after_days", DEFAULT_CLOSE_AFTER_DAYS)}  # fmt: skip
        for day in range(7):
            span = hours.get(str(day))
            data[f"open_{day}"] = bool(span)
            if span:
                data[f"opens_{day}"], data[f"closes_{day}"] = (time.fromisoformat(value) for value in span)
        for level, by_priority in targets_of(settings).items():
            for priority, (first, resolve) in by_priority.items():
                data[f"first_{level}_{priority}"], data[f"resolve_{level}_{priority}"] = first, resolve
        return cls(formdata=None, data=data)


def _hours_field(label):
    return DecimalField(label, places=None, validators=[InputRequired(_l("Enter a number of hours.")),
                        NumberRange(min=0.25, max=MAX_HOURS, message=_l("From 0.25 to 2,000 hours."))])  # fmt: skip


for _day in range(7):
    setattr(ServiceHoursForm, f"open_{_day}", BooleanField(_l("Open on %(day)s", day=WEEKDAYS[_day])))
    setattr(
        ServiceHoursForm,
        f"opens_{_day}",
        TimeField(_l("Opens on %(day)s", day=WEEKDAYS[_day]), validators=[Optional()]),
    )
    setattr(
        ServiceHoursForm,
        f"closes_{_day}",
        TimeField(_l("Closes on %(day)s", day=WEEKDAYS[_day]), validators=[Optional()]),
    )
for _level in LEVEL_KEYS:
    for _priority in PRIORITY_KEYS:
        _names = {"level": LEVEL_NAMES[_level], "priority": PRIORITY_NAMES[_priority]}
        setattr(ServiceHoursForm, f"first_{_level}_{_priority}",
                _hours_field(_l("First response, %(level)s, %(priority)s (hours)", **_names)))  # fmt: skip
        setattr(ServiceHoursForm, f"resolve_{_level}_{_priority}",
                _hours_field(_l("Resolution, %(level)s, %(priority)s (hours)", **_names)))  # fmt: skip
