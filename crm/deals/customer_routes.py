"""The customer picker's search (templates/_macros/picker.html): the deal form's contact and
company fields and the customer filter of the board and the list ask it as the member types."""

import re

from flask import Blueprint, abort, g, render_template, request

from crm.deals import customers
from crm.permissions import require

bp = Blueprint("deal_customers", __name__, url_prefix="/deals/customers")

FIELD_ID = re.compile(r"[a-z][a-z0-9_-]{0,39}")
PICKER_KINDS = ("contact", "company", "customer")


@bp.get("/")
@require("deals.read")
def search():
    """The listbox of records matching ``q``; ``field`` names the picker (its options' ids)."""
    kind, field_id = request.args.get("kind", ""), request.args.get("field", "")
    if kind not in PICKER_KINDS or not FIELD_ID.fullmatch(field_id):
        abort(400)
    q = request.args.get("q", "").strip()[:100]
    options = customers.search(kind, q, g.membership)
    return render_template("deals/_picker_options.html", options=options, q=q, kind=kind, field_id=field_id)
