"""Every page is well-formed HTML5 with labelled fields, unique ids and landmarks; the dev
outbox shows mail in development only; money and numbers follow the locale."""

import re
from datetime import date
from decimal import Decimal

import html5lib
import pytest

from crm import create_app
from crm.mail import deliver
from tests.conftest import post
from tests.factories import (
    default_pipeline,
    lost_reason_id,
    make_company,
    make_contact,
    make_custom_field,
    make_deal,
    make_deal_item,
    make_duplicate_pair,
    make_import,
    make_invitation,
    make_member,
    make_merge,
    make_note,
    make_product,
    make_purchase,
    make_role,
    make_saved_mapping,
    make_ticket,
)

ANONYMOUS_PAGES = ["/", "/signup", "/login", "/password/forgot", "/no/such/page"]
MEMBER_PAGES = [
    "/account",
    "/account/two-factor",
    "/workspaces/new",
    "/workspaces/",
    "/w/{slug}/",
    "/w/{slug}/settings",
    "/w/{slug}/notes/{note}/edit",
    "/w/{slug}/settings/members/",
    "/w/{slug}/settings/roles/",
    "/w/{slug}/settings/roles/{role}",
    "/w/{slug}/settings/audit/",
    "/w/{slug}/settings/audit/?since=2030-01-02&until=2030-01-01",
    "/w/{slug}/contacts/",
    "/w/{slug}/contacts/?q=nobody-matches",
    "/w/{slug}/contacts/new",
    "/w/{slug}/contacts/{contact}",
    "/w/{slug}/contacts/{contact}/edit",
    "/w/{slug}/contacts/{contact}/purchases/{purchase}/edit",
    "/w/{slug}/contacts/trash",
    "/w/{slug}/contacts/views/?tag=fair",
    "/w/{slug}/tasks/",
    "/w/{slug}/settings/customer-tiers/",
    "/w/{slug}/settings/custom-fields/",
    "/w/{slug}/settings/custom-fields/{field}",
    "/w/{slug}/care/",
    "/w/{slug}/search/?q=ann",
    "/w/{slug}/companies/",
    "/w/{slug}/companies/new",
    "/w/{slug}/companies/{company}",
    "/w/{slug}/companies/{company}/edit",
    "/w/{slug}/imports/",
    "/w/{slug}/imports/{checked_import}",
    "/w/{slug}/imports/{new_import}",
    "/w/{slug}/duplicates/",
    "/w/{slug}/duplicates/merge/{contact}/{twin}",
    "/w/{slug}/deals/",
    "/w/{slug}/deals/new",
    "/w/{slug}/deals/new?contact={contact}",
    "/w/{slug}/deals/{deal}",
    "/w/{slug}/deals/{deal}/edit",
    "/w/{slug}/deals/{lost_deal}",
    "/w/{slug}/settings/pipelines/",
    "/w/{slug}/settings/pipelines/{pipeline}",
    "/w/{slug}/settings/pipelines/{pipeline}/stages/{stage}",
    "/w/{slug}/settings/pipelines/{pipeline}/stages/{won_stage}",
    "/w/{slug}/settings/pipelines/{pipeline}/stages/{stage}/delete",
    "/w/{slug}/settings/products/",
    "/w/{slug}/settings/products/{product}",
    "/w/{slug}/deals/{deal}/items/",
    "/w/{slug}/deals/list",
    "/w/{slug}/deals/pipelines/{pipeline}/list?status=all",
    "/w/{slug}/settings/lost-reasons/",
    "/w/{slug}/settings/quotes",
    "/w/{slug}/reports/sales",
    "/w/{slug}/reports/service",
    "/w/{slug}/tasks/",
    "/w/{slug}/settings/service-hours/",
    "/w/{slug}/settings/saved-replies/",
    "/w/{slug}/settings/ticket-assignment/",
    "/w/{slug}/settings/service/",
    "/w/{slug}/tickets/",
    "/w/{slug}/tickets/?status=all&q=cup",
    "/w/{slug}/tickets/1001",
    "/w/{slug}/tickets/new?contact={contact}",
]


# A date, or a date and time with at most three decimals of a second and an offset (HTML's rules).
MACHINE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?")


def assert_valid_page(html: str, url: str) -> None:
    parser = html5lib.HTMLParser(strict=True)
    try:
        parser.parse(html)
    except html5lib.html5parser.ParseError as error:
        pytest.fail(f"{url}: invalid HTML: {error}")
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), f"{url}: duplicate ids {sorted({i for i in ids if ids.count(i) > 1})}"
    labelled = set(re.findall(r'<label for="([^"]+)"', html))
    for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html):
        if re.search(r'type="(hidden|submit)"', tag):
            continue
        field_id = re.search(r'\sid="([^"]+)"', tag)
        assert field_id and field_id.group(1) in labelled, f"{url}: unlabelled field {tag}"
    unknown = re.findall(r"<[a-z][^>]*?\s(hx-[a-z:-]+)=", html)
    assert not unknown, f"{url}: htmx attributes must be written data-hx-* to be valid HTML: {sorted(set(unknown))}"
    for moment in re.findall(r'<time datetime="([^"]*)"', html):
        assert MACHINE_TIME.fullmatch(moment), f"{url}: <time datetime={moment!r}> is not an HTML date or time"
    # A table wider than a phone scrolls in its wrapper, which the keyboard must reach (WCAG 2.1.1):
    # focusable, and a region named by the table's caption (or its section's heading).
    for wrap in re.finditer(r'<div\b[^>]*\sclass="table-wrap"[^>]*>', html):
        if "field-cards" in html[wrap.end() : wrap.end() + 300]:
            continue  # cards on a phone: nothing scrolls
        tag = wrap.group(0)
        assert 'tabindex="0"' in tag and 'role="region"' in tag, f"{url}: a table scrolls out of reach: {tag}"
        label = re.search(r'\saria-labelledby="([^"]+)"', tag)
        assert label and label.group(1) in ids, f"{url}: an unnamed scrolling table: {tag}"
    for landmark in ("<header", "<main", "<footer", "<nav"):
        assert landmark in html, f"{url}: no {landmark}>"
    assert re.search(r"<h1[ >]", html), f"{url}: no h1"


def test_anonymous_pages_are_valid(client):
    for url in ANONYMOUS_PAGES:
        assert_valid_page(client.get(url).get_data(as_text=True), url)


def test_member_pages_are_valid(app, client, auth, ws_a):
    note = make_note(app, ws_a, "a note")
    make_member(app, ws_a, "colleague@alpha.example.com")
    make_invitation(app, ws_a, "invitee@example.com")
    role = make_role(app, ws_a, "Custom")
    field = make_custom_field(app, ws_a, "Segment", kind="select", options=["Retail"])
    make_custom_field(app, ws_a, "ID number", sensitive=True)
    make_custom_field(app, ws_a, "Channels", kind="multi_select", options=["Shop"])
    company = make_company(app, ws_a, "Acme Ltd", phone="+16502530000")
    contact = make_contact(app, ws_a, "Ann Lee", company_id=company, tags=["fair"], phones=["+16502530000"])
    purchase = make_purchase(app, ws_a, contact, "Tea", amount=5)
    twin = make_contact(app, ws_a, "Ann Lee", company_id=company, phones=["+16502530000"], birthday=date(1990, 5, 1))
    make_duplicate_pair(app, ws_a, contact, twin)
    make_merge(app, ws_a, twin, make_contact(app, ws_a, "Ann L.", phones=["+16502530000"]))  # a merge to undo
    checked_import = make_import(app, ws_a, "Name,Email\nAnn,not-an-email\nBo,bo@example.com\n", status="uploaded")
    new_import = make_import(app, ws_a, status="uploaded")
    make_saved_mapping(app, ws_a, "Old system")
    deal = make_deal(app, ws_a, "Tea chests", contact_id=contact, company_id=company, owner_id=ws_a.membership_id)
    lost_deal = make_deal(app, ws_a, "Cups")
    product = make_product(app, ws_a, "Green tea", sku="GT-1", tax_rate="8")
    make_deal_item(app, ws_a, deal, product, quantity="2")  # the deal page's editable lines
    sales = default_pipeline(app, ws_a)
    make_ticket(app, ws_a, contact)  # #1001, the ticket page
    auth.login(ws_a.email, ws_a.password)
    post(
        client,
        f"/w/{ws_a.slug}/deals/{lost_deal}/lost",
        {"reason_id": lost_reason_id(app, ws_a), "details": "Too dear"},
    )  # a closed deal's page
    mapping = {"column_0": "name", "column_1": "email", "mode": "create", "match_by": "email"}
    post(client, f"/w/{ws_a.slug}/imports/{checked_import}/check", mapping)  # a dry run with a problem
    post(client, f"/w/{ws_a.slug}/contacts/{contact}", {"name": "Ann Lee-Wong"})  # history on the page
    post(client, f"/w/{ws_a.slug}/settings/roles/{role}", {"name": "Custom 2", "record_scope": "own"})  # history
    for template in MEMBER_PAGES:
        url = template.format(
            slug=ws_a.slug, note=note, role=role, contact=contact, company=company, field=field, purchase=purchase,
            checked_import=checked_import, new_import=new_import, twin=twin, deal=deal, lost_deal=lost_deal,
            pipeline=sales.id, stage=sales.stages["Lead in"], won_stage=sales.stages["Won"], product=product,
        )  # fmt: skip
        response = client.get(url)
        assert response.status_code in (200, 422), url
        assert_valid_page(response.get_data(as_text=True), url)


def test_invitation_pages_are_valid(app, client, ws_a):
    invitation = make_invitation(app, ws_a, "newcomer@example.com")
    assert_valid_page(client.get(f"/join/{ws_a.slug}/{invitation.token}").get_data(as_text=True), "join")
    response = post(client, f"/join/{ws_a.slug}/{invitation.token}", {"name": "", "password": "x", "confirm": "y"})
    assert_valid_page(response.get_data(as_text=True), "join with errors")
    assert_valid_page(client.get(f"/join/{ws_a.slug}/not-a-token").get_data(as_text=True), "join invalid")


def test_invalid_forms_stay_valid_and_point_to_their_errors(client):
    response = post(client, "/signup", {"name": "", "email": "x", "password": "y", "business_name": ""})
    html = response.get_data(as_text=True)
    assert_valid_page(html, "/signup (422)")
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="email-error"' in html and 'id="email-error"' in html


@pytest.fixture
def dev_app(app, tmp_path):
    return create_app(
        {
            "KEHU_ENV": "development",
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "MAIL_URL": "",
            "DEV_OUTBOX": True,
            "OUTBOX_DIR": str(tmp_path / "outbox"),
            "CHECK_DATABASE_ROLE": False,
        }
    )


def test_dev_outbox_keeps_and_shows_mail_with_clickable_links(dev_app):
    with dev_app.app_context():
        deliver("mei@shop.example.com", "Reset <your> password", "Open https://kehu.example.com/reset/abc to go on.")
    page = dev_app.test_client().get("/dev/outbox").get_data(as_text=True)
    assert "Reset &lt;your&gt; password" in page
    assert '<a href="https://kehu.example.com/reset/abc" data-hx-boost="false">' in page
    assert "mei@shop.example.com" in page


def test_dev_outbox_does_not_exist_outside_development(client):
    assert client.get("/dev/outbox").status_code == 404


@pytest.mark.parametrize(
    ("locale", "yuan", "dollars"),
    # CLDR: English readers need "CN¥" (¥ alone is also the yen); Chinese readers do not.
    [("en", "CN¥1,234.50", "$99.00"), ("zh_Hans", "¥1,234.50", "US$99.00")],
)
def test_money_and_numbers_follow_the_locale(app, locale, yuan, dollars):
    from flask_babel import force_locale

    with app.test_request_context(), force_locale(locale):
        env = app.jinja_env
        assert env.filters["money"](Decimal("1234.5"), "CNY") == yuan
        assert env.filters["money"](Decimal("99"), "USD") == dollars
        assert env.filters["money"](None, "USD") == ""
        assert env.filters["number"](Decimal("1234567.5")) == "1,234,567.5"
