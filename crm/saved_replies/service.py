"""Saved replies: add, change and delete them (audited), and fill one in for a ticket.

Placeholders are words in braces: {customer_name}, {customer_first_name}, {ticket_number},
{agent_name}, {workspace_name}. Anything else in braces stays as written, so a reply may hold braces
of its own; values are plain text (the reply box escapes them like anything typed)."""

import re

import sqlalchemy as sa
from flask_babel import gettext as _

from crm.audit import service as audit
from crm.extensions import db
from crm.i18n import lazy_gettext as _l
from crm.saved_replies.models import SavedReply

TITLE_MAX, BODY_MAX = 120, 10_000
PLACEHOLDERS = {
    "customer_name": _l("the customer's name"),
    "customer_first_name": _l("the customer's first name"),
    "ticket_number": _l("the ticket's number"),
    "agent_name": _l("your name"),
    "workspace_name": _l("the workspace's name"),
}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class SavedReplyError(ValueError):
    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def saved_replies() -> list[SavedReply]:
    return list(db.session.scalars(sa.select(SavedReply).order_by(SavedReply.title, SavedReply.id)))


def _checked(title: str | None, body: str | None) -> tuple[str, str]:
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        raise SavedReplyError(_("Give the reply a title."), "title")
    if len(title) > TITLE_MAX:
        raise SavedReplyError(_("Keep it under %(count)d characters.", count=TITLE_MAX), "title")
    if not body:
        raise SavedReplyError(_("Write the reply."), "body")
    if len(body) > BODY_MAX:
        raise SavedReplyError(_("Keep it under %(count)d characters.", count=BODY_MAX), "body")
    return title, body


def create(title: str | None, body: str | None) -> SavedReply:
    title, body = _checked(title, body)
    reply = SavedReply(title=title, body=body)
    db.session.add(reply)
    db.session.flush()
    audit.record("saved_reply.created", "saved_reply", reply.id, {"title": [None, title]})
    return reply


def update(reply: SavedReply, title: str | None, body: str | None) -> None:
    title, body = _checked(title, body)
    changes = {name: [getattr(reply, name), value] for name, value in (("title", title), ("body", body))
               if getattr(reply, name) != value}  # fmt: skip
    if changes:
        reply.title, reply.body = title, body
        audit.record("saved_reply.updated", "saved_reply", reply.id, changes)


def delete(reply: SavedReply) -> None:
    audit.record("saved_reply.deleted", "saved_reply", reply.id, {"title": [reply.title, None]})
    db.session.delete(reply)


def fill(body: str, values: dict[str, str]) -> str:
    """The reply with its known placeholders replaced by ``values``."""
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), body)


def values_for(customer_name: str, ticket_number: int, agent_name: str, workspace_name: str) -> dict[str, str]:
    first = customer_name.split()[0] if customer_name.split() else customer_name
    return {"customer_name": customer_name, "customer_first_name": first, "ticket_number": f"#{ticket_number}",
            "agent_name": agent_name, "workspace_name": workspace_name}  # fmt: skip
