"""The search box in the header: contacts and companies from any page (deals and tickets later)."""

from flask import Blueprint, g, render_template, request

from crm.contacts import queries
from crm.htmx import wants_partial
from crm.permissions import require

bp = Blueprint("search", __name__, url_prefix="/search")


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
