"""Outgoing mail. SMTP when MAIL_URL is set; otherwise logged and, in development, kept in an
outbox folder that the dev-only outbox page lists. Mail sent from a request goes through a
background job (``send_mail``); a scheduled command that must know the server took a message (the
reminders and the late-ticket mails, marked sent only then) calls ``hand_over`` itself.

MAIL_URL forms: ``smtp://user:pass@host:587`` (STARTTLS if the server offers it),
``smtps://user:pass@host:465`` (implicit TLS), ``smtp+plain://host:25`` (no TLS, local relays).
"""

import logging
import smtplib
import ssl
import time
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app

from crm.jobs import enqueue

log = logging.getLogger(__name__)

# The mail server answered and refused this one message (its address, say): the others may still go.
REFUSED = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


def send_mail(to: str, subject: str, text: str) -> None:
    """Queue a plain-text message; render it in the recipient's language before calling."""
    enqueue(deliver, None, to, subject, text)


def one_line(text: str) -> str:
    """The first line of a text with words in it, its whitespace folded: a mail subject taken from
    what someone wrote (a task), which a header cannot hold over several lines."""
    return next((" ".join(line.split()) for line in text.splitlines() if line.strip()), "")


def hand_over(to: str, subject: str, text: str) -> bool:
    """Delivers a message now, not through a job: True once the mail server accepted it, False when
    it refused this one message (logged). Raises when the server is out of reach or breaks off, as
    the messages after it would fail alike. A command marks a message sent only on True, so one
    the server did not take is sent by its next run."""
    try:
        deliver(to, subject, text)
    except REFUSED:
        log.exception("the mail server refused a message (%s)", subject)
        return False
    return True


def deliver(to: str, subject: str, text: str) -> None:
    message = _build(to, subject, text)
    url = current_app.config["MAIL_URL"]
    if url:
        _send_smtp(url, message)
        return
    log.info("mail to %s: %s\n%s", to, subject, text)
    if current_app.config["DEV_OUTBOX"]:
        outbox = Path(current_app.config["OUTBOX_DIR"])
        outbox.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        (outbox / name).write_bytes(bytes(message))


def _build(to: str, subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    # Python's email refuses a header with a line break; a subject naming what a customer or member
    # typed (a ticket's subject, a workspace's or a person's name) keeps its words on one line.
    message["Subject"] = " ".join(subject.split())
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="kehu.localhost")
    message.set_content(text)
    return message


def _send_smtp(url: str, message: EmailMessage) -> None:
    parts = urlsplit(url)
    context = ssl.create_default_context()
    if parts.scheme == "smtps":
        smtp = smtplib.SMTP_SSL(parts.hostname, parts.port or 465, context=context, timeout=30)
    elif parts.scheme in ("smtp", "smtp+plain"):
        smtp = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=30)
    else:
        raise ValueError(f"MAIL_URL scheme must be smtp, smtps or smtp+plain, not {parts.scheme!r}")
    with smtp:
        if parts.scheme == "smtp":
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=context)
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(message)
