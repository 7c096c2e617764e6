"""The portal's brand colour: the WCAG colour maths (crm/portal/branding.py), Settings → Service
saving it (#rrggbb in lower case, audited, settings.manage only; a malformed or unreadable colour
refused with 422 and nothing saved; back to the standard colour), and the per-workspace stylesheet
the portal links (the CSP allows no inline style), each workspace's with its own colour only."""

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.portal import branding
from crm.workspaces.models import Workspace
from tests.conftest import post
from tests.factories import make_contact, make_member, make_ticket
from tests.test_pages import assert_valid_page
from tests.test_permissions import sign_in_as
from tests.test_service_settings import audited

# --- the colour maths ------------------------------------------------------------------------------


def test_luminance_and_contrast_follow_wcag():
    assert branding.relative_luminance("#000000") == 0
    assert branding.relative_luminance("#ffffff") == pytest.approx(1)
    assert branding.contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert branding.contrast_ratio("#ffffff", "#000000") == pytest.approx(21)  # the order does not matter
    assert branding.contrast_ratio("#1a5fb4", "#1a5fb4") == pytest.approx(1)
    # Figures checked against WebAIM's contrast checker.
    assert branding.contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert branding.contrast_ratio("#1a5fb4", "#ffffff") == pytest.approx(6.29, abs=0.01)
    assert branding.relative_luminance("#ff0000") == pytest.approx(0.2126)


def test_the_text_colour_is_the_one_with_more_contrast():
    assert branding.text_color("#1a5fb4").color == branding.WHITE  # dark blue: white text
    assert branding.text_color("#ffdd00").color == branding.NEAR_BLACK  # yellow: dark text
    assert branding.text_color("#808080").color == branding.NEAR_BLACK
    assert branding.text_color("#ffdd00").ratio == pytest.approx(14.02, abs=0.01)
    assert branding.readable("#1a5fb4") and branding.readable("#ffdd00") and branding.readable("#e66100")
    # Mid-grey: white reaches 4.48:1 and near-black 4.22:1, both under 4.5.
    assert not branding.readable("#777777") and not branding.readable("#787878")


def test_colours_are_normalised_or_refused():
    assert branding.normalize("  #1A5FB4 ") == "#1a5fb4"
    for bad in (None, "", "1a5fb4", "#1a5fb", "#1a5fb44", "#ggg000", "blue", "#1a5fb4;x", "#1a5fb4\n}"):
        assert branding.normalize(bad) is None, bad


def test_ratios_are_shown_rounded_down():
    assert branding.floor_ratio(4.4999) == "4.49"
    assert branding.floor_ratio(21.0) == "21.00"


def test_the_stylesheet_gives_links_the_colour_only_when_it_reads_on_white():
    assert branding.stylesheet("#1a5fb4") == ":root{--brand:#1a5fb4;--brand-text:#ffffff;--brand-link:#1a5fb4}\n"
    assert branding.stylesheet("#ffdd00") == ":root{--brand:#ffdd00;--brand-text:#111111}\n"


# --- Settings → Service ----------------------------------------------------------------------------


def url(ws, rest: str = "") -> str:
    return f"/w/{ws.slug}/settings/service/{rest}"


def color_of(app, ws) -> str | None:
    with app.app_context():
        return db.session.get(Workspace, ws.id).brand_color


def set_color(client, ws, color: str, picker: str | None = None, **extra):
    data = {"brand_color": color, "brand_picker": picker or branding.DEFAULT_COLOR, **extra}
    return post(client, url(ws, "brand-color"), data)


def test_the_settings_page_offers_a_labelled_colour_picker_and_code(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    html = client.get(url(ws_a)).get_data(as_text=True)
    assert '<label for="brand_picker">' in html and '<label for="brand_color">' in html
    picker = '<input data-color-text="#brand_color" id="brand_picker" name="brand_picker" type="color" value="#1e3a8a">'
    assert picker in html
    assert "Now: the standard colour." in html
    assert "Use the standard colour" not in html  # nothing to reset
    assert_valid_page(html, url(ws_a))


def test_a_colour_is_saved_in_lower_case_audited_and_shown(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    response = set_color(client, ws_a, "  #1A5FB4 ")
    assert response.status_code == 303
    assert color_of(app, ws_a) == "#1a5fb4"
    assert audited(app, ws_a, "workspace.updated") == [{"brand_color": [None, "#1a5fb4"]}]
    html = client.get(url(ws_a)).get_data(as_text=True)
    assert "Now: #1a5fb4, with white text on it (contrast 6.28:1)." in html
    assert 'value="#1a5fb4"' in html and "Use the standard colour" in html
    assert_valid_page(html, url(ws_a))

    assert set_color(client, ws_a, "#1a5fb4", picker="#1a5fb4").status_code == 303  # unchanged: no entry
    assert len(audited(app, ws_a, "workspace.updated")) == 1
    assert set_color(client, ws_a, "#FFDD00").status_code == 303
    assert "with black text on it (contrast 14.02:1)" in client.get(url(ws_a)).get_data(as_text=True)
    assert audited(app, ws_a, "workspace.updated")[-1] == {"brand_color": ["#1a5fb4", "#ffdd00"]}


def test_the_picker_counts_when_only_it_was_changed(app, client, auth, ws_a):
    """Without JavaScript the picker and the code are not kept in step: the changed one wins."""
    auth.login(ws_a.email, ws_a.password)
    assert set_color(client, ws_a, "", picker="#2EC27E").status_code == 303
    assert color_of(app, ws_a) == "#2ec27e"
    assert set_color(client, ws_a, "#2ec27e", picker="#1a5fb4").status_code == 303
    assert color_of(app, ws_a) == "#1a5fb4"
    assert set_color(client, ws_a, "#e66100", picker="#1a5fb4").status_code == 303  # the code changed: it wins
    assert color_of(app, ws_a) == "#e66100"


def test_bad_colours_are_refused_with_422_and_nothing_saved(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    set_color(client, ws_a, "#1a5fb4")
    for bad in ("blue", "#12345", "#1234567", "#ggg000", "1a5fb4", "#1a5fb4;}", "x" * 21):
        response = set_color(client, ws_a, bad)
        assert response.status_code == 422, bad
        html = response.get_data(as_text=True)
        assert 'id="brand_color-error"' in html and 'aria-invalid="true"' in html, bad
        if len(bad) <= 20:
            assert "Enter the colour as # and six hexadecimal digits, such as #1a5fb4." in html, bad
        assert_valid_page(html, bad)
        assert color_of(app, ws_a) == "#1a5fb4", bad
    assert len(audited(app, ws_a, "workspace.updated")) == 1


def test_a_colour_neither_text_colour_reads_on_is_refused_with_the_ratios(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    response = set_color(client, ws_a, "#777777")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert (
        '<p class="error" id="brand_color-error">Text on #777777 would be hard to read: white text reaches a contrast '
        "of 4.47:1 and black text 4.21:1, and at least 4.5:1 is needed (WCAG AA)." in html
    )
    assert 'value="#777777"' in html  # the refused value is shown back to be corrected
    assert color_of(app, ws_a) is None
    assert audited(app, ws_a, "workspace.updated") == []
    # The same through the picker alone.
    assert set_color(client, ws_a, "", picker="#777777").status_code == 422
    assert color_of(app, ws_a) is None


def test_the_standard_colour_comes_back(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    set_color(client, ws_a, "#1a5fb4")
    response = set_color(client, ws_a, "#1a5fb4", picker="#1a5fb4", reset="1")
    assert response.status_code == 303
    assert color_of(app, ws_a) is None
    assert audited(app, ws_a, "workspace.updated")[-1] == {"brand_color": ["#1a5fb4", None]}
    set_color(client, ws_a, "#1a5fb4")
    assert set_color(client, ws_a, "", picker="#1a5fb4").status_code == 303  # the code emptied
    assert color_of(app, ws_a) is None


def test_a_member_without_settings_manage_gets_403(app, client, ws_a):
    support = make_member(app, ws_a, "sam@alpha.example.com", role="support")
    sign_in_as(client, support.user_id)
    assert client.get(url(ws_a)).status_code == 403
    assert set_color(client, ws_a, "#1a5fb4").status_code == 403
    assert set_color(client, ws_a, "", reset="1").status_code == 403
    assert color_of(app, ws_a) is None


def test_a_member_of_another_workspace_gets_404_and_changes_nothing(app, client, auth, ws_a, ws_b):
    auth.login(ws_b.email, ws_b.password)
    assert set_color(client, ws_a, "#1a5fb4").status_code == 404
    assert set_color(client, ws_b, "#e66100").status_code == 303
    assert (color_of(app, ws_a), color_of(app, ws_b)) == (None, "#e66100")


# --- the portal ------------------------------------------------------------------------------------


def save_color(app, ws, color: str | None) -> None:
    with app.app_context():
        db.session.get(Workspace, ws.id).brand_color = color
        db.session.commit()


def test_the_stylesheet_is_css_with_a_cache_version_and_an_etag(app, client, ws_a):
    save_color(app, ws_a, "#1a5fb4")
    response = client.get(f"/portal/{ws_a.slug}/brand.css", query_string={"v": "1a5fb4"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/css; charset=utf-8"
    assert response.get_data(as_text=True) == ":root{--brand:#1a5fb4;--brand-text:#ffffff;--brand-link:#1a5fb4}\n"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    cache = response.headers["Cache-Control"]
    assert "public" in cache and "max-age=31536000" in cache and "immutable" in cache and "no-store" not in cache
    etag = response.headers["ETag"]
    again = client.get(f"/portal/{ws_a.slug}/brand.css", query_string={"v": "1a5fb4"}, headers={"If-None-Match": etag})
    assert again.status_code == 304

    # An address of another version (or none) is revalidated, never kept for good.
    stale = client.get(f"/portal/{ws_a.slug}/brand.css", query_string={"v": "ffdd00"})
    assert stale.status_code == 200 and "no-cache" in stale.headers["Cache-Control"]
    assert "max-age" not in stale.headers["Cache-Control"]
    assert "--brand:#1a5fb4" in stale.get_data(as_text=True)


def test_a_workspace_without_a_colour_has_no_stylesheet(client, ws_a):
    assert client.get(f"/portal/{ws_a.slug}/brand.css").status_code == 404
    assert client.get("/portal/no-such-shop/brand.css").status_code == 404


def test_each_workspace_stylesheet_has_its_own_colour_only(app, client, ws_a, ws_b):
    save_color(app, ws_a, "#1a5fb4")
    assert client.get(f"/portal/{ws_b.slug}/brand.css").status_code == 404
    save_color(app, ws_b, "#ffdd00")
    a = client.get(f"/portal/{ws_a.slug}/brand.css").get_data(as_text=True)
    b = client.get(f"/portal/{ws_b.slug}/brand.css").get_data(as_text=True)
    assert "#1a5fb4" in a and "#ffdd00" not in a
    assert "#ffdd00" in b and "#1a5fb4" not in b
    assert 'brand.css?v=ffdd00"' in client.get(f"/portal/{ws_b.slug}/").get_data(as_text=True)
    assert 'brand.css?v=1a5fb4"' in client.get(f"/portal/{ws_a.slug}/").get_data(as_text=True)


def test_portal_pages_link_the_stylesheet_only_when_a_colour_is_set(app, client, ws_a):
    contact = make_contact(app, ws_a, "Mei Wong", emails=["mei@example.com"])
    _, token = make_ticket(app, ws_a, contact, requester_email="mei@example.com")
    pages = ("", "new", "privacy", "requests", f"t/{token}")
    link = f'<link rel="stylesheet" href="/portal/{ws_a.slug}/brand.css?v=1a5fb4">'
    for page in pages:
        assert "brand.css" not in client.get(f"/portal/{ws_a.slug}/{page}").get_data(as_text=True), page
    save_color(app, ws_a, "#1a5fb4")
    for page in pages:
        response = client.get(f"/portal/{ws_a.slug}/{page}")
        html = response.get_data(as_text=True)
        assert response.status_code == 200, page
        assert link in html, page
        assert html.index("static/app.css") < html.index(link), page
        assert " style=" not in html and "<style" not in html, page  # the CSP allows no inline style
        assert "default-src 'self'" in response.headers["Content-Security-Policy"], page
        assert_valid_page(html, page)
    not_found = client.get(f"/portal/{ws_a.slug}/t/no-such-token")
    assert not_found.status_code == 404 and link in not_found.get_data(as_text=True)  # the portal's error page


def test_a_stored_colour_that_is_not_one_serves_nothing(app, client, ws_a):
    """Saved colours are checked on the way in; the stylesheet checks again on the way out."""
    save_color(app, ws_a, "red;}x")
    assert client.get(f"/portal/{ws_a.slug}/brand.css").status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(Workspace.brand_color).where(Workspace.id == ws_a.id)) == "red;}x"
