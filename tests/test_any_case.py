"""Texts compared in any case (a list's source or industry filter, a role's name) fold every letter,
on SQLite as on PostgreSQL (``crm.search.any_case``): SQLite's own lower() knows ASCII letters only,
so "ÄRZTE" missed "Ärzte" there."""

import re

from tests.conftest import post
from tests.factories import make_company, make_contact
from tests.test_roles import roles_url

ROW = re.compile(r'<a href="/w/[^/]+/(?:contacts|companies)/\d+">([^<]+)</a>')


def listed(client, url: str, **args) -> list[str]:
    return ROW.findall(client.get(url, query_string=args, headers={"HX-Request": "true"}).get_data(as_text=True))


def test_source_and_industry_filters_match_accented_and_cyrillic_letters_in_any_case(app, client, auth, ws_a, ws_b):
    make_contact(app, ws_a, "Ann Lee", source="Ärzteverband")
    make_contact(app, ws_a, "Bo Chen", source="Выставка")
    make_contact(app, ws_a, "Cy Diaz", source="Web")
    make_contact(app, ws_b, "Beta Ann", source="Ärzteverband")
    make_company(app, ws_a, "Praxis Süd", industry="Ärzte")
    make_company(app, ws_a, "Bolt Hardware", industry="Hardware")
    auth.login(ws_a.email, ws_a.password)
    contacts, companies = f"/w/{ws_a.slug}/contacts/", f"/w/{ws_a.slug}/companies/"
    assert listed(client, contacts, source="ÄRZTEVERBAND") == ["Ann Lee"]
    assert listed(client, contacts, source="выставка") == ["Bo Chen"]
    assert listed(client, companies, industry="ÄRZTE") == ["Praxis Süd"]


def test_a_role_name_taken_in_another_case_is_refused(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    assert post(client, roles_url(ws_a), {"name": "Équipe Süd", "copy_from": 0}).status_code == 303
    again = post(client, roles_url(ws_a), {"name": "ÉQUIPE SÜD", "copy_from": 0})
    assert again.status_code == 422
    assert "Another role already has this name." in again.get_data(as_text=True)
