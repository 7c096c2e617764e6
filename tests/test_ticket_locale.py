"""The customer's emails in the customer's language: a complaint or privacy request filed on the
portal keeps the language it was filed in (tickets.locale), a reply from the tracking page brings
it up to date, and every email to the customer uses it, whatever language the staff member who acts
works in. A ticket staff open (a call) has no language and mails in the staff member's, as before.

The zh_Hans catalogue is compared with strings it already translates: new strings may still be
English there."""

import re

import sqlalchemy as sa

from crm.auth.models import User
from crm.extensions import db
from crm.tenancy import workspace_scope
from crm.tickets.models import PRIVACY_COPY, Ticket
from tests.conftest import post
from tests.factories import make_contact, make_ticket
from tests.test_portal import TOKEN_URL, complaint

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}
REPLY = {"HX-Request": "true", "HX-Target": "ticket-reply"}
FIELDS = {"HX-Request": "true", "HX-Target": "ticket-fields"}


def set_user_locale(app, user_id: int, locale: str | None) -> None:
    with app.app_context():
        db.session.get(User, user_id).locale = locale
        db.session.commit()


def locale_of(app, ws, number: int = 1001) -> str | None:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.scalar(sa.select(Ticket.locale).where(Ticket.number == number))


def body(mail) -> str:
    return mail.get_body(("plain",)).get_content()


def staff_replies(client, ws, text: str, number: int = 1001):
    response = post(client, f"/w/{ws.slug}/tickets/{number}/messages", {"kind": "public", "body": text}, headers=REPLY)
    assert response.status_code == 200
    return response


def test_a_complaint_filed_in_chinese_gets_the_staff_reply_in_chinese(app, client, auth, ws_a, mailbox):
    customer = app.test_client()
    filed = post(customer, f"/portal/{ws_a.slug}/new", complaint(app, ws_a), headers=CHINESE)
    assert filed.status_code == 303
    assert locale_of(app, ws_a) == "zh_Hans"
    [received] = mailbox.messages
    assert received["Subject"] == "我们已收到您的投诉 #1001"

    set_user_locale(app, ws_a.user_id, "en")  # the staff member works in English
    auth.login(ws_a.email, ws_a.password)
    page = staff_replies(client, ws_a, "A new cup is on its way.").get_data(as_text=True)
    assert "Manage saved replies" in page  # the staff member's own page stays in English
    reply = mailbox.messages[-1]
    assert reply["To"] == "mei@example.com"
    assert reply["Subject"] == "Re: [#1001] Parcel arrived crushed"  # the same words in both catalogues
    text = body(reply)
    assert "Mei Wong，你好：" in text and "已回复您的请求 #1001" in text
    assert "Hello" not in text and "answered your request" not in text
    assert "A new cup is on its way." in text

    assert post(client, f"/w/{ws_a.slug}/tickets/1001", {"status": "resolved"}, headers=FIELDS).status_code == 200
    resolved = mailbox.messages[-1]
    assert resolved["To"] == "mei@example.com"
    assert resolved["Subject"] == "[#1001] Parcel arrived crushed：已解决"


def test_the_same_staff_reply_goes_in_english_to_a_customer_who_filed_in_english(app, client, auth, ws_a, mailbox):
    customer = app.test_client()
    assert post(customer, f"/portal/{ws_a.slug}/new", complaint(app, ws_a), headers=ENGLISH).status_code == 303
    assert locale_of(app, ws_a) == "en"
    set_user_locale(app, ws_a.user_id, "zh_Hans")  # now the staff member works in Chinese
    auth.login(ws_a.email, ws_a.password)
    staff_replies(client, ws_a, "A new cup is on its way.")
    text = body(mailbox.messages[-1])
    assert "Hello Mei Wong," in text and "answered your request #1001" in text and "你好" not in text


def test_the_language_chosen_on_the_portal_counts_over_the_browser(app, client, auth, ws_a, mailbox):
    customer = app.test_client()
    post(customer, "/language", {"locale": "zh_Hans", "next": f"/portal/{ws_a.slug}/new"}, headers=ENGLISH)
    assert post(customer, f"/portal/{ws_a.slug}/new", complaint(app, ws_a), headers=ENGLISH).status_code == 303
    assert locale_of(app, ws_a) == "zh_Hans"
    assert mailbox.messages[-1]["Subject"] == "我们已收到您的投诉 #1001"


def test_a_reply_from_the_tracking_page_brings_the_language_up_to_date(app, client, auth, ws_a, mailbox):
    customer = app.test_client()
    filed = post(customer, f"/portal/{ws_a.slug}/new", complaint(app, ws_a), headers=ENGLISH)
    slug, token = TOKEN_URL.search(filed.headers["Location"]).groups()
    assert locale_of(app, ws_a) == "en"
    replied = post(customer, f"/portal/{slug}/t/{token}/reply", {"body": "我有照片。"}, headers=CHINESE)
    assert replied.status_code == 303
    assert locale_of(app, ws_a) == "zh_Hans"

    refused = post(customer, f"/portal/{slug}/t/{token}/reply", {"body": "  "}, headers=ENGLISH)
    assert refused.status_code == 422
    assert locale_of(app, ws_a) == "zh_Hans"  # a refused reply changes nothing

    set_user_locale(app, ws_a.user_id, "en")
    auth.login(ws_a.email, ws_a.password)
    assert post(client, f"/w/{ws_a.slug}/tickets/1001", {"status": "resolved"}, headers=FIELDS).status_code == 200
    assert mailbox.messages[-1]["Subject"] == "[#1001] Parcel arrived crushed：已解决"


def test_a_ticket_staff_open_has_no_language_and_mails_in_the_staff_language(app, client, auth, ws_a, mailbox):
    ann = make_contact(app, ws_a, "Ann Lee", emails=["ann@example.com"])
    make_ticket(app, ws_a, ann, subject="Called about a cup", channel="phone", requester_email="ann@example.com",
                author_id=ws_a.membership_id)  # fmt: skip
    assert locale_of(app, ws_a) is None
    set_user_locale(app, ws_a.user_id, "zh_Hans")
    auth.login(ws_a.email, ws_a.password)
    staff_replies(client, ws_a, "We are on it.")
    assert "Ann Lee，你好：" in body(mailbox.messages[-1])
    set_user_locale(app, ws_a.user_id, "en")
    staff_replies(client, ws_a, "Still on it.")
    assert "Hello Ann Lee," in body(mailbox.messages[-1])


def test_a_privacy_request_in_chinese_is_answered_in_chinese(app, client, auth, ws_a, mailbox):
    customer = app.test_client()
    data = {"name": "Wang Fang", "email": "fang@example.com", "kind": PRIVACY_COPY, "details": "", "website": ""}
    assert post(customer, f"/portal/{ws_a.slug}/privacy", data, headers=CHINESE).status_code == 303
    assert locale_of(app, ws_a) == "zh_Hans"
    [received] = mailbox.messages
    assert received["Subject"] == "我们已收到您的隐私请求 #1001"
    link = re.search(r"https?://\S+/t/\S+", body(received)).group(0)
    assert customer.get(link.replace("http://localhost", ""), headers=CHINESE).status_code == 200  # verified

    set_user_locale(app, ws_a.user_id, "en")
    auth.login(ws_a.email, ws_a.password)
    assert post(client, f"/w/{ws_a.slug}/tickets/1001/privacy", {}).status_code == 303
    done = mailbox.messages[-1]
    assert done["To"] == "fang@example.com"
    assert done["Subject"] == "[#1001] 我的数据副本：已完成"
