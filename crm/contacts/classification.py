"""Automatic customer classification from purchases: tier A/B/C/D by the last 12 months' value,
level VIP / potential / ordinary by value, growth or open deals (unless pinned by hand), and lifecycle
by the dates of the first and last purchase. Stored on the contact so lists never compute it per row.

A customer's open deals (live, in the workspace's currency) make them potential from a set total, a
lead without purchases too: the deals' changes classify their contact again (``deals_changed``).

Tiers and VIP can also be given as shares of customers ("tier A: the top 10%"). Those become money
cut-offs (``compute_cutoffs``: the 12-month value at that rank among the customers who bought in the
last 12 months), stored on the workspace when the rules are saved and every night, so a single
purchase classifies its customer against the same cut-offs as everyone else.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from crm.audit import service as audit
from crm.contacts.models import Contact
from crm.db import plans_kept, utcnow
from crm.deals.models import OPEN as DEAL_OPEN
from crm.deals.models import Deal
from crm.extensions import db
from crm.i18n import in_zone, money
from crm.purchases.models import Purchase
from crm.tenancy import bound_workspace_id
from crm.workspaces.models import Workspace

DEFAULT_RULES = {
    # "value": the thresholds below; "share": the top percentages of customers below.
    "tier_by": "value",
    # Minimum value over the last 12 months, in the workspace currency; below C is D.
    "tier_a": 10000,
    "tier_b": 2000,
    "tier_c": 500,
    # Or the top shares of customers who bought in the last 12 months (cumulative, in %).
    "tier_a_top": 10,
    "tier_b_top": 30,
    "tier_c_top": 60,
    "vip_by": "value",
    "vip_value": 20000,
    "vip_top": 5,
    # Potential: the last 12 months grew by at least this much on the 12 months before,
    "potential_growth_percent": 50,
    # or their open deals are worth at least this much, in the workspace currency (0: not used).
    "potential_deal_value": 5000,
    # Lifecycle windows in days.
    "new_days": 90,
    "dormant_days": 180,
    "churned_days": 365,
}
ZERO = Decimal("0")
BATCH = 1000  # contacts classified in one go (between two progress reports of a run)
YEAR = timedelta(days=365)


@dataclass
class Figures:
    value_12m: Decimal
    value_prev_12m: Decimal
    lifetime_value: Decimal
    first_purchase: date | None
    last_purchase: date | None
    open_deal_value: Decimal = Decimal("0")  # of their live open deals in the workspace's currency


SHARE_OF = {"tier_a": "tier_a_top", "tier_b": "tier_b_top", "tier_c": "tier_c_top", "vip_value": "vip_top"}


def stated_rules(workspace) -> dict:
    """The rules as the workspace set them (for the settings form)."""
    return {**DEFAULT_RULES, **(workspace.customer_rules or {})}


def rules_of(workspace) -> dict:
    """The rules to classify with: money thresholds throughout, a threshold given as a share of
    customers replaced by its computed cut-off (the money one until there is one)."""
    rules = stated_rules(workspace)
    cutoffs = workspace.class_cutoffs or {}
    return {**rules, **{key: cutoffs[key] for key in _by_share(rules) if key in cutoffs}}


def by_share(workspace) -> list[str]:
    """The rules the workspace gives as shares of customers (their cut-offs move with any purchase)."""
    return _by_share(stated_rules(workspace))


def _by_share(rules: dict) -> list[str]:
    keys = ["tier_a", "tier_b", "tier_c"] if rules["tier_by"] == "share" else []
    return keys + (["vip_value"] if rules["vip_by"] == "share" else [])


def cutoffs_stated(workspace) -> dict:
    """The cut-offs in use with the share each was worked out for, as a run keeps them
    (models.ClassificationRun.cutoffs); "from" is None while nobody bought in the last 12 months."""
    rules, cutoffs = stated_rules(workspace), workspace.class_cutoffs or {}
    return {key: {"top": rules[SHARE_OF[key]], "from": cutoffs.get(key)} for key in _by_share(rules)}


def compute_cutoffs(workspace) -> None:
    """Stores the money cut-off of each rule given as a share: the 12-month value of the customer at
    that rank among the live customers who bought in the last 12 months (equal values all go up)."""
    rules = stated_rules(workspace)
    buyers = sa.select(Contact.value_12m).where(Contact.deleted_at.is_(None), Contact.value_12m > 0)
    count = db.session.scalar(sa.select(sa.func.count()).select_from(buyers.subquery())) if _by_share(rules) else 0
    cutoffs = {}
    for key in _by_share(rules) if count else ():
        rank = max(1, math.ceil(count * rules[SHARE_OF[key]] / 100))
        value = db.session.scalar(buyers.order_by(Contact.value_12m.desc()).offset(rank - 1).limit(1))
        cutoffs[key] = float(value)
    workspace.class_cutoffs = cutoffs or None


def figures_of(contact_id: int, today: date) -> Figures:
    """The purchase figures of one contact, and their open deals' value, in one aggregate query."""
    recent = Purchase.purchased_on > today - YEAR
    previous = sa.and_(Purchase.purchased_on > today - 2 * YEAR, Purchase.purchased_on <= today - YEAR)
    deals = _open_deal_values().where(Deal.contact_id == contact_id).scalar_subquery()
    row = db.session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(sa.case((recent, Purchase.base_amount), else_=ZERO)), ZERO),
            sa.func.coalesce(sa.func.sum(sa.case((previous, Purchase.base_amount), else_=ZERO)), ZERO),
            sa.func.coalesce(sa.func.sum(Purchase.base_amount), ZERO),
            sa.func.min(Purchase.purchased_on),
            sa.func.max(Purchase.purchased_on),
            deals,
        ).where(Purchase.contact_id == contact_id)
    ).one()
    return Figures(*(Decimal(str(v)) for v in row[:3]), row[3], row[4], Decimal(str(row[5] or 0)))


def _open_deal_values() -> sa.Select:
    """The sum of the value of live open deals in the workspace's currency (a deal in another
    currency has no worth to compare with the rules' amounts), to be narrowed to some contacts."""
    currency = sa.select(Workspace.currency).where(Workspace.id == Deal.workspace_id).scalar_subquery()
    return sa.select(sa.func.coalesce(sa.func.sum(Deal.value), ZERO)).where(
        Deal.status == DEAL_OPEN, Deal.deleted_at.is_(None), Deal.currency == currency
    )


def tier_for(value_12m: Decimal, rules: dict) -> str:
    for tier in ("a", "b", "c"):
        if value_12m >= Decimal(str(rules[f"tier_{tier}"])):
            return tier.upper()
    return "D"


def level_for(figures: Figures, rules: dict) -> str:
    """VIP or potential by what the customer spent in the last 12 months (VIP never without a purchase
    in them, whatever the VIP threshold: one of 0 would otherwise make any contact VIP, leads too), or
    potential by their open deals; else ordinary."""
    if figures.value_12m > 0 and figures.value_12m >= Decimal(str(rules["vip_value"])):
        return "vip"
    if _grew(figures, rules) or _deals_promise(figures, rules):
        return "potential"
    return "ordinary"


def _grew(figures, rules: dict) -> bool:
    growth = Decimal(100 + rules["potential_growth_percent"]) / 100
    return figures.value_prev_12m > 0 and figures.value_12m >= figures.value_prev_12m * growth


def _deals_promise(figures: Figures, rules: dict) -> bool:
    threshold = Decimal(str(rules.get("potential_deal_value") or 0))
    return threshold > 0 and figures.open_deal_value >= threshold


def lifecycle_for(figures: Figures, rules: dict, today: date, current: str, last_activity: date | None = None) -> str:
    """By the first purchase (new) and the latest purchase or activity (active, dormant, churned):
    a customer still in touch is not dormant. Without purchases it stays as set by hand."""
    if figures.last_purchase is None:
        return current
    if figures.first_purchase > today - timedelta(days=rules["new_days"]):
        return "new"
    latest = max(figures.last_purchase, last_activity) if last_activity else figures.last_purchase
    since_last = (today - latest).days
    if since_last <= rules["dormant_days"]:
        return "active"
    return "dormant" if since_last <= rules["churned_days"] else "churned"


def _midnight(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), tzinfo=UTC) if day else None


CLASSES = ("tier", "level", "lifecycle")  # audited when they change (the contact's timeline shows them)
STORED = ("value_12m", "value_prev_12m", "lifetime_value", "last_purchase_at", *CLASSES)  # what classifying writes


def classified(figures: Figures, rules: dict, today: date, stored, zone: str) -> dict:
    """What the figures make of a contact, by column (``STORED``): ``stored`` is the contact as it is
    (a Contact, or a row with the same names), for its pinned level, its lifecycle set by hand, whether
    it had purchases and its last activity. ``today`` is the date in the workspace's time zone
    (``zone``), and the last activity counts by its date there too, as purchases' dates do."""
    if stored.last_purchase_at is not None and figures.last_purchase is None:
        lifecycle = "lead"  # its purchases were all deleted
    else:
        last_activity = in_zone(stored.last_activity_at, zone).date() if stored.last_activity_at else None
        lifecycle = lifecycle_for(figures, rules, today, stored.lifecycle, last_activity)
    return {
        "value_12m": figures.value_12m,
        "value_prev_12m": figures.value_prev_12m,
        "lifetime_value": figures.lifetime_value,
        "last_purchase_at": _midnight(figures.last_purchase),
        "tier": tier_for(figures.value_12m, rules) if figures.last_purchase else None,
        "level": stored.level if stored.level_pinned else level_for(figures, rules),
        "lifecycle": lifecycle,
    }


def reclassify(contact: Contact, rules: dict, today: date, zone: str) -> dict:
    """Recomputes and stores the contact's figures and classes; audits changes of class. For one
    contact whose purchases or activities changed; a whole workspace goes by ``reclassify_all``.
    ``today`` is the date in the workspace's time zone ``zone``."""
    for name, value in classified(figures_of(contact.id, today), rules, today, contact, zone).items():
        setattr(contact, name, value)
    changes = audit.changes_of(contact, CLASSES)
    if changes:
        audit.record("contact.reclassified", "contact", contact.id, changes)
    return changes


def reclassify_all(workspace, today: date, progress: Callable[[int, int, int], None] | None = None) -> int:
    """Every live contact that has or had purchases, as ``reclassify`` would one by one, a batch at a
    time in a few statements whatever the batch's size (``_reclassify_batch``), the contacts read by
    keyset so memory stays flat. The share cut-offs are computed first, from the 12-month values as
    they stand. ``progress(done, total, changed)`` is called once they are counted and after each
    batch (crm/contacts/tier_runs.py commits there). Returns how many changed class."""
    compute_cutoffs(workspace)
    rules, done, changed, after = rules_of(workspace), 0, 0, None
    customers = (Contact.deleted_at.is_(None), to_classify())
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Contact).where(*customers))
    if progress is not None:
        progress(0, total, 0)
    columns = [Contact.id, Contact.level_pinned, Contact.last_activity_at, *(getattr(Contact, name) for name in STORED)]
    batch = sa.select(*columns).where(*customers).order_by(Contact.id).limit(BATCH)
    while True:
        statement = batch if after is None else batch.where(Contact.id > after)
        rows = db.session.execute(statement).all()
        if not rows:
            return changed
        changed += _reclassify_batch(workspace, rows, rules, today)
        done, after = done + len(rows), rows[-1].id
        if progress is not None:
            progress(done, max(total, done), changed)  # customers who bought since the count come too


def to_classify() -> sa.ColumnElement:
    """The contacts a run classifies: those who have or had purchases, those with open deals, and the
    potential ones (the deals that made them so may have closed, or the rule changed)."""
    with_deals = _open_deal_values().where(Deal.contact_id == Contact.id).scalar_subquery() > 0
    return sa.or_(Contact.last_purchase_at.isnot(None), Contact.level == "potential", with_deals)


def reclassify_restored(workspace, contact_ids: list[int], today: date) -> int:
    """Classifies contacts just restored from the trash that have or had purchases or open deals, as the nightly
    batches do (``_reclassify_batch``): those batches, and saving the rules, leave the trash out, so
    a restored contact still had the classes of the day it was deleted. Returns how many changed."""
    columns = [Contact.id, Contact.level_pinned, Contact.last_activity_at, *(getattr(Contact, name) for name in STORED)]
    statement = sa.select(*columns).where(Contact.id.in_(contact_ids), Contact.deleted_at.is_(None), to_classify())
    rows = db.session.execute(statement.order_by(Contact.id)).all() if contact_ids else []
    return _reclassify_batch(workspace, rows, rules_of(workspace), today) if rows else 0


def batch_figures(first_id: int, last_id: int, today: date) -> dict[int, Figures]:
    """``figures_of`` of the contacts with ids from ``first_id`` to ``last_id`` that have purchases or
    open deals, in two grouped queries."""
    recent = Purchase.purchased_on > today - YEAR
    previous = sa.and_(Purchase.purchased_on > today - 2 * YEAR, Purchase.purchased_on <= today - YEAR)
    rows = db.session.execute(
        sa.select(
            Purchase.contact_id,
            sa.func.coalesce(sa.func.sum(sa.case((recent, Purchase.base_amount), else_=ZERO)), ZERO),
            sa.func.coalesce(sa.func.sum(sa.case((previous, Purchase.base_amount), else_=ZERO)), ZERO),
            sa.func.coalesce(sa.func.sum(Purchase.base_amount), ZERO),
            sa.func.min(Purchase.purchased_on),
            sa.func.max(Purchase.purchased_on),
        )
        .where(Purchase.contact_id.between(first_id, last_id))
        .group_by(Purchase.contact_id)
    )
    figures = {row[0]: Figures(*(Decimal(str(v)) for v in row[1:4]), row[4], row[5]) for row in rows}
    deals = _open_deal_values().add_columns(Deal.contact_id).where(Deal.contact_id.between(first_id, last_id))
    for value, contact_id in db.session.execute(deals.group_by(Deal.contact_id)):
        known = figures.get(contact_id) or Figures(ZERO, ZERO, ZERO, None, None)
        figures[contact_id] = replace(known, open_deal_value=Decimal(str(value)))
    return figures


NO_PURCHASES = Figures(ZERO, ZERO, ZERO, None, None)  # what figures_of gives a contact without any


def _reclassify_batch(workspace, rows: list, rules: dict, today: date) -> int:
    """Classifies ``rows`` (contacts' stored values, by id) and writes those that change: one
    grouped figures query, one UPDATE executed for the changed rows and one INSERT of the audit
    entries of changed classes. The ORM would write the same (it skips unchanged rows too); here no
    contact is loaded as an object. Returns how many changed class."""
    figures = batch_figures(rows[0].id, rows[-1].id, today)
    updates, audited = [], {}
    for row in rows:
        new = classified(figures.get(row.id, NO_PURCHASES), rules, today, row, workspace.timezone)
        if all(new[name] == getattr(row, name) for name in STORED):
            continue
        updates.append({"contact_id": row.id, **{f"new_{name}": value for name, value in new.items()}})
        changes = {name: [getattr(row, name), new[name]] for name in CLASSES if new[name] != getattr(row, name)}
        if changes:
            audited[row.id] = changes
    if updates:
        contacts = Contact.__table__
        statement = (
            sa.update(contacts)
            .where(contacts.c.workspace_id == workspace.id, contacts.c.id == sa.bindparam("contact_id"))
            .values(updated_at=utcnow(), **{name: sa.bindparam(f"new_{name}") for name in STORED})
        )
        with plans_kept(db.session.connection()):  # one plan for the UPDATE by id, not one a row
            db.session.execute(statement, updates)
        _forget_loaded([update["contact_id"] for update in updates])
    audit.record_many("contact.reclassified", "contact", audited)
    return len(audited)


def _forget_loaded(contact_ids: list[int]) -> None:
    """Contacts of the session's identity map that were just written behind the ORM's back read
    their new values when next used."""
    session, mapper = db.session(), sa.inspect(Contact)
    for contact_id in contact_ids:
        loaded = session.identity_map.get(mapper.identity_key_from_primary_key((contact_id,)))
        if loaded is not None:
            session.expire(loaded)


def reasons(contact: Contact, workspace) -> list[str]:
    """Which rule gave the contact its tier, level and lifecycle, in words for its page."""
    rules = rules_of(workspace)

    def amount(key: str) -> str:
        return money(rules[key], workspace.currency)

    said = []
    by_share = _by_share(stated_rules(workspace))
    # A share whose money cut-off is not worked out yet (rules saved before anyone bought): the
    # classes came from the money thresholds, which say nothing about shares.
    pending = [key for key in by_share if key not in (workspace.class_cutoffs or {})]
    if contact.tier and "tier_a" in pending:
        said.append(_("Tier %(tier)s: the cut-offs of the tiers by share of customers are not worked out yet.",
                      tier=contact.tier))  # fmt: skip
    elif contact.tier == "D":
        said.append(_("Tier D: under %(threshold)s in the last 12 months.", threshold=amount("tier_c")))
    elif contact.tier and "tier_a" in by_share:
        key = f"tier_{contact.tier.lower()}"
        said.append(
            _(
                "Tier %(tier)s: in the top %(percent)d%% of customers by the last 12 months' value (from %(threshold)s).",  # noqa: E501
                tier=contact.tier,
                percent=rules[SHARE_OF[key]],
                threshold=amount(key),
            )
        )
    elif contact.tier:
        threshold = amount(f"tier_{contact.tier.lower()}")
        said.append(
            _("Tier %(tier)s: at least %(threshold)s in the last 12 months.", tier=contact.tier, threshold=threshold)
        )
    if contact.level_pinned:
        said.append(_("Level set by hand."))
    elif contact.level == "vip" and "vip_value" in pending:
        said.append(_("VIP: the cut-off of the top %(percent)d%% of customers is not worked out yet.",
                      percent=rules["vip_top"]))  # fmt: skip
    elif contact.level == "vip" and "vip_value" in by_share:
        said.append(
            _(
                "VIP: in the top %(percent)d%% of customers by the last 12 months' value (from %(threshold)s).",
                percent=rules["vip_top"],
                threshold=amount("vip_value"),
            )
        )
    elif contact.level == "vip":
        said.append(_("VIP: at least %(threshold)s in the last 12 months.", threshold=amount("vip_value")))
    elif contact.level == "potential" and _grew(contact, rules):
        growth = rules["potential_growth_percent"]
        said.append(_("Potential: spending grew by at least %(percent)d%% on the 12 months before.", percent=growth))
    elif contact.level == "potential":
        said.append(_("Potential: open deals worth at least %(threshold)s.", threshold=amount("potential_deal_value")))
    lifecycle = _lifecycle_reason(contact, rules)
    return [*said, lifecycle] if lifecycle else said


def _lifecycle_reason(contact: Contact, rules: dict) -> str | None:
    """The lifecycle window the contact is in (lifecycle_for's rules), or how it was set."""
    if contact.last_purchase_at is None:
        return None if contact.lifecycle == "lead" else _("Lifecycle set by hand: no purchase yet.")
    if contact.lifecycle == "new":
        return _("New: first purchase within the last %(days)d days.", days=rules["new_days"])
    if contact.lifecycle == "active":
        return _("Active: a purchase or activity within the last %(days)d days.", days=rules["dormant_days"])
    if contact.lifecycle == "dormant":
        return _("Dormant: no purchase or activity for more than %(days)d days.", days=rules["dormant_days"])
    if contact.lifecycle == "churned":
        return _("Churned: no purchase or activity for more than %(days)d days.", days=rules["churned_days"])
    return None


def deals_changed(*contact_ids: int | None) -> None:
    """Classifies again the live contacts whose open deals changed (a deal added, closed, reopened,
    deleted, moved to another person, or worth another amount): their level may go by them."""
    workspace = db.session.get(Workspace, bound_workspace_id())
    rules, today = rules_of(workspace), today_in(workspace)
    for contact_id in sorted({contact_id for contact_id in contact_ids if contact_id is not None}):
        contact = db.session.get(Contact, contact_id)
        if contact is not None and contact.deleted_at is None:
            reclassify(contact, rules, today, workspace.timezone)


def today_in(workspace) -> date:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(workspace.timezone)).date()


def save_rules(workspace, rules: dict) -> dict:
    """Stores the rules that differ from the defaults; returns the audit changes."""
    before = stated_rules(workspace)
    workspace.customer_rules = {key: value for key, value in rules.items() if DEFAULT_RULES.get(key) != value} or None
    return {key: [before[key], rules[key]] for key in DEFAULT_RULES if before[key] != rules[key]}
