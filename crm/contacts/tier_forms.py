from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange, ValidationError

from crm.form_fields import AmountField
from crm.i18n import lazy_gettext as _l

MONEY = [InputRequired(_l("Enter an amount.")), NumberRange(min=Decimal("0"), max=Decimal("999999999999"))]
DAYS = [InputRequired(_l("Enter a number of days.")), NumberRange(min=1, max=3650)]
SHARE = [InputRequired(_l("Enter a percentage.")), NumberRange(min=1, max=100)]
BY = [SelectChoice("value", _l("By value")), SelectChoice("share", _l("By share of customers"))]


def _ordered(smaller, larger, message):
    if smaller.data is not None and larger.data is not None and smaller.data >= larger.data:
        raise ValidationError(message)


class CustomerRulesForm(FlaskForm):
    tier_by = RadioField(_l("Tiers"), choices=BY)
    tier_a = AmountField(_l("Tier A from"), places=2, validators=MONEY)
    tier_b = AmountField(_l("Tier B from"), places=2, validators=MONEY)
    tier_c = AmountField(_l("Tier C from"), places=2, validators=MONEY)
    tier_a_top = IntegerField(_l("Tier A: the top (%)"), validators=SHARE)
    tier_b_top = IntegerField(_l("Tier B: down to the top (%)"), validators=SHARE)
    tier_c_top = IntegerField(_l("Tier C: down to the top (%)"), validators=SHARE)
    vip_by = RadioField(_l("VIP"), choices=BY)
    vip_value = AmountField(_l("VIP from"), places=2, validators=MONEY)
    vip_top = IntegerField(_l("VIP: the top (%)"), validators=SHARE)
    potential_growth_percent = IntegerField(
        _l("Potential: growth of at least (%)"),
        validators=[InputRequired(_l("Enter a percentage.")), NumberRange(min=1, max=10000)],
    )
    new_days = IntegerField(_l("New: first purchase within (days)"), validators=DAYS)
    dormant_days = IntegerField(_l("Dormant: no purchase or activity for (days)"), validators=DAYS)
    churned_days = IntegerField(_l("Churned: no purchase or activity for (days)"), validators=DAYS)

    def validate_tier_b(self, field):
        _ordered(field, self.tier_a, _l("Tier B must start below tier A."))

    def validate_tier_c(self, field):
        _ordered(field, self.tier_b, _l("Tier C must start below tier B."))

    def validate_tier_b_top(self, field):
        _ordered(self.tier_a_top, field, _l("Tier B must reach further down than tier A."))

    def validate_tier_c_top(self, field):
        _ordered(self.tier_b_top, field, _l("Tier C must reach further down than tier B."))

    def validate_new_days(self, field):
        # "New" is decided first: a longer window would keep a lapsed customer new, never dormant.
        if self.dormant_days.data and field.data and field.data > self.dormant_days.data:
            raise ValidationError(_l("A new customer can turn dormant: use at most as many days as for dormant."))

    def validate_churned_days(self, field):
        if self.dormant_days.data and field.data and field.data <= self.dormant_days.data:
            raise ValidationError(_l("A customer churns after being dormant: use more days than for dormant."))

    def rules(self) -> dict:
        """JSON-friendly values (amounts as numbers, as the defaults are)."""
        values = {name: self[name].data for name in self.data if name != "csrf_token"}
        return {name: float(value) if isinstance(value, Decimal) else value for name, value in values.items()}
