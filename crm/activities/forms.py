from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import g
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, StopValidation, ValidationError

from crm.activities.models import BODY_MAX, KINDS
from crm.contacts.forms import choices, optional_id
from crm.db import utcnow
from crm.form_fields import SelectField
from crm.i18n import lazy_gettext as _l

CLOCK_SKEW = timedelta(minutes=5)  # a member's clock may run a little ahead of the server's
FIRST_YEAR, LAST_YEAR = 1900, 2999

KIND_LABELS = {
    "note": _l("Note"),
    "call": _l("Call"),
    "email": _l("Email"),
    "meeting": _l("Meeting"),
    "task": _l("Task"),
}


def sensible_time(form, field) -> None:
    """A time from 1900 to 2999: a typo such as year 1 is no date to plan or log (and falls off
    the calendar when moved to UTC)."""
    if field.data is not None and not FIRST_YEAR <= field.data.year <= LAST_YEAR:
        raise StopValidation(_l("Enter a time from %(first)d to %(last)d.", first=FIRST_YEAR, last=LAST_YEAR))


def to_utc(local: datetime | None) -> datetime | None:
    """A time typed in the workspace's time zone, as UTC."""
    if local is None:
        return None
    return local.replace(tzinfo=ZoneInfo(g.workspace.timezone)).astimezone(ZoneInfo("UTC"))


def to_local(moment: datetime | None) -> datetime | None:
    """A UTC time as the workspace's wall-clock time, to the minute, for a form to show."""
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(g.workspace.timezone)).replace(tzinfo=None, second=0, microsecond=0)


class ActivityForm(FlaskForm):
    kind = SelectField(_l("Type"), choices=choices((kind, KIND_LABELS[kind]) for kind in KINDS), default="note")
    body = TextAreaField(
        _l("What happened, or what to do"),
        validators=[DataRequired(_l("Write something first.")), Length(max=BODY_MAX)],
    )
    occurred_at = DateTimeLocalField(_l("When"), validators=[Optional(), sensible_time])
    due_at = DateTimeLocalField(_l("Due"), validators=[Optional(), sensible_time])
    remind_at = DateTimeLocalField(_l("Remind at"), validators=[Optional(), sensible_time])
    assignee_id = SelectField(_l("Assigned to"), coerce=optional_id, validate_choice=True)

    def __init__(self, *args, assignees=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.assignee_id.choices = choices([("", _l("Nobody")), *assignees])
        # Typed and shown in the workspace's zone, which may not be the member's.
        self.due_at.description = self.remind_at.description = _l("Time in %(zone)s.", zone=g.workspace.timezone)
        self.occurred_at.description = _l("Empty for now; or when it happened, in %(zone)s.", zone=g.workspace.timezone)

    def fill_from(self, activity) -> None:
        """The entry's values, for its edit form (times in the workspace's zone)."""
        self.kind.data, self.body.data, self.assignee_id.data = activity.kind, activity.body, activity.assignee_id
        self.occurred_at.data = to_local(activity.occurred_at)
        self.due_at.data, self.remind_at.data = to_local(activity.due_at), to_local(activity.remind_at)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.kind.data == "task" and self.due_at.data is None and not self.due_at.errors:
            self.due_at.errors = [*self.due_at.errors, _l("A task needs a due date.")]
            return False
        return valid

    def validate_occurred_at(self, field):
        if field.data and self.kind.data != "task" and to_utc(field.data) > utcnow() + CLOCK_SKEW:
            raise ValidationError(_l("This is for what already happened: plan what is to come as a task."))

    def validate_remind_at(self, field):
        if field.data and self.due_at.data and field.data > self.due_at.data:
            raise ValidationError(_l("The reminder must come before the task is due."))
        # A reminder goes to the task's assignee: one given to nobody would be kept and never sent.
        if field.data and self.kind.data == "task" and self.assignee_id.data is None:
            raise ValidationError(_l("Choose who gets the reminder."))

    def service_data(self) -> dict:
        return {
            "kind": self.kind.data,
            "body": self.body.data.strip(),
            "occurred_at": to_utc(self.occurred_at.data) if self.kind.data != "task" else None,
            "due_at": to_utc(self.due_at.data),
            "remind_at": to_utc(self.remind_at.data),
            "assignee_id": self.assignee_id.data,
        }
