"""The search box in the header (contacts, companies, deals and tickets from any page, each kind
only for members who may read it), and the customer care panel of the workspace home."""

from flask import Blueprint, g, render_template, request

from crm.contacts import queries
from crm.contacts.care import LIMIT, PAGE_LIMIT, care_lists
from crm.deals.queries import quick_deals
from crm.htmx import wants_partial
from crm.i18n import workspace_today
from crm.permissions import require, require_any
from crm.tickets.models import STATUS_LABELS as TICKET_STATUSES
from crm.tickets.queries import quick_tickets

bp = Blueprint("search", __name__, url_prefix="/search")
SEARCHED = ("contacts.read", "deals.read", "tickets.read")  # the header's box shows for any of them
care_bp = Blueprint("care", __name__, url_prefix="/care")


@care_bp.get("/")
@require("contacts.read")
def care():
    """The workspace home's customer care panel (loaded after the page, so the home stays fast)."""
    on_home = wants_partial("care-lists")
    sensitive = g.membership.can("contacts.sensitive")
    limit = LIMIT if on_home else PAGE_LIMIT
    lists = care_lists(g.membership, g.workspace.timezone, workspace_today(), sensitive, limit)
    return render_template("contacts/_care.html" if on_home else "contacts/care.html", on_home=on_home, **lists)


@bp.get("/")
@require_any(*SEARCHED)
def index():
    q = request.args.get("q", "").strip()[:100]
    limit = 8 if wants_partial("global-search-results") else 50
    context = {"q": q, "limit": limit, "ticket_statuses": TICKET_STATUSES}
    if g.membership.can("contacts.read"):
        context["contacts"], context["companies"] = queries.quick_search(q, g.membership, limit)
        # Typing a company's name ("Acme Oy") puts the company above the people who work there.
        context["companies_first"] = any(c.name.lower().startswith(q.lower()) for c in context["companies"])
    if q and g.membership.can("deals.read"):
        context["deals"] = quick_deals(q, g.membership, limit)
    if q and g.membership.can("tickets.read"):
        context["tickets"] = quick_tickets(q, g.membership, limit)
    if wants_partial("global-search-results"):
        return render_template("search/_quick.html", **context)
    return render_template("search/index.html", **context)
