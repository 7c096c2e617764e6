"""Outgoing mail (crm/mail.py) through the test SMTP server: a subject built from what someone typed
(a ticket's subject, a name) reaches the server on one line, whatever line breaks it holds."""

import pytest

from crm.mail import deliver, one_line
from tests.conftest import post
from tests.factories import make_contact, make_ticket


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("Call Ann", "Call Ann"),
        ("  Call \t Ann  \nabout the order", "Call Ann"),
        ("\n\n  \r\nCall Ann\r\nback", "Call Ann"),
        ("Call Ann\u2028back", "Call Ann"),
        ("Call Ann\x85back\x0bsoon", "Call Ann"),
        ("", ""),
    ],
)
def test_one_line_is_the_first_line_with_words_its_whitespace_folded(text, line):
    assert one_line(text) == line


def test_a_subject_with_line_breaks_is_sent_on_one_line(app, mailbox):
    with app.app_context():
        deliver("ann@example.com", "Re: [#1001] Parcel\r\narrived\u2028crushed\x0b ", "Hello")
    [message] = mailbox.messages
    assert message["Subject"] == "Re: [#1001] Parcel arrived crushed"


def test_a_ticket_whose_subject_has_a_line_break_still_gets_its_reply_mailed(app, client, auth, mailbox, ws_a):
    contact_id = make_contact(app, ws_a, "Mei Wong")
    make_ticket(app, ws_a, contact_id, subject="Parcel arrived\ncrushed", requester_email="mei@example.com")
    auth.login(ws_a.email, ws_a.password)
    reply = post(client, f"/w/{ws_a.slug}/tickets/1001/messages", {"kind": "public", "body": "A new cup is coming."},
                 headers={"HX-Request": "true", "HX-Target": "ticket-reply"})  # fmt: skip
    assert reply.status_code == 200
    [message] = [message for message in mailbox.messages if message["To"] == "mei@example.com"]
    assert message["Subject"] == "Re: [#1001] Parcel arrived crushed"
    assert "A new cup is coming." in message.get_body(("plain",)).get_content()
