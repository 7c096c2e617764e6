import re

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from crm.activities.deal_routes import timeline_context
from crm.audit import queries as audit_queries
from crm.audit.service import ACTIONS
from crm.contacts.models import Company, Contact
from crm.contacts.pages import handed_over, member_name
from crm.contacts.queries import owner_choices, roster
from crm.custom_fields.forms import custom_form, custom_payload
from crm.deals import board_text, customers, lost_reasons, queries, service
from crm.deals.forms import STATUS_LABELS, DealForm, LostForm, WonForm
from crm.deals.models import OPEN, Deal, LostReason, Pipeline, Stage
from crm.extensions import db
from crm.htmx import is_boosted, is_htmx, wants_partial
from crm.i18n import workspace_today
from crm.permissions import require
from crm.products.panel import deal_items_context
from crm.products.service import has_items
from crm.security import record_id
from crm.workspaces.service import currency_choices

bp = Blueprint("deals", __name__, url_prefix="/deals")

STAGE_FIELD = re.compile(r"^stage-(\d+)$")


@bp.context_processor
def deal_helpers() -> dict:
    return {"deal_statuses": STATUS_LABELS}


def deal_or_404(deal_id: int) -> Deal:
    return queries.deal_or_none(deal_id, g.membership) or abort(404)


def pipeline_or_404(pipeline_id: int) -> Pipeline:
    return db.session.get(Pipeline, pipeline_id) or abort(404)


def _board_context(pipeline: Pipeline, stages: list[Stage] | None = None) -> dict:
    """The board as the URL asks for it: its filters (also sent back with every move, so the
    board re-rendered after a move keeps them) and a column shown whole ("all")."""
    stages = service.stages_of(pipeline.id) if stages is None else stages
    filters, customer_label = customers.resolved(queries.BoardFilters.from_args(request.args), g.membership)
    whole = request.args.get("all", type=record_id)
    cards = queries.open_cards(pipeline.id, g.membership, whole, filters)
    columns = queries.board(stages, cards, queries.column_totals(pipeline.id, g.membership, filters))
    members = roster()  # the cards' owners, and the owner filter's choices
    board_text.write_cards(columns, members.names)
    return {"pipeline": pipeline, "columns": columns, "can_move": g.membership.can("deals.write"),
            "filters": filters, "filter_args": filters.as_args(), "customer_label": customer_label,
            "board_cards": board_text.cards_html, "owners": members.owner_choices}  # fmt: skip


def _board(every: list[tuple[Pipeline, list[Stage]]], pipeline_id: int | None = None):
    """The board of a pipeline (the first by default) with the pipelines' tabs; a pipeline of
    another workspace, or none, is a 404."""
    chosen = every[0] if pipeline_id is None else next((entry for entry in every if entry[0].id == pipeline_id), None)
    if chosen is None:
        abort(404)
    context = _board_context(*chosen)
    if wants_partial("deal-board"):
        return render_template("deals/_board.html", **context)
    return render_template("deals/index.html", pipelines=[pipeline for pipeline, _stages in every], **context)


@bp.get("/")
@require("deals.read")
def index():
    every = queries.pipelines_with_stages()
    if not every:
        return render_template("deals/index.html", pipelines=[], pipeline=None, columns=[], can_move=False)
    return _board(every)


@bp.get("/pipelines/<int:pipeline_id>")
@require("deals.read")
def board(pipeline_id: int):
    return _board(queries.pipelines_with_stages(), pipeline_id)


@bp.post("/pipelines/<int:pipeline_id>/order")
@require("deals.write")
def reorder(pipeline_id: int):
    """The board's new order after a drag (CONVENTIONS "Kanban"): each column's deal ids in order,
    under the column's field name. A column of another pipeline (or workspace) is a 404 and changes
    nothing; deal ids the member may not move are ignored."""
    pipeline = pipeline_or_404(pipeline_id)
    stages = service.stages_of(pipeline.id)
    open_ids = {stage.id for stage in stages if stage.kind == OPEN}
    posted, seen_in = {}, {}
    for key in request.form:
        match = STAGE_FIELD.match(key)
        if match is None:
            continue
        if int(match.group(1)) not in open_ids:
            abort(404)
        posted[int(match.group(1))] = ids = []
        for value in request.form.getlist(key):
            deal_id, stage_id = _card_value(value)
            if deal_id is not None:
                ids.append(deal_id)
                seen_in.setdefault(deal_id, stage_id)
    cards, visible = queries.board_positions(pipeline.id, g.membership)
    # A card the board showed in another stage than the deal's now was moved by someone else since
    # the board was loaded: it stays where they put it, not where the stale board had it.
    stage_now = {card.id: card.stage_id for card in cards}
    moved_meanwhile = {i for i, seen in seen_in.items() if seen is not None and stage_now.get(i, seen) != seen}
    service.reorder(stages, visible - moved_meanwhile, cards, posted, g.membership.id)
    db.session.commit()
    if moved_meanwhile & visible:
        _moved_meanwhile(len(moved_meanwhile & visible))
    return _after_move(pipeline)


def _card_value(value: str) -> tuple[int | None, int | None]:
    """A card's hidden input: "<deal id>:<id of the stage the board showed it in>" (a bare deal id
    is taken too, without that check)."""
    deal_text, _colon, stage_text = value.partition(":")
    return record_id(deal_text), record_id(stage_text) if stage_text else None


def _moved_meanwhile(count: int) -> None:
    flash(ngettext("%(num)d deal had been moved by someone else since the board was loaded: it stays where they "
                   "put it.",
                   "%(num)d deals had been moved by someone else since the board was loaded: they stay where "
                   "they were put.", count), "warning")  # fmt: skip


def _after_move(pipeline: Pipeline):
    if is_htmx() and not is_boosted():
        return render_template("deals/_board.html", **_board_context(pipeline))
    filters = queries.BoardFilters.from_args(request.args).as_args()
    return redirect(url_for(".board", pipeline_id=pipeline.id, **filters), 303)


@bp.post("/<int:deal_id>/move")
@require("deals.write")
def move(deal_id: int):
    """The keyboard's (and no-JavaScript) way to move a card: to the next or previous open stage."""
    deal = deal_or_404(deal_id)
    step = {"next": 1, "previous": -1}.get(request.args.get("direction", ""))
    stage = service.neighbour_stage(deal, service.stages_of(deal.pipeline_id), step) if step else None
    seen_in = record_id(request.args.get("from"))  # the column the button was in
    if deal.status == OPEN and seen_in is not None and seen_in != deal.stage_id:
        _moved_meanwhile(1)
        stage = None
    elif deal.status != OPEN or stage is None:
        flash(_("This deal cannot move that way."), "error")
    if stage is None or deal.status != OPEN:
        # Not moved: the board as it is now (htmx swaps only successes), with the toast saying why.
        if is_htmx() and not is_boosted():
            return render_template("deals/_board.html", **_board_context(deal.pipeline))
        return redirect(url_for(".board", pipeline_id=deal.pipeline_id), 303)
    service.move_deal(deal, stage, g.membership.id)
    db.session.commit()
    flash(_("%(title)s moved to %(stage)s.", title=deal.title, stage=stage.display_name), "success")
    return _after_move(deal.pipeline)


def _form(deal: Deal | None = None, **kwargs) -> DealForm:
    include = {}
    if request.method == "POST":
        include = {name: record_id(request.form.get(name)) for name in ("contact_id", "company_id")}
    elif deal is not None:
        include = {"contact_id": deal.contact_id, "company_id": deal.company_id}
    else:
        include = {
            "contact_id": record_id(request.args.get("contact")),
            "company_id": record_id(request.args.get("company")),
        }
        if include["contact_id"] and not include["company_id"]:  # a new deal from a contact: their company
            include["company_id"] = queries.company_of_contact(include["contact_id"])
    stages = _stage_choices() if deal is None or deal.status == OPEN else []
    return custom_form(  # DealForm with the workspace's deal fields (crm/custom_fields)
        DealForm,
        "deal",
        deal,
        g.membership.can("contacts.sensitive"),
        obj=None if request.method == "POST" else deal,
        stages=stages,
        contacts=customers.chosen(Contact, include["contact_id"], g.membership, deal and deal.contact_id),
        companies=customers.chosen(Company, include["company_id"], g.membership, deal and deal.company_id),
        owners=owner_choices(keep=deal.owner_id if deal is not None else None),
        currencies=currency_choices(first=g.workspace.currency),
        priced_by_lines=deal is not None and has_items(deal.id),
        **kwargs,
    )


def _stage_choices() -> list[tuple[int, str]]:
    pairs = queries.open_stages()
    several = len({pipeline.id for pipeline, _stage in pairs}) > 1
    return [
        (stage.id, f"{pipeline.display_name} · {stage.display_name}" if several else stage.display_name)
        for pipeline, stage in pairs
    ]


def _chosen_stage(form: DealForm):
    return next((stage for _p, stage in queries.open_stages() if stage.id == form.stage_id.data), None)


@bp.get("/new")
@require("deals.write")
def new():
    form = _form()
    form.owner_id.data = g.membership.id
    form.currency.data = g.workspace.currency
    form.contact_id.data, form.company_id.data = form.contact_id.offered, form.company_id.offered
    wanted_stage, pipeline_id = record_id(request.args.get("stage")), record_id(request.args.get("pipeline"))
    if wanted_stage is None and pipeline_id:
        wanted_stage = next((s.id for p, s in queries.open_stages() if p.id == pipeline_id), None)
    if wanted_stage and any(choice.value == wanted_stage for choice in form.stage_id.choices):
        form.stage_id.data = wanted_stage
    return render_template("deals/new.html", form=form)


@bp.post("/")
@require("deals.write")
def create():
    form = _form()
    if not form.validate_on_submit():
        return render_template("deals/new.html", form=form), 422
    data = form.service_data()
    data["custom"], data["custom_audit"] = custom_payload(form, None)
    deal = service.create_deal(data, _chosen_stage(form), g.membership.id)
    db.session.commit()
    flash(_("Deal %(title)s added.", title=deal.title), "success")
    return leave_for(url_for(".show", deal_id=deal.id))


def leave_for(url: str):
    if is_htmx() and not is_boosted():
        return "", 204, {"HX-Redirect": url}
    return redirect(url, 303)


def _show(deal: Deal, won_form=None, lost_form=None, status: int = 200):
    context = {
        "deal": deal,
        "changes": queries.stage_history(deal.id),
        "won_form": won_form or WonForm(formdata=None),
        "lost_form": lost_form or _lost_form(formdata=None),
        "history": audit_queries.history_of("deal", deal.id) if g.membership.can("audit.view") else [],
        "actions": ACTIONS,
    }
    context.update(timeline_context(deal))  # activities and stage changes (crm/activities/deal_routes.py)
    context.update(deal_items_context(deal))  # the "Products" section (crm/products/panel.py)
    if context["deal_items"]:
        context["won_form"].with_lines()
    return render_template("deals/show.html", **context), status


@bp.get("/<int:deal_id>")
@require("deals.read")
def show(deal_id: int):
    deal = deal_or_404(deal_id)
    if wants_partial("deal-details"):
        return render_template("deals/_details.html", deal=deal)
    return _show(deal)


@bp.get("/<int:deal_id>/edit")
@require("deals.write")
def edit(deal_id: int):
    deal = deal_or_404(deal_id)
    form = _form(deal)
    if "stage_seen" in form:
        form.stage_seen.data = str(deal.stage_id)
    if wants_partial("deal-details"):
        return render_template("deals/_edit.html", deal=deal, form=form)
    return render_template("deals/edit.html", deal=deal, form=form)


@bp.post("/<int:deal_id>")
@require("deals.write")
def update(deal_id: int):
    deal = deal_or_404(deal_id)
    form = _form(deal)
    partial = wants_partial("deal-details")
    if not form.validate_on_submit():
        template = "deals/_edit.html" if partial else "deals/edit.html"
        return render_template(template, deal=deal, form=form), 422
    stage = _chosen_stage(form) if "stage_id" in form else None
    if stage is not None and stage.id == record_id(form.stage_seen.data):
        stage = None  # left as the form showed it: where the deal is now (the board may have moved it) stands
    data = form.service_data()
    data["custom"], data["custom_audit"] = custom_payload(form, deal)
    service.update_deal(deal, data, g.membership.id, stage)
    db.session.commit()
    if handed_over(deal.owner_id):  # under "own records": no longer theirs to open
        if deal.owner_id is None:
            flash(_("Deal %(title)s saved. It has no owner now, so it is no longer on your list.",
                    title=deal.title), "success")  # fmt: skip
        else:
            flash(_("Deal %(title)s saved and handed over to %(owner)s.", title=deal.title,
                    owner=member_name(deal.owner_id)), "success")  # fmt: skip
        return leave_for(url_for(".index"))
    flash(_("Deal saved."), "success")
    if partial:
        return render_template("deals/_details.html", deal=deal_or_404(deal_id))
    return leave_for(url_for(".show", deal_id=deal.id))


@bp.post("/<int:deal_id>/won")
@require("deals.write")
def won(deal_id: int):
    deal = deal_or_404(deal_id)
    form = WonForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        service.win_deal(deal, g.workspace, workspace_today(), g.membership.id, bool(form.purchase.data))
    except service.DealError as error:
        db.session.rollback()
        form.purchase.errors = [str(error)]
        return _show(deal_or_404(deal_id), won_form=form, status=422)
    db.session.commit()
    flash(_("Deal %(title)s won.", title=deal.title), "success")
    return leave_for(url_for(".show", deal_id=deal.id))


def _lost_form(**kwargs) -> LostForm:
    return LostForm(reasons=lost_reasons.reasons(active_only=True) if g.membership.can("deals.write") else (),
                    **kwargs)  # fmt: skip


@bp.post("/<int:deal_id>/lost")
@require("deals.write")
def lost(deal_id: int):
    deal = deal_or_404(deal_id)
    form = _lost_form()
    if form.validate_on_submit():
        reason = db.session.get(LostReason, form.reason_id.data)
        try:
            service.lose_deal(deal, reason, form.details.data, workspace_today(), g.membership.id)
        except service.DealError as error:
            db.session.rollback()
            form.reason_id.errors = [str(error)]
        else:
            db.session.commit()
            flash(_("Deal %(title)s marked as lost.", title=deal.title), "success")
            return leave_for(url_for(".show", deal_id=deal.id))
    return _show(deal_or_404(deal_id), lost_form=form, status=422)


@bp.post("/<int:deal_id>/reopen")
@require("deals.write")
def reopen(deal_id: int):
    deal = deal_or_404(deal_id)
    service.reopen_deal(deal, g.membership.id)
    db.session.commit()
    flash(_("Deal %(title)s reopened.", title=deal.title), "success")
    return leave_for(url_for(".show", deal_id=deal.id))


@bp.post("/<int:deal_id>/delete")
@require("deals.delete")
def delete(deal_id: int):
    deal = deal_or_404(deal_id)
    pipeline_id = deal.pipeline_id
    service.delete_deal(deal)
    db.session.commit()
    flash(_("Deal %(title)s deleted.", title=deal.title), "success")
    return leave_for(url_for(".board", pipeline_id=pipeline_id))
