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
    potential_deal_value = AmountField(
        _l("Or potential: open deals worth at least"),
        places=2,
        validators=MONEY,
        description=_l("Their live open deals in the workspace's currency, added up; 0 to leave deals out."),
    )
    new_days = IntegerField(_l("New: first purchase within (days)"), validators=DAYS)
    dormant_days = IntegerField(_l("Dormant: no purchase or activity for (days)"), validators=DAYS)
    churned_days = IntegerField(_l("Churned: no purchase or activity for (days)"), validators=DAYS)

    def validate_vip_value(self, field) -> None:
        """Decision: no VIP threshold of 0 (it would make every customer VIP, and says nothing a share
        of 100% does not); classification gives no level by value without a purchase in the last 12
        months anyway (classification.level_for), for rules saved before this."""
        if self.vip_by.data == "value" and field.data is not None and field.data == 0:
            raise ValidationError(_l("VIP must start above 0, or every customer would be VIP."))

    def validate(self, extra_validators=None) -> bool:
        """Each field's own checks, then how the fields compare: a comparison is left out when either
        of its fields is already refused (out of range, not a number), whose own message says enough
        and whose value is no measure to compare with."""
        valid = super().validate(extra_validators)
        for field, other, in_order, message in self._comparisons():
            if field.errors or other.errors or field.data is None or other.data is None:
                continue
            if not in_order(field.data, other.data):
                field.errors.append(message)
                valid = False
        return valid

    def _comparisons(self) -> list:
        """(the field the message goes with, the field it is compared with, whether they are in order,
        the message)."""
        below, beyond = (lambda value, other: value < other), (lambda value, other: value > other)
        return [
            (self.tier_b, self.tier_a, below, _l("Tier B must start below tier A.")),
            (self.tier_c, self.tier_b, below, _l("Tier C must start below tier B.")),
            (self.tier_b_top, self.tier_a_top, beyond, _l("Tier B must reach further down than tier A.")),
            (self.tier_c_top, self.tier_b_top, beyond, _l("Tier C must reach further down than tier B.")),
            # "New" is decided first: a longer window would keep a lapsed customer new, never dormant.
            (self.new_days, self.dormant_days, lambda value, other: value <= other,
             _l("A new customer can turn dormant: use at most as many days as for dormant.")),
            (self.churned_days, self.dormant_days, beyond,
             _l("A customer churns after being dormant: use more days than for dormant.")),
        ]  # fmt: skip

    def rules(self) -> dict:
        """JSON-friendly values (amounts as numbers, as the defaults are)."""
        values = {name: self[name].data for name in self.data if name != "csrf_token"}
        return {name: float(value) if isinstance(value, Decimal) else value for name, value in values.items()}
