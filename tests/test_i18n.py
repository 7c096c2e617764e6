"""Languages: the Chinese catalogue is complete, the language is chosen from the profile, the footer
form or the browser (in that order), and dates are shown for the locale and the workspace time zone."""

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_datetime
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask import render_template_string
from flask_babel import force_locale, gettext

from crm.extensions import db
from crm.notes.models import Note
from crm.tenancy import workspace_scope
from crm.workspaces.models import Workspace
from tests.conftest import post
from tests.factories import make_note

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "crm" / "translations" / "zh_Hans" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]")

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


# --- the catalogue -------------------------------------------------------------------------------


def extracted_messages() -> dict[tuple[str | tuple[str, ...], str | None], list[str]]:
    """Every translatable message of crm/ and templates/, as `make extract-messages` sees them:
    {(msgid, context): ["file:line", ...]}."""
    with open(ROOT / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    for pattern, method in method_map:
        if method == "jinja2":
            options = options_map.setdefault(pattern, {})
            extensions = {e.strip() for e in options.get("extensions", "").split(",") if e.strip()}
            options["extensions"] = ",".join(sorted(extensions | {"jinja2.ext.do"}))
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "_nl": (1, 2), "N_": None}
    messages: dict = {}

    # As the Makefile's --ignore-dirs=".*": Babel skips folders starting with "_" by default, and
    # templates/_macros/ holds texts too.
    def directory_filter(path: str) -> bool:
        return not Path(path).name.startswith(".")

    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords, directory_filter=directory_filter
    ):
        messages.setdefault((message, context), []).append(f"{filename}:{lineno}")
    return messages


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def test_every_message_has_a_chinese_translation_keeping_its_placeholders():
    messages = extracted_messages()
    assert len(messages) > 50, "extraction found almost nothing: is babel.cfg still right?"
    with open(CATALOG, "rb") as po:
        catalog = read_po(po)

    missing, broken = [], []
    for (message, context), where in sorted(messages.items(), key=lambda item: str(item[0])):
        msgids = message if isinstance(message, tuple) else (message,)
        entry = catalog.get(msgids[0], context=context)
        strings = entry.string if entry is not None else ""
        strings = strings if isinstance(strings, tuple) else (strings,)
        if entry is None or entry.fuzzy or not all(s.strip() for s in strings):
            missing.append(f"{msgids[0]!r} ({', '.join(where)})")
            continue
        expected = set().union(*(placeholders(m) for m in msgids))
        for string in strings:
            if placeholders(string) != expected:
                broken.append(f"{msgids[0]!r} -> {string!r}: expected {sorted(expected)}")

    problems = []
    if missing:
        problems.append(
            f"{len(missing)} message(s) lack a zh_Hans translation (run `make extract-messages` and "
            "translate them):\n  " + "\n  ".join(missing)
        )
    if broken:
        problems.append("translations that drop or change a placeholder:\n  " + "\n  ".join(broken))
    assert not problems, "\n".join(problems)


# --- choosing the language -----------------------------------------------------------------------


def test_translations_kept_for_a_request_follow_a_forced_language_and_come_back(app):
    with app.test_request_context("/", headers=ZH):
        assert gettext("Contacts") == "联系人"
        with force_locale("en"):
            assert gettext("Contacts") == "Contacts"
            assert app.jinja_env.from_string("{{ _('Contacts') }}").render() == "Contacts"
        assert gettext("Contacts") == "联系人"
        assert app.jinja_env.from_string("{{ _('Contacts') }}").render() == "联系人"
    with app.test_request_context("/", headers=EN):
        assert gettext("Contacts") == "Contacts"
        # Templates' own callables (crm/i18n.py): placeholders, and the plural chosen by the number.
        weighted = app.jinja_env.from_string("{{ _('Weighted (%(percent)d%%)', percent=25) }}").render()
        assert weighted == "Weighted (25%)"
        plural = "{{ ngettext('%(num)d more deal', '%(num)d more deals', n) }}"
        assert [app.jinja_env.from_string(plural).render(n=n) for n in (1, 3)] == ["1 more deal", "3 more deals"]


def test_landing_page_follows_the_browser_language(client):
    chinese = client.get("/", headers=ZH).get_data(as_text=True)
    assert '<html lang="zh-Hans"' in chinese
    assert "Kehu 能做什么" in chinese
    assert "注册" in chinese
    assert "Sign up" not in chinese

    english = client.get("/", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    assert '<html lang="en"' in english
    assert "What Kehu does" in english
    assert "Sign up" in english
    assert "注册" not in english


def test_unknown_browser_language_falls_back_to_english(client):
    page = client.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en"' in page
    assert "What Kehu does" in page


def test_footer_form_switches_an_anonymous_visitor_to_chinese(client):
    page = client.get("/", headers=EN).get_data(as_text=True)
    footer = page[page.index('<footer class="site-footer">') :]
    assert 'action="/language"' in footer
    assert re.search(r'<button type="submit" name="locale" value="zh_Hans"[^>]*>简体中文</button>', footer)
    next_url = re.search(r'name="next" value="([^"]*)"', footer).group(1)

    response = post(client, "/language", {"locale": "zh_Hans", "next": next_url})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"

    # The choice beats the browser's Accept-Language from now on.
    chinese = client.get("/", headers=EN).get_data(as_text=True)
    assert '<html lang="zh-Hans"' in chinese
    assert "Kehu 能做什么" in chinese
    assert re.search(r'value="zh_Hans"[^>]*aria-pressed="true"', chinese)

    post(client, "/language", {"locale": "en", "next": "/"})
    assert '<html lang="en"' in client.get("/", headers=ZH).get_data(as_text=True)


def test_footer_form_ignores_an_unknown_language(client):
    response = post(client, "/language", {"locale": "xx", "next": "/"})
    assert response.status_code == 303
    assert '<html lang="en"' in client.get("/", headers=EN).get_data(as_text=True)


def test_profile_language_overrides_the_browser(client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    assert "Your account" in client.get("/account", headers=EN).get_data(as_text=True)

    response = post(client, "/account", {"name": "Alice", "locale": "zh_Hans"})
    assert response.status_code == 303
    page = client.get("/account", headers=EN).get_data(as_text=True)
    assert '<html lang="zh-Hans"' in page
    assert "我的账号" in page
    assert "退出登录" in page

    post(client, "/account", {"name": "Alice", "locale": "en"})
    page = client.get("/account", headers=ZH).get_data(as_text=True)
    assert '<html lang="en"' in page
    assert "Your account" in page

    # "Same as my browser" hands the choice back to Accept-Language.
    post(client, "/account", {"name": "Alice", "locale": ""})
    assert '<html lang="zh-Hans"' in client.get("/account", headers=ZH).get_data(as_text=True)


def test_profile_language_beats_a_footer_choice_made_before_signing_in(client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    post(client, "/account", {"name": "Alice", "locale": "en"})
    auth.logout()

    post(client, "/language", {"locale": "zh_Hans", "next": "/"})
    assert '<html lang="zh-Hans"' in client.get("/", headers=EN).get_data(as_text=True)

    auth.login(ws_a.email, ws_a.password)
    assert '<html lang="en"' in client.get("/account", headers=ZH).get_data(as_text=True)


# --- dates ---------------------------------------------------------------------------------------

# 22:30 UTC is already the next morning in Shanghai: the rendered date shows which zone was used.
CREATED_AT = datetime(2026, 3, 5, 22, 30, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def note_in_shanghai_workspace(app, workspace) -> datetime:
    """A note created at CREATED_AT in a workspace set to Asia/Shanghai; its stored created_at."""
    note_id = make_note(app, workspace, body="Opening hours: 9 to 6")
    with app.app_context():
        db.session.execute(sa.update(Workspace).where(Workspace.id == workspace.id).values(timezone="Asia/Shanghai"))
        db.session.commit()
    with app.app_context(), workspace_scope(workspace.id):
        note = db.session.get(Note, note_id)
        note.created_at = CREATED_AT
        db.session.commit()
        db.session.expire_all()
        return db.session.get(Note, note_id).created_at


def rendered_note_time(page: str) -> str:
    match = re.search(r'<time datetime="([^"]+)">([^<]+)</time>', page)
    assert match, "no note time on the page"
    return match.group(2)


def test_note_time_is_shown_in_the_workspace_time_zone_in_english(app, client, auth, ws_a):
    created_at = note_in_shanghai_workspace(app, ws_a)
    auth.login(ws_a.email, ws_a.password)

    shown = rendered_note_time(client.get(f"/w/{ws_a.slug}/", headers=EN).get_data(as_text=True))

    local = created_at.astimezone(SHANGHAI)
    assert (local.month, local.day, local.hour, local.minute) == (3, 6, 6, 30)
    assert shown == format_datetime(created_at, "short", tzinfo=SHANGHAI, locale="en")
    assert shown.startswith("3/6/26, 6:30")
    assert shown.endswith("AM")
    assert shown != format_datetime(created_at, "short", tzinfo=UTC, locale="en")


def test_note_time_is_shown_in_the_workspace_time_zone_in_chinese(app, client, auth, ws_a):
    created_at = note_in_shanghai_workspace(app, ws_a)
    auth.login(ws_a.email, ws_a.password)

    shown = rendered_note_time(client.get(f"/w/{ws_a.slug}/", headers=ZH).get_data(as_text=True))

    assert shown == format_datetime(created_at, "short", tzinfo=SHANGHAI, locale="zh_Hans")
    assert shown == "2026/3/6 06:30"


def test_template_texts_follow_the_language_and_escape_their_values_in_html_only(app):
    source = "{{ _('Assigned to %(name)s', name=who) }}|{% autoescape false %}{{ _('Assigned to %(name)s', name=who) }}{% endautoescape %}|{{ _('Delete') }}"  # noqa: E501
    for headers in (ZH, EN):
        with app.test_request_context("/", headers=headers):
            written = render_template_string(source, who="<b>Bo</b>")
            assigned = gettext("Assigned to %(name)s")
            escaped, plain = assigned % {"name": "&lt;b&gt;Bo&lt;/b&gt;"}, assigned % {"name": "<b>Bo</b>"}
            assert written == f"{escaped}|{plain}|{gettext('Delete')}"
            assert ("负责" in written) == (headers is ZH)
