"""The date inputs of a purchase, a company's "customer since" and a birthday say the days their
rule takes (min 1900-01-01, max today where the workspace is), so the browser's picker offers no
other; the server still refuses the rest (tests/test_companies.py, test_timeline.py, test_contacts.py)."""

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from crm.extensions import db
from crm.workspaces.models import Workspace
from tests.conftest import post
from tests.factories import make_company, make_company_purchase, make_contact, make_purchase


def zone_off_utcs_day() -> str:
    """A zone whose date is not UTC's at this moment: at +14 from 10:00 UTC, at -11 before 11:00."""
    utc_today = datetime.now(UTC).date()
    return next(z for z in ("Pacific/Kiritimati", "Pacific/Pago_Pago") if datetime.now(ZoneInfo(z)).date() != utc_today)


def set_timezone(app, ws, zone: str) -> None:
    with app.app_context():
        db.session.get(Workspace, ws.id).timezone = zone
        db.session.commit()


def input_named(html: str, name: str) -> dict[str, str]:
    """The attributes of the one input named ``name`` (or ``<prefix>-name``: an edited purchase's)."""
    tags = re.findall(rf'<input [^>]*name="(?:[\w-]+-)?{name}"[^>]*>', html)
    assert len(tags) == 1, (name, tags)
    return dict(re.findall(r'([\w-]+)="([^"]*)"', tags[0]))


def assert_limited(html: str, name: str, today: str, where: str = "") -> None:
    attributes = input_named(html, name)
    assert (attributes["type"], attributes.get("min"), attributes.get("max")) == ("date", "1900-01-01", today), where


def test_every_limited_date_input_offers_1900_to_the_workspaces_today(app, client, auth, ws_a):
    zone = zone_off_utcs_day()
    set_timezone(app, ws_a, zone)
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    purchase = make_purchase(app, ws_a, ann, "Green tea")
    company_purchase = make_company_purchase(app, ws_a, acme, "Office tea")
    auth.login(ws_a.email, ws_a.password)
    today = datetime.now(ZoneInfo(zone)).date().isoformat()
    contact, company = f"/w/{ws_a.slug}/contacts/{ann}", f"/w/{ws_a.slug}/companies/{acme}"
    pages = [
        (f"/w/{ws_a.slug}/contacts/new", {}, "birthday"),
        (f"{contact}/edit", {}, "birthday"),
        (f"{contact}/edit", {"HX-Request": "true", "HX-Target": "contact-details"}, "birthday"),
        (contact, {}, "purchased_on"),  # the composer
        (f"{contact}/purchases/{purchase}/edit", {}, "purchased_on"),
        (f"{contact}/purchases/{purchase}/edit", {"HX-Request": "true", "HX-Target": f"entry-purchase-{purchase}"},
         "purchased_on"),
        (f"/w/{ws_a.slug}/companies/new", {}, "customer_since"),
        (f"{company}/edit", {}, "customer_since"),
        (f"{company}/edit", {"HX-Request": "true", "HX-Target": "company-details"}, "customer_since"),
        (company, {}, "purchased_on"),  # the composer
        (f"{company}/purchases/{company_purchase}/edit", {}, "purchased_on"),
    ]  # fmt: skip
    for url, headers, name in pages:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, url
        assert_limited(response.get_data(as_text=True), name, today, where=url)
    assert today != datetime.now(UTC).date().isoformat()  # the workspace's day, not the server's


def test_a_refused_date_is_shown_again_with_the_same_limits(app, client, auth, ws_a):
    """After a 422 the form comes back with the message and still only offers the days it takes."""
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee")
    auth.login(ws_a.email, ws_a.password)
    today = datetime.now(UTC).date().isoformat()
    purchase = {"purchased_on": "0001-01-01", "product": "Tea", "quantity": "1", "unit_price": "5"}
    composer = {"HX-Request": "true", "HX-Target": "purchase-composer"}
    refused = post(client, f"/w/{ws_a.slug}/contacts/{ann}/purchases/", purchase, headers=composer)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Enter a purchase date from 1900 on." in html
    assert_limited(html, "purchased_on", today)
    assert input_named(html, "purchased_on")["value"] == "0001-01-01"  # what was typed, to correct
    details = {"HX-Request": "true", "HX-Target": "company-details"}
    refused = post(client, f"/w/{ws_a.slug}/companies/{acme}", {"name": "Acme", "customer_since": "2999-01-01"},
                   headers=details)  # fmt: skip
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "A “customer since” date cannot be in the future." in html
    assert_limited(html, "customer_since", today)
    plain = post(client, f"/w/{ws_a.slug}/contacts/{ann}/purchases/", purchase)  # no JavaScript: a page of its own
    assert plain.status_code == 422
    assert_limited(plain.get_data(as_text=True), "purchased_on", today)


def test_dates_that_may_lie_ahead_have_no_such_limits(app, client, auth, ws_a):
    """A deal's expected close date is a day to come: its input is not capped at today."""
    auth.login(ws_a.email, ws_a.password)
    html = client.get(f"/w/{ws_a.slug}/deals/new").get_data(as_text=True)
    attributes = input_named(html, "expected_close_on")
    assert attributes["type"] == "date" and "max" not in attributes and "min" not in attributes
