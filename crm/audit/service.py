"""Writing the audit log. Every feature calls ``record()`` inside the transaction of the action
it audits, so an action and its entry are saved together or not at all."""

import sqlalchemy as sa
from flask import g, has_request_context, request
from flask_login import current_user

from crm.audit.models import AuditEntry
from crm.db import utcnow
from crm.extensions import db
from crm.i18n import lazy_gettext as _l
from crm.tenancy import NoWorkspace, bound_workspace_id, user_scope, workspace_scope

ACTIONS = {
    "auth.login": _l("Signed in"),
    "auth.login_failed": _l("Failed sign-in"),
    "auth.logout": _l("Signed out"),
    "auth.password_changed": _l("Changed their password"),
    "auth.password_reset": _l("Reset their password by email"),
    "auth.sessions_ended": _l("Signed out their other sessions"),
    "auth.locked": _l("Account locked after failed sign-ins"),
    "auth.two_factor_enabled": _l("Turned on two-factor authentication"),
    "auth.two_factor_disabled": _l("Turned off two-factor authentication"),
    "auth.recovery_codes_regenerated": _l("Made new recovery codes"),
    "auth.recovery_code_used": _l("Signed in with a recovery code"),
    "invitation.sent": _l("Invited a member"),
    "invitation.resent": _l("Resent an invitation"),
    "invitation.revoked": _l("Revoked an invitation"),
    "invitation.accepted": _l("Accepted an invitation"),
    "member.role_changed": _l("Changed a member's role"),
    "member.disabled": _l("Disabled a member"),
    "member.enabled": _l("Enabled a member"),
    "member.removed": _l("Removed a member"),
    "member.ownership_transferred": _l("Transferred ownership"),
    "role.created": _l("Created a role"),
    "role.updated": _l("Changed a role"),
    "role.deleted": _l("Deleted a role"),
    "audit.exported": _l("Downloaded the audit log"),
    "workspace.created": _l("Created the workspace"),
    "workspace.updated": _l("Changed workspace settings"),
    "workspace.rules_changed": _l("Changed the customer tier rules"),
    "workspace.sla_changed": _l("Changed the service hours and SLA targets"),
    "custom_field.created": _l("Added a custom field"),
    "custom_field.updated": _l("Changed a custom field"),
    "custom_field.moved": _l("Reordered a custom field"),
    "custom_field.option_renamed": _l("Renamed a choice of a custom field"),
    "custom_field.deleted": _l("Deleted a custom field"),
    "custom_field.revealed": _l("Revealed a sensitive value"),
    "workspace.logo_changed": _l("Changed the workspace logo"),
    "workspace.logo_removed": _l("Removed the workspace logo"),
    "note.created": _l("Added a note"),
    "note.updated": _l("Edited a note"),
    "note.deleted": _l("Deleted a note"),
    "contact.created": _l("Added a contact"),
    "contact.updated": _l("Edited a contact"),
    "contact.deleted": _l("Deleted a contact"),
    "contact.restored": _l("Restored a contact"),
    "contact.reclassified": _l("Customer class changed"),
    "contact.import_undone": _l("Import undone: values restored"),
    "contact.exported": _l("Exported contacts"),
    # By Kehu itself, upgrading (migration 0042): tags stored whole ("a,b") became one tag a part.
    "tags.split": _l("Tags holding a comma or another separator were split, one tag a part (a Kehu upgrade)"),
    # By Kehu itself, upgrading (migration 0049): tickets left on contacts merged away moved to the kept ones.
    "tickets.moved_to_merged": _l(
        "Tickets left on contacts merged into others were moved to the contacts kept (a Kehu upgrade)"
    ),
    "saved_view.created": _l("Saved a view"),
    "saved_view.updated": _l("Changed a saved view"),
    "saved_view.renamed": _l("Renamed a saved view"),
    "saved_view.deleted": _l("Deleted a saved view"),
    "activity.created": _l("Logged an activity"),
    "activity.done": _l("Finished a task"),
    "activity.reopened": _l("Reopened a task"),
    "activity.updated": _l("Corrected an activity"),
    "activity.handed_over": _l("Handed over the open task of a member who was removed"),
    "activity.deleted": _l("Deleted an activity"),
    "purchase.created": _l("Added a purchase"),
    "purchase.updated": _l("Edited a purchase"),
    "purchase.deleted": _l("Deleted a purchase"),
    "company.created": _l("Added a company"),
    "company.updated": _l("Edited a company"),
    "company.deleted": _l("Deleted a company"),
    "company.restored": _l("Restored a company"),
    "company.exported": _l("Exported companies"),
    "trash.purged": _l("Emptied the trash of records past their restore window"),
    "import.started": _l("Started an import"),
    "import.completed": _l("An import finished"),
    "import.undone": _l("Undid an import"),
    "workspace.backup_downloaded": _l("Downloaded a backup of the workspace"),
    "workspace.restored": _l("Restored the workspace from a backup"),
    "contact.merged": _l("Merged two contacts"),
    "contact.merge_undone": _l("Undid a merge of contacts"),
    "duplicates.dismissed": _l("Marked two contacts as not duplicates"),
    "deal.created": _l("Added a deal"),
    "deal.updated": _l("Edited a deal"),
    "deal.moved": _l("Moved a deal to another stage"),
    "deal.won": _l("Marked a deal as won"),
    "deal.lost": _l("Marked a deal as lost"),
    "deal.reopened": _l("Reopened a deal"),
    "deal.deleted": _l("Deleted a deal"),
    "deal.exported": _l("Exported deals"),
    "pipeline.created": _l("Added a pipeline"),
    "pipeline.updated": _l("Renamed a pipeline"),
    "pipeline.deleted": _l("Deleted a pipeline"),
    "stage.created": _l("Added a stage"),
    "stage.updated": _l("Changed a stage"),
    "stage.moved": _l("Reordered a stage"),
    "stage.deleted": _l("Removed a stage"),
    "ticket.rotation_changed": _l("Changed who takes turns on a ticket queue"),
    "contact.erased": _l("Erased a customer's personal data"),
    "contact.data_exported": _l("Sent a customer a copy of their data"),
    "saved_reply.created": _l("Added a saved reply"),
    "saved_reply.updated": _l("Changed a saved reply"),
    "saved_reply.deleted": _l("Deleted a saved reply"),
    "lost_reason.created": _l("Added a lost reason"),
    "lost_reason.updated": _l("Changed a lost reason"),
    "lost_reason.reordered": _l("Reordered the lost reasons"),
    "lost_reason.deleted": _l("Deleted a lost reason"),
    "product.created": _l("Added a product"),
    "product.updated": _l("Changed a product"),
    "product.deactivated": _l("Deactivated a product"),
    "product.activated": _l("Activated a product"),
    "deal.item_added": _l("Added a line item to a deal"),
    "deal.item_updated": _l("Changed a line item of a deal"),
    "deal.item_removed": _l("Removed a line item from a deal"),
    "quote.created": _l("Created a quote"),
    "quote.updated": _l("Edited a quote"),
    "quote.sent": _l("Marked a quote as sent"),
    "quote.accepted": _l("Marked a quote as accepted"),
    "quote.declined": _l("Marked a quote as declined"),
    "ticket.created": _l("Opened a ticket"),
    "ticket.replied": _l("Replied on a ticket"),
    "ticket.noted": _l("Added an internal note to a ticket"),
    "ticket.customer_replied": _l("The customer replied on a ticket"),
    "ticket.status_changed": _l("Changed the status of a ticket"),
    "ticket.assigned": _l("Assigned a ticket"),
    "ticket.updated": _l("Changed a ticket"),
    "ticket.rated": _l("The customer rated a ticket"),
    "ticket.merged": _l("Merged a duplicate ticket into another"),
    "ticket_category.created": _l("Added a complaint category"),
    "ticket_category.updated": _l("Changed a complaint category"),
    "ticket_category.reordered": _l("Reordered the complaint categories"),
    "billing.checkout_started": _l("Went to Stripe Checkout to pay for a plan"),
    "billing.portal_opened": _l("Opened Stripe's billing portal"),
    "billing.subscription_changed": _l("The subscription changed"),
    "billing.subscription_ended": _l("The subscription ended; the workspace is on Free"),
    "billing.invoice_paid": _l("An invoice was paid"),
    "billing.payment_failed": _l("A payment failed"),
    "billing.invoice_voided": _l("An invoice was voided"),
    "billing.invoice_uncollectible": _l("An invoice was marked uncollectible"),
    "billing.debt_settled": _l("No invoice is unpaid any more; the workspace is writable again"),
    "billing.subscription_canceled": _l("The subscription was canceled because the workspace is being deleted"),
    "billing.seats_changed": _l("The billed seats changed"),
}

RECORD_TYPES = {
    "user": _l("Account"),
    "invitation": _l("Invitation"),
    "membership": _l("Member"),
    "role": _l("Role"),
    "workspace": _l("Workspace"),
    "note": _l("Note"),
    "contact": _l("Contact"),
    "company": _l("Company"),
    "custom_field": _l("Custom field"),
    "import": _l("Import"),
    "deal": _l("Deal"),
    "pipeline": _l("Pipeline"),
    "stage": _l("Stage"),
    "lost_reason": _l("Lost reason"),
    "saved_reply": _l("Saved reply"),
    "assignment_rotation": _l("Ticket assignment"),
    "product": _l("Product"),
    "quote": _l("Quote"),
    "ticket": _l("Ticket"),
    "ticket_category": _l("Complaint category"),
    "invoice": _l("Invoice"),
    "saved_view": _l("Saved view"),
}


def record(action: str, record_type: str | None = None, record_id: int | None = None, changes=None, actor=None):
    """Adds an entry to the bound workspace's log; the actor defaults to the signed-in user."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    actor = actor or _actor()
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        actor_label=actor.email if actor is not None else "",
        action=action,
        record_type=record_type,
        record_id=record_id,
        changes=changes,
        **_client(),
    )
    db.session.add(entry)
    return entry


def record_many(action: str, record_type: str, changes: dict[int, dict]) -> None:
    """One entry per record (``changes`` by record id), as ``record`` makes, inserted in one
    statement: for bulk changes, where a flush of one object per entry cost more than the change."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    workspace_id = bound_workspace_id()
    if workspace_id is None:
        raise NoWorkspace("audit entries with no workspace bound")
    if not changes:
        return
    actor = _actor()
    common = {"workspace_id": workspace_id, "actor_id": actor.id if actor is not None else None,
              "actor_label": actor.email if actor is not None else "", "action": action, "record_type": record_type,
              "created_at": utcnow(), **_client()}  # fmt: skip
    db.session.execute(sa.insert(AuditEntry), [{**common, "record_id": key, "changes": change}
                                               for key, change in changes.items()])  # fmt: skip


def _actor():
    """Who is acting: the signed-in user, or the one a job acts for (``g.audit_actor``, see
    crm/contacts/bulk_jobs.py)."""
    if g.get("audit_actor") is not None:
        return g.audit_actor
    return current_user if current_user and current_user.is_authenticated else None


def record_account_event(user, action: str, changes=None) -> None:
    """Account events (sign-in, password...) belong to no single workspace: each workspace the
    user is an active member of gets the entry, so each one's admins see their own staff."""
    from crm.workspaces.service import active_workspace_ids_of

    db.session.flush()
    with user_scope(user.id):  # RLS lets a user read only their own memberships across workspaces
        workspace_ids = active_workspace_ids_of(user)
    for workspace_id in workspace_ids:
        with workspace_scope(workspace_id):
            record(action, "user", user.id, changes, actor=user)
            db.session.flush()


def changes_of(obj, fields) -> dict:
    """{field: [before, after]} for the fields of ``obj`` changed since it was loaded (pre-flush)."""
    state = sa.inspect(obj)
    changed = {}
    for field in fields:
        history = state.attrs[field].history
        if history.has_changes():
            before = history.deleted[0] if history.deleted else None
            after = history.added[0] if history.added else None
            if before != after:
                changed[field] = [_plain(before), _plain(after)]
    return changed


def _plain(value):
    return value if value is None or isinstance(value, str | int | float | bool | list) else str(value)


def _client() -> dict:
    if not has_request_context():
        return {"ip": None, "user_agent": None}
    return {"ip": request.remote_addr, "user_agent": (request.user_agent.string or "")[:255] or None}
