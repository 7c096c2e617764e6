"""Bulk changes larger than one request makes (more than ``bulk.MAX_AT_ONCE`` records: "all
matching" on a large workspace), run as a job (crm.jobs): the same set-based batches, each
committed as it is done, audited as the member who asked. The job selects again what the list's
state selects, within that member's record scope; the permission was checked when it was asked."""

from flask import g
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from crm.auth.models import User
from crm.contacts import bulk, trash
from crm.contacts.company_list import CompanyListState, matching_companies
from crm.contacts.list_view import ListState
from crm.contacts.models import Company, Contact
from crm.contacts.queries import matching_contacts
from crm.custom_fields import service as custom_fields
from crm.extensions import db
from crm.jobs import enqueue
from crm.workspaces.models import Membership, Workspace


def start(list_name: str, action: str, state_args: dict, value) -> None:
    """Queues ``action`` on all that ``state_args`` selects in ``list_name`` ("contacts",
    "companies", or "trash:contacts"/"trash:companies" for restoring a whole tab)."""
    enqueue(run, g.workspace.id, list_name, action, state_args, value, g.membership.id, current_user.id)


def run(list_name: str, action: str, state_args: dict, value, membership_id: int, user_id: int) -> None:
    member = db.session.get(Membership, membership_id)
    g.workspace = db.session.get(Workspace, member.workspace_id)  # its zone, for "Automatic" levels
    g.audit_actor = db.session.get(User, user_id)
    args = MultiDict([(key, item) for key, value_ in state_args.items()
                      for item in (value_ if isinstance(value_, list) else [value_])])  # fmt: skip
    if list_name == "contacts":
        bulk.apply(action, matching_contacts(ListState.from_args(args), member), value, commit_each=True)
    elif list_name == "companies":
        definitions = custom_fields.definitions(g.workspace, "company")
        statement = matching_companies(CompanyListState.from_args(args), member, definitions)
        bulk.apply_to_companies(action, statement, value, commit_each=True)
    else:
        model = Contact if list_name == "trash:contacts" else Company
        trash.restore(model, trash.in_trash(model, member), g.workspace, commit_each=True)
