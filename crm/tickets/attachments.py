"""Files on tickets: images (PNG, JPEG, GIF, WebP) and PDF, each at most TICKET_ATTACHMENT_MAX_MB
(default 10), five per message. The type is read from the file's first bytes, never from its name
or the browser's word; files live under UPLOAD_DIR/ticket_attachments with random names, outside the
web root, and are served by views that check who may see the ticket (the staff page's reader, or the
customer's tracking token), as downloads or sandboxed images that run nothing."""

import secrets
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, make_response, request
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from crm.extensions import db
from crm.security import content_disposition, uploaded_file_name
from crm.tickets.models import Ticket, TicketAttachment, TicketMessage
from crm.tickets.service import TicketError

FOLDER = "ticket_attachments"
PER_MESSAGE = 5
PER_TICKET = 50  # a token's holder cannot fill the disk through one ticket
SIGNATURES = (  # first bytes -> (content type, extension)
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
    (b"%PDF-", "application/pdf", "pdf"),
)


def _kind_of(head: bytes) -> tuple[str, str] | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    for signature, content_type, extension in SIGNATURES:
        if head.startswith(signature):
            return content_type, extension
    return None


# The forms that carry files: a complaint, the customer's reply, a staff reply.
UPLOAD_ENDPOINTS = ("portal.new", "portal.reply", "ws.tickets.reply")
TEXT_ALLOWANCE = 1024 * 1024  # the form's words around the files


def allow_attachment_upload() -> None:
    """The forms with files take the body their files may make (PER_MESSAGE of the largest size),
    more than the app's MAX_CONTENT_LENGTH: two phone photos would otherwise be refused as too large,
    the complaint typed with them lost. Runs as an app-wide before-request hook registered ahead of
    CSRFProtect, which reads the body."""
    if request.method == "POST" and request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = PER_MESSAGE * current_app.config["TICKET_ATTACHMENT_MAX_BYTES"] + TEXT_ALLOWANCE


def folder() -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / FOLDER


def check(files: list[FileStorage]) -> list[tuple[FileStorage, str, str, bytes]]:
    """Reads and checks the chosen files before anything is saved: (file, type, extension, bytes).
    Empty file inputs are ignored; raises TicketError (field "attachments") for a bad one."""
    chosen = [file for file in files if file and file.filename]
    if len(chosen) > PER_MESSAGE:
        raise TicketError(_("Attach at most %(count)d files.", count=PER_MESSAGE), 422, "attachments")
    limit = current_app.config["TICKET_ATTACHMENT_MAX_BYTES"]
    checked = []
    for file in chosen:
        data = file.stream.read(limit + 1)
        if len(data) > limit:
            raise TicketError(_("%(name)s is larger than %(size)d MB.", name=uploaded_file_name(file.filename),
                                size=limit // (1024 * 1024)), 422, "attachments")  # fmt: skip
        kind = _kind_of(data[:16])
        if not data or kind is None:
            raise TicketError(_("%(name)s is not an image or a PDF.", name=uploaded_file_name(file.filename)), 422,
                              "attachments")  # fmt: skip
        checked.append((file, *kind, data))
    return checked


def save(message: TicketMessage, checked: list[tuple[FileStorage, str, str, bytes]]) -> list[TicketAttachment]:
    """Writes checked files and their rows for ``message`` (the caller commits)."""
    if message.id is None:
        db.session.flush()  # the message's id names it
    if checked:
        held = db.session.scalar(sa.select(sa.func.count(TicketAttachment.id))
                                 .where(TicketAttachment.ticket_id == message.ticket_id))  # fmt: skip
        if held + len(checked) > PER_TICKET:
            raise TicketError(_("This ticket holds %(count)d files already: no more can be added.", count=held), 422,
                              "attachments")  # fmt: skip
    target = folder()
    target.mkdir(parents=True, exist_ok=True)
    saved = []
    for file, content_type, extension, data in checked:
        stored_name = f"{secrets.token_hex(16)}.{extension}"
        (target / stored_name).write_bytes(data)
        attachment = TicketAttachment(
            ticket_id=message.ticket_id, message_id=message.id, filename=uploaded_file_name(file.filename),
            content_type=content_type, size=len(data), stored_name=stored_name,
        )  # fmt: skip
        db.session.add(attachment)
        saved.append(attachment)
    db.session.flush()
    return saved


def of_ticket(ticket: Ticket) -> dict[int, list[TicketAttachment]]:
    """The ticket's attachments by message id (one query)."""
    by_message: dict[int, list[TicketAttachment]] = {}
    rows = db.session.scalars(
        sa.select(TicketAttachment).where(TicketAttachment.ticket_id == ticket.id).order_by(TicketAttachment.id)
    )
    for attachment in rows:
        by_message.setdefault(attachment.message_id, []).append(attachment)
    return by_message


def response_for(attachment: TicketAttachment):
    """The file: images inline in a sandbox, PDFs as downloads; never cached by shared caches."""
    path = folder() / attachment.stored_name
    if not path.is_file():
        return make_response(_("This file is no longer available."), 410)
    response = make_response(path.read_bytes())
    response.content_type = attachment.content_type
    disposition = "inline" if attachment.content_type.startswith("image/") else "attachment"
    response.headers["Content-Disposition"] = content_disposition(disposition, attachment.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.cache_control.private = True
    response.cache_control.no_store = True
    return response


def remove(attachment: TicketAttachment) -> None:
    """Deletes the file and its row (erasure); a file already gone is fine."""
    (folder() / attachment.stored_name).unlink(missing_ok=True)
    db.session.delete(attachment)
