"""The portal's brand colour in a real browser: the admin picks it in Settings → Service (the picker
fills the colour code through app.js), and the portal's header band and buttons take it, with the
text colour that reads on it, from the per-workspace stylesheet, under the app's strict CSP."""

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.helpers import log_in, wait_for_htmx
from tests.factories import make_workspace

pytestmark = pytest.mark.browser

YELLOW, NEAR_BLACK = "rgb(255, 221, 0)", "rgb(17, 17, 17)"
STANDARD_HEADER = "rgb(30, 58, 138)"  # app.css --primary-dark


def test_a_colour_set_in_settings_brands_the_portal(app, page: Page, browser: Browser, live_server):
    shop = make_workspace(app, "Alpha Trading", "alice@alpha.example.com")
    problems = []
    page.on("console", lambda message: problems.append(message.text) if "Security Policy" in message.text else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    log_in(page, live_server.url, shop.email, shop.password)
    page.goto(f"{live_server.url}/w/{shop.slug}/settings/service/")
    wait_for_htmx(page)
    expect(page.locator("#brand-now")).to_have_text("Now: the standard colour.")

    page.get_by_label("Colour code").fill("#777777")  # mid-grey: neither white nor black text reads on it
    page.get_by_role("button", name="Save the colour").click()
    wait_for_htmx(page)
    expect(page.locator("#brand_color-error")).to_contain_text("4.47:1")
    expect(page.get_by_label("Colour code")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Pick a colour").fill("#ffdd00")
    expect(page.get_by_label("Colour code")).to_have_value("#ffdd00")  # kept in step by app.js
    page.get_by_role("button", name="Save the colour").click()
    wait_for_htmx(page)
    expect(page.locator("#brand-now")).to_contain_text("Now: #ffdd00, with black text on it")

    visitor = browser.new_context()  # a customer: nobody signed in
    portal = visitor.new_page()
    portal.on("console", lambda message: problems.append(message.text) if "Security Policy" in message.text else None)
    try:
        portal.goto(f"{live_server.url}/portal/{shop.slug}/")
        wait_for_htmx(portal)
        header = portal.get_by_role("banner")
        expect(header).to_have_css("background-color", YELLOW)
        expect(header.get_by_role("link", name="Alpha Trading")).to_have_css("color", NEAR_BLACK)
        start = portal.get_by_role("main").get_by_role("link", name="Submit a complaint")
        expect(start).to_have_css("background-color", YELLOW)
        expect(start).to_have_css("color", NEAR_BLACK)
        start.click()
        wait_for_htmx(portal)
        send = portal.get_by_role("button", name="Send the complaint")
        expect(send).to_have_css("background-color", YELLOW)
        expect(send).to_have_css("color", NEAR_BLACK)
    finally:
        visitor.close()

    page.get_by_role("button", name="Use the standard colour").click()
    wait_for_htmx(page)
    expect(page.locator("#brand-now")).to_have_text("Now: the standard colour.")
    visitor = browser.new_context()
    portal = visitor.new_page()
    try:
        portal.goto(f"{live_server.url}/portal/{shop.slug}/")
        wait_for_htmx(portal)
        expect(portal.get_by_role("banner")).to_have_css("background-color", STANDARD_HEADER)
    finally:
        visitor.close()
    assert problems == []
