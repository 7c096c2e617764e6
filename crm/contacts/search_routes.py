"""The search box in the header (contacts and companies from any page; deals and tickets later),
and the customer care panel of the workspace home."""

from flask import Blueprint, g, render_template, request

from crm.contacts import queries
from crm.contacts.care import LIMIT, PAGE_LIMIT, care_lists
from crm.htmx import wants_partial
from crm.i18n import workspace_today
from crm.permissions import require

bp = Blueprint("search", __name__, url_prefix="/search")
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
@require("contacts.read")
def index():
    q = request.args.get("q", "").strip()[:100]
    limit = 8 if wants_partial("global-search-results") else 50
    contacts, companies = queries.quick_search(q, g.membership, limit)
    context = {"q": q, "contacts": contacts, "companies": companies}
    if wants_partial("global-search-results"):
        return render_template("search/_quick.html", **context)
    return render_template("search/index.html", **context)
