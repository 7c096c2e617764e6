"""More of the portal: files attached to a complaint or a reply (images and PDF only, seen through
the ticket's own token, never a note's), privacy requests (a copy to download once approved, or
erasure), and "My requests" through a single-use emailed link that tells nobody whose address is known."""

import io
import re
import zipfile

import pytest
import sqlalchemy as sa

from crm.contacts.models import Contact
from crm.extensions import db
from crm.privacy import service as privacy
from crm.tenancy import workspace_scope
from crm.tickets import attachments
from crm.tickets import service as tickets
from crm.tickets.models import INTERNAL, PRIVACY_COPY, PRIVACY_ERASURE, Ticket, TicketAttachment, TicketMessage
from tests.conftest import post
from tests.factories import make_contact, make_ticket
from tests.test_pages import assert_valid_page
from tests.test_portal import TOKEN_URL, complaint, tickets_of
from tests.test_workspace_settings import TINY_PNG

MULTIPART = "multipart/form-data"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def files_of(app, ws) -> list[tuple[str, str, int]]:
    with app.app_context(), workspace_scope(ws.id):
        rows = db.session.scalars(sa.select(TicketAttachment).order_by(TicketAttachment.id))
        return [(a.filename, a.content_type, a.size) for a in rows]


def test_a_complaint_and_a_reply_carry_photos_and_pdfs(app, client, ws_a):
    data = complaint(app, ws_a, attachments=[(io.BytesIO(TINY_PNG), "../../crushed box.png")])
    response = post(client, f"/portal/{ws_a.slug}/new", data, content_type=MULTIPART)
    assert response.status_code == 303
    token = TOKEN_URL.search(response.headers["Location"]).group(2)
    reply = {"body": "The invoice", "attachments": [(io.BytesIO(PDF), "invoice.pdf")]}
    assert post(client, f"/portal/{ws_a.slug}/t/{token}/reply", reply, content_type=MULTIPART).status_code == 303
    assert files_of(app, ws_a) == [
        ("crushed box.png", "image/png", len(TINY_PNG)),
        ("invoice.pdf", "application/pdf", len(PDF)),
    ]
    page = client.get(f"/portal/{ws_a.slug}/t/{token}").get_data(as_text=True)
    links = re.findall(rf'href="(/portal/{ws_a.slug}/t/{token}/files/\d+)"', page)
    assert len(links) == 2
    image = client.get(links[0])
    assert image.data == TINY_PNG and image.headers["Content-Type"] == "image/png"
    assert (
        image.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in image.headers["Content-Security-Policy"]
    )
    assert client.get(links[1]).headers["Content-Disposition"].startswith("attachment;")


def test_a_file_that_is_no_image_or_pdf_is_refused_and_nothing_saved(app, client, ws_a):
    data = complaint(app, ws_a, attachments=[(io.BytesIO(b"<script>alert(1)</script>"), "photo.png")])
    response = post(client, f"/portal/{ws_a.slug}/new", data, content_type=MULTIPART)
    assert response.status_code == 422
    assert "photo.png is not an image or a PDF." in response.get_data(as_text=True)
    assert tickets_of(app, ws_a) == [] and files_of(app, ws_a) == []
    six = [(io.BytesIO(TINY_PNG), f"p{n}.png") for n in range(6)]
    response = post(client, f"/portal/{ws_a.slug}/new", complaint(app, ws_a, attachments=six), content_type=MULTIPART)
    assert response.status_code == 422 and "Attach at most 5 files." in response.get_data(as_text=True)
    assert tickets_of(app, ws_a) == []


def test_as_many_photos_as_the_form_allows_are_taken(app, client, ws_a):
    """The form offers five files of 10 MB each: two phone photos of 9 MB are one request above the
    app's usual 16 MB, and must not lose the customer's complaint to a "too large" page."""
    photo = TINY_PNG + b"\0" * (9 * 1024 * 1024 - len(TINY_PNG))
    files = [(io.BytesIO(photo), "front.png"), (io.BytesIO(photo), "back.png")]
    response = post(client, f"/portal/{ws_a.slug}/new", complaint(app, ws_a, attachments=files),
                    content_type=MULTIPART)  # fmt: skip
    assert response.status_code == 303
    token = TOKEN_URL.search(response.headers["Location"]).group(2)
    reply = {"body": "Two more", "attachments": [(io.BytesIO(photo), "side.png"), (io.BytesIO(photo), "top.png")]}
    assert post(client, f"/portal/{ws_a.slug}/t/{token}/reply", reply, content_type=MULTIPART).status_code == 303
    assert [name for name, _type, _size in files_of(app, ws_a)] == ["front.png", "back.png", "side.png", "top.png"]
    six = [(io.BytesIO(photo), f"p{n}.png") for n in range(6)]  # more than the form allows: refused as before
    response = post(client, f"/portal/{ws_a.slug}/t/{token}/reply", {"body": "More", "attachments": six},
                    content_type=MULTIPART)  # fmt: skip
    assert response.status_code == 413
    assert "Alpha Trading" in response.get_data(as_text=True)  # the portal's own error page


def test_files_are_reached_only_through_their_own_ticket_and_never_from_a_note(app, client, ws_a, ws_b):
    mine, my_token = make_ticket(app, ws_a, make_contact(app, ws_a, "Mei"))
    _other, other_token = make_ticket(app, ws_a, make_contact(app, ws_a, "Li"))
    _theirs, their_token = make_ticket(app, ws_b, make_contact(app, ws_b, "Bo"))
    with app.app_context(), workspace_scope(ws_a.id):
        ticket = db.session.get(Ticket, mine)
        first = db.session.scalar(sa.select(TicketMessage).where(TicketMessage.ticket_id == mine))
        public_file = attachments.save(first, attachments.check([_upload(TINY_PNG, "a.png")]))[0].id
        note = tickets.add_reply(ticket, "internal photo", kind=INTERNAL, author_id=ws_a.membership_id)
        note_file = attachments.save(note, attachments.check([_upload(TINY_PNG, "b.png")]))[0].id
        db.session.commit()
    assert client.get(f"/portal/{ws_a.slug}/t/{my_token}/files/{public_file}").status_code == 200
    assert client.get(f"/portal/{ws_a.slug}/t/{my_token}/files/{note_file}").status_code == 404
    assert client.get(f"/portal/{ws_a.slug}/t/{other_token}/files/{public_file}").status_code == 404
    assert client.get(f"/portal/{ws_b.slug}/t/{their_token}/files/{public_file}").status_code == 404
    assert client.get(f"/portal/{ws_a.slug}/t/{my_token}x/files/{public_file}").status_code == 404


def _upload(data: bytes, name: str):
    from werkzeug.datastructures import FileStorage

    return FileStorage(io.BytesIO(data), filename=name)


def link_in(message) -> str:
    return re.search(r"http://localhost(/portal/\S+)", message.get_body(("plain",)).get_content()).group(1)


def approve(app, ws, ticket_id: int) -> None:
    with app.app_context(), workspace_scope(ws.id):
        privacy.fulfil(db.session.get(Ticket, ticket_id), ws.membership_id)
        db.session.commit()


def test_a_copy_of_my_data_goes_only_to_the_address_and_after_approval(app, client, mailbox, ws_a):
    make_contact(app, ws_a, "Mei Wong", emails=["mei@example.com"], phones=["+8613800138000"])
    page = client.get(f"/portal/{ws_a.slug}/privacy")
    assert_valid_page(page.get_data(as_text=True), "privacy")
    data = {"name": "Someone", "email": "mei@example.com", "kind": PRIVACY_COPY, "details": "", "website": ""}
    response = post(client, f"/portal/{ws_a.slug}/privacy", data)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/portal/{ws_a.slug}/")
    assert "/t/" not in client.get(response.headers["Location"]).get_data(as_text=True)  # the link is not shown
    (ticket,) = tickets_of(app, ws_a)
    with pytest.raises(tickets.TicketError, match="has not opened the link"):  # nothing proves the address yet
        approve(app, ws_a, ticket["id"])
    [message] = mailbox.messages
    assert message["To"] == "mei@example.com" and "30 days" in message.get_body(("plain",)).get_content()
    tracking = link_in(message)
    download = f"{tracking}/my-data.zip"
    assert client.get(tracking).status_code == 200  # the address's owner opens it: verified
    assert client.get(download).status_code == 404  # not approved yet
    approve(app, ws_a, ticket["id"])
    assert "Download my data" in client.get(tracking).get_data(as_text=True)
    archive = zipfile.ZipFile(io.BytesIO(client.get(download).data))
    assert "+8613800138000" in archive.read("data.json").decode()


def test_an_erasure_request_is_answered_on_its_page(app, client, mailbox, ws_a):
    data = {"name": "Mei Wong", "email": "mei@example.com", "kind": PRIVACY_ERASURE, "details": "All", "website": ""}
    post(client, f"/portal/{ws_a.slug}/privacy", data)
    tracking = link_in(mailbox.messages[0])
    client.get(tracking)
    (ticket,) = tickets_of(app, ws_a)
    approve(app, ws_a, ticket["id"])
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Contact, ticket["contact_id"]).emails == []
    assert "Your personal data was deleted." in client.get(tracking).get_data(as_text=True)
    assert client.get(f"{tracking}/my-data.zip").status_code == 404


def test_a_complaint_with_a_known_customers_address_shows_no_link(app, client, mailbox, ws_a):
    from tests.test_portal import complaint

    make_contact(app, ws_a, "Mei Wong", emails=["mei@example.com"])
    response = post(client, f"/portal/{ws_a.slug}/new", complaint(app, ws_a, email="MEI@example.com"))
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/portal/{ws_a.slug}/")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "We have emailed you the private link" in page and "/t/" not in page
    assert mailbox.links() and mailbox.messages[0]["To"] == "mei@example.com"


def test_a_privacy_request_needs_a_choice_and_an_address(app, client, ws_a):
    data = {"name": "Mei", "email": "not-an-address", "kind": "", "details": "", "website": ""}
    response = post(client, f"/portal/{ws_a.slug}/privacy", data)
    assert response.status_code == 422
    assert "Choose what you would like." in response.get_data(as_text=True)
    assert tickets_of(app, ws_a) == []


def test_my_requests_through_a_single_use_link(app, client, mailbox, ws_a):
    make_ticket(app, ws_a, make_contact(app, ws_a, "Mei"), subject="Cold tea", requester_email="mei@example.com")
    make_ticket(app, ws_a, make_contact(app, ws_a, "Li"), subject="Other person's", requester_email="li@example.com")
    start = f"/portal/{ws_a.slug}/requests"
    assert_valid_page(client.get(start).get_data(as_text=True), start)
    unknown = post(client, start, {"email": "nobody@example.com"})
    known = post(client, start, {"email": "MEI@example.com"})
    assert unknown.status_code == known.status_code == 303  # the same answer for both
    [message] = mailbox.messages
    assert message["To"] == "mei@example.com"
    link = re.search(r"http://localhost(/portal/\S+)", message.get_body(("plain",)).get_content()).group(1)
    assert client.get(f"/portal/{ws_a.slug}/requests/mine").headers["Location"].endswith("/requests")
    scanner = client.application.test_client()  # a mail server's link checker opens it first
    assert scanner.get(link).status_code == 200 and scanner.get(link).status_code == 200
    assert scanner.get(f"/portal/{ws_a.slug}/requests/mine").headers["Location"].endswith("/requests")
    asked = client.get(link)
    assert asked.status_code == 200 and "Show my requests" in asked.get_data(as_text=True)
    assert_valid_page(asked.get_data(as_text=True), "the link's page")
    opened = post(client, link, {})
    assert opened.status_code == 303 and opened.headers["Location"].endswith("/requests/mine")
    page = client.get(f"/portal/{ws_a.slug}/requests/mine").get_data(as_text=True)
    assert "Cold tea" in page and "Other person" not in page
    assert_valid_page(page, "my requests")
    again = client.application.test_client().get(link)  # the link works once
    assert again.headers["Location"].endswith("/requests")
    again = post(client.application.test_client(), link, {})
    assert again.status_code == 303 and again.headers["Location"].endswith("/requests")


def test_a_file_named_in_chinese_downloads_with_its_name(app, client, ws_a):
    data = complaint(app, ws_a, attachments=[(io.BytesIO(PDF), '发票 "2026".pdf')])
    token = TOKEN_URL.search(post(client, f"/portal/{ws_a.slug}/new", data, content_type=MULTIPART)
                             .headers["Location"]).group(2)  # fmt: skip
    page = client.get(f"/portal/{ws_a.slug}/t/{token}").get_data(as_text=True)
    link = re.search(rf'href="(/portal/{ws_a.slug}/t/{token}/files/\d+)"', page).group(1)
    header = client.get(link).headers["Content-Disposition"]
    header.encode("latin-1")  # what a WSGI server can send
    assert "filename*=UTF-8''%E5%8F%91%E7%A5%A8" in header
    assert attachments.content_disposition("attachment", '发票 "2026".pdf') == (
        "attachment; filename=\"__ _2026_.pdf\"; filename*=UTF-8''%E5%8F%91%E7%A5%A8%20%222026%22.pdf"
    )
