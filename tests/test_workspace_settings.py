"""Workspace settings: general settings with their audit trail, old slugs that redirect, the logo
(type sniffed from its bytes, size-limited, served to members only) and deleting a workspace
(Owner only, by name, with every scoped row going and other workspaces untouched)."""

import io
import re
import struct
import zlib
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.auth.models import User
from crm.db import utcnow
from crm.extensions import db
from crm.tenancy import scoped_tables, workspace_scope
from crm.workspaces.models import DeletedWorkspace, Workspace, WorkspaceSlug
from crm.workspaces.service import LOGO_MAX_BYTES, sniff_image_type
from tests.conftest import post
from tests.factories import (
    make_contact,
    make_invitation,
    make_member,
    make_note,
    make_purchase,
    make_role,
    make_workspace,
)
from tests.test_pages import assert_valid_page

SETTINGS = {
    "name": "Alpha Trading Co",
    "slug": "alpha-co",
    "timezone": "Asia/Shanghai",
    "currency": "CNY",
    "phone_region": "CN",
    "require_two_factor": "y",
}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


# --- helpers -------------------------------------------------------------------------------------


def png_bytes(width: int = 1, height: int = 1) -> bytes:
    """A real PNG (8-bit greyscale), built from its chunks."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\x80" * width for _ in range(height)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


TINY_PNG = png_bytes()


def set_logo(app, ws, data: bytes = TINY_PNG, content_type: str = "image/png") -> None:
    """Gives a workspace a logo straight in the database (the upload is tested on its own)."""
    with app.app_context(), workspace_scope(ws.id):
        workspace = db.session.get(Workspace, ws.id)
        workspace.logo, workspace.logo_type = data, content_type
        db.session.commit()


def saved(app, ws) -> SimpleNamespace:
    with app.app_context():
        workspace = db.session.get(Workspace, ws.id)
        if workspace is None:
            return None
        fields = ("name", "slug", "timezone", "currency", "phone_region", "require_two_factor", "logo", "logo_type")
        return SimpleNamespace(**{name: getattr(workspace, name) for name in fields})


def old_slugs(app, ws) -> list[str]:
    with app.app_context(), workspace_scope(ws.id):
        return sorted(db.session.scalars(sa.select(WorkspaceSlug.slug)))


def audit_entries(app, ws, action: str) -> list[AuditEntry]:
    with app.app_context(), workspace_scope(ws.id):
        return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)))


def row_counts(app, ws) -> dict[str, int]:
    """Rows of every scoped table in ``ws``, read as the app role with ``ws`` bound (RLS on)."""
    with app.app_context(), workspace_scope(ws.id):
        return {
            table: db.session.execute(
                sa.text(f"SELECT count(*) FROM {table} WHERE workspace_id = :ws"),
                {"ws": ws.id},
            ).scalar_one()
            for table in sorted(scoped_tables())
        }


def sign_in(client, user_id: int) -> None:
    """A session cookie as Flask-Login writes it (the login form is rate-limited and tested elsewhere),
    for a user with two-factor authentication on, so that turning the workspace requirement on does
    not send them away (that is tested in test_two_factor_required.py)."""
    with client.application.app_context():
        db.session.get(User, user_id).totp_enabled_at = utcnow()
        db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = f"{user_id}:1"
        session["_fresh"] = True


def upload(client, ws, data: bytes, filename: str = "logo.png", content_type: str = "image/png"):
    return post(
        client,
        f"/w/{ws.slug}/settings/logo",
        {"logo": (io.BytesIO(data), filename, content_type)},
        content_type="multipart/form-data",
    )


def populate(app, ws, tag: str) -> None:
    """Rows in every kind of scoped table: members, a custom role, an invitation, notes, audit
    entries, an old slug and a logo."""
    member = make_member(app, ws, f"{tag}-sales@example.com", role="sales")
    make_member(app, ws, f"{tag}-admin@example.com", role="admin")
    make_role(app, ws, f"{tag} role")
    make_invitation(app, ws, f"{tag}-invitee@example.com")
    make_note(app, ws, f"{tag} note")
    make_note(app, ws, f"{tag} sales note", author_id=member.membership_id)
    set_logo(app, ws)
    with app.app_context(), workspace_scope(ws.id):
        db.session.add(WorkspaceSlug(slug=f"{tag}-old-address"))
        db.session.commit()


# --- general settings ----------------------------------------------------------------------------


def test_owner_saves_every_setting_and_each_change_is_audited(app, client, ws_a):
    sign_in(client, ws_a.user_id)
    page = client.get(f"/w/{ws_a.slug}/settings").get_data(as_text=True)
    assert '<label for="currency">Default currency</label>' in page
    assert '<option value="CNY">Chinese Yuan (CNY)</option>' in page
    assert '<option selected value="USD">US Dollar (USD)</option>' in page
    assert '<label for="phone_region">Default phone region</label>' in page
    assert '<option value="HK">Hong Kong SAR China</option>' in page
    assert '<option selected value="US">United States</option>' in page
    assert '<label for="require_two_factor">Require two-factor authentication for every member</label>' in page
    assert 'name="require_two_factor" type="checkbox"' in page
    assert "disabled" not in page.split('id="require_two_factor"')[0].rsplit("<input", 1)[1]

    response = post(client, f"/w/{ws_a.slug}/settings", SETTINGS)
    assert response.status_code == 303
    assert response.headers["Location"] == "/w/alpha-co/settings"
    after = saved(app, ws_a)
    assert (after.name, after.slug, after.timezone, after.currency, after.phone_region, after.require_two_factor) == (
        "Alpha Trading Co",
        "alpha-co",
        "Asia/Shanghai",
        "CNY",
        "CN",
        True,
    )
    [entry] = audit_entries(app, ws_a, "workspace.updated")
    assert entry.changes == {
        "name": ["Alpha Trading", "Alpha Trading Co"],
        "slug": ["alpha-trading", "alpha-co"],
        "timezone": ["UTC", "Asia/Shanghai"],
        "currency": ["USD", "CNY"],
        "phone_region": ["US", "CN"],
        "require_two_factor": [False, True],
    }
    assert entry.actor_id == ws_a.user_id and entry.record_id == ws_a.id

    # Saving again unchanged records nothing; unticking the box turns the requirement off.
    post(client, "/w/alpha-co/settings", SETTINGS)
    assert len(audit_entries(app, ws_a, "workspace.updated")) == 1
    post(client, "/w/alpha-co/settings", {k: v for k, v in SETTINGS.items() if k != "require_two_factor"})
    assert saved(app, ws_a).require_two_factor is False
    assert audit_entries(app, ws_a, "workspace.updated")[-1].changes == {"require_two_factor": [True, False]}


def test_currency_and_region_names_follow_the_reader_language(app, client, ws_a):
    sign_in(client, ws_a.user_id)
    page = client.get(f"/w/{ws_a.slug}/settings", headers=ZH).get_data(as_text=True)
    assert '<option value="CNY">人民币 (CNY)</option>' in page
    assert '<option value="TW">台湾</option>' in page
    # Sorted by the name the reader sees, not by code.
    english = client.get(f"/w/{ws_a.slug}/settings").get_data(as_text=True)
    regions = re.findall(r'<option (?:selected )?value="([A-Z]{2})">', english.split('id="phone_region"')[1])
    assert regions.index("CN") < regions.index("DE") < regions.index("US")  # China, Germany, United States
    assert "EU" not in regions and "ZZ" not in regions and "UN" not in regions


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"currency": "XXX"}, "currency", "Choose a currency from the list."),
        ({"currency": ""}, "currency", "Choose a currency from the list."),
        ({"phone_region": "ZZ"}, "phone_region", "Choose a region from the list."),
        ({"phone_region": "EU"}, "phone_region", "Choose a region from the list."),
        ({"phone_region": "cn"}, "phone_region", "Choose a region from the list."),
        ({"name": "   "}, "name", "Name your business."),
        ({"timezone": "Mars/Olympus"}, "timezone", "Not a valid choice"),
        ({"slug": "Has Spaces"}, "slug", "Use 1 to 50 lower-case letters"),
        ({"slug": "beta-foods"}, "slug", "Another workspace already uses this address."),
        ({"slug": "beta-old"}, "slug", "Another workspace already uses this address."),
    ],
)
def test_bad_settings_answer_422_with_the_message_and_save_nothing(app, client, ws_a, ws_b, change, field, message):
    # Beta used "beta-old" before: Alpha may not take it, or Beta's old links would break.
    with app.app_context(), workspace_scope(ws_b.id):
        db.session.add(WorkspaceSlug(slug="beta-old"))
        db.session.commit()
    before = saved(app, ws_a)
    sign_in(client, ws_a.user_id)
    response = post(client, f"/w/{ws_a.slug}/settings", {**SETTINGS, **change})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(rf'<p class="error" id="{field}-error">[^<]*{re.escape(message)}', html), html
    assert f'aria-describedby="{field}-hint {field}-error"' in html or f'aria-describedby="{field}-error"' in html
    assert_valid_page(html, f"settings 422 {change}")
    assert saved(app, ws_a) == before
    assert old_slugs(app, ws_a) == []
    assert audit_entries(app, ws_a, "workspace.updated") == []


def test_a_new_currency_with_purchases_recorded_asks_first_as_their_figures_are_not_converted(app, client, ws_a):
    sign_in(client, ws_a.user_id)
    url = f"/w/{ws_a.slug}/settings"
    page = client.get(url).get_data(as_text=True)
    assert 'name="currency_confirmed"' not in page and "Tiers, levels and totals add up purchases in it." in page
    make_purchase(app, ws_a, make_contact(app, ws_a, "Ann Lee"), amount=100)
    refused = post(client, url, {**SETTINGS, "slug": ws_a.slug})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Purchases are recorded with their worth in USD" in html
    assert "count those figures as CNY" in html and 'name="currency_confirmed"' in html
    assert_valid_page(html, "settings: the currency to confirm")
    assert saved(app, ws_a).currency == "USD" and saved(app, ws_a).name == "Alpha Trading"  # nothing half-saved
    assert post(client, url, {**SETTINGS, "slug": ws_a.slug, "currency_confirmed": "y"}).status_code == 303
    assert saved(app, ws_a).currency == "CNY"
    # Other settings save without a word while the currency stays.
    assert post(client, url, {**SETTINGS, "slug": ws_a.slug, "name": "Alpha Again"}).status_code == 303


def test_boosted_settings_post_redirects_and_its_422_is_a_full_page(app, client, ws_a):
    sign_in(client, ws_a.user_id)
    boosted = {"HX-Request": "true", "HX-Boosted": "true", "HX-Target": "main"}
    bad = post(client, f"/w/{ws_a.slug}/settings", {**SETTINGS, "currency": "XXX"}, headers=boosted)
    assert bad.status_code == 422
    assert "<html" in bad.get_data(as_text=True)
    good = post(client, f"/w/{ws_a.slug}/settings", SETTINGS, headers=boosted)
    assert good.status_code == 303


# --- old slugs -----------------------------------------------------------------------------------


def test_old_slug_redirects_members_and_stays_404_for_others(app, client, ws_a, ws_b):
    sign_in(client, ws_a.user_id)
    post(client, f"/w/{ws_a.slug}/settings", SETTINGS)
    assert old_slugs(app, ws_a) == ["alpha-trading"]

    response = client.get("/w/alpha-trading/settings/audit/?action=workspace.updated&actor=")
    assert response.status_code == 301
    assert response.headers["Location"] == "/w/alpha-co/settings/audit/?action=workspace.updated&actor="
    assert client.get("/w/alpha-trading/").headers["Location"] == "/w/alpha-co/"
    # A form posted to the old address is sent on with its method and body.
    assert post(client, "/w/alpha-trading/notes/", {"body": "hi"}).status_code == 308
    assert client.get("/w/alpha-co/").status_code == 200

    # Bob of Beta is no member of Alpha: nothing tells him the old slug existed or where it went.
    sign_in(client, ws_b.user_id)
    assert client.get("/w/alpha-trading/").status_code == 404
    assert client.get("/w/alpha-trading/settings").status_code == 404
    assert client.get("/w/alpha-co/").status_code == 404
    client.get(f"/w/{ws_b.slug}/")  # Bob's own workspace is fine

    anonymous = app.test_client()
    assert anonymous.get("/w/alpha-trading/").headers["Location"].startswith("/login")


def test_a_workspace_reclaims_its_own_old_slug(app, client, ws_a):
    sign_in(client, ws_a.user_id)
    assert post(client, f"/w/{ws_a.slug}/settings", SETTINGS).status_code == 303
    assert post(client, "/w/alpha-co/settings", {**SETTINGS, "slug": "alpha-trading"}).status_code == 303
    assert saved(app, ws_a).slug == "alpha-trading"
    assert old_slugs(app, ws_a) == ["alpha-co"]
    assert client.get("/w/alpha-co/").headers["Location"] == "/w/alpha-trading/"
    assert client.get("/w/alpha-trading/").status_code == 200


def test_new_workspaces_do_not_get_a_slug_from_another_workspace_history(app, client, ws_a):
    sign_in(client, ws_a.user_id)
    post(client, f"/w/{ws_a.slug}/settings", SETTINGS)
    second = make_workspace(app, "Alpha Trading", "carol@example.com")
    assert second.slug == "alpha-trading-2"


def test_the_live_slug_wins_over_another_workspace_history(app, client, ws_a, ws_b):
    # Only possible for data from before slug history: Alpha's history holds Beta's live slug.
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.add(WorkspaceSlug(slug=ws_b.slug))
        db.session.commit()
    sign_in(client, ws_a.user_id)
    assert client.get(f"/w/{ws_b.slug}/").status_code == 404  # not a redirect to Alpha
    sign_in(client, ws_b.user_id)
    assert client.get(f"/w/{ws_b.slug}/").status_code == 200


# --- two-factor requirement: Owner only ---------------------------------------------------------


def test_admin_sees_the_two_factor_box_disabled_and_cannot_change_it(app, client, ws_a):
    admin = make_member(app, ws_a, "admin@alpha.example.com", role="admin")
    sign_in(client, admin.user_id)
    page = client.get(f"/w/{ws_a.slug}/settings").get_data(as_text=True)
    assert_valid_page(page, "settings as admin")
    box = re.search(r'<input[^>]*id="require_two_factor"[^>]*>', page).group(0)
    assert "disabled" in box and 'aria-describedby="require_two_factor-hint"' in box
    assert "Only an Owner can change this." in page

    refused = post(client, f"/w/{ws_a.slug}/settings", {**SETTINGS, "slug": ws_a.slug})
    assert refused.status_code == 422
    assert "Only an Owner can change this." in refused.get_data(as_text=True)
    assert saved(app, ws_a).require_two_factor is False
    assert saved(app, ws_a).currency == "USD"  # nothing of that request was saved

    # What the browser sends from the disabled box (nothing) leaves the requirement as it is.
    with app.app_context():
        db.session.get(Workspace, ws_a.id).require_two_factor = True
        db.session.commit()
    without_box = {k: v for k, v in SETTINGS.items() if k not in ("require_two_factor", "slug")}
    assert post(client, f"/w/{ws_a.slug}/settings", without_box).status_code == 303
    assert (saved(app, ws_a).require_two_factor, saved(app, ws_a).currency) == (True, "CNY")
    turn_off = post(client, f"/w/{ws_a.slug}/settings", {**without_box, "require_two_factor": ""})
    assert turn_off.status_code == 422
    assert saved(app, ws_a).require_two_factor is True


# --- logo ----------------------------------------------------------------------------------------


def test_image_types_are_sniffed_from_their_bytes():
    assert sniff_image_type(TINY_PNG) == "image/png"
    assert sniff_image_type(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00") == "image/jpeg"
    assert sniff_image_type(b"RIFF\x24\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_image_type(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>') is None
    assert sniff_image_type(b"GIF89a") is None
    assert sniff_image_type(b"RIFF\x24\x00\x00\x00WAVE") is None
    assert sniff_image_type(b"") is None


def test_owner_uploads_serves_and_removes_a_logo(app, client, ws_a):
    viewer = make_member(app, ws_a, "viewer@alpha.example.com", role="viewer")
    sign_in(client, ws_a.user_id)
    assert client.get(f"/w/{ws_a.slug}/settings/logo").status_code == 404
    page = client.get(f"/w/{ws_a.slug}/settings").get_data(as_text=True)
    assert '<label for="logo">Logo</label>' in page and 'enctype="multipart/form-data"' in page
    assert "<img" not in page

    response = upload(client, ws_a, TINY_PNG, "brand.bin", "application/octet-stream")
    assert response.status_code == 303
    assert (saved(app, ws_a).logo, saved(app, ws_a).logo_type) == (TINY_PNG, "image/png")
    [entry] = audit_entries(app, ws_a, "workspace.logo_changed")
    assert entry.changes == {"logo": [None, f"image/png, {len(TINY_PNG)} B"]}

    page = client.get(f"/w/{ws_a.slug}/settings").get_data(as_text=True)
    assert f'<img class="logo-preview" src="/w/{ws_a.slug}/settings/logo" alt="Logo of Alpha Trading">' in page
    assert "Remove logo" in page
    assert_valid_page(page, "settings with a logo")

    sign_in(client, viewer.user_id)  # any member may see it
    served = client.get(f"/w/{ws_a.slug}/settings/logo")
    assert served.status_code == 200
    assert served.data == TINY_PNG
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in served.headers["Cache-Control"] and "no-cache" in served.headers["Cache-Control"]
    assert served.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    etag = served.headers["ETag"]
    again = client.get(f"/w/{ws_a.slug}/settings/logo", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert post(client, f"/w/{ws_a.slug}/settings/logo/delete", {}).status_code == 403

    sign_in(client, ws_a.user_id)
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 100
    assert upload(client, ws_a, jpeg, "photo.jpg", "image/jpeg").status_code == 303
    changed = client.get(f"/w/{ws_a.slug}/settings/logo", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["Content-Type"] == "image/jpeg"

    assert post(client, f"/w/{ws_a.slug}/settings/logo/delete", {}).status_code == 303
    assert (saved(app, ws_a).logo, saved(app, ws_a).logo_type) == (None, None)
    [removed] = audit_entries(app, ws_a, "workspace.logo_removed")
    assert removed.changes == {"logo": ["image/jpeg", None]}
    assert client.get(f"/w/{ws_a.slug}/settings/logo").status_code == 404
    assert "<img" not in client.get(f"/w/{ws_a.slug}/settings").get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "filename", "content_type", "message"),
    [
        (b"just some text, honestly", "logo.png", "image/png", "Upload a PNG, JPEG or WebP image."),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "logo.svg", "image/svg+xml", "Upload a PNG, JPEG or WebP"),
        (b"GIF89a\x01\x00\x01\x00", "logo.gif", "image/gif", "Upload a PNG, JPEG or WebP image."),
        (TINY_PNG + b"\x00" * LOGO_MAX_BYTES, "big.png", "image/png", "The logo must be at most 512 KB."),
        (b"", "empty.png", "image/png", "Choose an image file."),
    ],
)
def test_bad_logos_answer_422_and_keep_the_old_one(app, client, ws_a, data, filename, content_type, message):
    set_logo(app, ws_a)
    sign_in(client, ws_a.user_id)
    response = upload(client, ws_a, data, filename, content_type)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(rf'<p class="error" id="logo-error">{re.escape(message)}', html), html
    assert_valid_page(html, f"logo 422 {filename}")
    assert (saved(app, ws_a).logo, saved(app, ws_a).logo_type) == (TINY_PNG, "image/png")
    assert audit_entries(app, ws_a, "workspace.logo_changed") == []


def test_a_logo_of_exactly_the_limit_is_accepted(app, client, ws_a):
    sign_in(client, ws_a.user_id)
    data = TINY_PNG + b"\x00" * (LOGO_MAX_BYTES - len(TINY_PNG))
    assert upload(client, ws_a, data).status_code == 303
    assert len(saved(app, ws_a).logo) == LOGO_MAX_BYTES


def test_upload_without_a_file_is_422(app, client, ws_a):
    sign_in(client, ws_a.user_id)
    response = post(client, f"/w/{ws_a.slug}/settings/logo", {})
    assert response.status_code == 422
    assert "Choose an image file." in response.get_data(as_text=True)


def test_another_workspace_member_cannot_see_or_change_the_logo(app, client, ws_a, ws_b):
    set_logo(app, ws_a)
    sign_in(client, ws_b.user_id)
    assert client.get(f"/w/{ws_a.slug}/settings/logo").status_code == 404
    assert upload(client, ws_a, png_bytes(2, 2)).status_code == 404
    assert post(client, f"/w/{ws_a.slug}/settings/logo/delete", {}).status_code == 404
    assert client.get(f"/w/{ws_b.slug}/settings/logo").status_code == 404  # Beta has none
    assert saved(app, ws_a).logo == TINY_PNG


# --- deleting the workspace ----------------------------------------------------------------------


def test_owner_sees_the_danger_zone_with_an_export_first(app, client, ws_a):
    sign_in(client, ws_a.user_id)
    page = client.get(f"/w/{ws_a.slug}/settings").get_data(as_text=True)
    zone = page.split('id="danger-title"')[1]
    assert f'href="/w/{ws_a.slug}/settings/audit/export.csv" data-hx-boost="false" download' in zone
    assert zone.index("export.csv") < zone.index('action="/w/alpha-trading/settings/delete"')
    assert '<label for="confirm_name">Workspace name</label>' in zone
    assert "Type Alpha Trading to confirm." in zone


@pytest.mark.parametrize("role", ["admin", "sales"])
def test_only_an_owner_may_delete(app, client, ws_a, role):
    member = make_member(app, ws_a, f"{role}@alpha.example.com", role=role)
    sign_in(client, member.user_id)
    if role == "admin":
        page = client.get(f"/w/{ws_a.slug}/settings").get_data(as_text=True)
        assert "Danger zone" not in page and "confirm_name" not in page
    response = post(client, f"/w/{ws_a.slug}/settings/delete", {"confirm_name": ws_a.name})
    if role == "admin":  # may manage settings, so no 403: a 422 that says why
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert '<div class="alert error" role="alert">Only an Owner can delete the workspace.</div>' in html
        assert_valid_page(html, "delete refused")
    else:
        assert response.status_code == 403
    assert saved(app, ws_a) is not None
    with app.app_context():
        assert db.session.scalars(sa.select(DeletedWorkspace)).all() == []


@pytest.mark.parametrize("typed", ["", "alpha trading", "Alpha", "Beta Foods", "alpha-trading"])
def test_a_wrong_name_deletes_nothing(app, client, ws_a, typed):
    populate(app, ws_a, "alpha")
    before = row_counts(app, ws_a)
    sign_in(client, ws_a.user_id)
    response = post(client, f"/w/{ws_a.slug}/settings/delete", {"confirm_name": typed})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    expected = "Type the name of the workspace" if typed == "" else "exactly as shown: Alpha Trading"
    assert re.search(rf'<p class="error" id="confirm_name-error">[^<]*{expected}', html), html
    assert_valid_page(html, "delete 422")
    assert saved(app, ws_a) is not None
    assert row_counts(app, ws_a) == before
    with app.app_context():
        assert db.session.scalars(sa.select(DeletedWorkspace)).all() == []


def test_owner_deletes_the_workspace_and_only_its_rows(app, client, ws_a, ws_b):
    populate(app, ws_a, "alpha")
    populate(app, ws_b, "beta")
    # Alice owns Alpha and is a member of Beta too.
    make_member(app, ws_b, ws_a.email, role="sales")
    sign_in(client, ws_a.user_id)
    client.get(f"/w/{ws_a.slug}/")  # Alpha is her last workspace
    post(client, f"/w/{ws_a.slug}/settings", SETTINGS)  # an audited change and an old slug
    ws_a.slug = "alpha-co"
    alpha_before, beta_before = row_counts(app, ws_a), row_counts(app, ws_b)
    assert all(alpha_before[t] > 0 for t in ("memberships", "roles", "invitations", "notes", "audit_log"))
    assert alpha_before["workspace_slugs"] == 2

    response = post(client, "/w/alpha-co/settings/delete", {"confirm_name": " Alpha Trading Co "})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/w/{ws_b.slug}/"
    home = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The workspace Alpha Trading Co and everything in it are deleted." in home

    assert saved(app, ws_a) is None
    assert set(row_counts(app, ws_a).values()) == {0}
    assert row_counts(app, ws_b) == beta_before
    assert saved(app, ws_b).logo == TINY_PNG
    with app.app_context():
        [deleted] = db.session.scalars(sa.select(DeletedWorkspace)).all()
        assert (deleted.former_workspace_id, deleted.name, deleted.slug) == (ws_a.id, "Alpha Trading Co", "alpha-co")
        assert (deleted.deleted_by_id, deleted.deleted_by_label, deleted.ip) == (ws_a.user_id, ws_a.email, "127.0.0.1")
        assert deleted.created_at is not None
        # Accounts stay, also those of the deleted workspace's members.
        emails = set(db.session.scalars(sa.select(User.email)))
        assert {ws_a.email, "alpha-sales@example.com", "alpha-admin@example.com"} <= emails
        alice = db.session.get(User, ws_a.user_id)
        assert alice.last_workspace_id in (None, ws_b.id)

    # Old links of the deleted workspace are plain 404s now, and its slug is free again.
    assert client.get("/w/alpha-co/").status_code == 404
    assert client.get("/w/alpha-trading/").status_code == 404
    assert client.get(f"/w/{ws_b.slug}/").status_code == 200
    assert make_workspace(app, "Alpha Trading", "dan@example.com").slug == "alpha-trading"


def test_owner_of_a_single_workspace_is_sent_to_create_one(app, client, ws_a):
    sign_in(client, ws_a.user_id)
    response = post(client, f"/w/{ws_a.slug}/settings/delete", {"confirm_name": ws_a.name})
    assert response.status_code == 303
    assert response.headers["Location"] == "/workspaces/new"
    assert client.get("/workspaces/new").status_code == 200
    assert saved(app, ws_a) is None
    with app.app_context():
        assert db.session.get(User, ws_a.user_id).last_workspace_id is None


def test_deleting_a_paying_workspace_stops_its_subscription_first(app, client, stripe_billing, ws_a, caplog):
    from tests.billing_helpers import subscribe

    subscription_id = subscribe(app, client, stripe_billing, ws_a)
    sign_in(client, ws_a.user_id)
    caplog.set_level("INFO", "crm.billing.service")
    response = post(client, f"/w/{ws_a.slug}/settings/delete", {"confirm_name": ws_a.name})
    assert response.status_code == 303
    assert stripe_billing.subscriptions[subscription_id]["status"] == "canceled"
    assert stripe_billing.calls("DELETE", f"/v1/subscriptions/{subscription_id}") == [{}]
    assert f"subscription {subscription_id} canceled at Stripe" in caplog.text
    assert saved(app, ws_a) is None


def test_a_workspace_whose_subscription_stripe_cannot_stop_is_not_deleted(app, client, stripe_billing, ws_a):
    from tests.billing_helpers import audit_actions, subscribe

    subscription_id = subscribe(app, client, stripe_billing, ws_a)
    sign_in(client, ws_a.user_id)
    stripe_billing.fail_api = True
    response = post(client, f"/w/{ws_a.slug}/settings/delete", {"confirm_name": ws_a.name})
    stripe_billing.fail_api = False
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Stripe could not be reached to stop the subscription; nothing was deleted. Try again in a minute." in html
    assert saved(app, ws_a) is not None
    assert stripe_billing.subscriptions[subscription_id]["status"] == "active"
    assert "billing.subscription_canceled" not in [action for action, *_ in audit_actions(app, ws_a)]
    with app.app_context():
        assert db.session.scalars(sa.select(DeletedWorkspace)).all() == []


def test_a_workspace_without_a_live_subscription_is_deleted_without_asking_stripe(app, client, stripe_billing, ws_a):
    from tests.billing_helpers import link_customer

    link_customer(app, stripe_billing, ws_a)
    sign_in(client, ws_a.user_id)
    response = post(client, f"/w/{ws_a.slug}/settings/delete", {"confirm_name": ws_a.name})
    assert response.status_code == 303 and saved(app, ws_a) is None
    assert stripe_billing.calls("DELETE", "/v1/subscriptions/") == []
