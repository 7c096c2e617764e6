"""Service-level clocks: due times that count only the workspace's business hours.

A workspace's calendar is its opening hours per weekday and its holidays, in its time zone. A target
of "4 hours" for a first response means four hours during which the business is open: a complaint
filed on Friday at 17:00, with hours 9-18 on weekdays, is due on Monday at 12:00. A ticket waiting
on the customer (pending) stops its clocks; when it leaves pending, its due times move later by the
business time that passed while it waited.

Settings are kept on the workspace as JSON (``Workspace.sla_settings``); None means the defaults.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PRIORITY_KEYS = ("urgent", "high", "normal", "low")
LEVEL_KEYS = ("vip", "potential", "ordinary")

DEFAULT_HOURS = {str(day): ["09:00", "18:00"] for day in range(5)}  # Monday (0) to Friday; weekends closed
# Business hours to the first response and to the resolution, by customer level and priority.
DEFAULT_TARGETS = {
    "vip": {"urgent": [1, 4], "high": [2, 8], "normal": [4, 16], "low": [8, 24]},
    "potential": {"urgent": [1, 8], "high": [4, 16], "normal": [6, 24], "low": [8, 40]},
    "ordinary": {"urgent": [2, 8], "high": [4, 24], "normal": [8, 40], "low": [16, 80]},
}
DEFAULT_CLOSE_AFTER_DAYS = 7  # a resolved ticket closes by itself after this many days
MAX_DAYS_SEARCHED = 3 * 366  # a calendar open less often than this is treated as never open


class ClosedCalendar(ValueError):
    """The calendar has no open hour in the searched future."""


@dataclass(frozen=True)
class Calendar:
    zone: ZoneInfo
    hours: dict[int, tuple[time, time]]  # weekday -> opening, closing; absent = closed
    holidays: frozenset[date]

    def open_span(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's opening hours as aware datetimes in UTC, or None when closed. In UTC, as
        Python adds and subtracts datetimes of one zone by their wall clocks: a day the clocks
        change on would count an hour too many or too few."""
        if day in self.holidays or day.weekday() not in self.hours:
            return None
        opens, closes = self.hours[day.weekday()]
        return (datetime.combine(day, opens, self.zone).astimezone(UTC),
                datetime.combine(day, closes, self.zone).astimezone(UTC))  # fmt: skip


def calendar_of(settings: dict | None, zone_name: str) -> Calendar:
    settings = settings or {}
    hours = {}
    for day, span in (settings.get("hours") or DEFAULT_HOURS).items():
        if span:
            opens, closes = (time.fromisoformat(value) for value in span)
            if opens < closes:
                hours[int(day)] = (opens, closes)
    holidays = frozenset(date.fromisoformat(value) for value in settings.get("holidays") or [])
    return Calendar(ZoneInfo(zone_name), hours, holidays)


def targets_of(settings: dict | None) -> dict[str, dict[str, list[float]]]:
    saved = (settings or {}).get("targets") or {}
    return {level: {priority: saved.get(level, {}).get(priority, DEFAULT_TARGETS[level][priority])
                    for priority in PRIORITY_KEYS} for level in LEVEL_KEYS}  # fmt: skip


def add_business_time(start: datetime, amount: timedelta, calendar: Calendar) -> datetime:
    """The moment ``amount`` of open time after ``start`` (UTC in, UTC out)."""
    if amount <= timedelta():
        return start
    left = amount
    moment = start.astimezone(UTC)
    day = start.astimezone(calendar.zone).date()
    for _ in range(MAX_DAYS_SEARCHED):
        span = calendar.open_span(day)
        if span is not None:
            opens, closes = span
            begin = max(moment, opens)
            if begin < closes:
                if begin + left <= closes:
                    return begin + left
                left -= closes - begin
        day += timedelta(days=1)
    raise ClosedCalendar(start)


def business_time_between(start: datetime, end: datetime, calendar: Calendar) -> timedelta:
    """The open time from ``start`` to ``end`` (zero when end is not later)."""
    total = timedelta()
    if end <= start:
        return total
    day, last_day = start.astimezone(calendar.zone).date(), end.astimezone(calendar.zone).date()
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    while day <= last_day:
        span = calendar.open_span(day)
        if span is not None:
            begin, finish = max(span[0], start), min(span[1], end)
            if begin < finish:
                total += finish - begin
        day += timedelta(days=1)
    return total


def due_times(opened_at: datetime, level: str, priority: str, settings: dict | None, zone_name: str):
    """(first response due, resolution due) of a ticket opened at ``opened_at``."""
    calendar = calendar_of(settings, zone_name)
    first, resolve = targets_of(settings)[level if level in LEVEL_KEYS else "ordinary"][priority]
    return (add_business_time(opened_at, timedelta(hours=first), calendar),
            add_business_time(opened_at, timedelta(hours=resolve), calendar))  # fmt: skip


def shift_after_pause(due: datetime | None, paused_at: datetime, resumed_at: datetime, calendar: Calendar):
    """A due time moved later by the open time a pause lasted (None stays None)."""
    return later_by(due, business_time_between(paused_at, resumed_at, calendar), calendar)


def later_by(due: datetime | None, amount: timedelta, calendar: Calendar) -> datetime | None:
    """A due time moved later by ``amount`` of open time (None stays None)."""
    if due is None:
        return None
    return add_business_time(due, amount, calendar)
