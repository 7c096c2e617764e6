from flask_wtf import FlaskForm
from wtforms import HiddenField


class PlanForm(FlaskForm):
    """Upgrade or change to a plan (its key); the service checks it is one on sale."""

    plan = HiddenField()
